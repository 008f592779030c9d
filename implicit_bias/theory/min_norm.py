"""Minimum-norm interpolator: the limit of GD / gradient flow on least squares.

For the least-squares loss ``L(w) = mean_i (x_i . w - y_i)^2`` every gradient lies in the
row space of ``X``, so gradient descent (any step size that converges) and gradient flow
started at ``w0`` stay in ``w0 + rowspace(X)`` and converge to the least-squares solution
closest to ``w0`` in Euclidean norm:

    w_inf = w0 + X^+ (y - X w0) = P_null(X) w0 + X^+ y.

References:
    Zhang, Bengio, Hardt, Recht & Vinyals (2017), "Understanding deep learning requires
    rethinking generalization", Sec. 5; Gunasekar, Lee, Soudry & Srebro (2018),
    "Characterizing implicit bias in terms of optimization geometry", Sec. 2.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from implicit_bias.theory._validation import ArrayLike, as_matrix, as_vector

__all__ = ["min_l2_solution", "min_norm_solution"]


def min_norm_solution(X: ArrayLike, y: ArrayLike, w0: ArrayLike | None = None) -> np.ndarray:
    """Least-squares solution closest to ``w0``: ``w0 + X^+ (y - X w0)``.

    This is the limit of gradient descent / gradient flow on ``mean((X w - y)^2)`` started
    at ``w0`` (the limit does not depend on the loss scale or the step size). When
    ``X w = y`` is solvable it is the interpolator of minimal ``||w - w0||_2``; otherwise it
    is the least-squares minimizer of minimal ``||w - w0||_2``.

    Solved with :func:`scipy.linalg.lstsq` (SVD-based ``gelsd``, minimum-norm solution,
    singular values below ``max(n, d) * eps * s_max`` treated as zero).

    Args:
        X: design matrix, shape ``(n, d)``.
        y: targets, shape ``(n,)``.
        w0: initialization, shape ``(d,)``; zeros when ``None``.

    Returns:
        ``w_inf``, shape ``(d,)``, float64.

    Raises:
        ValueError: on non-finite inputs or mismatched shapes.

    References:
        Zhang et al. (2017); Gunasekar et al. (2018).
    """
    X = as_matrix("X", X)
    n, d = X.shape
    y = as_vector("y", y, length=n)
    w0 = np.zeros(d) if w0 is None else as_vector("w0", w0, length=d)
    cond = max(n, d) * np.finfo(np.float64).eps
    delta, *_ = scipy.linalg.lstsq(X, y - X @ w0, cond=cond, lapack_driver="gelsd")
    return w0 + delta


def min_l2_solution(X: ArrayLike, y: ArrayLike, w0: ArrayLike | None = None) -> np.ndarray:
    """Alias of :func:`min_norm_solution` (the name used next to :func:`basis_pursuit`)."""
    return min_norm_solution(X, y, w0)
