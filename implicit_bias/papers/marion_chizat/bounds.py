r"""The paper's sharpness bounds, evaluated run by run from each run's data (float64 numpy).

Notation (paper text, ``../shared/papers/marion_chizat_2024_deep_linear_flat_minima.txt``, whose
symbols were lost in extraction; each formula below is reconstructed from the line cited and
from the authors' code): ``Sigma = X^T X / n`` (line 38), ``Lambda`` and ``lambda`` its largest
and smallest nonzero eigenvalues (line 38), ``w*`` the minimum-norm least-squares solution
(line 38), ``a = w*^T Sigma w* / ||w*||^2`` (line 11; the authors' code: ``a = w_star.T @
cov_matrix @ w_star`` with ``||w_star|| = 1``), ``c = ||w*||^{2 - 2/L}`` and the sharpness
``S`` = the largest eigenvalue of the Hessian of ``R(W) = mean((f(x) - y)^2)`` (line 51).

* Theorem 1 (lines 9-11; Theorem 2, lines 52-54): every minimizer has ``S >= 2 L a c``
  (``lower``), and the flattest one has ``S_min <= 2 L Lambda c`` (``thm1_upper``).
* Theorem 2's upper bound, from its proof (lines 299-315: a balanced rank-one minimizer, the
  first layer's block bounded by ``Lambda``, the ``L - 1`` others by ``a``, then
  Cauchy-Schwarz): ``S_min <= 2 ((L - 1) a + Lambda) c`` (``thm2_upper``); the exact sharpness
  of that minimizer is :func:`implicit_bias.theory.balanced_rank_one_sharpness`.
* Corollary 2 (lines 98-100, proof lines 419-429): the gradient flow from a small
  initialization reaches a minimizer with ``S <= 8 L Lambda c`` (``small_init_upper``, the
  authors' ``upper_bound_sharpness_mlp = 8 * L * Lambd``), i.e. ``S / S_min <= 4 Lambda / a``
  by Theorem 1.
* Critical learning rate (line 13; the authors' Fig 2 lines ``2 / (2 a L)``): GD cannot
  converge to a minimizer at ``lr > 2 / lower = 1 / (L a c)`` (``critical_lr``), since a
  minimizer is linearly unstable for GD when ``S > 2 / lr``.
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Array, Float

__all__ = [
    "bounds",
    "gauss_newton_bound",
    "layer_norm_bound",
    "min_train_loss",
    "zero_loss",
]


def bounds(
    X: Float[Array | np.ndarray, "b n d"], w_star: Float[Array | np.ndarray, "b d"], L: int
) -> dict[str, np.ndarray]:
    r"""The bounds of each run from its own data (vectorized; equal to
    :func:`implicit_bias.theory.deep_linear_sharpness_bounds` to rounding, tested).

    Args:
        X: inputs of each run, shape (b, n, d).
        w_star: least-squares solution of each run, shape (b, d).
        L: depth.

    Returns:
        Arrays of shape (b,): ``a``, ``Lambda``, ``lam_min`` (smallest eigenvalue above
        ``1e-10 Lambda``), ``cond = Lambda / lam_min``, ``rank``
        (eigenvalues above ``1e-10 Lambda``), ``norm_w = ||w*||``, ``c``,
        ``lower = 2 L a c``, ``thm2_upper = 2 ((L-1) a + Lambda) c``,
        ``thm1_upper = 2 L Lambda c``, ``small_init_upper = 8 L Lambda c``,
        ``critical_lr = 1 / (L a c)``.
    """
    X = np.asarray(X, np.float64)
    w = np.asarray(w_star, np.float64)
    Sigma = np.einsum("bni,bnj->bij", X, X) / X.shape[1]
    norm2 = np.sum(w**2, axis=-1)
    a = np.einsum("bi,bij,bj->b", w, Sigma, w) / norm2
    eig = np.linalg.eigvalsh(Sigma)
    Lam = eig[:, -1]
    lam_min = np.where(eig > 1e-10 * Lam[:, None], eig, np.inf).min(axis=-1)
    c = norm2 ** (1.0 - 1.0 / L)
    return {
        "a": a,
        "Lambda": Lam,
        "lam_min": lam_min,
        "cond": Lam / lam_min,
        "rank": np.sum(eig > 1e-10 * Lam[:, None], axis=-1).astype(np.float64),
        "norm_w": np.sqrt(norm2),
        "c": c,
        "lower": 2.0 * L * a * c,
        "thm2_upper": 2.0 * ((L - 1) * a + Lam) * c,
        "thm1_upper": 2.0 * L * Lam * c,
        "small_init_upper": 8.0 * L * Lam * c,
        "critical_lr": 1.0 / (L * a * c),
    }


def min_train_loss(
    X: Float[Array | np.ndarray, "b n d"], y: Float[Array | np.ndarray, "b n"]
) -> np.ndarray:
    """The least-squares training loss ``R_min = min_w mean((X w - y)^2)`` of each run."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    w = np.stack([np.linalg.lstsq(Xi, yi, rcond=None)[0] for Xi, yi in zip(X, y, strict=True)])
    return np.mean((np.einsum("bnd,bd->bn", X, w) - y) ** 2, axis=-1)


def zero_loss(y: Float[Array | np.ndarray, "b n"]) -> np.ndarray:
    """``R_0 = mean(y^2)``, the loss of the zero network (the saddle at 0), per run."""
    y = np.asarray(y, np.float64)
    return np.mean(y**2, axis=-1)


def _spectral_norms(layers: list[np.ndarray]) -> np.ndarray:
    """``||W_k||_2`` of batched layers ``(b, m_k, m_{k-1})``, shape (b, L)."""
    return np.stack(
        [np.linalg.norm(np.asarray(W, np.float64), 2, axis=(-2, -1)) for W in layers], -1
    )


def layer_norm_bound(layers: list[np.ndarray], a: np.ndarray, norm_w: np.ndarray) -> np.ndarray:
    r"""Theorem 2's first lower bound at a minimizer: ``2 a ||w*||^2 sum_k ||W_k||_2^{-2}``.

    Reconstructed from its proof (lines 264-286: test directions ``xi_k = beta_k ...`` per
    layer, Cauchy-Schwarz over ``beta``) and derived here: at a minimizer the Hessian is the
    Gauss-Newton matrix ``2 J^T Sigma J`` (the residual is orthogonal to the columns of X), and
    the direction ``xi_k = A_k^T A_k W_k`` (``A_k = p^T W_L ... W_{k+1}``) moves the
    end-to-end vector along ``w*`` by ``||A_k|| / ||A_k W_k|| >= 1 / ||W_k||_2`` per unit norm;
    combining the layers with weights ``beta_k`` and optimizing gives the bound. Each term
    alone is the paper's statement that a minimizer with one small layer is sharp: rescaling
    ``W_k -> t W_k`` (and the others by ``t^{-1/(L-1)}``) keeps a minimizer with sharpness
    ``>= 2 a ||w*||^2 / (t^2 ||W_k||_2^2)``, unbounded as ``t -> 0`` (lines 57-58).

    Args:
        layers: ``W_1 ... W_L`` with a leading batch axis.
        a, norm_w: ``a`` and ``||w*||`` of each run, shape (b,).

    Returns:
        The bound, shape (b,).
    """
    s = _spectral_norms(layers)
    return 2.0 * np.asarray(a) * np.asarray(norm_w) ** 2 * np.sum(s**-2.0, axis=-1)


def gauss_newton_bound(
    layers: list[np.ndarray], Lambda: np.ndarray, p_norm: float | np.ndarray = 1.0
) -> np.ndarray:
    r"""An upper bound on the sharpness of any minimizer from its layer norms:
    ``2 Lambda ||p||^2 sum_k prod_{j != k} ||W_j||_2^2``.

    Derivation (the Gauss-Newton form used in the proof of Corollary 2, lines 419-429): at a
    minimizer ``S = 2 max_xi ||Sigma^{1/2} J xi||^2 / ||xi||^2`` with ``J xi = sum_k
    (A_k xi_k B_k)^T``, ``A_k = p^T W_L ... W_{k+1}``, ``B_k = W_{k-1} ... W_1``; then
    ``||Sigma^{1/2} J xi|| <= Lambda^{1/2} sum_k ||A_k|| ||B_k|| ||xi_k||_F`` and Cauchy-Schwarz.
    Corollary 2's ``8 L Lambda c`` is this bound once Corollary 1 has brought every
    ``||W_j||_2^2`` close to ``||w*||^{2/L}`` (product of the ``L - 1`` others ``<= 4 c``).

    Args:
        layers: ``W_1 ... W_L`` with a leading batch axis.
        Lambda: ``lambda_max(Sigma)`` of each run, shape (b,).
        p_norm: ``||p||`` (1 for the deep linear network's scalar output).

    Returns:
        The bound, shape (b,).
    """
    s2 = _spectral_norms(layers) ** 2
    total = np.prod(s2, axis=-1, keepdims=True)
    return 2.0 * np.asarray(Lambda) * np.asarray(p_norm) ** 2 * np.sum(total / s2, axis=-1)
