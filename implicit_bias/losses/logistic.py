"""Logistic loss for labels in {-1, +1}."""

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import NEWTON_MAX_DIM, AbstractLoss, newton_minimum


class Logistic(AbstractLoss):
    r"""Logistic loss :math:`L = \frac1n\sum_i \log(1 + e^{-y_i f(x_i)})`, y in {-1, +1}.

    On linearly separable data, gradient descent drives ``||w||`` to infinity like ``log t`` and
    ``w / ||w||`` to the hard-margin SVM direction (Soudry et al. 2018).
    """

    has_output_form: ClassVar[bool] = True
    task: ClassVar[str] = "classification"

    def evaluate(self, model, params, X, y) -> Float[Array, ""]:
        return self.of_outputs(model.apply(params, X), y)

    def of_outputs(self, outputs, y) -> Float[Array, ""]:
        # softplus(-m) = log(1 + exp(-m)), computed stably for large margins.
        return jnp.mean(jnp.logaddexp(0.0, -y * outputs))

    def linear_optimum(self, data):
        """The minimum over linear predictors by Newton's method from ``w = 0``
        (:func:`~implicit_bias.losses._base.newton_minimum`): exact to rounding on data that
        are not linearly separable; on separable data (infimum 0, not attained) a small
        positive upper bound. ``None`` above :data:`NEWTON_MAX_DIM` input dimensions."""
        d = data.X.shape[1]
        if d > NEWTON_MAX_DIM:
            return None
        yX = data.y[:, None] * data.X
        w0 = jnp.zeros(d, yX.dtype)
        return newton_minimum(lambda w: jnp.mean(jnp.logaddexp(0.0, -(yX @ w))), w0)
