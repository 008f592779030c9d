"""Softmax cross-entropy for one-hot classes."""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import AbstractLoss


class CrossEntropy(AbstractLoss):
    r"""Softmax cross-entropy on one-hot targets :math:`y_i \in \{0, 1\}^K`,

    .. math:: L = \frac1n\sum_i \Big(\log\sum_k e^{f_k(x_i)} - \sum_k y_{ik} f_k(x_i)\Big)
        = -\frac1n\sum_i \log \mathrm{softmax}(f(x_i))_{c_i},

    for a model with K outputs (``model.output_dim = K``) on ``multiclass`` data (one-hot
    targets, e.g. ``data=sklearn data.name=digits``). With K = 2 and outputs
    :math:`(0, g)` it is the logistic loss of ``g``; on separable data GD drives the
    multiclass margin to the multiclass hard-margin SVM direction (Soudry et al. 2018,
    Section 4.2). ``log-sum-exp`` is computed stably (``jax.nn.logsumexp``).
    """

    task: ClassVar[str] = "multiclass"

    def evaluate(self, model, params, X, y) -> Float[Array, ""]:
        logits = model.apply(params, X)
        return jnp.mean(jax.nn.logsumexp(logits, axis=-1) - jnp.sum(y * logits, axis=-1))
