"""The square loss, mean over samples, without the 1/2."""

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._types import Params
from ..data._dataset import TASKS, Dataset
from ..models._base import AbstractLinearModel, AbstractModel
from ._base import AbstractLoss


class Square(AbstractLoss):
    r"""Mean squared error :math:`L = \frac1n \sum_i \|f(x_i) - y_i\|^2` (a sum over the outputs
    for (n, k) targets).

    This is the convention of Marion & Chizat (2024) (no factor 1/2): the sharpness of a
    minimizer and the edge of stability 2/lr refer to this scaling.

    For a model linear in x with end-to-end vector ``w`` the training loss is evaluated through
    the data's factored second moments, :math:`\|\tilde R w - \tilde z\|^2 + r_0` (see
    :class:`~implicit_bias.data.Dataset`): a step then costs O(k d) with k = min(n, d),
    independent of n, rather than O(n d). Unlike the expanded form
    :math:`w^\top\Sigma w - 2 w^\top b + c`, which cancels catastrophically near interpolation
    (negative losses in float32), it is a sum of squares, never negative, and as accurate as
    the residual ``X w - y`` computed directly (tested against a float64 residual on
    interpolating data for every model linear in x).

    Attributes:
        use_moments: use the factored-moment form when the model is linear in x (``False``:
            always the direct residual through the model's forward pass).
    """

    use_moments: bool = True
    has_output_form: ClassVar[bool] = True
    task: ClassVar[str] = "regression"

    def __call__(self, model: AbstractModel, params: Params, data: Dataset) -> Float[Array, ""]:
        if self.use_moments and isinstance(model, AbstractLinearModel):
            # (m,) or, for a predictor of k outputs, (m, k): a sum of squares either way.
            r = data.R @ model.predictor(params) - data.z
            return jnp.vdot(r, r) + data.r0
        return self.evaluate(model, params, data.X, data.y)

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task: real targets, labels in {-1, +1} and one-hot classes (the square loss
        for classification: Hui & Belkin 2021; Cohen et al. 2021 train on one-hot targets)."""
        return TASKS

    def evaluate(self, model, params, X, y) -> Float[Array, ""]:
        return self.of_outputs(model.apply(params, X), y)

    def of_outputs(self, outputs, y) -> Float[Array, ""]:
        # Sum over the outputs, mean over the samples: (1/n) sum_i ||f(x_i) - y_i||^2.
        r = outputs - y
        return jnp.vdot(r, r) / y.shape[0]

    def linear_optimum(self, data: Dataset):
        """The least-squares loss ``min_w ||R w - z||^2 + r0`` from the factored moments (a
        least-squares solve of the small k x d system): ``r0`` plus the part of ``z`` outside
        the range of ``R`` (zero when X has full row rank k); for k outputs, column by column."""
        w = jnp.linalg.lstsq(data.R, data.z)[0]
        r = data.R @ w - data.z
        return jnp.vdot(r, r) + data.r0, jnp.ones((), bool)
