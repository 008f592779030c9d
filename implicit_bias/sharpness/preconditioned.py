r"""A diagonally preconditioned operator, e.g. the preconditioned Hessian of Adam.

An adaptive method steps :math:`\theta \leftarrow \theta - \eta P^{-1} m` with a diagonal
preconditioner :math:`P = \operatorname{diag}(d)`, :math:`d > 0` (Adam: :math:`d =
\sqrt{\hat\nu} + \epsilon`). Its local stability is governed by the eigenvalues of
:math:`P^{-1} H`, the *preconditioned sharpness* (Cohen et al., 2022, *Adaptive gradient
methods at the edge of stability*, §3: Adam is stable while
:math:`\lambda_{\max}(P^{-1}H) < (2 + 2\beta_1)/((1 - \beta_1)\eta)`). :math:`P^{-1}H` is not
symmetric, but it is similar to the symmetric

.. math::  A = P^{-1/2} H P^{-1/2},

with the same eigenvalues; an eigenvector :math:`u` of :math:`A` gives the eigenvector
:math:`P^{-1/2} u` of :math:`P^{-1} H`. This module provides :math:`A`.
"""

from typing import final

import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, PyTree

from ._operator import AbstractOperator


@final
class Preconditioned(AbstractOperator):
    r"""The symmetric :math:`P^{-1/2} A P^{-1/2}` of an operator ``op`` and ``P = diag(diag)``.

    Args:
        op: the operator :math:`A` (e.g. a :class:`Hessian`).
        diag: the preconditioner's diagonal :math:`d`, flat ``(p,)`` or a pytree like the
            parameters (e.g. ``sqrt(nu_hat) + eps`` from Adam's state). Entries must be
            ``> 0``; a value check would need the values under ``jit``, so it is the caller's
            promise (a zero gives ``inf``).

    Raises:
        ValueError: if ``diag`` does not have ``op.dim`` entries.
    """

    op: AbstractOperator
    inv_sqrt: Float[Array, " p"]

    def __init__(self, op: AbstractOperator, diag: PyTree):
        d = diag if isinstance(diag, jnp.ndarray) and diag.ndim == 1 else ravel_pytree(diag)[0]
        if d.shape != (op.dim,):
            raise ValueError(f"diag has {d.size} entries but the operator has dimension {op.dim}")
        self.op = op
        self.inv_sqrt = 1.0 / jnp.sqrt(d.astype(op.dtype))

    @property
    def dim(self) -> int:
        return self.op.dim

    @property
    def dtype(self) -> jnp.dtype:
        return self.op.dtype

    def matvec(self, v: Float[Array, " p"]) -> Float[Array, " p"]:
        return self.inv_sqrt * self.op.matvec(self.inv_sqrt * v)

    def matmat(self, vs: Float[Array, "b p"]) -> Float[Array, "b p"]:
        return self.inv_sqrt * self.op.matmat(self.inv_sqrt * vs)
