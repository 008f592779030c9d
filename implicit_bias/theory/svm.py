r"""Homogeneous hard-margin SVM: the direction GD on separable logistic regression converges to.

For linearly separable data (through the origin) gradient descent on the logistic or
exponential loss diverges in norm but converges in direction to the max-margin separator
(Soudry, Hoffer, Nacson, Gunasekar & Srebro 2018, "The implicit bias of gradient descent on
separable data", JMLR, Theorem 3):

    w_hat = argmin ||w||_2  s.t.  y_i <w, x_i> >= 1 for all i;    w(t)/||w(t)|| -> w_hat/||w_hat||.

The problem is a least-distance program (LDP) ``min ||w|| s.t. G w >= h`` with
``G = diag(y) X`` and ``h = 1``, which Lawson & Hanson (1974, "Solving Least Squares
Problems", ch. 23) reduce to one non-negative least-squares problem:

    u* = argmin_{u >= 0} || E u - f ||,   E = [G^T; h^T]  ((d+1) x n),   f = e_{d+1},
    r = E u* - f;   w_hat = -r[:d] / r[d]   (infeasible iff r = 0).

Equivalently, with ``rho = 1 - h^T u* > 0``, ``alpha = u*/rho`` solves the SVM dual
``max sum(alpha) - ||sum alpha_i y_i x_i||^2 / 2, alpha >= 0`` and ``w_hat = sum alpha_i y_i x_i``.
After NNLS the solution is polished on the detected support ``S``: ``w = G_S^+ 1`` (minimum-norm
solution of the active constraints), accepted when it keeps the KKT conditions.

Note: scikit-learn's ``SVC(kernel="linear")`` fits an intercept ``b`` (``y_i (w.x_i + b) >= 1``)
and hence returns a different direction in general; the implicit-bias limit for a
homogeneous linear model has no intercept.
"""

from __future__ import annotations

import dataclasses
from typing import SupportsFloat

import numpy as np
import scipy.linalg
import scipy.optimize

from implicit_bias.theory._validation import ArrayLike, as_matrix, as_scalar, as_vector

__all__ = ["HardMarginSVM", "hard_margin_svm"]


@dataclasses.dataclass(frozen=True)
class HardMarginSVM:
    """Solution of the homogeneous hard-margin SVM.

    Attributes:
        w: ``argmin ||w|| s.t. y_i w.x_i >= 1``, shape ``(d,)``.
        direction: ``w / ||w||`` (the limit direction of GD on the logistic loss).
        margin: geometric margin ``1 / ||w|| = min_i y_i direction.x_i``.
        support: indices of the support vectors, the points on the margin
            (``y_i w.x_i = 1`` up to ``1e3 * tol``), sorted. Every ``i`` with ``dual_i > 0`` is
            in it; with duplicated or degenerate data some support vectors have ``dual_i = 0``.
        dual: dual variables ``alpha >= 0`` with ``w = sum alpha_i y_i x_i`` and
            ``alpha_i (y_i w.x_i - 1) = 0``, shape ``(n,)`` (one solution if not unique).
    """

    w: np.ndarray
    direction: np.ndarray
    margin: float
    support: np.ndarray
    dual: np.ndarray


def _validate(X: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    X = as_matrix("X", X)
    y = as_vector("y", y, length=X.shape[0])
    bad = ~np.isin(y, (-1.0, 1.0))
    if np.any(bad):
        raise ValueError(
            f"y must contain only labels -1 and +1, got values {np.unique(y[bad])[:5]}"
        )
    return X, y


def hard_margin_svm(X: ArrayLike, y: ArrayLike, tol: SupportsFloat = 1e-9) -> HardMarginSVM:
    """Homogeneous hard-margin SVM ``min ||w|| s.t. y_i <w, x_i> >= 1`` via LDP -> NNLS.

    Args:
        X: inputs, shape ``(n, d)``. No intercept is fitted (append a constant feature to
            get one).
        y: labels in ``{-1, +1}``, shape ``(n,)``.
        tol: relative tolerance for the support detection and the feasibility checks.

    Returns:
        A :class:`HardMarginSVM`.

    Raises:
        ValueError: on bad inputs, or if the data are not linearly separable through the
            origin (then ``sum u_i y_i x_i = 0`` for some ``u >= 0``, ``sum u_i = 1``).

    References:
        Soudry et al. (2018), JMLR 19(70); Lawson & Hanson (1974), ch. 23 (LDP).
    """
    X, y = _validate(X, y)
    tol = as_scalar("tol", tol, positive=True)
    n, d = X.shape
    G = y[:, None] * X
    E = np.vstack([G.T, np.ones((1, n))])
    f = np.zeros(d + 1)
    f[-1] = 1.0
    scale = max(1.0, float(np.max(np.abs(G))))
    if np.any(np.all(G == 0.0, axis=1)):
        raise ValueError(
            "X has an all-zero row; the constraint y_i w.x_i >= 1 cannot hold, so the data are "
            "not linearly separable through the origin"
        )
    u, _ = scipy.optimize.nnls(E, f, maxiter=50 * (n + d + 1))
    r = E @ u - f
    rho = -r[-1]  # = 1 - sum(u) = 1 / (1 + ||w||^2) > 0 iff separable
    if not rho > 1e3 * np.finfo(np.float64).tiny:
        raise ValueError(
            "X, y are not linearly separable through the origin (no w with y_i w.x_i > 0 "
            f"for all i; LDP residual rho = {rho:.3e}); the hard-margin SVM does not exist"
        )
    w = r[:d] / rho  # = -r[:d] / r[d] (Lawson & Hanson) = G^T u / rho
    alpha = u / rho
    if np.min(G @ w) < 1.0 - 1e-6:
        raise ValueError(
            "X, y are not linearly separable through the origin (the LDP solution violates "
            f"the margin constraints: min y_i w.x_i = {np.min(G @ w):.3e})"
        )
    # Polish on the support: w = G_S^+ 1 is the exact LDP solution if S is the active set.
    positive = np.flatnonzero(alpha > tol * max(1.0, float(np.max(alpha))))
    if positive.size:
        G_S = G[positive]
        w_pol, *_ = scipy.linalg.lstsq(G_S, np.ones(positive.size))
        alpha_S, *_ = scipy.linalg.lstsq(G_S.T, w_pol)
        w_scale = max(1.0, float(np.linalg.norm(w_pol)))
        feasible = np.min(G @ w_pol) >= 1.0 - 1e-12 * scale * w_scale
        stationary = np.linalg.norm(G_S.T @ alpha_S - w_pol) <= 1e-10 * w_scale
        if feasible and stationary and np.all(alpha_S > 0):
            w = w_pol
            alpha = np.zeros(n)
            alpha[positive] = alpha_S
    support = np.flatnonzero(G @ w <= 1.0 + 1e3 * tol)
    norm = float(np.linalg.norm(w))
    return HardMarginSVM(w=w, direction=w / norm, margin=1.0 / norm, support=support, dual=alpha)
