r"""Theorem 2's first lower bound on minimizers built by rescaling layers (exact Hessians).

Lines 57-58: "take any minimizer and consider [W_k -> t W_k, the other layers rescaled so that
the product is unchanged]. Then [it] is still a minimizer, and [its sharpness grows like
1 / t^2]": minimizers can be arbitrarily sharp. We build such minimizers from two starting
points, the balanced rank-one minimizer (whose sharpness is known in closed form,
:func:`implicit_bias.theory.balanced_rank_one_sharpness`) and a minimizer reached by gradient
flow, rescale layer ``k`` by ``t`` and every other layer by ``t^{-1/(L-1)}``, and compute the
sharpness exactly (dense ``jax.hessian`` + ``eigvalsh`` in float64, through the library's
loss) against :func:`~.bounds.layer_norm_bound`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.data import Dataset
from implicit_bias.losses import Square
from implicit_bias.models import DeepLinear
from implicit_bias.papers.marion_chizat.bounds import bounds, layer_norm_bound
from implicit_bias.problem import Problem
from implicit_bias.sharpness import exact

__all__ = [
    "balanced_minimizer",
    "exact_sharpness",
    "generic_minimizer",
    "rescale",
    "rescaled_family",
    "theorem2_data",
]


def balanced_minimizer(w_star: np.ndarray, width: int, depth: int, seed: int = 0):
    r"""The balanced rank-one minimizer ``W_k = s u_k u_{k-1}^T`` (``u_0 = w*/||w*||``, unit
    random ``u_k``, ``u_L = 1``, ``s = ||w*||^{1/L}``) of a deep linear network (Theorem 2's
    upper-bound construction, line 299). Returns ``W1 ... WL`` (float64)."""
    rng = np.random.default_rng(seed)
    norm = np.linalg.norm(w_star)
    us = [np.asarray(w_star, np.float64) / norm]
    for _ in range(depth - 1):
        u = rng.standard_normal(width)
        us.append(u / np.linalg.norm(u))
    us.append(np.ones(1))
    s = norm ** (1.0 / depth)
    return {f"W{k}": s * np.outer(us[k], us[k - 1]) for k in range(1, depth + 1)}


def rescale(layers: dict[str, np.ndarray], k: int, t: float) -> dict[str, np.ndarray]:
    """``W_k -> t W_k`` and ``W_j -> t^{-1/(L-1)} W_j`` for ``j != k``: same product."""
    L = len(layers)
    other = t ** (-1.0 / (L - 1))
    return {name: (t if name == f"W{k}" else other) * W for name, W in layers.items()}


def exact_sharpness(
    layers: list[dict[str, np.ndarray]], X: np.ndarray, y: np.ndarray, width: int
) -> np.ndarray:
    """Top eigenvalue of the full Hessian of ``mean((f(x) - y)^2)`` at each parameter set
    (float64; needs ``jax_enable_x64``)."""
    depth = len(layers[0])
    model = DeepLinear(input_dim=X.shape[1], width=width, depth=depth)
    data = Dataset(jnp.asarray(X, jnp.float64), jnp.asarray(y, jnp.float64))
    problem = Problem(model, Square(), data, {})
    batch = {k: jnp.asarray(np.stack([p[k] for p in layers]), jnp.float64) for k in layers[0]}
    top = jax.jit(jax.vmap(lambda p: exact(problem.loss, p, jax.random.key(0)).eigenvalue))
    return np.asarray(top(batch), np.float64)


def rescaled_family(
    start: dict[str, np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    width: int,
    layers_to_scale=(1, 5, 10),
    ts=None,
) -> dict[str, np.ndarray]:
    """Rescaled copies of the minimizer ``start``: for each layer ``k`` and factor ``t``,
    the exact sharpness, Theorem 2's first bound, its single-layer term ``2 a ||w*||^2 /
    ||W_k||_2^2`` and the training loss (to confirm a minimizer).

    Returns:
        Arrays of shape (len(layers_to_scale), len(ts)): ``sharpness``, ``bound``,
        ``single_layer``, ``loss``; and ``t`` (len(ts),). ``ts`` defaults to 10 factors from
        1 to 1e-3 (geometric).
    """
    ts = tuple(np.geomspace(1.0, 1e-3, 10)) if ts is None else tuple(ts)
    depth = len(start)
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    bd = bounds(X[None], w[None], depth)
    family = [rescale(start, k, t) for k in layers_to_scale for t in ts]
    S = exact_sharpness(family, X, y, width)
    mats = [np.stack([f[f"W{j}"] for f in family]) for j in range(1, depth + 1)]
    bound = layer_norm_bound(
        mats, np.full(len(family), bd["a"][0]), np.full(len(family), bd["norm_w"][0])
    )
    ks = np.repeat(np.asarray(layers_to_scale), len(ts))
    single = np.array(
        [
            2 * bd["a"][0] * bd["norm_w"][0] ** 2 / np.linalg.norm(f[f"W{k}"], 2) ** 2
            for f, k in zip(family, ks, strict=True)
        ]
    )
    loss = []
    for f in family:
        v = np.ones(1)
        for j in range(depth, 0, -1):
            v = v @ f[f"W{j}"]
        loss.append(np.mean((X @ v - y) ** 2))
    shape = (len(layers_to_scale), len(ts))
    return {
        "sharpness": S.reshape(shape),
        "bound": bound.reshape(shape),
        "single_layer": single.reshape(shape),
        "loss": np.asarray(loss).reshape(shape),
        "min_loss": np.full(shape, np.mean((X @ w - y) ** 2)),
        "t": np.asarray(ts),
        "layers": np.asarray(layers_to_scale),
    }


def generic_minimizer(w_star: np.ndarray, width: int, depth: int, seed: int = 1):
    r"""A minimizer with no particular structure: ``W_2 ... W_L`` i.i.d. ``N(0, 1/m)`` and
    ``W_1 = A^T w*^T / ||A||^2`` with ``A = W_L ... W_2`` (row), so that ``A W_1 = w*^T``."""
    rng = np.random.default_rng(seed)
    layers = {}
    for k in range(2, depth + 1):
        rows = 1 if k == depth else width
        layers[f"W{k}"] = rng.standard_normal((rows, width)) / np.sqrt(width)
    A = np.ones(1)
    for k in range(depth, 1, -1):
        A = A @ layers[f"W{k}"]
    layers["W1"] = np.outer(A, w_star) / (A @ A)
    return {f"W{k}": layers[f"W{k}"] for k in range(1, depth + 1)}


def theorem2_data(depth: int = 10, width: int = 5):
    """:func:`rescaled_family` of the balanced and of a generic minimizer on the authors' Fig 1
    data, as an ``xarray.Dataset`` with dims ``(start, layer, t)``."""
    import xarray as xr

    from implicit_bias.papers.marion_chizat import authors

    data = authors.data_set("1")
    X, y = np.asarray(data["X"], np.float64), np.asarray(data["y"], np.float64)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    starts = {
        "balanced": balanced_minimizer(w, width, depth),
        "generic": generic_minimizer(w, width, depth),
    }
    parts = [rescaled_family(s, X, y, width) for s in starts.values()]
    keys = ("sharpness", "bound", "single_layer", "loss", "min_loss")
    ds = xr.Dataset(
        {k: (("start", "layer", "t"), np.stack([p[k] for p in parts])) for k in keys},
        coords={"start": list(starts), "layer": parts[0]["layers"], "t": parts[0]["t"]},
    )
    ds.attrs.update(depth=depth, width=width)
    return ds
