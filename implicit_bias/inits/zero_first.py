"""First layer zero, the others Gaussian."""

import jax.numpy as jnp

from .._types import Params
from ._base import AbstractInit, gaussian_params, trainable_shapes


class ZeroFirst(AbstractInit):
    """``W1 = 0`` and every other trainable entry i.i.d. N(0, scale^2).

    The small-initialization assumption of Marion & Chizat (2024), Section 4 (their gradient-flow
    analysis starts from W_1 = 0).
    """

    def init_trainable(self, key, model, scale, dtype) -> Params:
        shapes = trainable_shapes(model)
        params = gaussian_params(key, shapes, scale, dtype)
        first = next(iter(shapes))
        params[first] = jnp.zeros(shapes[first], dtype)
        return params
