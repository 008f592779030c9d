"""One trajectory's optimization problem: a model, a loss and the data it was drawn with."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._types import Params
from .data._dataset import Dataset
from .losses._base import AbstractLoss
from .models._base import (
    AbstractLinearModel,
    AbstractModel,
    AbstractReverseModeModel,
    merge,
)


class _ReverseOnly(AbstractModel):
    """``inner`` with :meth:`apply` replaced by its reverse-mode-only ``apply_for_grad``;
    everything else delegates to ``inner``."""

    inner: AbstractReverseModeModel

    @property
    def input_dim(self) -> int:
        return self.inner.input_dim

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return self.inner.param_shapes()

    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, "n ..."]:
        return self.inner.apply_for_grad(params, x)


class Problem(eqx.Module):
    """The objective seen by an integrator: ``loss(trainable_params) -> scalar``.

    Built inside the compiled program for each trajectory (its data depend on the seed).
    Integrators, sharpness and metrics only ever see the *trainable* parameters; the frozen
    ones (e.g. the projection of ``residual_linear``) are closed over.

    Attributes:
        model: the model (static structure).
        loss_obj: the loss.
        data: the data set of this trajectory.
        frozen: the frozen parameters of this trajectory.
    """

    model: AbstractModel
    loss_obj: AbstractLoss
    data: Dataset
    frozen: Params

    def full(self, trainable: Params) -> Params:
        """All parameters, in the model's order."""
        return merge(self.model, trainable, self.frozen)

    def loss(self, trainable: Params) -> Float[Array, ""]:
        """Full-batch training loss."""
        return self.loss_obj(self.model, self.full(trainable), self.data)

    def batch_loss(
        self, trainable: Params, idx: Array | None, targets: Array | None = None
    ) -> Float[Array, ""]:
        """Training loss on the samples ``idx`` (minibatch, direct path; ``None``: all of
        them), with their targets replaced by ``targets`` if given (label noise)."""
        X = self.data.X if idx is None else self.data.X[idx]
        if targets is None:
            targets = self.data.y if idx is None else self.data.y[idx]
        return self.loss_obj.evaluate(self.model, self.full(trainable), X, targets)

    def _for_grad(self) -> "Problem":
        # The same problem with the model's reverse-mode-only forward pass, if it has one.
        if isinstance(self.model, AbstractReverseModeModel):
            return dataclasses.replace(self, model=_ReverseOnly(self.model))
        return self

    def value_and_grad(self, trainable: Params) -> tuple[Float[Array, ""], Params]:
        """Training loss and its gradient, for the integrators.

        Goes through the model's
        :meth:`~implicit_bias.models.AbstractReverseModeModel.apply_for_grad` (a faster,
        reverse-mode-only forward pass) where the model has one; the result equals
        ``jax.value_and_grad(self.loss)`` to rounding.
        """
        return jax.value_and_grad(self._for_grad().loss)(trainable)

    def grad(self, trainable: Params) -> Params:
        """Gradient of the training loss (see :meth:`value_and_grad`)."""
        return jax.grad(self._for_grad().loss)(trainable)

    def batch_value_and_grad(
        self, trainable: Params, idx: Array | None, targets: Array | None = None
    ) -> tuple[Float[Array, ""], Params]:
        """Minibatch loss on the samples ``idx`` (optionally with other ``targets``, see
        :meth:`batch_loss`) and its gradient (see :meth:`value_and_grad`)."""
        return jax.value_and_grad(self._for_grad().batch_loss)(trainable, idx, targets)

    def test_loss(self, trainable: Params) -> Float[Array, ""]:
        """Loss on the test set."""
        return self.loss_obj.test(self.model, self.full(trainable), self.data)

    def optimal_loss(self) -> tuple[Float[Array, ""], Array] | None:
        """The model's smallest training loss (its infimum) where it is known, and whether
        it is attained (``False`` on separable data for the logistic and exponential losses:
        no minimizer exists), else ``None`` (static):
        for a model linear in x that can represent every linear predictor
        (:meth:`~implicit_bias.models.AbstractLinearModel.spans_linear_predictors`: linear,
        deep linear, signed diagonal), the loss's minimum over linear predictors
        (:meth:`~implicit_bias.losses.AbstractLoss.linear_optimum`: least squares for the
        square loss, Newton's method for the logistic and exponential losses)."""
        if isinstance(self.model, AbstractLinearModel) and self.model.spans_linear_predictors():
            return self.loss_obj.linear_optimum(self.data)
        return None

    def metrics(self, trainable: Params) -> dict[str, Float[Array, ""]]:
        """Cheap scalars recorded along training (no Hessian); ``test_loss`` only when the data
        set has a test set."""
        params = self.full(trainable)
        out = {"train_loss": self.loss(trainable)}
        if self.data.has_test_set:
            out["test_loss"] = self.test_loss(trainable)
        if isinstance(self.model, AbstractLinearModel) and self.data.w_star is not None:
            w = self.model.predictor(params)
            out["dist_to_wstar"] = jnp.sum((w - self.data.w_star) ** 2) / w.shape[0]
            out["predictor_norm"] = jnp.linalg.norm(w)
        out.update(self.model.extra_metrics(params))
        return out
