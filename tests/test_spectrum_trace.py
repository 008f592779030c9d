"""Hutchinson / Hutch++ trace and tr(H^2), and the SLQ spectral density, against the dense
Hessian of the deep linear network of tests/test_sharpness.py (230 parameters, float64).

Statistical tests run many seeds at once (one vmapped call, a fixed master seed, so they are
deterministic) and count the seeds whose estimate misses the exact value by more than 3
standard errors. For a random master seed, under the t approximation of a mean of n = 30
probe samples, one seed misses with probability 2 P(t_29 > 3) = 0.55%: over 200 seeds about
1.1 misses are expected, and the threshold "at most 7" raises a false alarm with probability
P(Binomial(200, 0.0055) >= 8) = 2e-5 (scipy.stats.binom.sf(7, 200, 0.0055)). The fraction
within 1 standard error must be near its 67%: [0.55, 0.80] is the 1e-4 .. 1 - 1e-4 range
of Binomial(200, 0.674) / 200, so error bars that are too wide fail as well.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from test_sharpness import NUM_PARAMS, _dense_hessian_and_grad_norm, _loss, _points

from implicit_bias.sharpness import Dense, Hessian, SpectralDensity, TraceEstimate, slq, trace

jax.config.update("jax_enable_x64", True)

SEEDS = 200
PROBES = 30
MAX_MISSES = 7  # see the module docstring: false-alarm rate 2e-5


@functools.cache
def _hessian(name):
    hess, _ = _dense_hessian_and_grad_norm(*_points()[name])
    hess = np.asarray(hess)
    return 0.5 * (hess + hess.T)


def _op(params, X, y):
    return Hessian(lambda p: _loss(p, X, y), params)


@functools.partial(jax.jit, static_argnames=("method",))
def _traces(params, X, y, keys, method):
    return jax.vmap(lambda k: trace(_op(params, X, y), k, num_probes=PROBES, method=method))(keys)


def _coverage(est, se, exact):
    z = np.abs(np.asarray(est) - exact) / np.asarray(se)
    return int(np.sum(z > 3)), float(np.mean(z <= 1))


@pytest.mark.parametrize("method", ["hutchinson", "hutch++"])
def test_trace_within_three_standard_errors_over_many_seeds(method):
    name = "generic_init"
    hess = _hessian(name)
    exact_tr, exact_sq = np.trace(hess), np.sum(hess * hess)
    keys = jax.random.split(jax.random.key(2024), SEEDS)
    res = _traces(*_points()[name], keys, method)
    assert isinstance(res, TraceEstimate) and res.trace.shape == (SEEDS,)
    assert int(res.num_matvecs[0]) == PROBES
    for est, se, exact in (
        (res.trace, res.trace_std_error, exact_tr),
        (res.trace_sq, res.trace_sq_std_error, exact_sq),
    ):
        misses, within_one = _coverage(est, se, exact)
        assert misses <= MAX_MISSES, (misses, exact)
        assert 0.55 <= within_one <= 0.80, within_one
        # Unbiased: the mean over all seeds is within 4 of its own standard errors.
        est = np.asarray(est)
        assert abs(est.mean() - exact) <= 4 * est.std(ddof=1) / np.sqrt(SEEDS)


def test_hutchplusplus_is_exact_for_low_rank_and_beats_hutchinson():
    """At the rank-5 minimum a 10-column sketch captures the whole range: Hutch++ is exact
    to rounding with a zero error bar, where Hutchinson has a sampling error."""
    name = "rank_deficient_min"
    hess = _hessian(name)
    exact_tr, exact_sq = np.trace(hess), np.sum(hess * hess)
    keys = jax.random.split(jax.random.key(1), 4)
    plus = _traces(*_points()[name], keys, "hutch++")
    np.testing.assert_allclose(plus.trace, exact_tr, rtol=1e-10)
    np.testing.assert_allclose(plus.trace_sq, exact_sq, rtol=1e-10)
    assert np.all(np.asarray(plus.trace_std_error) <= 1e-10 * exact_tr)
    hutch = _traces(*_points()[name], keys, "hutchinson")
    assert np.all(np.abs(np.asarray(hutch.trace) - exact_tr) > 1e-6 * exact_tr)


def test_trace_of_a_diagonal_matrix_and_errors():
    # Rademacher probes make z^T D z = tr(D) exactly for a diagonal D: zero variance.
    d = jnp.arange(1.0, 11.0)
    res = jax.jit(lambda k: trace(Dense(jnp.diag(d)), k, num_probes=4))(jax.random.key(0))
    np.testing.assert_allclose(res.trace, 55.0, rtol=1e-14)
    assert float(res.trace_std_error) == 0.0
    np.testing.assert_allclose(res.trace_sq, 385.0, rtol=1e-14)  # ||D z||^2 = sum d_i^2
    with pytest.raises(ValueError, match=r"method='xtrace' is invalid"):
        trace(Dense(jnp.eye(3)), jax.random.key(0), method="xtrace")
    with pytest.raises(ValueError, match=r"num_probes=5 is invalid: at least 6 for hutch\+\+"):
        trace(Dense(jnp.eye(3)), jax.random.key(0), num_probes=5, method="hutch++")


# --- stochastic Lanczos quadrature --------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("num_probes", "num_iters"))
def _slq(params, X, y, key, num_probes=PROBES, num_iters=6):
    # 6 steps: Gauss quadrature exact up to degree 11, which is all the moment tests need.
    return slq(_op(params, X, y), key, num_probes=num_probes, num_iters=num_iters)


def test_slq_quadrature_is_exact_per_probe():
    """Each probe's quadrature reproduces v^T H^k v for k <= 2m - 1 (Gauss quadrature)."""
    name = "generic_init"
    hess = _hessian(name)
    key = jax.random.key(3)
    m = 6
    dens = _slq(*_points()[name], key)
    assert isinstance(dens, SpectralDensity) and dens.nodes.shape == (PROBES, m)
    np.testing.assert_allclose(np.sum(np.asarray(dens.weights), axis=1), 1.0, rtol=1e-12)
    # The probes slq draws (same key, same recipe).
    probe_key, _ = jax.random.split(key)
    v = np.asarray(jax.random.rademacher(probe_key, (PROBES, NUM_PARAMS), jnp.float64))
    v = v / np.sqrt(NUM_PARAMS)
    nodes, weights = np.asarray(dens.nodes), np.asarray(dens.weights)
    hk = np.eye(NUM_PARAMS)
    for k in range(2 * m):
        exact = np.einsum("ip,pq,iq->i", v, hk, v)
        quad = np.sum(weights * nodes**k, axis=1)
        scale = np.linalg.norm(hess, 2) ** k
        np.testing.assert_allclose(quad, exact, rtol=1e-9, atol=1e-11 * scale)
        hk = hk @ hess


def test_slq_moments_within_their_error_over_many_seeds():
    """Moments 1..4 of the density estimate vs tr(H^k) / p, 3 standard errors, 200 seeds."""
    name = "generic_init"
    hess = _hessian(name)
    keys = jax.random.split(jax.random.key(5), SEEDS)
    dens = jax.jit(jax.vmap(lambda k: _slq(*_points()[name], k)))(keys)
    evals = np.linalg.eigvalsh(hess)
    for k in range(1, 5):
        exact = np.mean(evals**k)
        est, se = jax.vmap(lambda d, k=k: d.moment(k))(dens)
        misses, within_one = _coverage(est, se, exact)
        assert misses <= MAX_MISSES, (k, misses)
        assert 0.55 <= within_one <= 0.80, (k, within_one)


def test_slq_on_rank_deficient_minimum_has_no_spurious_nodes():
    """Rank 5 of 230: the Krylov space breaks down after 6 steps. The nodes stay inside the
    spectrum (an unguarded Lanczos puts them far outside), the outliers carry about 5/230 of
    the mass and the rest sits at zero."""
    name = "rank_deficient_min"
    hess = _hessian(name)
    evals = np.linalg.eigvalsh(hess)
    scale = np.max(np.abs(evals))
    dens = _slq(*_points()[name], jax.random.key(6), num_iters=20)
    nodes, weights = np.asarray(dens.nodes), np.asarray(dens.weights)
    assert np.all(np.isfinite(nodes)) and np.all(np.isfinite(weights))
    live = weights > 1e-12
    assert np.all(nodes[live] <= evals[-1] + 1e-10 * scale)
    assert np.all(nodes[live] >= evals[0] - 1e-10 * scale)
    # The five outliers are nodes of every probe (the quadrature is exact: Krylov exhausted).
    for row, w in zip(nodes, weights, strict=True):
        for lam in evals[-5:]:
            assert np.min(np.abs(row[w > 1e-12] - lam)) <= 1e-8 * scale
    zero_mass = np.sum(np.where(np.abs(nodes) <= 1e-8 * scale, weights, 0.0), axis=1)
    np.testing.assert_allclose(zero_mass.mean(), 1 - 5 / NUM_PARAMS, atol=0.05)


def test_smoothed_density_integrates_to_one_and_keeps_the_mean():
    name = "generic_init"
    dens = _slq(*_points()[name], jax.random.key(7), num_iters=20)
    nodes = np.asarray(dens.nodes)
    sigma = 0.05 * (nodes.max() - nodes.min())
    grid = np.linspace(nodes.min() - 8 * sigma, nodes.max() + 8 * sigma, 20001)
    phi = np.asarray(dens.density(jnp.asarray(grid), sigma))
    dx = grid[1] - grid[0]
    np.testing.assert_allclose(np.sum(phi) * dx, 1.0, rtol=1e-6)
    mean, _ = dens.moment(1)
    np.testing.assert_allclose(np.sum(grid * phi) * dx, mean, rtol=1e-6, atol=1e-9)
    # Smoothing adds sigma^2 to the second moment.
    second, _ = dens.moment(2)
    np.testing.assert_allclose(np.sum(grid**2 * phi) * dx, second + sigma**2, rtol=1e-6)
    assert ravel_pytree(_points()[name][0])[0].shape == (NUM_PARAMS,)
