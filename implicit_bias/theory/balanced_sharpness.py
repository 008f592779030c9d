r"""Sharpness of the balanced rank-one minimizer of a deep linear network (Marion & Chizat 2024).

Deep linear network ``f(x) = W_L ... W_1 x`` (``W_1 in R^{m x d}``, ..., ``W_L in R^{1 x m}``) on
the square loss ``L(theta) = mean((f(x) - y)^2)`` (the project convention, no 1/2) with noiseless
targets ``y = w*^T x``, i.e. ``L = (w - w*)^T Sigma (w - w*)`` for the end-to-end vector
``w^T = W_L ... W_1`` and ``Sigma = X^T X / n``.

At a global minimizer the residual vanishes, so the Hessian is the Gauss-Newton matrix
``2 J^T Sigma J`` (``J = dw/dtheta``), whose nonzero spectrum is that of
``2 Sigma^{1/2} J J^T Sigma^{1/2}``. At the balanced rank-one minimizer ``W_k = s u_k u_{k-1}^T``
(``u_0 = w*/||w*||``, unit ``u_k``, ``u_L = 1``, ``s = ||w*||^{1/L}``) the layer-1 block gives
``s^{2(L-1)} I`` and each of the ``L - 1`` others gives ``s^{2(L-1)} u_0 u_0^T``, so
``J J^T = ||w*||^{2 - 2/L} (I + (L-1) u u^T)`` and, with ``u = w*/||w*||``,

    S(w*) = 2 ||w*||^{2 - 2/L} lambda_max(Sigma^{1/2} (I + (L-1) u u^T) Sigma^{1/2}).

With ``a = u^T Sigma u`` and ``Lambda = lambda_max(Sigma)``:
``2 L a ||w*||^{2-2/L} <= S(w*) <= 2((L-1) a + Lambda) ||w*||^{2-2/L} <= 2 L Lambda ||w*||^{2-2/L}``
(test vector ``Sigma^{1/2} u`` with ``u^T Sigma^2 u >= a^2``, resp. Weyl's inequality).

References:
    Marion & Chizat (2024), "Deep linear networks for regression are implicitly regularized
    towards flat minima", NeurIPS (balanced minimizer sharpness, bounds, small-initialization
    bound and the critical learning rate; their loss is the mean squared error without 1/2).
"""

from __future__ import annotations

import dataclasses
from typing import SupportsIndex

import numpy as np
import scipy.linalg

from implicit_bias.theory._validation import ArrayLike, as_matrix, as_vector

__all__ = [
    "DeepLinearSharpnessBounds",
    "balanced_rank_one_sharpness",
    "deep_linear_sharpness_bounds",
]


def _validate(Sigma: object, w_star: object, L: object) -> tuple[np.ndarray, np.ndarray, int]:
    Sigma = as_matrix("Sigma", Sigma)
    d = Sigma.shape[0]
    if Sigma.shape != (d, d):
        raise ValueError(f"Sigma must be square (d, d), got shape {Sigma.shape}")
    if not np.allclose(
        Sigma, Sigma.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(Sigma).max()))
    ):
        raise ValueError(
            "Sigma must be symmetric, got max |Sigma - Sigma^T| = "
            f"{np.abs(Sigma - Sigma.T).max():.3e}"
        )
    Sigma = 0.5 * (Sigma + Sigma.T)
    lam = scipy.linalg.eigvalsh(Sigma)
    if lam[0] < -1e-10 * max(1.0, lam[-1]):
        raise ValueError(f"Sigma must be positive semi-definite, got min eigenvalue {lam[0]:.3e}")
    w_star = as_vector("w_star", w_star, length=d)
    if not np.linalg.norm(w_star) > 0:
        raise ValueError("w_star must be nonzero, got the zero vector")
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
        raise ValueError(f"L must be an integer depth >= 1, got {L!r}")
    return Sigma, w_star, int(L)


def balanced_rank_one_sharpness(Sigma: ArrayLike, w_star: ArrayLike, L: SupportsIndex) -> float:
    """Top Hessian eigenvalue at the balanced rank-one minimizer of a depth-``L`` linear net.

    ``S = 2 ||w*||^{2-2/L} lambda_max(Sigma^{1/2} (I + (L-1) u u^T) Sigma^{1/2})`` with
    ``u = w*/||w*||``, for the loss ``mean((f(x) - y)^2)``. It does not depend on the hidden
    width ``m >= 1`` or on the unit vectors ``u_1, ..., u_{L-1}``. ``L = 1`` gives
    ``2 lambda_max(Sigma)``.

    Args:
        Sigma: input second-moment matrix ``X^T X / n``, shape ``(d, d)``, symmetric PSD.
        w_star: target regressor, shape ``(d,)``, nonzero.
        L: depth ``>= 1``.

    Returns:
        The sharpness (a float).

    Raises:
        ValueError: on a non-symmetric / non-PSD ``Sigma``, zero ``w_star`` or ``L < 1``.
    """
    Sigma, w_star, L = _validate(Sigma, w_star, L)
    norm = float(np.linalg.norm(w_star))
    u = w_star / norm
    # Sigma^{1/2} (I + (L-1) u u^T) Sigma^{1/2} has the nonzero spectrum of
    # (I + (L-1) u u^T)^{1/2} Sigma (I + (L-1) u u^T)^{1/2}; use the symmetric square root of Sigma.
    lam, V = scipy.linalg.eigh(Sigma)
    root = (V * np.sqrt(np.clip(lam, 0.0, None))) @ V.T
    K = root @ (np.eye(u.size) + (L - 1) * np.outer(u, u)) @ root
    top = float(scipy.linalg.eigvalsh(0.5 * (K + K.T))[-1])
    return 2.0 * norm ** (2.0 - 2.0 / L) * top


@dataclasses.dataclass(frozen=True)
class DeepLinearSharpnessBounds:
    """Sharpness bounds of Marion & Chizat (2024) for ``mean((f(x)-y)^2)``.

    With ``c = ||w*||^{2 - 2/L}``:

    Attributes:
        a: ``w*^T Sigma w* / ||w*||^2``.
        Lambda: ``lambda_max(Sigma)``.
        lower: ``2 L a c``, lower bound on the sharpness of every minimizer.
        upper_minimizer: ``2 L Lambda c``, upper bound on the sharpness of the flattest minimizers.
        small_init_upper: ``8 L Lambda c``, bound for the limit of GF from small initialization.
        critical_lr: ``1 / (L a c) = 2 / lower``: above it GD cannot converge to any minimizer
            (stability needs ``lr <= 2 / sharpness``).
        balanced_rank_one: the exact :func:`balanced_rank_one_sharpness`.
    """

    a: float
    Lambda: float
    lower: float
    upper_minimizer: float
    small_init_upper: float
    critical_lr: float
    balanced_rank_one: float


def deep_linear_sharpness_bounds(
    Sigma: ArrayLike, w_star: ArrayLike, L: SupportsIndex
) -> DeepLinearSharpnessBounds:
    """Marion & Chizat (2024) bounds, plus the exact balanced rank-one sharpness.

    Args:
        Sigma: ``X^T X / n``, shape ``(d, d)``, symmetric PSD.
        w_star: target regressor, shape ``(d,)``, nonzero.
        L: depth ``>= 1``.

    Returns:
        A :class:`DeepLinearSharpnessBounds`.

    Raises:
        ValueError: as :func:`balanced_rank_one_sharpness`, or if ``w*^T Sigma w* = 0``.
    """
    Sigma, w_star, L = _validate(Sigma, w_star, L)
    norm = float(np.linalg.norm(w_star))
    a = float(w_star @ Sigma @ w_star) / norm**2
    if not a > 0:
        raise ValueError(
            f"w_star must not lie in the null space of Sigma (a = {a:.3e}); the bounds degenerate"
        )
    Lam = float(scipy.linalg.eigvalsh(Sigma)[-1])
    c = norm ** (2.0 - 2.0 / L)
    return DeepLinearSharpnessBounds(
        a=a,
        Lambda=Lam,
        lower=2.0 * L * a * c,
        upper_minimizer=2.0 * L * Lam * c,
        small_init_upper=8.0 * L * Lam * c,
        critical_lr=1.0 / (L * a * c),
        balanced_rank_one=balanced_rank_one_sharpness(Sigma, w_star, L),
    )
