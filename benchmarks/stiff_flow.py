"""Stiff gradient flow: implicit (Kvaerno) against explicit (Tsit5) solvers and GD at its
stability limit, on one run of the Marion & Chizat Fig. 1 flow.

    python benchmarks/stiff_flow.py [--scales 0.6,0.25] [--rtol 1e-6] [--t1 50]

Model and data: the ``+sweep=marion_fig1_flow`` setting (deep linear, d = m = 5, L = 10, 230
parameters, n = 50 Gaussian samples with ``data_seed = 0``, Gaussian init, seed 0), float64.
For each init scale, each solver integrates the flow to ``t1`` at tolerance ``--rtol``
(``atol = rtol / 100``); the table gives wall time after compilation, compile time, steps
(accepted and rejected; GD: its steps), gradient evaluations (a Hessian-vector product of the
implicit solvers' Jacobian counts as one), the final gradient norm and the endpoint's
distance to a tight reference solve (Kvaerno5 at rtol 1e-10), relative. The gradient
evaluations are counted in a separate solve with a host callback in the vector field (timed
solves have none).

Baseline: GD at its stability limit, ``lr = 1.9 / lambda`` with ``lambda`` the largest
sharpness along the flow (the end point's, for these flows), for ``t1 / lr`` steps (same time
``t1``): what an explicit method pays on a stiff flow. Ratios are wall and gradient
evaluations against it, measured in the same run.
"""

import argparse
import os
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

import implicit_bias as ib  # noqa: E402
from implicit_bias.compilations import enable_persistent_cache  # noqa: E402
from implicit_bias.engine import _BLASThreads, _setup  # noqa: E402  (the engine's own)
from implicit_bias.problem import Problem  # noqa: E402
from implicit_bias.scalars import Scalars  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from engine import machine  # noqa: E402

SOLVERS = ("kvaerno5", "kvaerno3", "tsit5")


def experiment() -> ib.Experiment:
    return ib.Experiment(
        model=ib.DeepLinear(input_dim=5, width=5, depth=10),
        data=ib.GaussianRegression(n=50, d=5),
        init=ib.Gaussian(),
        integrator=ib.GD(),
        dtype="float64",
    )


def problem_and_init(scale: float):
    exp = experiment()
    sc = Scalars.make(dtype="float64", seed=0, data_seed=0, init_scale=scale)
    sc = jax.tree.map(lambda x: x[0], sc)
    (data, frozen), trainable, _, _ = _setup(exp, sc)
    return Problem(exp.model, exp.loss, data, frozen), trainable


class _Counting:
    """A problem whose gradient reports each evaluation to the host (counting solves only):
    gradients, and Hessian-vector products (the tangents of the gradient's JVP, which the
    implicit solvers' ``jacfwd`` batches: one callback for all ``p`` of them)."""

    def __init__(self, problem, counter):
        self.problem, self.counter = problem, counter

    def _grads(self, x):
        self.counter["grad"] += 1 if x.ndim == 1 else int(np.prod(x.shape[:-1]))

    def _hvps(self, t):
        self.counter["hvp"] += 1 if t.ndim == 1 else int(np.prod(t.shape[:-1]))

    def grad(self, params):
        flat, unravel = ravel_pytree(params)

        def flat_grad(x):
            return ravel_pytree(self.problem.grad(unravel(x)))[0]

        @jax.custom_jvp
        def counted(x):
            jax.debug.callback(self._grads, x)
            return flat_grad(x)

        @counted.defjvp
        def counted_jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            jax.debug.callback(self._grads, x)
            jax.debug.callback(self._hvps, t)
            return jax.jvp(flat_grad, (x,), (t,))

        return unravel(counted(flat))

    def loss(self, params):
        return self.problem.loss(params)


def solve(problem, params, solver: str, rtol: float, t1: float, count: bool = False):
    flow = ib.GradientFlow(solver=solver, rtol=rtol, atol=rtol / 100, max_steps=2_000_000)
    counter = {"grad": 0, "hvp": 0}
    prob = _Counting(problem, counter) if count else problem
    ts = jnp.asarray([t1])
    fn = jax.jit(lambda p: flow.solve(prob, p, ts))
    tic = time.perf_counter()
    sol = jax.block_until_ready(fn(params))
    first = time.perf_counter() - tic
    if count:
        return sol, counter
    tic = time.perf_counter()
    sol = jax.block_until_ready(fn(params))
    return sol, time.perf_counter() - tic, first


def grad_norm(problem, params) -> float:
    return float(jnp.linalg.norm(ravel_pytree(problem.grad(params))[0]))


def sharpness(problem, params) -> float:
    flat, unravel = ravel_pytree(params)
    hess = jax.hessian(lambda x: problem.loss(unravel(x)))(flat)
    return float(jnp.linalg.eigvalsh(hess)[-1])


def gd(problem, params, lr: float, steps: int):
    def run(p):
        def body(_, q):
            g = problem.grad(q)
            return jax.tree.map(lambda a, b: a - lr * b, q, g)

        return jax.lax.fori_loop(0, steps, body, p)

    fn = jax.jit(run)
    tic = time.perf_counter()
    out = jax.block_until_ready(fn(params))
    first = time.perf_counter() - tic
    tic = time.perf_counter()
    out = jax.block_until_ready(fn(params))
    return out, time.perf_counter() - tic, first


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scales", default="0.6,0.25")
    p.add_argument("--rtol", type=float, default=1e-6)
    p.add_argument("--t1", type=float, default=50.0)
    p.add_argument("--solvers", default=",".join(SOLVERS))
    a = p.parse_args(argv)
    enable_persistent_cache("off")  # compile times are part of the table
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine(), "| load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"rtol {a.rtol:g}, atol {a.rtol / 100:g}, t1 {a.t1:g}, float64; baseline: GD, 1.9/lambda")
    print(
        "x GD: wall time, and gradient evaluations + Hessian-vector products, over GD's "
        "(one gradient per step)"
    )
    head = (
        f"{'scale':>5} {'method':>9} {'wall s':>8} {'compile s':>9} {'steps':>8} "
        f"{'grads':>9} {'HVPs':>8} {'final |grad|':>12} {'rel err':>8} "
        f"{'x GD wall':>9} {'x GD evals':>10}"
    )
    print(head)
    # One OpenBLAS thread, as inside the engine (see implicit_bias.engine._BLASThreads).
    with _BLASThreads():
        for scale in (float(s) for s in a.scales.split(",")):
            _one_scale(scale, a)


def _one_scale(scale: float, a) -> None:
    problem, params = problem_and_init(scale)
    ref, ref_wall, ref_first = solve(problem, params, "kvaerno5", 1e-10, a.t1)
    ref_end = ravel_pytree(jax.tree.map(lambda y: y[-1], ref.ys))[0]
    ref_gnorm = grad_norm(problem, jax.tree.map(lambda y: y[-1], ref.ys))

    def rel_err(end) -> float:
        return float(jnp.linalg.norm(ravel_pytree(end)[0] - ref_end) / jnp.linalg.norm(ref_end))

    lam = sharpness(problem, jax.tree.map(lambda y: y[-1], ref.ys))
    lr = 1.9 / lam
    steps = int(np.ceil(a.t1 / lr))
    end, gd_wall, gd_first = gd(problem, params, lr, steps)
    rows = [
        ("GD", gd_wall, gd_first - gd_wall, steps, steps, 0, grad_norm(problem, end), rel_err(end))
    ]
    for name in a.solvers.split(","):
        sol, wall, first = solve(problem, params, name, a.rtol, a.t1)
        _, evals = solve(problem, params, name, a.rtol, a.t1, count=True)
        final = jax.tree.map(lambda y: y[-1], sol.ys)
        gnorm = grad_norm(problem, final)
        err = rel_err(final)
        rows.append((name, wall, first - wall, int(sol.num_steps), *evals.values(), gnorm, err))
    print(
        f"# scale {scale}: sharpness at the end {lam:.4g}, GD lr {lr:.3g}, {steps} steps; "
        f"reference (kvaerno5, rtol 1e-10): {int(ref.num_steps)} steps, {ref_wall:.2f} s "
        f"(+{ref_first - ref_wall:.2f} s compile), final |grad| {ref_gnorm:.1e}"
    )
    for name, wall, comp, n, grads, hvps, gnorm, err in rows:
        print(
            f"{scale:>5} {name:>9} {wall:>8.2f} {comp:>9.2f} {n:>8} {grads:>9,} {hvps:>8,} "
            f"{gnorm:>12.2e} {err:>8.1e} {wall / gd_wall:>9.3f} {(grads + hvps) / steps:>10.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
