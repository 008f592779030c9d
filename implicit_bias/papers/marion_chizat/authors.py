r"""The authors' random draws, replayed: their data sets, projection vectors and two inits.

Marion & Chizat's code (github.com/PierreMarion23/implicit-reg-sharpness, ``run_experiment.py``
and ``utils.py``, jax 0.4.27) draws everything from one key chain started at ``PRNGKey(0)``:
``key, subkey = random.split(key)`` before each use, in this order for ``run_experiment.py
linear`` (step ``i`` is the ``subkey`` of the ``i``-th split, counted from 0):

==== =========================================================================================
step what the subkey draws
==== =========================================================================================
0    ``generate_data(50, 5, 1.0, .)``: the data set of Figs 1-5 (and of Fig 7, whose
     ``run_experiment.py nonlinear`` branch repeats this first split with ``sigma = 0``)
1    an unused init (it only sizes the Hessian-vector products)
2    the Fig 1 grid (one independent init per lr, repetition and scale)
3    Fig 1 (c, d): ``keys = split(subkey, 451)``, the init ``init_mlp(5, 10, 0.35, keys[-1])``
     shared by both learning rates
4    an unused residual init
5    the unit projection ``p`` of the residual network of Figs 4 and 5
6    the Fig 4 grid
7    the residual trajectories: ``keys = split(subkey, 401)``, ``init_resnet(5, 10, 0.5,
     keys[-1])`` shared by lrs 0.02 and 0.1
8-19 Fig 2, for L = 5, 10, 20, 40 in turn: an unused init, the projection ``p`` of depth L,
     the grid
20   ``generate_data(15, 20, 1.0, .)``: the data set of Fig 6
==== =========================================================================================

``generate_data(n, d, sigma, key)`` splits ``key`` five times, for ``X`` (n, d), ``X_test``
(n, d), ``w_true`` (d,), the training noise (n,) and the test noise (n,), all standard normal;
``y = X w_true + sigma * noise``, ``w* = pinv(X^T X) X^T y``, then ``y``, ``y_test`` and
``w*`` are divided by ``||w*||``. Everything is float32 (jax's default without x64).

**The PRNG stream.** jax 0.5 changed the default of ``jax_threefry_partitionable`` to True,
which changes the bits that ``split`` and ``normal`` produce from a key. The authors' jax
0.4.27 had it False: every draw here is made inside ``jax.threefry_partitionable(False)``,
which restores their stream without touching the global setting.

Only the data, the projections and the two single-trajectory inits are replayed; the grids'
inits come from the engine's seeds (same distribution, other draws; ``docs/marion.md``).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import random

__all__ = [
    "DATA_FIG1",
    "DATA_FIG6",
    "FIG2_PROJECTION",
    "PROJECTION_FIG4",
    "data_set",
    "fig1cd_normals",
    "generate_data",
    "key_chain",
    "projection",
    "residual_trajectory_normals",
]

#: Steps of the key chain (see the module docstring).
DATA_FIG1 = 0
FIG1CD = 3
PROJECTION_FIG4 = 5
RESIDUAL_TRAJECTORY = 7
#: Fig 2: depth -> step of its projection vector.
FIG2_PROJECTION = {5: 9, 10: 12, 20: 15, 40: 18}
DATA_FIG6 = 20


@functools.cache
def key_chain(steps: int = 21) -> tuple[np.ndarray, ...]:
    """The ``subkey`` of each of the first ``steps`` splits of the chain from ``PRNGKey(0)``
    (raw uint32 key data, shape (2,) each), in the authors' stream."""
    with jax.threefry_partitionable(False):
        key = random.PRNGKey(0)
        out = []
        for _ in range(steps):
            key, sub = random.split(key)
            out.append(np.asarray(sub))
    return tuple(out)


def _normal(key, shape) -> jax.Array:
    return random.normal(key, shape, jnp.float32)


def generate_data(n: int, d: int, sigma: float, key) -> dict[str, np.ndarray]:
    """The authors' ``utils.generate_data(n, d, sigma, key)``, in float32.

    Args:
        n, d: samples and dimension (the test set has ``n`` samples too).
        sigma: noise level (their ``noise_variance``, a standard deviation in fact).
        key: a raw uint32 key of shape (2,).

    Returns:
        float32 arrays ``X`` (n, d), ``y`` (n,), ``X_test`` (n, d), ``y_test`` (n,) and
        ``w_star`` (d,), with ``||w_star|| = 1`` (up to float32 rounding).
    """
    with jax.threefry_partitionable(False):
        key = jnp.asarray(key, jnp.uint32)
        key, sub = random.split(key)
        X = _normal(sub, (n, d))
        key, sub = random.split(key)
        X_test = _normal(sub, (n, d))
        key, sub = random.split(key)
        w_true = _normal(sub, (d,))
        key, sub = random.split(key)
        noise = _normal(sub, (n,))
        y = X @ w_true + jnp.float32(sigma) * noise
        key, sub = random.split(key)
        noise_test = _normal(sub, (n,))
        y_test = X_test @ w_true + jnp.float32(sigma) * noise_test
        w_star = jnp.linalg.pinv(X.T @ X) @ X.T @ y
        norm = jnp.linalg.norm(w_star)
        out = dict(X=X, y=y / norm, X_test=X_test, y_test=y_test / norm, w_star=w_star / norm)
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def data_set(fig: str = "1", sigma: float | None = None) -> dict[str, np.ndarray]:
    """The authors' data set of a figure.

    Args:
        fig: ``"1"`` (Figs 1-5; n = 50, d = 5, sigma = 1), ``"7"`` (the same draws with
            sigma = 0) or ``"6"`` (n = 15, d = 20, sigma = 1).
        sigma: override the noise level (``fig="7", sigma=1`` is Fig 7's noisy variant, i.e.
            Fig 1's data).
    """
    chain = key_chain()
    if fig in ("1", "7"):
        s = (1.0 if fig == "1" else 0.0) if sigma is None else sigma
        return generate_data(50, 5, s, chain[DATA_FIG1])
    if fig == "6":
        return generate_data(15, 20, 1.0 if sigma is None else sigma, chain[DATA_FIG6])
    raise ValueError(f"fig must be '1', '6' or '7', got {fig!r}")


def projection(depth: int | None = None) -> np.ndarray:
    """The unit projection ``p`` of the authors' residual network: Figs 4 and 5
    (``depth=None``) or Fig 2 at ``depth`` (5, 10, 20 or 40). float32, shape (5,)."""
    step = PROJECTION_FIG4 if depth is None else FIG2_PROJECTION[depth]
    with jax.threefry_partitionable(False):
        w = _normal(jnp.asarray(key_chain()[step], jnp.uint32), (5,))
        return np.asarray(w / jnp.linalg.norm(w), np.float32)


def _split_last(step: int, num: int) -> jax.Array:
    """``random.split(subkey_step, num)[-1]``, the authors' init key of a trajectory figure."""
    return random.split(jnp.asarray(key_chain()[step], jnp.uint32), num)[-1]


def fig1cd_normals(d: int = 5, depth: int = 10) -> dict[str, np.ndarray]:
    """Standard normals of the authors' Fig 1 (c, d) init: ``W_k = 0.35 * Z_k``.

    Replays ``init_mlp(d, L, scale, keys[-1])`` with ``keys = split(subkey_3, 450 + 1)``:
    ``split(key, L)``, one normal (d, d) per layer but the last, (1, d). Keys ``W1 ... WL``.
    """
    with jax.threefry_partitionable(False):
        keys = random.split(_split_last(FIG1CD, 450 + 1), depth)
        out = {f"W{k + 1}": _normal(keys[k], (d, d)) for k in range(depth - 1)}
        out[f"W{depth}"] = _normal(keys[-1], (1, d))
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def residual_trajectory_normals(d: int = 5, depth: int = 10) -> dict[str, np.ndarray]:
    """Standard normals ``N_k`` of the authors' residual trajectory init
    ``W_k = I + 0.5 / sqrt(L d) N_k`` (``init_resnet`` with ``keys = split(subkey_7, 401)``)."""
    with jax.threefry_partitionable(False):
        keys = random.split(_split_last(RESIDUAL_TRAJECTORY, 400 + 1), depth)
        out = {f"W{k + 1}": _normal(keys[k], (d, d)) for k in range(depth)}
    return {k: np.asarray(v, np.float32) for k, v in out.items()}
