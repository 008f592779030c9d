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
    the data moments, :math:`w^\top\Sigma w - 2 w^\top b + c` (see
    :class:`~implicit_bias.data.Dataset`): a step then costs O(#params) rather than
    O(n #params). The two paths agree to rounding (tested); in float32 the moment form loses
    about ``1e-7 * y^T y / n`` absolutely near the minimum, which is far below the losses the
    experiments compare.

    Attributes:
        use_moments: use the moment form when the model allows it.
    """

    use_moments: bool = True
    task: ClassVar[str] = "regression"

    def __call__(self, model: AbstractModel, params: Params, data: Dataset) -> Float[Array, ""]:
        if self.use_moments and isinstance(model, AbstractLinearModel):
            w = model.predictor(params)
            return w @ (data.Sigma @ w) - 2.0 * (w @ data.Xty) + data.yty
        return self.evaluate(model, params, data.X, data.y)

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task: real targets, labels in {-1, +1} and one-hot classes (the square loss
        for classification: Hui & Belkin 2021; Cohen et al. 2021 train on one-hot targets)."""
        return TASKS

    def evaluate(self, model, params, X, y) -> Float[Array, ""]:
        # Sum over the outputs, mean over the samples: (1/n) sum_i ||f(x_i) - y_i||^2.
        r = model.apply(params, X) - y
        return jnp.vdot(r, r) / y.shape[0]
