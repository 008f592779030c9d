r"""Every eigenvalue above a threshold, e.g. above :math:`c / \eta`, tracked with warm starts.

The central-flow analysis of Cohen et al. (2025, *Understanding optimization in deep learning
with central flows*) follows every Hessian eigenvalue above :math:`2/\eta` (their code tracks
those above :math:`1.5/\eta`) along training. The number above the threshold changes along a
trajectory while shapes under ``jit`` cannot, so this computes the top ``k_max`` pairs and
masks those above the threshold; passing the previous ``pairs.vectors`` as ``v0`` at the next
record point makes each call converge in about one cycle.
"""

from typing import final

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from ._operator import AbstractOperator
from .eigenpairs import Eigenpairs, topk


@final
class AboveThreshold(eqx.Module):
    """The top ``k_max`` eigenpairs with a mask of those above the threshold.

    Attributes:
        pairs: :class:`Eigenpairs` of the ``k_max`` largest eigenvalues (descending).
        above: ``(k_max,)`` ``pairs.eigenvalues > threshold``.
        count: number above the threshold (``sum(above)``).
        complete: ``count < k_max``: a returned eigenvalue is at or below the threshold, so
            (unless an eigenvalue was missed by the Krylov space, see :mod:`.eigenpairs`) no
            eigenvalue above the threshold is left out. ``False`` means there may be more than
            ``k_max``: raise ``k_max``.
    """

    pairs: Eigenpairs
    above: Bool[Array, " k"]
    count: Int[Array, ""]
    complete: Bool[Array, ""]


def eigenvalues_above(
    op: AbstractOperator,
    key: PRNGKeyArray,
    threshold: Float[Array, ""] | float,
    *,
    k_max: int,
    v0: Float[Array, "j p"] | Float[Array, " p"] | None = None,
    **kwargs,
) -> AboveThreshold:
    r"""Eigenpairs of ``op`` above ``threshold`` (at most ``k_max``; static shapes).

    Args:
        op: a symmetric operator.
        key: PRNG key (start block, breakdown directions).
        threshold: a scalar, may be traced (e.g. ``1.5 / lr`` with a swept ``lr``).
        k_max: static upper bound on how many are tracked.
        v0: warm start, e.g. the previous result's ``pairs.vectors``.
        **kwargs: ``block_size``, ``krylov_dim``, ``max_restarts``, ``tol`` of
            :func:`~implicit_bias.sharpness.eigenpairs`.
    """
    pairs = topk(op, key, k_max, v0=v0, **kwargs)
    above = pairs.eigenvalues > jnp.asarray(threshold, op.dtype)
    count = jnp.sum(above).astype(jnp.int32)
    complete = (count < k_max) | (k_max == op.dim)
    return AboveThreshold(pairs=pairs, above=above, count=count, complete=jnp.asarray(complete))
