r"""Lemma 3 at initialization: singular values of products of residual layers (Monte Carlo).

Lemma 3 (lines 114-119, proof lines 473-571): for ``W_k = I + s N_k / sqrt(L d)`` with
i.i.d. standard Gaussian ``N_k`` (d x d), there are constants depending only on ``s`` such
that, for ``d`` and ``L`` large enough, with probability at least ``1 - C exp(-c d)``, every
product ``W_l ... W_k`` (``k <= l``) of the initial layers (and of layers within a ball around
them) has its singular values within ``[1 / C, C]``: bounds that depend neither on the width
``d`` nor on the depth ``L``. Those bounds give the PL inequality behind Theorem 4.

:func:`products` measures, over independent draws, the extreme singular values of all the
products ``W_l ... W_k`` at initialization; their spread must stay bounded as ``L`` grows
and concentrate as ``d`` grows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["products"]


def products(
    depth: int, d: int, scale: float, draws: int = 20, seed: int = 0
) -> dict[str, np.ndarray]:
    """Extreme singular values of every partial product of a residual initialization.

    Args:
        depth, d, scale: ``L``, the width and ``s``.
        draws: independent initializations.
        seed: numpy seed.

    Returns:
        ``smax`` = ``max_{k <= l} ||W_l ... W_k||_2`` and ``smin`` = ``min_{k <= l}
        sigma_min(W_l ... W_k)``, each of shape (draws,).
    """
    rng = np.random.default_rng([seed, depth, d, round(1000 * scale)])
    W = np.eye(d) + scale / np.sqrt(depth * d) * rng.standard_normal((draws, depth, d, d))
    smax = np.zeros(draws)
    smin = np.full(draws, np.inf)
    for k in range(depth):
        P = np.broadcast_to(np.eye(d), (draws, d, d))
        for j in range(k, depth):
            P = W[:, j] @ P
            s = np.linalg.svd(P, compute_uv=False)
            smax = np.maximum(smax, s[:, 0])
            smin = np.minimum(smin, s[:, -1])
    return {"smax": smax, "smin": smin}
