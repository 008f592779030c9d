r"""The k largest and k smallest eigenpairs of an operator, each with a certified error bound.

Block Lanczos with full re-orthogonalization, breakdown restarts and thick restarts (see
:mod:`._block_lanczos` for the algorithm and its sources). Compared with the power iteration
with deflation of PyHessian (Yao et al., 2020), which finds eigenvalues by *magnitude*, one at a
time and without a bound, this finds the largest and smallest *algebraic* eigenvalues together,
a cluster of up to ``block_size`` equal eigenvalues, and certifies every pair.

Error bounds: for each returned unit vector :math:`y_i` and value :math:`\rho_i = y_i^\top A
y_i`, ``error_bounds[i]`` is :math:`\|A y_i - \rho_i y_i\|` (computed with one explicit product
per pair) plus a rounding floor :math:`\sqrt{m}\,\epsilon\,\|A\|_{\text{seen}}`. It rigorously
bounds the distance from :math:`\rho_i` to the *nearest* eigenvalue of :math:`A`, and the
returned set matches distinct eigenvalues within the largest bound (Kahan). It bounds
:math:`|\rho_i - \lambda_i|` for the i-th largest eigenvalue :math:`\lambda_i` whenever no
eigenvalue above :math:`\rho_i` was missed: by Cauchy interlacing the i-th largest Ritz value
never exceeds :math:`\lambda_i`, but an eigenvector orthogonal to the whole Krylov space is
invisible to any Krylov method. A random start block makes that an event of probability zero,
up to multiplicities above ``block_size``. Rounding inside the products is not bounded.
"""

from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from ._block_lanczos import block_lanczos, make_plan
from ._operator import AbstractOperator


@final
class Eigenpairs(eqx.Module):
    r"""``k`` eigenpairs from one end of the spectrum, with certificates.

    Every field is a JAX array, so the result can leave ``jit``/``vmap``: batching ``B`` runs
    prepends a ``B`` axis to every field.

    Attributes:
        eigenvalues: ``(k,)`` Rayleigh quotients :math:`\rho_i` of the Ritz vectors, descending
            for the top end (:math:`\rho_1 \approx \lambda_{\max}`), ascending for the bottom.
        vectors: ``(k, p)`` unit Ritz vectors as rows, in the operator's flat layout (for a
            :class:`Hessian`, ``op.unravel(vectors[i])`` is the pytree); mutually orthogonal.
        error_bounds: ``(k,)`` certified :math:`\|A y_i - \rho_i y_i\|` plus a rounding floor
            (module docstring).
        converged: ``(k,)`` ``error_bounds <= tol * scale`` with ``scale`` the largest Ritz
            value magnitude, an estimate of :math:`\|A\|_2`: relative to the operator, since
            an eigenvalue near zero cannot be resolved to a relative accuracy of its own.
        num_matvecs: products spent (both ends together when computed together), at most
            the plan's maximum; fewer when the restarts stop early.
    """

    eigenvalues: Float[Array, " k"]
    vectors: Float[Array, "k p"]
    error_bounds: Float[Array, " k"]
    converged: Bool[Array, " k"]
    num_matvecs: Int[Array, ""]


def _start_block(key: PRNGKeyArray, p: int, b: int, dtype, v0: Array | None):
    draws = jax.random.normal(key, (b + 1, p), "float32").astype(dtype)
    start, restart = draws[:b], draws[b]
    if v0 is None:
        return start, restart
    v0 = jnp.asarray(v0)
    if v0.ndim not in (1, 2) or v0.shape[-1] != p:
        raise ValueError(f"v0 has shape {v0.shape}; expected (p,) or (j, p) with p = {p}")
    v0 = (v0[None] if v0.ndim == 1 else v0).astype(dtype)
    j = min(v0.shape[0], b)
    rows = v0[:j]
    norms = jnp.linalg.norm(rows, axis=1, keepdims=True)
    # A zero warm-start buffer (a scan carry's natural initial value) or a non-finite one
    # falls back to the random rows; sqrt(tiny) because a subnormal norm has lost the direction.
    ok = jnp.isfinite(norms) & (norms > jnp.sqrt(jnp.finfo(dtype).tiny))
    return start.at[:j].set(jnp.where(ok, rows, start[:j])), restart


def eigenpairs(
    op: AbstractOperator,
    key: PRNGKeyArray,
    *,
    top: int = 1,
    bottom: int = 0,
    block_size: int | None = None,
    krylov_dim: int | None = None,
    max_restarts: int = 10,
    v0: Float[Array, "j p"] | Float[Array, " p"] | None = None,
    tol: float | None = None,
) -> tuple[Eigenpairs, Eigenpairs]:
    r"""The ``top`` largest and ``bottom`` smallest eigenpairs of ``op``, from one Krylov space.

    Args:
        op: any symmetric operator (:class:`Hessian`, :class:`GaussNewton`, ...), dimension
            :math:`p`; its dtype is the dtype of every result.
        key: PRNG key for the start block and the breakdown directions.
        top, bottom: numbers of wanted pairs at each end (static); ``1 <= top + bottom <= p``.
        block_size: vectors per block, static; default ``max(top, bottom)``. Eigenvalues of
            multiplicity up to ``block_size`` are found in full; each step runs
            ``block_size`` products as one batched product.
        krylov_dim: basis capacity :math:`m` (rounded up to whole blocks), static; default
            ``max(40, 4 (top + bottom) + block_size)``. Memory :math:`(m + b)\,p`. When
            :math:`m \ge p` one cycle spans everything and the result is exact.
        max_restarts: thick restarts at most (static); a ``while_loop`` stops earlier once
            every wanted pair's Lanczos residual is within ``tol``.
        v0: warm start, ``(p,)`` or ``(j, p)`` rows (e.g. the previous ``vectors``): the first
            ``min(j, block_size)`` rows seed the start block, the rest is random; zero or
            non-finite rows fall back to random (so a zero ``lax.scan`` carry works).
        tol: relative tolerance of the restarts' stop and of ``converged``; default
            ``max(1e-6, 1000 eps)`` (``1e-6`` in float64, ``1.2e-4`` in float32).

    Returns:
        ``(top_pairs, bottom_pairs)``, two :class:`Eigenpairs` (``top`` descending,
        ``bottom`` ascending) sharing ``num_matvecs`` (at most ``m + max_restarts *
        (m - kept) + top + bottom``).

    Raises:
        ValueError: for sizes out of range or a ``v0`` of the wrong shape.
    """
    p, dtype = op.dim, op.dtype
    plan = make_plan(p, top, bottom, block_size, krylov_dim, max_restarts)
    eps = float(jnp.finfo(dtype).eps)
    tol = max(1e-6, 1000 * eps) if tol is None else tol
    if not tol > 0:
        raise ValueError(f"tol={tol!r} is invalid: a float > 0")
    start, restart = _start_block(key, p, plan.block, dtype, v0)
    raw = block_lanczos(op.matmat, start, restart, plan, tol)
    bounds = raw.residuals + plan.capacity**0.5 * eps * raw.anorm
    converged = bounds <= tol * raw.scale

    def pick(sl, reverse):
        order = slice(None, None, -1) if reverse else slice(None)
        return Eigenpairs(
            eigenvalues=raw.values[sl][order],
            vectors=raw.vectors[sl][order],
            error_bounds=bounds[sl][order],
            converged=converged[sl][order],
            num_matvecs=raw.products,
        )

    return pick(slice(bottom, bottom + top), True), pick(slice(0, bottom), False)


def topk(op: AbstractOperator, key: PRNGKeyArray, k: int = 1, **kwargs) -> Eigenpairs:
    """The ``k`` largest (algebraic) eigenpairs, descending; keywords as :func:`eigenpairs`."""
    return eigenpairs(op, key, top=k, bottom=0, **kwargs)[0]


def bottomk(op: AbstractOperator, key: PRNGKeyArray, k: int = 1, **kwargs) -> Eigenpairs:
    """The ``k`` smallest (algebraic) eigenpairs, ascending; keywords as :func:`eigenpairs`."""
    return eigenpairs(op, key, top=0, bottom=k, **kwargs)[1]
