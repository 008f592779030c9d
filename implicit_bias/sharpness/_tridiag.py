r"""Single-vector Lanczos tridiagonalization with full re-orthogonalization and a breakdown guard.

The shared core of :func:`~implicit_bias.sharpness.lanczos` (top eigenvalue) and
:func:`~implicit_bias.sharpness.slq` (spectral density). From a unit :math:`v_1` it builds an
orthonormal basis :math:`V_k` of :math:`\mathcal{K}_k(A, v_1)` and the tridiagonal
:math:`T_k = V_k^\top A V_k` with :math:`A V_k = V_k T_k + F`, where :math:`F` holds the final
residual :math:`\beta_k v_{k+1}`, the vectors dropped at breakdowns and the Gram-Schmidt
coefficients a tridiagonal :math:`T` ignores (see the :mod:`.lanczos` module docstring for the
algorithm, its sources and the error bound built from these pieces).

A breakdown (:math:`\beta_j \le \sqrt{\epsilon}\,\|A\|_{\text{seen}}`, e.g. after
``rank + 1`` steps on a rank-deficient Hessian) restarts from a fresh direction orthogonalized
against the basis, with :math:`\beta_j = 0` in :math:`T`, so :math:`T` becomes block diagonal.
The fresh directions are one random vector with its signs flipped by a hash of (coordinate,
step) (:func:`fresh_directions`): generically linearly independent of the basis, and ``k`` of
them cost one random draw instead of ``k`` (a draw of ``k * p`` normals costs as much as the
products themselves for small models) and no gather under ``vmap``.

The restart direction is built only at a breakdown (:func:`restart_direction`). A per-run
``lax.cond`` would not do it under ``vmap`` (a batched predicate turns it into a select that
computes both branches, i.e. a second Gram-Schmidt vector at every step: measured 2.2-2.9x the
time of the scan without it when the products are cheap, ``benchmarks/lanczos_restart.py``);
so the function has its own batching rule (``jax.custom_batching.custom_vmap``): under ``vmap``
it builds the directions of the whole batch when *any* run broke down, and nothing otherwise.
Each run's result is the same as alone (the others' directions are discarded).
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_batching import custom_vmap
from jaxtyping import Array, Bool, Float


class Tridiagonal(NamedTuple):
    """The output of :func:`tridiagonalize` (``k`` steps, dimension ``p``).

    Attributes:
        basis: ``(k, p)`` orthonormal rows :math:`v_1, \\dots, v_k`.
        alphas: ``(k,)`` diagonal of :math:`T`.
        offdiag: ``(k,)`` entry ``j`` couples :math:`v_j` and :math:`v_{j+1}` in :math:`T`
            (0 at a breakdown); the last one is the final residual norm (not part of
            :math:`T`).
        betas: ``(k,)`` norms of the orthogonalized products (the residual or, at a breakdown,
            the dropped vector).
        broke: ``(k,)`` breakdown flags.
        dropped_coef: ``(k,)`` norm of the Gram-Schmidt coefficients of :math:`A v_j` that the
            tridiagonal :math:`T` does not represent (zero in exact arithmetic).
        anorm: largest :math:`\\|A v_j\\|` seen, a lower bound on :math:`\\|A\\|_2`.
    """

    basis: Float[Array, "k p"]
    alphas: Float[Array, " k"]
    offdiag: Float[Array, " k"]
    betas: Float[Array, " k"]
    broke: Bool[Array, " k"]
    dropped_coef: Float[Array, " k"]
    anorm: Float[Array, ""]

    def matrix(self) -> Float[Array, "k k"]:
        """The symmetric tridiagonal :math:`T_k`."""
        off = self.offdiag[:-1]
        return jnp.diag(self.alphas) + jnp.diag(off, 1) + jnp.diag(off, -1)


def safe_div(x: Array, n: Array) -> Array:
    """``x / n``, and ``0`` where ``n == 0`` (no NaN from an exactly zero vector)."""
    return x / jnp.where(n > 0, n, 1.0)


def fresh_directions(base: Float[Array, " p"], salts: Array) -> Float[Array, "b p"]:
    """``base`` with its signs flipped by a hash of (coordinate, salt), one row per salt.

    A cheap stand-in for independent random vectors: distinct salts give sign patterns that are
    generically linearly independent of each other and of any fixed subspace. The hash is the
    multiplicative one of Knuth (golden-ratio constant) on 32-bit unsigned integers.
    """
    idx = jnp.arange(base.shape[0], dtype=jnp.uint32)
    salts = jnp.asarray(salts).astype(jnp.uint32).reshape(-1, 1)
    h = (idx[None] + jnp.uint32(0x9E3779B9) * (salts + jnp.uint32(1))) * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> jnp.uint32(13))
    h = h * jnp.uint32(0xC2B2AE35)
    sign = 1.0 - 2.0 * ((h >> jnp.uint32(16)) & jnp.uint32(1)).astype(base.dtype)
    return sign * base[None]


def _orthonormal_to(basis: Float[Array, "k p"], x: Float[Array, " p"]) -> Float[Array, " p"]:
    """``x`` orthogonalized against the rows of ``basis`` (twice) and normalized."""
    x = x - (basis @ x) @ basis
    x = x - (basis @ x) @ basis
    return safe_div(x, jnp.linalg.norm(x))


@custom_vmap
def restart_direction(
    broke: Bool[Array, ""], basis: Float[Array, "k p"], restart: Float[Array, " p"], j: Array
) -> Float[Array, " p"]:
    """The unit direction a breakdown at step ``j`` restarts from: the ``j``-th fresh
    direction of ``restart`` orthonormalized against ``basis``; zeros when not ``broke``
    (and then not computed). Under ``vmap``: see the module docstring."""
    return lax.cond(
        broke,
        lambda: _orthonormal_to(basis, fresh_directions(restart, j)[0]),
        lambda: jnp.zeros_like(restart),
    )


@restart_direction.def_vmap
def _restart_direction_vmap(axis_size: int, in_batched, broke, basis, restart, j):
    # One branch for the whole batch: build every run's direction when any run broke down.
    args = [
        a if batched else jnp.broadcast_to(a, (axis_size, *jnp.shape(a)))
        for a, batched in zip((broke, basis, restart, j), in_batched, strict=True)
    ]
    broke, basis, restart, j = args

    def build():
        fresh = jax.vmap(lambda r, jj: fresh_directions(r, jj)[0])(restart, j)
        return jax.vmap(_orthonormal_to)(basis, fresh)

    out = lax.cond(jnp.any(broke), build, lambda: jnp.zeros_like(restart))
    return out, True


def tridiagonalize(
    matvec: Callable[[Array], Array],
    v1: Float[Array, " p"],
    restart: Float[Array, " p"],
    k: int,
) -> Tridiagonal:
    """``k`` Lanczos steps on ``matvec`` from the unit vector ``v1`` (a fixed-length scan).

    Args:
        matvec: ``v -> A v`` for a symmetric ``A``.
        v1: unit start vector.
        restart: a random vector; its sign-flipped copies are the breakdown restarts
            (:func:`restart_direction`).
        k: number of steps (products), static, ``1 <= k <= p``.
    """
    p = v1.shape[0]
    dtype = v1.dtype
    breakdown_rtol = float(jnp.finfo(dtype).eps) ** 0.5
    idx = jnp.arange(k)

    def step(carry, j):
        basis, v, beta_prev, anorm = carry
        basis = basis.at[j].set(v)
        hv = matvec(v)
        anorm = jnp.maximum(anorm, jnp.linalg.norm(hv))
        # Classical Gram-Schmidt, twice ("twice is enough": full re-orthogonalization).
        c1 = basis @ hv
        w = hv - c1 @ basis
        c2 = basis @ w
        w = w - c2 @ basis
        h = c1 + c2
        alpha = h[j]
        beta = jnp.linalg.norm(w)
        # Coefficients of A v_j that the tridiagonal T does not represent: on v_i, i < j - 1
        # (zero in exact arithmetic) and the mismatch with T's (j - 1, j) entry.
        h_prev = jnp.sum(jnp.where(idx == j - 1, h, 0.0))
        far = jnp.sum(jnp.where(idx < j - 1, h**2, 0.0))
        dropped_coef = jnp.sqrt(far + (h_prev - beta_prev) ** 2)

        broke = beta <= breakdown_rtol * anorm
        r = restart_direction(broke, basis, restart, j)
        v_next = jnp.where(broke, r, safe_div(w, beta))
        t_off = jnp.where(broke, 0.0, beta)
        return (basis, v_next, t_off, anorm), (alpha, t_off, beta, broke, dropped_coef)

    zero = jnp.zeros((), dtype)
    init = (jnp.zeros((k, p), dtype), v1, zero, zero)
    (basis, _, _, anorm), (alphas, offdiag, betas, broke, dropped) = lax.scan(step, init, idx)
    return Tridiagonal(basis, alphas, offdiag, betas, broke, dropped, anorm)
