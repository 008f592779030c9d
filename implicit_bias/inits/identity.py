"""Scaled-identity initialization of square factors."""

import jax.numpy as jnp

from .._types import Params
from ..errors import ConfigError
from ._base import AbstractInit, trainable_shapes


class Identity(AbstractInit):
    r"""Every trainable parameter equal to :math:`\alpha I` (``alpha = init_scale``).

    The initialization of Gunasekar et al. (2017), *Implicit regularization in matrix
    factorization*: :math:`U(0) = \alpha I`, so :math:`X(0) = U U^\top = \alpha^2 I`, and of
    the deep factorization :math:`W_k(0) = \alpha I`, :math:`X(0) = \alpha^N I`. It is
    deterministic (the key is unused), balanced (:math:`W_{k+1}^\top W_{k+1} = W_k W_k^\top`),
    and gives :math:`\det X(0) > 0`, the condition of Razin & Cohen (2020) under which norms
    diverge on their 2 x 2 completion problem.

    Raises:
        ConfigError: if a trainable parameter is not a square matrix.
    """

    def init_trainable(self, key, model, scale, dtype) -> Params:
        del key
        shapes = trainable_shapes(model)
        for name, shape in shapes.items():
            if len(shape) != 2 or shape[0] != shape[1]:
                raise ConfigError(
                    "init",
                    "identity",
                    f"square weight matrices; {type(model).__name__}.{name} has shape {shape} "
                    "(use model=matrix_factorization or residual_linear, or init=gaussian)",
                )
        return {k: scale * jnp.eye(s[0], dtype=dtype) for k, s in shapes.items()}
