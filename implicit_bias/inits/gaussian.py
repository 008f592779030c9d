"""i.i.d. Gaussian initialization."""

import jax.numpy as jnp

from .._types import Params
from ..errors import ConfigError
from ._base import AbstractInit, gaussian_params, trainable_shapes


class Gaussian(AbstractInit):
    """Every trainable entry drawn i.i.d. from N(0, scale^2).

    This is the initialization of Marion & Chizat (2024), Fig. 1 (init scales 0.25 to 0.6).

    Attributes:
        positive_det: for products of square factors (``model=matrix_factorization``): after
            the draw, if ``det W_N ... W_1 < 0``, negate the first row of the first factor, so
            that the product has a positive determinant (a draw conditioned on
            ``det X(0) > 0``, the initialization of Razin & Cohen (2020), whose outcome on
            their 2 x 2 completion depends on that sign; with probability one it is not 0).
            The gradient flow keeps each ``det W_k``'s sign, so ``det X(t) > 0`` throughout.
    """

    positive_det: bool = False

    def init_trainable(self, key, model, scale, dtype) -> Params:
        shapes = trainable_shapes(model)
        params = gaussian_params(key, shapes, scale, dtype)
        if not self.positive_det:
            return params
        for name, shape in shapes.items():
            if len(shape) != 2 or shape[0] != shape[1]:
                raise ConfigError(
                    "init.positive_det",
                    True,
                    f"square weight matrices; {type(model).__name__}.{name} has shape {shape} "
                    "(use model=matrix_factorization)",
                )
        # The sign of det(W_N ... W_1) = prod det W_k, from the signs (no over/underflow).
        sign = jnp.prod(jnp.stack([jnp.sign(jnp.linalg.det(w)) for w in params.values()]))
        first = next(iter(shapes))
        w = params[first]
        params[first] = w.at[0].set(jnp.where(sign < 0, -w[0], w[0]))
        return params
