r"""Basis pursuit: the small-initialization limit of diagonal linear networks.

    basis_pursuit(A, b)             = argmin ||x||_1  s.t.  A x = b
    basis_pursuit_nonnegative(A, b) = argmin sum(x)   s.t.  A x = b, x >= 0

Gradient flow on the diagonal network ``beta = u*u - v*v`` (resp. ``x = u*u``) from
``u(0) = v(0) = alpha 1`` converges, as ``alpha -> 0``, to a solution of the first (resp. second)
program (Woodworth et al. 2020, Theorem 1 and Sec. 4; see :mod:`.diagonal_networks` for finite
``alpha``); the minimum-L2 interpolator :func:`min_l2_solution` is the ``alpha -> inf`` limit.

Solver: one linear program with HiGHS (:func:`scipy.optimize.linprog`, ``method="highs"``),
using the split ``x = p - q``, ``p, q >= 0``, objective ``1^T (p + q)``. The LP solution is a
vertex, so its support ``S`` has linearly independent columns; it is then polished by
re-solving ``A_S x_S = b`` with :func:`scipy.linalg.lstsq`, which makes ``A x = b`` hold to
rounding error (the polished point is kept only if it has the same signs and objective).

References:
    Chen, Donoho & Saunders (1998), "Atomic decomposition by basis pursuit", SIAM J. Sci.
    Comput.; Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry & Srebro (2020),
    "Kernel and rich regimes in overparametrized models", COLT.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.optimize

from implicit_bias.theory._validation import ArrayLike, as_matrix, as_vector
from implicit_bias.theory.min_norm import min_l2_solution

__all__ = ["basis_pursuit", "basis_pursuit_nonnegative", "min_l2_solution"]

_HIGHS_OPTIONS = {
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
}


def _validate(A: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    A = as_matrix("A", A)
    b = as_vector("b", b, length=A.shape[0])
    return A, b


def _solve_lp(c: np.ndarray, A_eq: np.ndarray, b: np.ndarray, infeasible: str) -> np.ndarray:
    res = scipy.optimize.linprog(
        c, A_eq=A_eq, b_eq=b, bounds=(0, None), method="highs", options=_HIGHS_OPTIONS
    )
    if res.status == 2:
        raise ValueError(f"b is infeasible: {infeasible} (HiGHS: {res.message})")
    if res.status != 0:
        raise RuntimeError(
            f"linprog(method='highs') failed with status {res.status}: {res.message}"
        )
    return res.x


def _polish(A: np.ndarray, b: np.ndarray, x: np.ndarray, objective) -> np.ndarray:
    """Re-solves ``A_S x_S = b`` on the support; keeps it if signs and objective are kept."""
    scale = max(1.0, float(np.max(np.abs(x))))
    support = np.flatnonzero(np.abs(x) > 1e-9 * scale)
    if support.size == 0 or support.size > A.shape[0]:
        return x
    x_s, *_ = scipy.linalg.lstsq(A[:, support], b)
    cand = np.zeros_like(x)
    cand[support] = x_s
    same_signs = np.all(np.sign(x_s) == np.sign(x[support]))
    better_fit = np.linalg.norm(A @ cand - b) <= np.linalg.norm(A @ x - b)
    no_worse = objective(cand) <= objective(x) + 1e-9 * scale
    return cand if (same_signs and better_fit and no_worse) else x


def basis_pursuit(A: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Minimum-L1 solution ``argmin ||x||_1 s.t. A x = b`` (LP via HiGHS, then polished).

    Args:
        A: measurement matrix, shape ``(m, d)``.
        b: measurements, shape ``(m,)``.

    Returns:
        ``x``, shape ``(d,)``. If the minimizer is not unique, one vertex of the solution
        set (the one HiGHS returns).

    Raises:
        ValueError: on bad inputs or if ``A x = b`` has no solution.
        RuntimeError: if HiGHS fails for another reason.
    """
    A, b = _validate(A, b)
    d = A.shape[1]
    pq = _solve_lp(
        np.ones(2 * d),
        np.hstack([A, -A]),
        b,
        "A x = b has no solution (b is not in the range of A)",
    )
    x = pq[:d] - pq[d:]
    return _polish(A, b, x, lambda z: float(np.abs(z).sum()))


def basis_pursuit_nonnegative(A: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Minimum-sum nonnegative solution ``argmin sum(x) s.t. A x = b, x >= 0``.

    The ``alpha -> 0`` limit of the nonnegative diagonal network ``x = u * u``.

    Args:
        A: measurement matrix, shape ``(m, d)``.
        b: measurements, shape ``(m,)``.

    Returns:
        ``x >= 0``, shape ``(d,)``.

    Raises:
        ValueError: on bad inputs or if ``{A x = b, x >= 0}`` is empty.
        RuntimeError: if HiGHS fails for another reason.
    """
    A, b = _validate(A, b)
    x = _solve_lp(
        np.ones(A.shape[1]),
        A,
        b,
        "A x = b has no solution with x >= 0 (b is not in the cone A R^d_+)",
    )
    x = np.maximum(x, 0.0)
    return _polish(A, b, x, lambda z: float(z.sum()) if np.all(z >= 0) else np.inf)
