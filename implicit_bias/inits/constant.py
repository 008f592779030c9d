"""Constant initialization, e.g. alpha * 1 for diagonal networks."""

import jax.numpy as jnp

from .._types import Params
from ._base import AbstractInit, trainable_shapes


class Constant(AbstractInit):
    """Every trainable entry equal to ``scale`` (e.g. u(0) = v(0) = alpha * 1)."""

    def init_trainable(self, key, model, scale, dtype) -> Params:
        del key
        return {k: jnp.full(s, scale, dtype) for k, s in trainable_shapes(model).items()}
