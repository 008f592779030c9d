"""An explicit symmetric matrix as an operator: for tests, and for small reduced problems."""

from typing import final

import jax.numpy as jnp
from jaxtyping import Array, Float

from ._operator import AbstractOperator


@final
class Dense(AbstractOperator):
    """The symmetric matrix ``matrix`` (shape ``(p, p)``) as an operator.

    Args:
        matrix: a symmetric ``(p, p)`` float array; symmetry is the caller's promise (it is
            not checked, which would need the values under ``jit``).

    Raises:
        ValueError: if ``matrix`` is not square.
    """

    matrix: Float[Array, "p p"]

    def __check_init__(self):
        if self.matrix.ndim != 2 or self.matrix.shape[0] != self.matrix.shape[1]:
            raise ValueError(f"matrix must be square (p, p), got shape {self.matrix.shape}")

    @property
    def dim(self) -> int:
        return self.matrix.shape[0]

    @property
    def dtype(self) -> jnp.dtype:
        return self.matrix.dtype

    def matvec(self, v: Float[Array, " p"]) -> Float[Array, " p"]:
        return self.matrix @ v.astype(self.dtype)

    def matmat(self, vs: Float[Array, "b p"]) -> Float[Array, "b p"]:
        return vs.astype(self.dtype) @ self.matrix.T
