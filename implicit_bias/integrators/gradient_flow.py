"""Gradient flow dθ/dt = -∇L(θ), integrated by diffrax."""

import diffrax
import jax
import jax.numpy as jnp

from ..errors import check
from ..status import CONVERGED
from ._base import AbstractContinuousIntegrator, FlowSolution

_SOLVERS = {
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
    "dopri8": diffrax.Dopri8,
    "heun": diffrax.Heun,
    "bosh3": diffrax.Bosh3,
}


class GradientFlow(AbstractContinuousIntegrator):
    r"""The gradient flow :math:`\dot\theta = -\nabla L(\theta)`, the lr -> 0 limit of GD
    (time t corresponds to t / lr steps).

    Integrated with an adaptive explicit Runge-Kutta solver (default Tsit5, Tsitouras 2011)
    and a PID step-size controller (Söderlind 2003) from ``diffrax`` (Kidger 2021). The flow
    optionally stops once the training loss falls below ``loss_tol`` (a diffrax ``Event``).

    Attributes:
        solver: one of ``tsit5``, ``dopri5``, ``dopri8``, ``heun``, ``bosh3``.
        rtol, atol: tolerances of the step-size controller.
        max_steps: cap on solver steps (static; a run hitting it is recorded as
            ``solver_failed``, with the time it reached).
        loss_tol: stop once the training loss is below this value (``None``: never).
    """

    solver: str = "tsit5"
    rtol: float = 1e-7
    atol: float = 1e-9
    max_steps: int = 100_000
    loss_tol: float | None = None

    def __check_init__(self):
        check(self.solver in _SOLVERS, "integrator.solver", self.solver, f"one of {list(_SOLVERS)}")
        check(self.rtol > 0, "integrator.rtol", self.rtol, "a float > 0")
        check(self.atol > 0, "integrator.atol", self.atol, "a float > 0")
        check(self.max_steps >= 1, "integrator.max_steps", self.max_steps, "an integer >= 1")
        check(
            self.loss_tol is None or self.loss_tol > 0,
            "integrator.loss_tol",
            self.loss_tol,
            "null or a float > 0",
        )

    def solve(self, problem, params, ts):
        def vector_field(t, y, args):
            del t, args
            return jax.tree.map(jnp.negative, problem.grad(y))

        event = None
        if self.loss_tol is not None:
            loss_tol = self.loss_tol

            def cond_fn(t, y, args, **kwargs):
                del t, args, kwargs
                return problem.loss(y) < loss_tol

            event = diffrax.Event(cond_fn)

        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(vector_field),
            _SOLVERS[self.solver](),
            t0=jnp.zeros((), ts.dtype),
            t1=ts[-1],
            dt0=None,
            y0=params,
            saveat=diffrax.SaveAt(ts=ts, t1=True),
            stepsize_controller=diffrax.PIDController(rtol=self.rtol, atol=self.atol),
            max_steps=self.max_steps,
            event=event,
            throw=False,
        )
        # SaveAt(ts=..., t1=True) saves len(ts) + 1 states, the last being the final one. After
        # an early stop (event), diffrax writes the final state into the first unused slot and
        # fills the remaining ones with inf: locate it, and replace the unreached save times by
        # the final state.
        last = jnp.sum(jnp.isfinite(sol.ts)) - 1
        final = jax.tree.map(lambda y: y[last], sol.ys)
        t_final = sol.ts[last]
        saved_t = sol.ts[:-1]
        reached = jnp.isfinite(saved_t) & (jnp.arange(saved_t.shape[0]) < last)
        ys = jax.tree.map(
            lambda y, f: jnp.where(reached.reshape((-1,) + (1,) * f.ndim), y[:-1], f),
            sol.ys,
            final,
        )
        return FlowSolution(
            ys=ys,
            ts=jnp.where(reached, saved_t, t_final),
            t_final=t_final,
            num_steps=jnp.asarray(sol.stats["num_steps"]),
            succeeded=sol.result == diffrax.RESULTS.successful,
            event=sol.result == diffrax.RESULTS.event_occurred,
        )

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
