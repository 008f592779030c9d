"""GD throughput of the batched engine on the Marion & Chizat Fig. 1 (or Fig. 7) model.

    python benchmarks/engine.py [--steps 2000] [--batches 1,4,16,64,256,1024,4096]
    python benchmarks/engine.py --model mlp [--steps 1000] [--batches 16,160,480]

Model: deep linear, d = m = 5, L = 10 (230 parameters), n = 50 Gaussian samples, Gaussian init,
GD, float32, sharpness only at start and end (as Fig. 1 records it). For each batch size it
prints compile time, run time (after compilation) and run-steps per second (batch x steps /
run time); the ratio column is against the baseline named below.

Baselines, both printed with their ratio:

* **hand-written**, measured in the same run: what a user would write without this library —
  optax GD (``optax.sgd``) in ``lax.scan``, ``jax.vmap``-ed over the batch, the model as a plain
  chain of matrix products (``h @ W.T``), the same data, initial parameters and steps, no
  sharpness and no records. Its final losses are checked against the engine's.
* **the paper's code**, measured at about 3k run-steps/s on the 2-core CPU this project
  is developed on (one run at a time in Python loops, 320 us per step with its sharpness) —
  see the "Measured hints" of the Marion & Chizat reproduction issue (issue 10).

The persistent compilation cache is off here, so that "compile s" is compile time.

``--model mlp``: the Fig. 7 network (bias-free GELU MLP, tanh-approximate GELU, L = 10,
width 5, n = 50), which is not linear in x, so each step goes through the samples. Baseline:
the same engine with the gradient by plain autodiff of ``MLP.apply`` (``h @ W.T`` layers)
instead of the reverse-mode-only path ``MLP.apply_for_grad``; the table gives both, and the
reverse path split over ``--workers`` CPU worker processes (``implicit_bias.app.workers``), with
the ratios against the baseline.
"""

import argparse
import os
import platform
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import implicit_bias as ib
import implicit_bias.app.workers as ib_workers
from implicit_bias.compilations import enable_persistent_cache

PAPER_RUN_STEPS_PER_S = 3_000.0


def machine() -> str:
    dev = jax.devices()[0]
    return (
        f"{platform.node()} | {platform.processor() or platform.machine()} | "
        f"{os.cpu_count()} cpus | jax {jax.__version__} | backend {jax.default_backend()} "
        f"({dev.device_kind})"
    )


class PlainMLP(ib.MLP):
    """The MLP with its training gradient by plain autodiff of ``apply`` (the baseline)."""

    def apply_for_grad(self, params, x):
        return self.apply(params, x)


def handwritten(
    result: ib.Result, names: list[str], lr: float, steps: int
) -> tuple[float, float, np.ndarray]:
    """The hand-written baseline from the engine's own starting points: optax GD in
    ``lax.scan``, vmapped. Returns (compile s, run s, final train losses)."""
    import optax

    # names: W1 ... WL in the model's order (a dict of arrays is not: jax sorts its keys).
    params0 = [result.initial_params[k] for k in names]
    X, y = result.data.X, result.data.y

    def loss(ws, X, y):
        h = X
        for w in ws:
            h = h @ w.T
        return jnp.mean((h[:, 0] - y) ** 2)

    opt = optax.sgd(lr)

    def one(ws, X, y):
        def step(carry, _):
            ws, state = carry
            grads = jax.grad(loss)(ws, X, y)
            updates, state = opt.update(grads, state, ws)
            return (optax.apply_updates(ws, updates), state), None

        (ws, _), _ = jax.lax.scan(step, (ws, opt.init(ws)), None, length=steps)
        return loss(ws, X, y)

    fn = jax.jit(jax.vmap(one))
    t0 = time.perf_counter()
    jax.block_until_ready(fn(params0, X, y))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    final = jax.block_until_ready(fn(params0, X, y))
    run = time.perf_counter() - t0
    return max(first - run, 0.0), run, np.asarray(final)


def bench(
    batch: int, steps: int, model=None, sigma: float = 1.0, workers=None, baseline: bool = False
) -> tuple:
    exp = ib.Experiment(
        model=model or ib.DeepLinear(input_dim=5, width=5, depth=10),
        data=ib.GaussianRegression(n=50, d=5, sigma=sigma),
        init=ib.Gaussian(),
        integrator=ib.GD(),
        sharpness=ib.SharpnessSpec(track=False),
        record=ib.Schedule(num=10),
    )
    scales = np.linspace(0.25, 0.6, batch)
    kw = dict(init_scale=scales, lr=0.02, steps=steps, seed=np.arange(batch), workers=workers)
    run_batch = ib_workers.run_batch
    t0 = time.perf_counter()
    run_batch(exp, **kw)  # compile + run
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = run_batch(exp, **kw)
    run = time.perf_counter() - t0
    assert np.isfinite(np.asarray(r.final["train_loss"])).any()
    if not baseline:
        return max(first - run, 0.0), run
    hand_compile, hand_run, hand_loss = handwritten(r, list(exp.model.param_shapes()), 0.02, steps)
    ours = np.asarray(r.final["train_loss"])
    # Runs the engine recorded as diverged are frozen there; the hand-written loop runs on to
    # inf/nan. Elsewhere: same steps from the same points, only the order of floating-point
    # operations differs.
    ok = np.array([s != "diverged" for s in r.status_names()])
    np.testing.assert_allclose(hand_loss[ok], ours[ok], rtol=1e-2)
    return max(first - run, 0.0), run, hand_compile, hand_run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batches", default="1,4,16,64,256,1024,4096")
    p.add_argument("--model", choices=("deep_linear", "mlp"), default="deep_linear")
    p.add_argument(
        "--workers", type=int, default=2, help="--model mlp: also time this many CPU workers"
    )
    a = p.parse_args()
    enable_persistent_cache("off")  # "compile s" is compile time, not a load from the cache
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine(), "| load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if a.model == "mlp":
        return bench_mlp(a)
    print(
        "baselines: hand-written optax GD in lax.scan, vmapped (same run; 'hand' columns; "
        "'x hand' = its run time / ours, > 1: ours faster); "
        f"paper's code, {PAPER_RUN_STEPS_PER_S:,.0f} run-steps/s (2-core CPU)"
    )
    print(
        f"{'batch':>6} {'compile s':>10} {'run s':>8} {'run-steps/s':>13} {'x paper':>8} "
        f"{'hand compile s':>14} {'hand run s':>10} {'x hand':>7}"
    )
    for b in (int(x) for x in a.batches.split(",")):
        compile_s, run_s, hand_compile, hand_run = bench(b, a.steps, baseline=True)
        rate = b * a.steps / run_s
        print(
            f"{b:>6} {compile_s:>10.2f} {run_s:>8.3f} {rate:>13,.0f} "
            f"{rate / PAPER_RUN_STEPS_PER_S:>8.1f} {hand_compile:>14.2f} {hand_run:>10.3f} "
            f"{hand_run / run_s:>7.2f}",
            flush=True,
        )


def bench_mlp(a) -> None:
    kw = dict(input_dim=5, width=5, depth=10, activation="gelu_tanh")
    k = a.workers
    print("baseline: plain autodiff of MLP.apply, same engine, one process")
    print(
        f"{'batch':>6} {'plain us/step':>14} {'reverse us/step':>16} {'x plain':>8} "
        f"{f'reverse, {k} workers':>20} {'x plain':>8} {'run-steps/s':>12}"
    )
    for b in (int(x) for x in a.batches.split(",")):
        # Fig. 7's data are noiseless (sigma = 0).
        _, plain = bench(b, a.steps, PlainMLP(**kw), sigma=0.0)
        _, fast = bench(b, a.steps, ib.MLP(**kw), sigma=0.0)
        _, work = bench(b, a.steps, ib.MLP(**kw), sigma=0.0, workers=k)
        us = 1e6 / a.steps
        print(
            f"{b:>6} {plain * us:>14.0f} {fast * us:>16.0f} {plain / fast:>8.2f} "
            f"{work * us:>20.0f} {plain / work:>8.2f} {b * a.steps / work:>12,.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
