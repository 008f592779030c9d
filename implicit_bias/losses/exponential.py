"""Exponential loss for labels in {-1, +1}."""

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import AbstractLoss


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
