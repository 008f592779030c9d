"""Abstract integrators: discrete (step by step) and continuous (ODE solves)."""

import abc
from typing import Any, ClassVar

import equinox as eqx
from jaxtyping import Array, Float, PRNGKeyArray

from .._types import Params
from ..problem import Problem


class AbstractIntegrator(eqx.Module):
    """Base class of every integrator.

    Attributes:
        continuous: ``True`` for time-continuous integrators (gradient flow), which integrate up
            to a time ``t1``; discrete ones take ``steps`` steps of size ``lr``.
    """

    continuous: ClassVar[bool] = False


class AbstractDiscreteIntegrator(AbstractIntegrator):
    """An iterative method ``state -> state`` with a (traced) learning rate.

    Written for one trajectory; the engine batches it with ``jax.vmap`` and runs the steps in
    a ``lax.scan``/``fori_loop``. The learning rate arrives as a traced scalar, so optax
    transformations are built inside the traced function (closing over the tracer).
    """

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


class AbstractContinuousIntegrator(AbstractIntegrator):
    """Integrates an ODE in the parameters (e.g. the gradient flow) up to a traced time."""

    continuous = True

    @abc.abstractmethod
    def solve(
        self,
        problem: Problem,
        params: Params,
        ts: Float[Array, " r"],
    ) -> tuple[Params, Float[Array, " r"], Array, Float[Array, ""], Array]:
        """Solve from ``t = 0``.

        Returns:
            ``(ys, ts_reached, ok, t_final, num_steps)``: parameters saved at ``ts`` (leading
            axis r; entries after an early stop are the final state), the save times actually
            reached, a success flag and the final time reached and the number of solver steps.
        """
