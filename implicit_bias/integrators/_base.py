"""Abstract integrators: discrete (step by step) and continuous (ODE solves)."""

import abc
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from .._types import Params
from ..errors import check_finite_fields
from ..problem import Problem
from ..status import DIVERGED, SOLVER_FAILED, criteria, decide


class Termination(eqx.Module):
    """How a run ended, as the engine reports it to the integrator's
    :meth:`~AbstractIntegrator.postprocess` (scalars of one run; the engine builds it for a
    batch, with a leading batch axis, and vmaps ``postprocess``).

    Attributes:
        alive: ``False`` if the run diverged (non-finite loss or parameters, or a loss above
            the experiment's ``divergence_threshold``).
        solver_ok: a continuous integrator's solver reached ``t1`` or stopped at its own
            event; ``False`` if it gave up (e.g. diffrax's ``max_steps``). Always ``True`` for
            discrete integrators.
        event: the integrator's own stopping event fired (gradient flow's ``loss_tol``).
    """

    alive: Bool[Array, "*batch"]
    solver_ok: Bool[Array, "*batch"]
    event: Bool[Array, "*batch"]


class AbstractIntegrator(eqx.Module):
    """Base class of every integrator.

    An integrator owns its termination: the engine runs it, then asks
    :meth:`postprocess` for the run's status (:mod:`implicit_bias.status`).

    Attributes:
        continuous: ``True`` for time-continuous integrators (gradient flow), which integrate up
            to a time ``t1``; discrete ones take ``steps`` steps of size ``lr``.
    """

    def __check_init__(self):
        # Every float field (of every member) is finite: one check for the family.
        check_finite_fields(self, "integrator")

    continuous: eqx.AbstractClassVar[bool]

    def postprocess(
        self,
        termination: Termination,
        initial: Mapping[str, Array],
        final: Mapping[str, Array],
        converge_tol: float,
    ) -> Int[Array, ""]:
        """The status code of one finished run (:mod:`implicit_bias.status`).

        Default: ``diverged`` if the run diverged; ``solver_failed`` if a solver gave up;
        else :func:`implicit_bias.status.decide` on :func:`implicit_bias.status.criteria`
        (``stationary``, ``converged`` or ``max_steps``).

        Args:
            termination: how the run ended.
            initial: the run's metrics at initialization (``grad_norm``, ``train_loss``).
            final: the run's final metrics (``grad_norm``, ``train_loss``, ``optimal_loss``,
                ``min_eigenvalue``, ``sharpness``, ...), scalars.
            converge_tol: the experiment's relative gradient tolerance.
        """
        status = decide(criteria(dict(initial), dict(final), converge_tol))
        status = jnp.where(termination.solver_ok, status, SOLVER_FAILED)
        return jnp.where(termination.alive, status, DIVERGED).astype(jnp.int32)

    def stability_threshold(self, lr, initial_sharpness=None):
        r"""The largest sharpness at which this method is stable with step ``lr``, or ``None``.

        On a quadratic with Hessian eigenvalue :math:`\lambda`, a discrete method with step
        :math:`\eta` is linearly stable iff :math:`\lambda` is below this threshold: ``2/lr``
        for gradient descent, the edge of stability of Cohen et al. (2021); momentum moves it
        (see each integrator). Plots draw it next to the sharpness and reports compare with
        it. ``None``: no threshold of the sharpness exists, and none is drawn (continuous
        integrators; adaptive optimizers, whose stability is about the *preconditioned*
        Hessian, Cohen et al. 2022; normalized SAM, whose threshold depends on the gradient
        norm, Long & Bartlett 2024). Default: ``None``.

        Args:
            lr: the run's ``lr`` (a float or an array of them), as given in the config.
            initial_sharpness: the sharpness at initialization, for an lr given in units of
                the initial critical step (``integrator.lr_unit=edge``); ignored otherwise.

        Returns:
            The threshold (same shape as ``lr``), or ``None``.
        """
        del lr, initial_sharpness
        return None


class AbstractDiscreteIntegrator(AbstractIntegrator):
    """An iterative method ``state -> state`` with a (traced) learning rate.

    Written for one trajectory; the engine batches it with ``jax.vmap`` and runs the steps in
    a ``lax.scan``/``fori_loop``. The learning rate arrives as a traced scalar, so optax
    transformations are built inside the traced function (closing over the tracer).
    """

    continuous: ClassVar[bool] = False

    @abc.abstractmethod
    def init(
        self, problem: Problem, params: Params, lr: Float[Array, ""], key: PRNGKeyArray
    ) -> Any:
        """Initial state (a pytree)."""

    @abc.abstractmethod
    def step(self, problem: Problem, state: Any, lr: Float[Array, ""]) -> tuple[Any, Array]:
        """One step. Returns the new state and the training loss *before* the step."""

    @abc.abstractmethod
    def params(self, state: Any) -> Params:
        """The current (trainable) parameters of a state."""


class FlowSolution(eqx.Module):
    """A continuous integrator's solve of one run.

    Attributes:
        ys: the parameters saved at the requested times (leading axis r); entries after an
            early stop hold the final state.
        ts: the save times actually reached, shape (r,).
        t_final: the last time reached.
        num_steps: the solver's accepted steps.
        succeeded: the solver reached ``t1``.
        event: the solver stopped at the integrator's event before ``t1``.
    """

    ys: Params
    ts: Float[Array, " r"]
    t_final: Float[Array, ""]
    num_steps: Int[Array, ""]
    succeeded: Bool[Array, ""]
    event: Bool[Array, ""]


class AbstractContinuousIntegrator(AbstractIntegrator):
    """Integrates an ODE in the parameters (e.g. the gradient flow) up to a traced time."""

    continuous: ClassVar[bool] = True

    @abc.abstractmethod
    def solve(self, problem: Problem, params: Params, ts: Float[Array, " r"]) -> FlowSolution:
        """Solve from ``t = 0``, saving at the times ``ts`` (the last one is ``t1``)."""

    def solve_batch(
        self, problem: Callable[[Any], Problem], arrays: Any, params: Params, ts: Array
    ) -> FlowSolution:
        """Solve every run of a batch: ``problem(arrays_i)`` is run ``i``'s problem; ``arrays``,
        ``params`` and ``ts`` have a leading batch axis, as the returned solution.

        Default: :meth:`solve` under ``jax.vmap`` (an adaptive solve then steps the whole batch
        at the pace of its slowest run); an integrator may group the runs otherwise.
        """
        return jax.vmap(lambda a, p, t: self.solve(problem(a), p, t))(arrays, params, ts)
