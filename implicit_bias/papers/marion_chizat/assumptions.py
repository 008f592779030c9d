r"""Assumptions (A1) and (A2) of Section 4, evaluated run by run.

(A1) (line 65, reconstructed from its uses in the proof of Theorem 3, lines 369-379, and from
the example of line 66): the initialization has a risk no larger than the zero network's,
``R(W(0)) <= R_0 = mean(y^2)``, and a nonzero gradient, ``grad R(W(0)) != 0``. Line 66: "It is
satisfied for instance if one of the weight matrices is equal to zero at initialization while
the others have i.i.d. Gaussian entries" (then ``R(W(0)) = R_0`` and, almost surely, the
gradient w.r.t. the zero matrix is not 0): the ``zero_first`` init. With every layer Gaussian
the first condition holds only when the initial end-to-end vector correlates positively
enough with ``X^T y`` (about half of the draws).

(A2) (line 92): "The data covariance matrix is full rank, and we have [three inequalities]";
line 93: "The last condition means that the initialization has to be scaled down as the depth
increases". The inequalities were lost in extraction. We evaluate the first part exactly and
read the last condition as ``L epsilon <= ||w*||^{2/L}`` (``epsilon`` of Lemma 2,
:func:`~.lemma2.epsilon`); the two intermediate ("technical") conditions are not evaluated.
This is a proxy, and the claims report says so where it uses it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["a1", "a2"]


def a1(excess, initial_grad_norm) -> np.ndarray:
    """(A1) per run: ``R(W(0)) - R_0 <= 0`` and a nonzero initial gradient.

    Args:
        excess: ``R(W(0)) - R_0 = w0^T Sigma w0 - 2 w0^T X^T y / n`` computed from the initial
            end-to-end vector ``w0`` (for a small init ``w0 ~ s^L`` and the difference of the
            two losses would be rounding: ~1e-20 against losses ~1); 0 for a zero layer.
        initial_grad_norm: the gradient norm at initialization.
    """
    return (np.asarray(excess) <= 0) & (np.asarray(initial_grad_norm) > 0)


def a2(rank, d: int, eps, depth: int, norm_w) -> np.ndarray:
    """(A2) per run, as evaluated here: ``Sigma`` full rank (``rank == d``: ``d`` eigenvalues
    above ``1e-10 Lambda``) and ``L epsilon <= ||w*||^{2/L}`` (proxy, see above).

    Args:
        rank: rank of ``Sigma`` per run.
        d: the input dimension.
        eps: Lemma 2's ``epsilon`` per run.
        depth: L.
        norm_w: ``||w*||`` per run.
    """
    full = np.asarray(rank) == d
    small = depth * np.asarray(eps) <= np.asarray(norm_w) ** (2.0 / depth)
    return full & small
