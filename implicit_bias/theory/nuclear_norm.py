r"""Minimum nuclear-norm solutions of matrix sensing and completion (via cvxpy, optional).

    nuclear_norm_minimizer(As, b)   = argmin ||X||_*  s.t. <A_i, X> = b_i,  i = 1..m
    nuclear_norm_completion(...)    = argmin ||X||_*  s.t. X_jk = M_jk on the observed entries
    min_trace_psd(As, b)            = argmin tr(X)    s.t. <A_i, X> = b_i,  X = X^T >= 0

Gunasekar, Woodworth, Bhojanapalli, Neyshabur & Srebro (2017), "Implicit regularization in
matrix factorization" (NeurIPS), conjecture (and prove for commuting measurements) that
gradient flow on ``L(U) = mean_i (<A_i, U U^T> - b_i)^2`` from ``U(0) = alpha U_0`` with
``alpha -> 0`` converges to ``min_trace_psd`` (for a PSD solution the trace is the nuclear
norm). The conjecture is known to fail in some settings (Razin & Cohen 2020; Li, Luo & Lyu
2021), so treat these programs as the *conjectured* limit, exact only where it is proved.

Solver: the semidefinite programs are built with cvxpy (``normNuc`` / PSD variable) and solved
with Clarabel when installed, at tightened tolerances (``tol_gap_abs = tol_gap_rel = tol_feas =
1e-9``; interior-point errors in ``X`` scale like the square root of the gap on degenerate,
low-rank solutions, so the default 1e-8 would leave ~1e-5 errors); if that fails, Clarabel at
its defaults, then cvxpy's default solver. cvxpy is an optional dependency, imported lazily:
``pip install implicit_bias[cvx]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import SupportsIndex

import numpy as np

from implicit_bias.theory._validation import ArrayLike, as_array, as_vector

__all__ = ["min_trace_psd", "nuclear_norm_completion", "nuclear_norm_minimizer"]


def _cvxpy():
    try:
        import cvxpy
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the nuclear-norm references need cvxpy, an optional extra of implicit_bias: "
            "pip install implicit_bias[cvx]  (or: pip install cvxpy)"
        ) from err
    return cvxpy


_CLARABEL_OPTIONS = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9, "max_iter": 500}


def _solve(cp, problem, solver: str | None, what: str) -> None:
    """Solves with Clarabel at tight tolerances, falling back to its defaults, then cvxpy's."""
    if solver is not None:
        attempts = [{"solver": solver}]
    elif "CLARABEL" in cp.installed_solvers():
        attempts = [{"solver": "CLARABEL", **_CLARABEL_OPTIONS}, {"solver": "CLARABEL"}, {}]
    else:
        attempts = [{}]
    for i, kwargs in enumerate(attempts):
        try:
            with warnings.catch_warnings():
                # OPTIMAL_INACCURATE at the tightened tolerances is still far below the default
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                problem.solve(**kwargs)
        except cp.error.SolverError:
            continue
        if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise ValueError(
                f"{what}: the constraints are infeasible (cvxpy status {problem.status})"
            )
        tight = i == 0 and solver is None
        last = i == len(attempts) - 1
        if problem.status == cp.OPTIMAL or (
            problem.status == cp.OPTIMAL_INACCURATE and (tight or last)
        ):
            return
    raise RuntimeError(f"{what}: cvxpy failed (last status {problem.status}) with {attempts}")


def _sensing(As: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    As = as_array("As", As, ndim=3)
    b = as_vector("b", b, length=As.shape[0])
    return As, b


def nuclear_norm_minimizer(As: ArrayLike, b: ArrayLike, solver: str | None = None) -> np.ndarray:
    """Minimum nuclear norm ``argmin ||X||_* s.t. <A_i, X> = sum(A_i * X) = b_i``.

    Args:
        As: measurement matrices, shape ``(m, d1, d2)``.
        b: measurements, shape ``(m,)``.
        solver: optional cvxpy solver name (default: Clarabel at 1e-9 tolerances, else
            cvxpy's choice).

    Returns:
        ``X``, shape ``(d1, d2)``.

    Raises:
        ImportError: if cvxpy is not installed (``pip install implicit_bias[cvx]``).
        ValueError: on bad inputs or infeasible constraints.
        RuntimeError: if the solver fails.
    """
    cp = _cvxpy()
    As, b = _sensing(As, b)
    m, d1, d2 = As.shape
    X = cp.Variable((d1, d2))
    vecX = cp.reshape(X, (d1 * d2,), order="C")
    problem = cp.Problem(cp.Minimize(cp.normNuc(X)), [As.reshape(m, -1) @ vecX == b])
    _solve(cp, problem, solver, "nuclear_norm_minimizer")
    return np.asarray(X.value, dtype=np.float64)


def min_trace_psd(As: ArrayLike, b: ArrayLike, solver: str | None = None) -> np.ndarray:
    """Minimum trace PSD solution ``argmin tr X s.t. <A_i, X> = b_i, X symmetric PSD``.

    Only the symmetric parts ``(A_i + A_i^T)/2`` of the measurements matter.

    Args:
        As: measurement matrices, shape ``(m, d, d)``.
        b: measurements, shape ``(m,)``.
        solver: optional cvxpy solver name.

    Returns:
        Symmetric PSD ``X``, shape ``(d, d)``.

    Raises:
        ImportError: if cvxpy is not installed (``pip install implicit_bias[cvx]``).
        ValueError: on bad inputs (non-square ``A_i``) or infeasible constraints.
        RuntimeError: if the solver fails.
    """
    cp = _cvxpy()
    As, b = _sensing(As, b)
    m, d, d2 = As.shape
    if d != d2:
        raise ValueError(f"As must have shape (m, d, d) for min_trace_psd, got {As.shape}")
    sym = 0.5 * (As + As.transpose(0, 2, 1))
    X = cp.Variable((d, d), PSD=True)
    vecX = cp.reshape(X, (d * d,), order="C")
    problem = cp.Problem(cp.Minimize(cp.trace(X)), [sym.reshape(m, -1) @ vecX == b])
    _solve(cp, problem, solver, "min_trace_psd")
    Xv = np.asarray(X.value, dtype=np.float64)
    return 0.5 * (Xv + Xv.T)


def nuclear_norm_completion(
    shape: Sequence[SupportsIndex],
    mask: ArrayLike,
    values: ArrayLike,
    solver: str | None = None,
) -> np.ndarray:
    """Minimum nuclear-norm completion ``argmin ||X||_* s.t. X[mask] = values``.

    Args:
        shape: ``(d1, d2)``.
        mask: boolean array of shape ``(d1, d2)``, True on observed entries.
        values: either a full ``(d1, d2)`` array (only ``values[mask]`` is used) or the
            observed values in row-major order, shape ``(mask.sum(),)``.
        solver: optional cvxpy solver name.

    Returns:
        ``X``, shape ``(d1, d2)``.

    Raises:
        ImportError: if cvxpy is not installed (``pip install implicit_bias[cvx]``).
        ValueError: on bad inputs.
        RuntimeError: if the solver fails.
    """
    try:
        d1, d2 = (int(s) for s in shape)
    except (TypeError, ValueError) as err:
        raise ValueError(f"shape must be a pair of positive ints (d1, d2), got {shape!r}") from err
    if d1 <= 0 or d2 <= 0:
        raise ValueError(f"shape must be a pair of positive ints (d1, d2), got {shape!r}")
    mask = np.asarray(mask)
    if mask.shape != (d1, d2) or mask.dtype != np.bool_:
        raise ValueError(
            f"mask must be a boolean array of shape {(d1, d2)}, got {mask.dtype} {mask.shape}"
        )
    if not mask.any():
        raise ValueError("mask must contain at least one observed (True) entry, got none")
    vals = np.asarray(values, dtype=np.float64)
    if vals.shape == (d1, d2):
        observed = vals[mask]
    elif vals.shape == (int(mask.sum()),):
        observed = vals
    else:
        raise ValueError(
            f"values must have shape {(d1, d2)} or ({int(mask.sum())},), got {vals.shape}"
        )
    if not np.all(np.isfinite(observed)):
        raise ValueError("values must be finite on the observed entries")
    cp = _cvxpy()
    X = cp.Variable((d1, d2))
    rows, cols = np.nonzero(mask)
    problem = cp.Problem(cp.Minimize(cp.normNuc(X)), [X[rows, cols] == observed])
    _solve(cp, problem, solver, "nuclear_norm_completion")
    return np.asarray(X.value, dtype=np.float64)
