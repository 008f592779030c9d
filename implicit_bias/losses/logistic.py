"""Logistic loss for labels in {-1, +1}."""

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import AbstractLoss


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
