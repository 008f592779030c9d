"""Exponential loss for labels in {-1, +1}."""

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import NEWTON_MAX_DIM, AbstractLoss, newton_minimum


class Exponential(AbstractLoss):
    r"""Exponential loss :math:`L = \frac1n\sum_i e^{-y_i f(x_i)}`, y in {-1, +1}.

    Same max-margin limit as the logistic loss on separable data (Soudry et al. 2018).
    """

    has_output_form: ClassVar[bool] = True
    task: ClassVar[str] = "classification"

    def evaluate(self, model, params, X, y) -> Float[Array, ""]:
        return self.of_outputs(model.apply(params, X), y)

    def of_outputs(self, outputs, y) -> Float[Array, ""]:
        return jnp.mean(jnp.exp(-y * outputs))

    def linear_optimum(self, data):
        """The minimum over linear predictors by Newton's method from ``w = 0``
        (:func:`~implicit_bias.losses._base.newton_minimum`): exact to rounding on data that
        are not linearly separable; on separable data (infimum 0, not attained) a small
        positive upper bound. ``None`` above :data:`NEWTON_MAX_DIM` input dimensions."""
        d = data.X.shape[1]
        if d > NEWTON_MAX_DIM:
            return None
        yX = data.y[:, None] * data.X
        return newton_minimum(lambda w: jnp.mean(jnp.exp(-(yX @ w))), jnp.zeros(d, yX.dtype))
