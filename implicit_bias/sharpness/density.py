r"""Spectral density by stochastic Lanczos quadrature (SLQ).

The spectral density of a symmetric :math:`A \in \mathbb{R}^{p \times p}` is
:math:`\phi(t) = \frac1p \sum_i \delta(t - \lambda_i)`. For a unit probe :math:`v = z /
\sqrt p` with Rademacher :math:`z`, :math:`\mathbb{E}[v^\top f(A) v] = \frac1p
\operatorname{tr} f(A) = \int f \,d\phi`, and ``m`` Lanczos steps from :math:`v` give the
Gauss quadrature :math:`v^\top f(A) v \approx \sum_j \tau_j f(\theta_j)` with nodes
:math:`\theta_j` (eigenvalues of :math:`T_m`) and weights :math:`\tau_j = (e_1^\top s_j)^2`,
exact for polynomials of degree :math:`\le 2m - 1` (Golub & Meurant, *Matrices, Moments and
Quadrature*, 2010, Thm 6.2). Averaging over probes and smoothing each node with a Gaussian of
width :math:`\sigma` gives

.. math::  \phi_\sigma(t) = \frac{1}{n_v} \sum_{l=1}^{n_v} \sum_{j=1}^{m} \tau_j^{(l)}
    \frac{1}{\sqrt{2\pi}\sigma} e^{-(t - \theta_j^{(l)})^2 / (2\sigma^2)}

(Ubaru, Chen & Saad, 2017, *Fast estimation of tr(f(A)) via stochastic Lanczos quadrature*,
SIMAX 38; Ghorbani, Krishnan & Xiao, 2019, *An investigation into neural net optimization via
Hessian eigenvalue density*, ICML, §2 and eq. 4; Lin, Saad & Yang, 2016, for the smoothing).
The Lanczos runs use full re-orthogonalization and the breakdown guard of :mod:`._tridiag`:
at a breakdown :math:`T` becomes block diagonal and the blocks past the first get zero weight,
so a rank-deficient Hessian (a few outliers, a bulk at exactly zero) gives its exact
quadrature instead of the spurious nodes of an unguarded Lanczos.
"""

from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ._operator import AbstractOperator
from ._tridiag import tridiagonalize


@final
class SpectralDensity(eqx.Module):
    r"""Gauss quadrature nodes and weights of the spectral density, one row per probe.

    Attributes:
        nodes: ``(n_v, m)`` Ritz values :math:`\theta_j^{(l)}` of probe :math:`l`.
        weights: ``(n_v, m)`` weights :math:`\tau_j^{(l)} \ge 0`, summing to 1 per probe.
        num_matvecs: products spent (``n_v * m``).
    """

    nodes: Float[Array, "probes m"]
    weights: Float[Array, "probes m"]
    num_matvecs: Int[Array, ""]

    def density(
        self, grid: Float[Array, " g"], sigma: Float[Array, ""] | float
    ) -> Float[Array, " g"]:
        r"""The Gaussian-smoothed density :math:`\phi_\sigma` on ``grid`` (integrates to 1).

        Args:
            grid: ``(g,)`` eigenvalue axis.
            sigma: smoothing width :math:`\sigma > 0`, in eigenvalue units.
        """
        z = (grid[:, None, None] - self.nodes[None]) / sigma
        kernel = jnp.exp(-0.5 * z**2) / (jnp.sqrt(2 * jnp.pi) * sigma)
        return jnp.sum(kernel * self.weights[None], axis=(1, 2)) / self.nodes.shape[0]

    def moment(self, k: int) -> tuple[Float[Array, ""], Float[Array, ""]]:
        r"""Estimate of the spectral moment :math:`\frac1p \operatorname{tr}(A^k)` and its
        standard error over the probes.

        Each probe's :math:`\sum_j \tau_j \theta_j^k` equals :math:`v^\top A^k v` exactly
        for :math:`k \le 2m - 1` (Gauss quadrature), so this is Hutchinson's estimator of
        :math:`\operatorname{tr}(A^k) / p` with the same probes.
        """
        per_probe = jnp.sum(self.weights * self.nodes**k, axis=1)
        n = per_probe.shape[0]
        return jnp.mean(per_probe), jnp.std(per_probe, ddof=1) / jnp.sqrt(n)


def slq(
    op: AbstractOperator,
    key: PRNGKeyArray,
    *,
    num_probes: int = 8,
    num_iters: int = 64,
    probes_at_once: int | None = None,
) -> SpectralDensity:
    r"""Stochastic Lanczos quadrature of the spectral density of ``op``.

    Args:
        op: a symmetric operator of dimension :math:`p`.
        key: PRNG key for the Rademacher probes and breakdown directions.
        num_probes: probes :math:`n_v`, static, ``>= 2`` (for a standard error).
        num_iters: Lanczos steps :math:`m` per probe, static, capped at :math:`p`.
        probes_at_once: probes run together as batched products (``vmap``); ``None``: all.
            Memory :math:`\approx` ``probes_at_once * m * p`` floats for the bases.

    Returns:
        :class:`SpectralDensity` in the dtype of ``op``.

    Raises:
        ValueError: for ``num_probes < 2`` or ``num_iters < 1``.
    """
    if num_probes < 2:
        raise ValueError(f"num_probes={num_probes!r} is invalid: an integer >= 2")
    if num_iters < 1:
        raise ValueError(f"num_iters={num_iters!r} is invalid: an integer >= 1")
    p, dtype = op.dim, op.dtype
    m = min(num_iters, p)
    probe_key, restart_key = jax.random.split(key)
    probes = jax.random.rademacher(probe_key, (num_probes, p), dtype) / jnp.sqrt(
        jnp.asarray(p, dtype)
    )
    restarts = jax.random.normal(restart_key, (num_probes, p), "float32").astype(dtype)

    def one(args):
        v, r = args
        tri = tridiagonalize(op.matvec, v, r, m)
        theta, s = jnp.linalg.eigh(tri.matrix())
        return theta, s[0] ** 2

    nodes, weights = jax.lax.map(one, (probes, restarts), batch_size=probes_at_once or num_probes)
    return SpectralDensity(nodes, weights, jnp.asarray(num_probes * m, jnp.int32))
