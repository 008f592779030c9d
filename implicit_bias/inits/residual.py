"""Residual (near-identity) initialization of square layers."""

import math

import jax.numpy as jnp

from .._types import Params
from ..errors import ConfigError
from ._base import AbstractInit, gaussian_params, trainable_shapes


class Residual(AbstractInit):
    r"""Square layers initialized around the identity.

    .. math:: W_k = I_d + \frac{s}{\sqrt{L d}} N_k,\quad (N_k)_{ij} \sim N(0, 1),

    with L the number of (square) weight matrices, as in Marion & Chizat (2024), Section 5.

    Raises:
        ConfigError: if a trainable parameter is not a square matrix.
    """

    def init_trainable(self, key, model, scale, dtype) -> Params:
        shapes = trainable_shapes(model)
        for name, shape in shapes.items():
            if len(shape) != 2 or shape[0] != shape[1]:
                raise ConfigError(
                    "init",
                    "residual",
                    f"square weight matrices; {type(model).__name__}.{name} has shape {shape} "
                    "(use model=residual_linear, or init=gaussian)",
                )
        depth = len(shapes)
        d = next(iter(shapes.values()))[0]
        noise = gaussian_params(key, shapes, scale / math.sqrt(depth * d), dtype)
        return {k: jnp.eye(s[0], dtype=dtype) + noise[k] for k, s in shapes.items()}
