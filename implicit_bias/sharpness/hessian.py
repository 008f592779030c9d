r"""The Hessian of a loss as a matrix-free operator (the default operator of the estimators).

:math:`A = \nabla^2 L(\theta) \in \mathbb{R}^{p \times p}` at the flattened parameters
:math:`\theta` (``jax.flatten_util.ravel_pytree`` layout). Products are forward-over-reverse
Hessian-vector products (Pearlmutter, 1994): ``jax.linearize`` of the reverse-mode gradient is
taken once, so each product costs only the tangent pass (see :func:`._hvp.hvp_operator`).
"""

from collections.abc import Callable
from typing import final

import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, PyTree

from ._hvp import LossFn, hvp_operator
from ._operator import AbstractOperator


@final
class Hessian(AbstractOperator):
    r"""The Hessian :math:`\nabla^2 L(\theta)` of ``loss_fn`` at ``params``.

    Args:
        loss_fn: ``loss_fn(params) -> scalar``, e.g. the full-batch training loss.
        params: any pytree of float arrays (the trainable parameters), :math:`p` entries in
            all; their promoted dtype is the operator's dtype.

    Attributes:
        point: ``(p,)`` the flattened parameters.
        unravel: maps a flat ``(p,)`` vector (e.g. an eigenvector) back to the pytree layout.

    Cost: one gradient evaluation (the linearization) at construction; then per product the
    tangent pass, a small constant times a gradient; memory the residuals of one backward pass.
    """

    point: Float[Array, " p"]
    unravel: Callable[[Array], PyTree]
    _matvec: Callable[[Array], Array]

    def __init__(self, loss_fn: LossFn, params: PyTree):
        self.point, self._matvec = hvp_operator(loss_fn, params)
        self.unravel = ravel_pytree(params)[1]

    @property
    def dim(self) -> int:
        return self.point.shape[0]

    @property
    def dtype(self) -> jnp.dtype:
        return self.point.dtype

    def matvec(self, v: Float[Array, " p"]) -> Float[Array, " p"]:
        return self._matvec(v.astype(self.dtype))
