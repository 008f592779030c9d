r"""A diagonal block of an operator: its restriction to a subset of the parameters.

For a parameter subset :math:`S` (e.g. one layer) with selection matrix :math:`E_S \in
\mathbb{R}^{p \times |S|}` (columns: the unit vectors of the selected coordinates), the block
is :math:`A_{SS} = E_S^\top A E_S`: for the Hessian, the Hessian of the loss in the selected
parameters with the others held fixed (the per-layer Hessians of Sankar et al., 2021, *A
deeper look at the Hessian eigenspectrum of deep neural networks*). By Cauchy interlacing its
eigenvalues lie in :math:`[\lambda_{\min}(A), \lambda_{\max}(A)]`. Each product costs one
product of the full operator (zero-padded in, restricted out).
"""

from collections.abc import Sequence
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PyTree

from ._operator import AbstractOperator


def _ranges(params: PyTree, select: PyTree | Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Static ``(start, stop)`` ranges of the selected leaves in the ``ravel_pytree`` layout."""
    leaves = jax.tree.leaves(params)
    if isinstance(select, Sequence) and not isinstance(select, str):
        if not isinstance(params, dict):
            raise ValueError("select by names needs dict params; pass a boolean mask pytree")
        unknown = [name for name in select if name not in params]
        if unknown:
            raise ValueError(f"select names {unknown} are not parameters: {list(params)}")
        mask = {name: name in select for name in params}
    else:
        mask = select
    flags = jax.tree.leaves(mask)
    if len(flags) != len(leaves):
        raise ValueError(f"select has {len(flags)} leaves but params have {len(leaves)}")
    ranges, start = [], 0
    for leaf, flag in zip(leaves, flags, strict=True):
        size = int(np.prod(jnp.shape(leaf)))
        if bool(flag):
            ranges.append((start, start + size))
        start += size
    if not ranges:
        raise ValueError("select selects no parameter")
    return tuple(ranges)


@final
class Block(AbstractOperator):
    r"""The diagonal block :math:`A_{SS}` of ``op`` for the parameters selected by ``select``.

    Args:
        op: the full operator (dimension :math:`p`, in the ``ravel_pytree(params)`` layout).
        params: the parameter pytree ``op`` was built from (only its structure and shapes are
            read).
        select: the subset :math:`S`: a sequence of top-level names of dict ``params``
            (``["W1"]``) or a pytree of Python bools with the structure of ``params``.

    Raises:
        ValueError: for unknown names, a mask of the wrong structure, or an empty selection.

    Attributes:
        ranges: static ``(start, stop)`` coordinate ranges of :math:`S` in the flat layout;
            flat vectors of the block are the concatenation of these ranges.
    """

    op: AbstractOperator
    ranges: tuple[tuple[int, int], ...] = eqx.field(static=True)
    _full_dim: int = eqx.field(static=True)

    def __init__(self, op: AbstractOperator, params: PyTree, select: PyTree | Sequence[str]):
        self.op = op
        self.ranges = _ranges(params, select)
        self._full_dim = op.dim
        total = sum(int(np.prod(jnp.shape(x))) for x in jax.tree.leaves(params))
        if total != op.dim:
            raise ValueError(f"params have {total} entries but the operator has dim {op.dim}")

    @property
    def dim(self) -> int:
        return sum(stop - start for start, stop in self.ranges)

    @property
    def dtype(self) -> jnp.dtype:
        return self.op.dtype

    def embed(self, v: Float[Array, " s"]) -> Float[Array, " p"]:
        """:math:`E_S v`: the block vector zero-padded to the full layout."""
        pieces, pos, off = [], 0, 0
        for start, stop in self.ranges:
            if start > pos:
                pieces.append(jnp.zeros(start - pos, v.dtype))
            pieces.append(v[off : off + stop - start])
            off += stop - start
            pos = stop
        if pos < self._full_dim:
            pieces.append(jnp.zeros(self._full_dim - pos, v.dtype))
        return jnp.concatenate(pieces)

    def restrict(self, w: Float[Array, " p"]) -> Float[Array, " s"]:
        """:math:`E_S^\\top w`: the selected coordinates of a full vector."""
        return jnp.concatenate([w[start:stop] for start, stop in self.ranges])

    def matvec(self, v: Float[Array, " s"]) -> Float[Array, " s"]:
        return self.restrict(self.op.matvec(self.embed(v.astype(self.dtype))))
