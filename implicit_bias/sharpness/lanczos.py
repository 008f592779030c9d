r"""Lanczos with full re-orthogonalization: the default sharpness estimator.

Algorithm (Golub & Van Loan, *Matrix Computations*, 4th ed., §10.1; Paige, 1971): from a unit
:math:`v_1`, build an orthonormal basis :math:`V_k = [v_1, \dots, v_k]` of the Krylov space
:math:`\mathcal{K}_k(H, v_1)` and the symmetric tridiagonal :math:`T_k = V_k^\top H V_k` with

.. math::

    H V_k = V_k T_k + \beta_k v_{k+1} e_k^\top .

The eigenpairs :math:`(\theta_i, s_i)` of :math:`T_k` give Ritz pairs
:math:`(\theta_i, y_i = V_k s_i)` with residual :math:`\|H y_i - \theta_i y_i\| = |\beta_k
s_i[k]|`, so :math:`H` has an eigenvalue in :math:`[\theta_i - |\beta_k s_i[k]|, \theta_i +
|\beta_k s_i[k]|]` (Paige, 1971; Parlett, *The Symmetric Eigenvalue Problem*, Thm 4.5.1), and
by Cauchy interlacing :math:`\lambda_{\min}(H) \le \theta_1 \le \theta_k \le \lambda_{\max}(H)`.
The extreme Ritz values converge first and fast (Kaniel-Paige-Saad): far fewer products than
power iteration, and both ends of the spectrum at once, which matters because Hessians of
neural networks are indefinite with a few outliers and a large bulk near zero (Ghorbani,
Krishnan & Xiao, 2019, *An investigation into neural net optimization via Hessian eigenvalue
density*).

Implementation choices, each for robustness on the small, degenerate Hessians of this
project:

* **Full re-orthogonalization**, two passes of classical Gram-Schmidt against the stored
  basis ("twice is enough": Giraud, Langou & Rozložník, 2005). Without it the basis loses
  orthogonality as soon as a Ritz value converges and spurious copies ("ghosts") appear.
  Memory is ``k * p`` floats.
* **Breakdown guard.** At a minimum of a deep linear network with scalar output the Hessian
  has rank ``<= d`` (5 out of 230 parameters for Marion & Chizat's setting), so the Krylov
  space is exhausted after ``rank + 1`` steps and :math:`\beta_j` falls to rounding level.
  Normalizing that rounding noise would be harmless in exact arithmetic but loses
  orthogonality, and an exact zero gives NaNs. When :math:`\beta_j \le \sqrt{\epsilon}\,
  \|H\|_{\text{seen}}` we instead put :math:`\beta_j = 0` in :math:`T` and restart from a fresh
  random direction (a sign-flipped copy of one random vector, :mod:`._tridiag`) orthogonalized
  against :math:`V`: :math:`T` becomes block diagonal, and :math:`H V_k = V_k T_k + F` stays
  exact with the dropped vector in :math:`F`. Since ``k <= p`` a fresh orthogonal direction
  always exists.
* **Honest error bound.** The Ritz residual is
  :math:`\|H y - \theta y\| = \|F s\| \le \sum_j |s_j| \|f_j\|`, where column :math:`f_j`
  holds the final :math:`\beta_k v_{k+1}` (``j = k``), the dropped vector at a breakdown, and
  the Gram-Schmidt coefficients that a tridiagonal :math:`T` ignores (zero in exact
  arithmetic, measured here). We add :math:`\sqrt{k}\,\epsilon \|H\|_{\text{seen}}` for the
  rounding of the inner products and of ``eigh(T)``. This rigorously bounds the distance from
  the top Ritz value to the *nearest* eigenvalue of the (floating-point) operator. It bounds
  :math:`\lambda_{\max} - \theta_k \ge 0` once the top Ritz value approximates the top
  eigenvalue and not a lower member of a cluster, which holds whenever the bound is small
  compared with the gap to the rest of the spectrum; no Krylov method can certify more
  (eigenvalues whose eigenvectors are orthogonal to the Krylov space are invisible), but a
  random start makes that event have probability zero. Rounding inside the HVP itself is
  not bounded.

Everything is a fixed-length ``lax.scan`` of ``k = min(num_iters, p)`` steps, so it is
``jit``/``vmap`` safe and a batch of runs costs one compiled loop.
"""

import logging

import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray, PyTree

from ._hvp import LossFn, hvp_operator, start_vector
from ._result import SharpnessResult, is_converged
from ._tridiag import safe_div, tridiagonalize

logger = logging.getLogger(__name__)


def lanczos(
    loss_fn: LossFn,
    params: PyTree,
    key: PRNGKeyArray,
    *,
    num_iters: int = 25,
    v0: PyTree | None = None,
    tol: float = 1e-6,
) -> SharpnessResult:
    r"""Top Hessian eigenvalue by ``min(num_iters, p)`` steps of Lanczos.

    Args:
        loss_fn: ``loss_fn(params) -> scalar``, e.g. the full-batch training loss.
        params: any pytree of float arrays (the trainable parameters only), :math:`p` entries
            in all; float32 and float64 both work and fix the dtype of the result.
        key: PRNG key for the start vector (when ``v0`` is absent) and breakdown restarts.
        num_iters: Lanczos steps, i.e. HVPs; static. Capped at :math:`p` (then :math:`T` is
            similar to :math:`H` and every eigenvalue is exact).
        v0: warm start, e.g. the previous step's ``result.vector`` (flat ``(p,)`` or a pytree
            like ``params``); normalized here. ``None``, ~0 or non-finite: random start.
        tol: relative tolerance of the returned ``converged`` flag.

    Returns:
        :class:`SharpnessResult` with ``eigenvalue`` the largest algebraic Ritz value
        (``<= lambda_max``), ``min_eigenvalue`` the smallest (``>= lambda_min``),
        ``error_bound`` the residual bound of the top Ritz pair (see the module docstring),
        ``num_hvps = k`` and ``vector`` the unit top Ritz vector.
    """
    if num_iters < 1:
        raise ValueError(f"num_iters={num_iters!r} is invalid: an integer >= 1")
    flat, matvec = hvp_operator(loss_fn, params)
    p = flat.shape[0]
    k = min(num_iters, p)
    dtype = flat.dtype
    eps = jnp.finfo(dtype).eps
    logger.debug("lanczos: tracing k=%d steps for p=%d parameters (%s)", k, p, dtype)

    # The start vector and the restart direction come from ONE draw: each jax.random call
    # inlines a Threefry hash, and those dominate compile time on CPU.
    randoms = jax.random.normal(key, (2, p), "float32").astype(dtype)
    tri = tridiagonalize(matvec, start_vector(randoms[0], flat, v0), randoms[1], k)
    ritz, s = jnp.linalg.eigh(tri.matrix())
    s_top = s[:, -1]

    # ||F s|| <= sum_j |s_j| ||f_j||: the final residual beta_k (always), dropped vectors at
    # breakdowns, and dropped Gram-Schmidt coefficients. Plus a rounding floor: the k-term
    # inner products and eigh(T) each err by ~eps*||H||, accumulating like sqrt(k).
    idx = jnp.arange(k)
    col_norms = tri.dropped_coef + jnp.where(tri.broke | (idx == k - 1), tri.betas, 0.0)
    error_bound = jnp.sum(jnp.abs(s_top) * col_norms) + k**0.5 * eps * tri.anorm

    y = tri.basis.T @ s_top
    y = safe_div(y, jnp.linalg.norm(y))
    eigenvalue = ritz[-1]
    return SharpnessResult(
        eigenvalue=eigenvalue,
        min_eigenvalue=ritz[0],
        error_bound=error_bound,
        converged=is_converged(error_bound, eigenvalue, tol),
        num_hvps=jnp.asarray(k, jnp.int32),
        vector=y,
    )
