"""The abstract loss."""

import abc
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from .._types import Params
from ..data._dataset import Dataset
from ..errors import check_finite_fields
from ..models._base import AbstractModel


class AbstractLoss(eqx.Module):
    """A training objective ``loss(model, params, data) -> scalar`` (mean over samples).

    Attributes:
        task: ``"regression"``, ``"classification"`` (labels in {-1, +1}) or ``"multiclass"``
            (one-hot targets); checked against the data generator when an experiment is built
            (see :attr:`tasks`).
    """

    def __check_init__(self):
        # Every float field (of every member) is finite: one check for the family.
        check_finite_fields(self, "loss")

    task: eqx.AbstractClassVar[str]

    @property
    def tasks(self) -> tuple[str, ...]:
        """The data tasks this loss trains on (checked when an experiment is built): its own
        ``task`` (default); the square loss also trains on labels and one-hot classes."""
        return (self.task,)

    def __call__(self, model: AbstractModel, params: Params, data: Dataset) -> Float[Array, ""]:
        """Training loss."""
        return self.evaluate(model, params, data.X, data.y)

    def test(self, model: AbstractModel, params: Params, data: Dataset) -> Float[Array, ""]:
        """Loss on the test set.

        Raises:
            ValueError: if the data set has no test set (there is then no test loss).
        """
        if not data.has_test_set:
            raise ValueError("the data set has no test set, so there is no test loss")
        return self.evaluate(model, params, data.X_test, data.y_test)

    #: Whether :meth:`of_outputs` is implemented (the Gauss-Newton matrix needs it).
    has_output_form: ClassVar[bool] = False

    def of_outputs(self, outputs: Float[Array, " n"], y: Float[Array, " n"]) -> Float[Array, ""]:
        """The loss as a function of the model's outputs on the samples alone (the
        ``output_loss`` of :class:`~implicit_bias.sharpness.GaussNewton`).

        Raises:
            NotImplementedError: for a loss without such a form (``has_output_form`` false).
        """
        raise NotImplementedError(f"{type(self).__name__} has no form as a function of outputs")

    def linear_optimum(self, data: Dataset) -> tuple[Float[Array, ""], Bool[Array, ""]] | None:
        """The smallest training loss over all linear predictors ``f(x) = w . x`` (its
        infimum) and whether a finite ``w`` attains it, or ``None`` where this loss does not
        compute it (the default). A model that
        can represent every linear predictor has this as its global minimum
        (:meth:`implicit_bias.problem.Problem.optimal_loss`); the run's status compares its
        final loss with it (:mod:`implicit_bias.status`)."""
        del data
        return None

    @abc.abstractmethod
    def evaluate(
        self, model: AbstractModel, params: Params, X: Float[Array, "n d"], y: Float[Array, " n"]
    ) -> Float[Array, ""]:
        """Loss on the given samples (direct path, through the model's forward pass)."""


#: Largest input dimension for which :func:`newton_minimum` is run (a d x d Hessian per step).
NEWTON_MAX_DIM = 256


def newton_minimum(
    f: Callable[[Array], Array], w0: Float[Array, " d"], iters: int = 40
) -> tuple[Float[Array, ""], Bool[Array, ""]]:
    """The minimum of a smooth convex ``f`` by damped Newton steps from ``w0``.

    Each step solves ``H s = g`` in the least-squares sense (a singular Hessian is allowed)
    and takes the best of the step sizes ``2^-k``, k = 0..30, or none: the loss never
    increases, so the value returned is an upper bound on the infimum, equal to it up to
    rounding where ``f`` has a minimizer (quadratic convergence). Where the infimum is not
    attained (separable data for the logistic loss) it is a small positive number, not the
    infimum 0. Returns the value (NaN if not finite) and whether it is attained: the last
    Newton step is below 1e-6 of the iterate (quadratic convergence to a minimizer), where on
    separable data the iterate keeps growing (steps ~ ||w|| / k)."""
    sizes = 2.0 ** -jnp.arange(31, dtype=w0.dtype)

    def body(_, carry):
        w, _ = carry
        g = jax.grad(f)(w)
        H = jax.hessian(f)(w)
        step = jnp.linalg.lstsq(H, g)[0]
        cands = w[None, :] - sizes[:, None] * step[None, :]
        vals = jax.vmap(f)(cands)
        vals = jnp.where(jnp.isfinite(vals), vals, jnp.inf)
        k = jnp.argmin(vals)
        new = jnp.where(vals[k] < f(w), cands[k], w)
        return new, jnp.linalg.norm(new - w)

    w, last = jax.lax.fori_loop(0, iters, body, (w0, jnp.zeros((), w0.dtype)))
    val = f(w)
    attained = jnp.isfinite(val) & (last <= 1e-6 * (1 + jnp.linalg.norm(w)))
    return jnp.where(jnp.isfinite(val), val, jnp.nan), attained
