r"""Gradient flow :math:`\dot\theta = -\nabla L(\theta)`, integrated by diffrax.

Two kinds of solver:

* **explicit** Runge-Kutta (Tsit5, Dopri5/8, Heun, Bosh3): cheap steps, but on a *stiff* flow
  their step is capped by stability at about :math:`2.8 / \lambda_{\max}(\nabla^2 L)`
  (Tsit5), whatever the tolerance: a flow that reaches a minimum of sharpness
  :math:`\lambda` takes about :math:`\lambda t_1 / 2.8` steps, as many gradient evaluations as
  GD at its stability limit :math:`\eta = 2/\lambda` (times the stages). Deep linear networks
  from a large initialization reach sharpness ~1e4 (Marion & Chizat, 2024, Fig. 1):
  ~1e5-1e6 steps to ``t1 = 50``.
* **implicit** ESDIRK (Kvaerno 2004, orders 3-5): A-L-stable, so the step is set by accuracy
  alone (a few hundred steps for the same flows). Each step solves the stage equations by a
  chord Newton iteration (diffrax's ``VeryChord``, through lineax): one dense Jacobian
  :math:`-\nabla^2 L` per step (``p`` Hessian-vector products in one batched call), LU-factored
  once and reused by every stage and Newton iteration of the step. That is ``O(p^3)`` per step:
  the right trade for the small models of this project (``p`` up to a few thousand), not for
  large ones, where an explicit solver is the only option.

Neither kind wins everywhere, so the default stays explicit (``solver="tsit5"``): measured on
one run of the Marion & Chizat Fig. 1 flow to ``t1 = 50`` (``benchmarks/stiff_flow.py``,
rtol 1e-6, docs/performance.md), from init scale 0.6 (stiff, sharpness 1.3e4 at the end)
Kvaerno3 took 424 steps and 1.8 s against Tsit5's 241,755 steps and 19.4 s (Tsit5 ending at
gradient norm 6e-3, Kvaerno3 at 5e-12); from init scale 0.25 (sharpness 32, not stiff) Tsit5
took 565 steps and 0.05 s against 1.8 s for either Kvaerno. Pick an implicit solver for a flow
known to be stiff (large initializations, large sharpness at the minimum; the CLI sweep
``+sweep=marion_fig1_flow`` does). ``solver="auto"`` takes Kvaerno5 when the model has at most
:data:`DENSE_JACOBIAN_LIMIT` trainable parameters (a dense Jacobian is affordable), Tsit5
above; it does not detect stiffness.
"""

from collections.abc import Callable
from typing import Any

import diffrax
import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from ..errors import check
from ..status import CONVERGED
from ._base import AbstractContinuousIntegrator, FlowSolution

EXPLICIT_SOLVERS = {
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
    "dopri8": diffrax.Dopri8,
    "heun": diffrax.Heun,
    "bosh3": diffrax.Bosh3,
}
IMPLICIT_SOLVERS = {
    "kvaerno3": diffrax.Kvaerno3,
    "kvaerno4": diffrax.Kvaerno4,
    "kvaerno5": diffrax.Kvaerno5,
}
SOLVERS = ("auto", *EXPLICIT_SOLVERS, *IMPLICIT_SOLVERS)
#: ``solver="auto"`` integrates with Kvaerno5 up to this many trainable parameters (a dense
#: Jacobian of at most 4M entries, LU-factored each step), with Tsit5 above.
DENSE_JACOBIAN_LIMIT = 2048
#: Step-size controller coefficients ``(pcoeff, icoeff)`` when none are given: diffrax's
#: integral controller for explicit solvers; a PI controller for implicit ones, whose error
#: estimate is rougher and whose rejected steps cost a Jacobian and an LU each (measured on the
#: Marion & Chizat flow from init scale 0.6, Kvaerno5, rtol 1e-6: 1339 steps of which 761
#: rejected with (0, 1); 842 of which 263 rejected with (0.2, 0.3)).
CONTROLLER = {"explicit": (0.0, 1.0), "implicit": (0.2, 0.3)}
#: The controller's relative tolerance is at least this many units of roundoff of the run's
#: dtype: a step whose error must be below the rounding of the state itself can never be
#: accepted, the step size collapses and the solve ends ``solver_failed`` at ``max_steps``
#: before ``t1``. In float64 (eps 2.2e-16) the floor, 2.2e-15, is below every tolerance the
#: presets set; in float32 (eps 1.2e-7) it is 1.2e-6, so a float64 preset (``rtol`` 1e-10 to
#: 1e-12) run with ``dtype=float32`` integrates to what float32 resolves instead of stalling
#: (issue 12: the diagonal and one-neuron presets). ``atol`` is not floored: it guards the
#: components that pass through or start at 0 (``w(0) = 0`` of the one-neuron model), where a
#: float32 floor of 1e-6 on an absolute error would dwarf the variable itself.
RTOL_FLOOR_EPS = 10.0


class GradientFlow(AbstractContinuousIntegrator):
    r"""The gradient flow :math:`\dot\theta = -\nabla L(\theta)`, the lr -> 0 limit of GD
    (time t corresponds to t / lr steps).

    Integrated with an adaptive Runge-Kutta solver from ``diffrax`` (Kidger 2021): explicit
    (Tsit5, Tsitouras 2011, ...) or implicit (Kvaerno 2004) for stiff flows (see the module
    docstring), with a PID step-size controller (Söderlind 2003). The flow optionally stops
    once the training loss falls below ``loss_tol`` (a diffrax ``Event``).

    Attributes:
        solver: an explicit solver (``tsit5``, the default; ``dopri5``, ``dopri8``, ``heun``,
            ``bosh3``), an implicit one for stiff flows (``kvaerno3``, ``kvaerno4``,
            ``kvaerno5``), or ``auto`` (Kvaerno5 up to :data:`DENSE_JACOBIAN_LIMIT` trainable
            parameters, Tsit5 above). See the module docstring for which to pick.
        rtol, atol: tolerances of the step-size controller (and of the implicit solvers'
            Newton iteration); ``rtol`` is floored at :data:`RTOL_FLOOR_EPS` units of
            roundoff of the run's dtype (:meth:`effective_rtol`: 1.2e-6 in float32).
        max_steps: cap on solver steps (static; a run hitting it is recorded as
            ``solver_failed``, with the time it reached).
        loss_tol: stop once the training loss is below this value (``None``: never).
        pcoeff, icoeff: the PID controller's coefficients; ``None``: :data:`CONTROLLER`.
        lockstep: how many runs of a batch are solved together (``vmap``-ed), each group at
            the pace of its stiffest member, the groups one after the other. ``None``: for an
            implicit solver on CPU, 1 (each run at its own pace; XLA's CPU LAPACK factorizes a
            batch of matrices one by one anyway), else the whole batch.
    """

    solver: str = "tsit5"
    rtol: float = 1e-7
    atol: float = 1e-9
    max_steps: int = 100_000
    loss_tol: float | None = None
    pcoeff: float | None = None
    icoeff: float | None = None
    lockstep: int | None = None

    def __check_init__(self):
        check(self.solver in SOLVERS, "integrator.solver", self.solver, f"one of {list(SOLVERS)}")
        check(self.rtol > 0, "integrator.rtol", self.rtol, "a float > 0")
        check(self.atol > 0, "integrator.atol", self.atol, "a float > 0")
        check(self.max_steps >= 1, "integrator.max_steps", self.max_steps, "an integer >= 1")
        check(
            self.loss_tol is None or self.loss_tol > 0,
            "integrator.loss_tol",
            self.loss_tol,
            "null or a float > 0",
        )
        for key in ("pcoeff", "icoeff"):
            value = getattr(self, key)
            check(value is None or value >= 0, f"integrator.{key}", value, "null or a float >= 0")
        check(
            self.lockstep is None or self.lockstep >= 1,
            "integrator.lockstep",
            self.lockstep,
            "null or an integer >= 1",
        )

    def resolved_solver(self, num_params: int) -> str:
        """The solver used for a model of ``num_params`` trainable parameters."""
        if self.solver != "auto":
            return self.solver
        return "kvaerno5" if num_params <= DENSE_JACOBIAN_LIMIT else "tsit5"

    def _diffrax_solver(self, name: str):
        if name in IMPLICIT_SOLVERS:
            # The root finder's tolerances are the controller's (diffrax's default, made
            # explicit); LU through lineax for the dense, indefinite Newton matrix
            # I + gamma dt H (a symmetric LDL^T would halve the flops, but neither lineax nor
            # jax has one; Cholesky needs H positive semi-definite, which fails near saddles).
            return IMPLICIT_SOLVERS[name]()
        return EXPLICIT_SOLVERS[name]()

    def effective_rtol(self, dtype) -> float:
        """The controller's relative tolerance in ``dtype``: ``rtol``, floored at
        :data:`RTOL_FLOOR_EPS` units of roundoff (``rtol`` itself in float64 for every
        ``rtol >= 2.2e-15``)."""
        return max(float(self.rtol), RTOL_FLOOR_EPS * float(jnp.finfo(dtype).eps))

    def _controller(self, name: str, dtype) -> diffrax.PIDController:
        kind = "implicit" if name in IMPLICIT_SOLVERS else "explicit"
        pcoeff, icoeff = CONTROLLER[kind]
        return diffrax.PIDController(
            rtol=self.effective_rtol(dtype),
            atol=self.atol,
            pcoeff=pcoeff if self.pcoeff is None else self.pcoeff,
            icoeff=icoeff if self.icoeff is None else self.icoeff,
        )

    def solve(self, problem, params, ts):
        # The ODE is solved on the flat parameter vector: an implicit solver's Jacobian is one
        # dense matrix, and every operation of a step is one array operation instead of one
        # per parameter array.
        flat0, unravel = ravel_pytree(params)
        name = self.resolved_solver(flat0.shape[0])

        def vector_field(t, y, args):
            del t, args
            return -ravel_pytree(problem.grad(unravel(y)))[0]

        event = None
        if self.loss_tol is not None:
            loss_tol = self.loss_tol

            def cond_fn(t, y, args, **kwargs):
                del t, args, kwargs
                return problem.loss(unravel(y)) < loss_tol

            event = diffrax.Event(cond_fn)

        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(vector_field),
            self._diffrax_solver(name),
            t0=jnp.zeros((), ts.dtype),
            t1=ts[-1],
            dt0=None,
            y0=flat0,
            saveat=diffrax.SaveAt(ts=ts, t1=True),
            stepsize_controller=self._controller(name, flat0.dtype),
            max_steps=self.max_steps,
            event=event,
            throw=False,
        )
        # SaveAt(ts=..., t1=True) saves len(ts) + 1 states, the last being the final one. After
        # an early stop (event), diffrax writes the final state into the first unused slot and
        # fills the remaining ones with inf: locate it, and replace the unreached save times by
        # the final state.
        last = jnp.sum(jnp.isfinite(sol.ts)) - 1
        final = sol.ys[last]
        t_final = sol.ts[last]
        saved_t = sol.ts[:-1]
        reached = jnp.isfinite(saved_t) & (jnp.arange(saved_t.shape[0]) < last)
        ys = jnp.where(reached[:, None], sol.ys[:-1], final)
        return FlowSolution(
            ys=jax.vmap(unravel)(ys),
            ts=jnp.where(reached, saved_t, t_final),
            t_final=t_final,
            num_steps=jnp.asarray(sol.stats["num_steps"]),
            succeeded=sol.result == diffrax.RESULTS.successful,
            event=sol.result == diffrax.RESULTS.event_occurred,
        )

    def solve_batch(
        self, problem: Callable[[Any], Any], arrays: Any, params: Any, ts: Any
    ) -> FlowSolution:
        """Solve a batch, :attr:`lockstep` runs at a time (see the class docstring)."""
        b = ts.shape[0]
        num_params = sum(x[0].size for x in jax.tree.leaves(params))
        implicit = self.resolved_solver(num_params) in IMPLICIT_SOLVERS
        size = self.lockstep
        if size is None:
            size = 1 if implicit and jax.default_backend() == "cpu" else b
        size = min(size, b)

        def one(xs):
            a, p, t = xs
            return self.solve(problem(a), p, t)

        if size >= b:
            return jax.vmap(one)((arrays, params, ts))
        return lax.map(one, (arrays, params, ts), batch_size=size)

    def postprocess(self, termination, initial, final, converge_tol):
        """As the default, plus: a run stopped by the ``loss_tol`` event with a final training
        loss below ``loss_tol`` is ``converged``. A solve that gave up before ``t1`` (the
        solver's ``max_steps``) without diverging is ``solver_failed`` (the default)."""
        status = super().postprocess(termination, initial, final, converge_tol)
        if self.loss_tol is not None:
            # 1e-7 relative slack: the event fires on the loss at the solver's step, which the
            # recomputed final loss matches to rounding.
            met = final["train_loss"] < self.loss_tol * 1.0000001
            status = jnp.where(
                termination.event & termination.solver_ok & termination.alive & met,
                CONVERGED,
                status,
            )
        return status
