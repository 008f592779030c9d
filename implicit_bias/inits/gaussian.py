"""i.i.d. Gaussian initialization (optionally conditioned on det X(0) > 0)."""

import jax
import jax.numpy as jnp

from .._types import Params
from ..errors import ConfigError
from ._base import AbstractInit, gaussian_params, trainable_shapes


class Gaussian(AbstractInit):
    r"""Every trainable entry drawn i.i.d. from N(0, scale^2).

    This is the initialization of Marion & Chizat (2024), Fig. 1 (init scales 0.25 to 0.6).

    Attributes:
        positive_det: redraw (every factor, from a fresh key) until the end-to-end matrix
            :math:`X(0) = W_N \cdots W_1` has a positive determinant, i.e. the Gaussian draw
            conditioned on :math:`\det X(0) > 0`. This is the initialization of Razin & Cohen
            (2020)'s code (``DeepLinearNet(weight_init_type="normal", enforce_pos_det=True)``:
            ``torch.randn * init_alpha`` for every factor, redrawn until ``det >= 0``); each
            draw succeeds with probability 1/2. Needs square factors of one size
            (``model=matrix_factorization model.kind=deep``).
    """

    positive_det: bool = False

    def init_trainable(self, key, model, scale, dtype) -> Params:
        shapes = trainable_shapes(model)
        if not self.positive_det:
            return gaussian_params(key, shapes, scale, dtype)
        sizes = set(shapes.values())
        if len(sizes) != 1 or len(next(iter(sizes))) != 2 or len(set(next(iter(sizes)))) != 1:
            raise ConfigError(
                "init.positive_det",
                True,
                f"square weight matrices of one size; {type(model).__name__} has "
                f"{dict(shapes)} (use model=matrix_factorization model.kind=deep)",
            )

        def draw(i):
            return gaussian_params(jax.random.fold_in(key, i), shapes, scale, dtype)

        def det_sign(i):
            # det X = prod_k det W_k (the order of the product does not matter); the signs
            # alone, so that a small scale cannot underflow the product.
            return jnp.prod(jnp.stack([jnp.sign(jnp.linalg.det(w)) for w in draw(i).values()]))

        i = jax.lax.while_loop(lambda i: det_sign(i) <= 0, lambda i: i + 1, jnp.int32(0))
        return draw(i)
