r"""Stochastic trace and :math:`\operatorname{tr}(A^2)` estimates with standard errors.

**Hutchinson** (Hutchinson, 1989, *A stochastic estimator of the trace of the influence matrix
for Laplacian smoothing splines*): with Rademacher probes :math:`z` (i.i.d. :math:`\pm 1`),
:math:`\mathbb{E}[z^\top A z] = \operatorname{tr} A` and
:math:`\mathbb{E}\|A z\|^2 = \operatorname{tr}(A^2) = \|A\|_F^2`, so the *same* ``n`` products
give both, each as a sample mean with its standard error ``std(ddof=1) / sqrt(n)``.
The variance of one trace sample is :math:`2(\|A\|_F^2 - \sum_i A_{ii}^2)`.

**Hutch++** (Meyer, Musco, Musco & Woodruff, 2021, *Hutch++: optimal stochastic trace
estimation*, SOSA, Algorithm 1): spend a third of the products on a sketch
:math:`Q = \operatorname{orth}(A S)`, compute :math:`\operatorname{tr}(Q^\top A Q)` exactly
(a third), and Hutchinson on the deflated :math:`P A P`, :math:`P = I - Q Q^\top` (a third).
Its error is :math:`O(1/n)` instead of :math:`O(1/\sqrt n)` when a few outliers dominate the
spectrum, as for neural-network Hessians. :math:`\operatorname{tr}(A^2) = \|A Q\|_F^2 +
\operatorname{tr}(P A^2 P)` splits the same way (:math:`P^2 = P`). The reported standard error
is that of the Hutchinson part given the sketch (the sketch part is exact given :math:`Q`);
the estimate is unbiased given :math:`Q`, so the error bars hold unconditionally too.
"""

from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ._operator import AbstractOperator

#: Names accepted by :func:`trace`.
TRACE_METHODS = ("hutchinson", "hutch++")


@final
class TraceEstimate(eqx.Module):
    r"""Estimates of :math:`\operatorname{tr} A` and :math:`\operatorname{tr}(A^2)`.

    Attributes:
        trace: estimate of :math:`\operatorname{tr} A`.
        trace_std_error: its standard error (sample standard deviation of the probe samples
            over the square root of their number).
        trace_sq: estimate of :math:`\operatorname{tr}(A^2) = \|A\|_F^2` (the sum of squared
            eigenvalues).
        trace_sq_std_error: its standard error.
        num_matvecs: products spent.
    """

    trace: Float[Array, ""]
    trace_std_error: Float[Array, ""]
    trace_sq: Float[Array, ""]
    trace_sq_std_error: Float[Array, ""]
    num_matvecs: Int[Array, ""]


def _mean_and_sem(x: Array) -> tuple[Array, Array]:
    return jnp.mean(x), jnp.std(x, ddof=1) / jnp.sqrt(x.shape[0])


def trace(
    op: AbstractOperator,
    key: PRNGKeyArray,
    *,
    num_probes: int = 30,
    method: str = "hutchinson",
) -> TraceEstimate:
    r"""Estimate :math:`\operatorname{tr} A` and :math:`\operatorname{tr}(A^2)` of ``op``.

    Args:
        op: a symmetric operator (the Hessian, the GGN, a block, ...).
        key: PRNG key for the Rademacher probes.
        num_probes: products in all (static): ``n`` probes for Hutchinson (``n >= 2``);
            for Hutch++ ``n // 3`` sketch columns, as many for :math:`A Q` and the remaining
            ``n - 2 (n // 3)`` Hutchinson probes (``n >= 6``).
        method: ``"hutchinson"`` or ``"hutch++"`` (static).

    Returns:
        A :class:`TraceEstimate` in the dtype of ``op``.

    Raises:
        ValueError: for an unknown ``method`` or too few probes.
    """
    if method not in TRACE_METHODS:
        raise ValueError(f"method={method!r} is invalid: one of {list(TRACE_METHODS)}")
    minimum = 2 if method == "hutchinson" else 6
    if num_probes < minimum:
        raise ValueError(f"num_probes={num_probes!r} is invalid: at least {minimum} for {method}")
    p, dtype = op.dim, op.dtype
    n = jnp.asarray(num_probes, jnp.int32)
    if method == "hutchinson":
        z = jax.random.rademacher(key, (num_probes, p), dtype)
        az = op.matmat(z)
        tr, tr_se = _mean_and_sem(jnp.sum(z * az, axis=1))
        sq, sq_se = _mean_and_sem(jnp.sum(az * az, axis=1))
        return TraceEstimate(tr, tr_se, sq, sq_se, n)

    s = num_probes // 3
    g = num_probes - 2 * s
    sketch_key, probe_key = jax.random.split(key)
    sketch = jax.random.rademacher(sketch_key, (s, p), dtype)
    q = jnp.linalg.qr(op.matmat(sketch).T)[0].T  # (s, p) orthonormal rows
    aq = op.matmat(q)
    z = jax.random.rademacher(probe_key, (g, p), dtype)
    pz = z - (z @ q.T) @ q
    apz = op.matmat(pz)
    tr, tr_se = _mean_and_sem(jnp.sum(pz * apz, axis=1))
    sq, sq_se = _mean_and_sem(jnp.sum(apz * apz, axis=1))
    # tr(Q^T A Q) and ||A Q||_F^2 are exact given Q; the probes estimate the deflated rest.
    return TraceEstimate(tr + jnp.sum(q * aq), tr_se, sq + jnp.sum(aq * aq), sq_se, n)
