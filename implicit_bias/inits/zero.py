"""All-zero initialization."""

import jax.numpy as jnp

from .._types import Params
from ._base import AbstractInit, trainable_shapes


class Zero(AbstractInit):
    """Every trainable parameter zero (``scale`` is ignored).

    The start of gradient descent on least squares in the min-norm theorem.
    """

    def init_trainable(self, key, model, scale, dtype) -> Params:
        del key, scale
        return {k: jnp.zeros(s, dtype) for k, s in trainable_shapes(model).items()}
