"""Top-k / bottom-k eigenpairs and eigenvalues above a threshold, against the dense Hessian.

The model is the deep linear network of tests/test_sharpness.py (Marion & Chizat's setting,
230 parameters) at its landmark points, plus a minimum whose top three Hessian eigenvalues are
equal. The reference is ``numpy.linalg.eigh`` of ``jax.hessian`` in float64, itself accurate to
about ``eps * ||H||``: every comparison allows ``SLACK = 10 eps ||H||`` for it.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from test_sharpness import (
    DEPTH,
    EPS64,
    NUM_PARAMS,
    D,
    N,
    _balanced_minimizer,
    _dense_hessian_and_grad_norm,
    _loss,
    _points,
)

from implicit_bias.compilations import count_compilations
from implicit_bias.sharpness import (
    AboveThreshold,
    Dense,
    Eigenpairs,
    Hessian,
    bottomk,
    eigenpairs,
    eigenvalues_above,
    topk,
)

jax.config.update("jax_enable_x64", True)

K = 5
POINTS = ("indefinite_small_init", "generic_init", "rank_deficient_min", "saddle", "cluster_min")


@functools.cache
def _all_points():
    """The landmark points of test_sharpness plus ``cluster_min``.

    ``cluster_min``: as ``near_tie_min`` (data with covariance diag(sigma) exactly, a noise
    orthogonal to X, the balanced minimizer of w* = e_1), whose nonzero Hessian eigenvalues are
    2 {L sigma_1, sigma_2, ..., sigma_5}; sigma = (1, 10, 10, 2, 1) with L = 10 makes them
    {20, 20, 20, 4, 2}: a cluster of three equal top eigenvalues, and a rank-5 Hessian.
    """
    pts = dict(_points())
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.standard_normal((N, D)))
    sigma = np.array([1.0, 10.0, 10.0, 2.0, 1.0])
    X = np.sqrt(N) * q * np.sqrt(sigma)
    noise = 0.1 * rng.standard_normal(N)
    noise = noise - q @ (q.T @ noise)
    e1 = np.eye(D)[0]
    pts["cluster_min"] = jax.tree.map(jnp.asarray, (_balanced_minimizer(e1, 8), X, X @ e1 + noise))
    return pts


@functools.cache
def _ref(name):
    """(ascending eigenvalues, eigenvectors as columns, dense Hessian), by numpy."""
    hess, _ = _dense_hessian_and_grad_norm(*_all_points()[name])
    hess = np.asarray(hess)
    hess = 0.5 * (hess + hess.T)
    evals, evecs = np.linalg.eigh(hess)
    return evals, evecs, hess


@functools.partial(jax.jit, static_argnames=("top", "bottom", "block_size", "max_restarts"))
def _pairs(params, X, y, key, v0=None, *, top=K, bottom=K, block_size=None, max_restarts=10):
    op = Hessian(lambda p: _loss(p, X, y), params)
    return eigenpairs(
        op, key, top=top, bottom=bottom, block_size=block_size, max_restarts=max_restarts, v0=v0
    )


def _check_pairs(res: Eigenpairs, ref_values, hess, scale):
    """Accuracy (1e-6 relative), certified bounds, orthonormal vectors, dense residuals."""
    slack = 10 * EPS64 * scale
    got = np.asarray(res.eigenvalues)
    err = np.abs(got - ref_values)
    # 1e-6 relative to each eigenvalue; the additive 1e-12 ||H|| is for the eigenvalues that
    # are zero up to rounding (the reference itself has an absolute error ~ sqrt(p) eps ||H||).
    assert np.all(err <= 1e-6 * np.abs(ref_values) + 1e-12 * scale), (got, ref_values)
    bounds = np.asarray(res.error_bounds)
    assert np.all(err <= bounds + slack)  # the certificate contains the true error
    assert np.all(np.asarray(res.converged))
    vecs = np.asarray(res.vectors)
    np.testing.assert_allclose(vecs @ vecs.T, np.eye(len(got)), atol=1e-10)
    # The certificate is the residual of the returned pair, recomputed here densely.
    dense_res = np.linalg.norm(vecs @ hess - got[:, None] * vecs, axis=1)
    assert np.all(dense_res <= bounds + slack)


@pytest.mark.parametrize("name", POINTS)
def test_top_and_bottom_k_match_dense_hessian(name):
    params, X, y = _all_points()[name]
    evals, _, hess = _ref(name)
    scale = np.max(np.abs(evals))
    top, bottom = _pairs(params, X, y, jax.random.key(0))
    assert top.eigenvalues.shape == bottom.eigenvalues.shape == (K,)
    assert top.vectors.shape == (K, NUM_PARAMS)
    _check_pairs(top, evals[::-1][:K], hess, scale)
    _check_pairs(bottom, evals[:K], hess, scale)
    assert int(top.num_matvecs) == int(bottom.num_matvecs) <= 40 + 10 * 25 + 2 * K


def test_landmark_points_have_their_spectra():
    """The cluster and the saddle are what the tests above need them to be."""
    evals, _, _ = _ref("cluster_min")
    np.testing.assert_allclose(evals[-3:], 20.0, rtol=1e-12)  # three equal top eigenvalues
    assert evals[-4] < 4.0 + 1e-9 and np.sum(np.abs(evals) > 1e-9) == D
    evals, _, _ = _ref("saddle")
    # +/- c with multiplicity m = 5 each: five equal top (and bottom) eigenvalues.
    np.testing.assert_allclose(evals[-K:], evals[-1], rtol=1e-12)
    np.testing.assert_allclose(evals[:K], -evals[-1], rtol=1e-12)


def test_single_vector_on_a_cluster_still_certifies_the_nearest_eigenvalue():
    """With block_size = 1 a Krylov space sees one vector of the triple eigenspace (in exact
    arithmetic): copies may be missed, but each bound still contains the distance from its
    value to the nearest eigenvalue, and the values stay inside the spectrum."""
    params, X, y = _all_points()["cluster_min"]
    evals, _, _ = _ref("cluster_min")
    slack = 10 * EPS64 * evals[-1]
    top, _ = _pairs(params, X, y, jax.random.key(2), top=3, bottom=0, block_size=1)
    got, bounds = np.asarray(top.eigenvalues), np.asarray(top.error_bounds)
    nearest = np.min(np.abs(got[:, None] - evals[None]), axis=1)
    assert np.all(nearest <= bounds + slack)
    assert np.all(got <= evals[-1] + slack) and np.all(got >= evals[0] - slack)


def test_vmap_equals_loop_and_no_recompile():
    names = ("indefinite_small_init", "generic_init", "rank_deficient_min", "saddle")
    pts = [_all_points()[n] for n in names]
    X, y = pts[0][1], pts[0][2]  # these four share the data
    batch = jax.tree.map(lambda *a: jnp.stack(a), *[p for p, _, _ in pts])
    keys = jax.random.split(jax.random.key(3), len(names))
    run = jax.jit(jax.vmap(lambda p, k: _pairs(p, X, y, k)))
    top, bottom = run(batch, keys)
    assert top.eigenvalues.shape == (len(names), K) and top.vectors.shape[:2] == (len(names), K)
    for i, (params, _, _) in enumerate(pts):
        t1, b1 = _pairs(params, X, y, keys[i])
        scale = float(np.max(np.abs(np.asarray(t1.eigenvalues))))
        np.testing.assert_allclose(
            top.eigenvalues[i], t1.eigenvalues, rtol=1e-9, atol=1e-12 * scale
        )
        np.testing.assert_allclose(bottom.eigenvalues[i], b1.eigenvalues, atol=1e-9 * scale)
    # New parameter values (traced) reuse the executable.
    scaled = jax.tree.map(lambda a: 1.01 * a, batch)
    with count_compilations() as compiles:
        run(scaled, keys)
    assert compiles.count == 0


def test_warm_start_from_previous_vectors_converges_without_restart():
    params, X, y = _all_points()["generic_init"]
    evals, _, _ = _ref("generic_init")
    # A zero warm start is a cold start (and shares the compiled function with the warm one).
    cold, _ = _pairs(params, X, y, jax.random.key(4), jnp.zeros((K, NUM_PARAMS)), top=K, bottom=0)
    warm, _ = _pairs(params, X, y, jax.random.key(4), cold.vectors, top=K, bottom=0)
    np.testing.assert_allclose(warm.eigenvalues, evals[::-1][:K], rtol=1e-9)
    assert np.all(np.asarray(warm.converged))
    assert int(warm.num_matvecs) == 40 + K  # one cycle (capacity 40) and the K certificates
    assert int(cold.num_matvecs) > int(warm.num_matvecs)
    # A non-finite warm start falls back to the random start, as a zero one does.
    res, _ = _pairs(
        params, X, y, jax.random.key(4), np.full((K, NUM_PARAMS), np.nan), top=K, bottom=0
    )
    np.testing.assert_allclose(res.eigenvalues, cold.eigenvalues, rtol=1e-12)


def test_eigenvalues_above_threshold_with_traced_threshold():
    params, X, y = _all_points()["generic_init"]
    evals, _, _ = _ref("generic_init")
    desc = evals[::-1]

    @jax.jit
    def run(params, threshold, v0):
        op = Hessian(lambda p: _loss(p, X, y), params)
        return eigenvalues_above(op, jax.random.key(5), threshold, k_max=K, v0=v0)

    zeros = jnp.zeros((K, NUM_PARAMS))
    res = run(params, 0.5 * (desc[2] + desc[3]), zeros)
    assert isinstance(res, AboveThreshold)
    assert int(res.count) == 3 and bool(res.complete)
    np.testing.assert_array_equal(res.above, [True, True, True, False, False])
    with count_compilations() as compiles:
        low = run(params, desc[K] - 1.0, res.pairs.vectors)  # warm start, new threshold
    assert compiles.count == 0
    assert int(low.count) == K and not bool(low.complete)  # maybe more above: raise k_max


def test_small_operators_zero_operator_and_float32():
    # p = 7 < capacity: one cycle spans everything, exact.
    spectrum = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0, -1.0])
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((7, 7)))
    a = jnp.asarray((q * spectrum) @ q.T)
    # topk and bottomk are the two ends of eigenpairs.
    run = jax.jit(lambda a, k: (topk(Dense(a), k, 3), bottomk(Dense(a), k, 2)))
    top, bottom = run(a, jax.random.key(0))
    np.testing.assert_allclose(top.eigenvalues, [5, 4, 3], atol=1e-12)
    np.testing.assert_allclose(bottom.eigenvalues, [-1, 0], atol=1e-12)
    # The zero operator: every step breaks down, no NaN, zero bounds.
    top, bottom = run(jnp.zeros((7, 7)), jax.random.key(0))
    for res in (top, bottom):
        assert np.all(np.asarray(res.eigenvalues) == 0.0)
        assert np.all(np.asarray(res.error_bounds) == 0.0) and np.all(np.asarray(res.converged))
        assert np.isfinite(np.asarray(res.vectors)).all()
    # float32 params give float32 results, accurate to float32 precision.
    params, X, y = _all_points()["generic_init"]
    evals, _, _ = _ref("generic_init")
    to32 = functools.partial(jax.tree.map, lambda x: x.astype(jnp.float32))
    top, _ = _pairs(to32(params), to32(X), to32(y), jax.random.key(0))
    assert top.eigenvalues.dtype == top.vectors.dtype == jnp.float32
    np.testing.assert_allclose(top.eigenvalues, evals[::-1][:K], rtol=1e-4)


def test_bad_sizes_are_value_errors():
    a = Dense(jnp.eye(4))
    key = jax.random.key(0)
    with pytest.raises(ValueError, match=r"top \+ bottom = 5 is invalid: at most the dimension 4"):
        eigenpairs(a, key, top=3, bottom=2)
    with pytest.raises(ValueError, match=r"top=0, bottom=0 are invalid"):
        eigenpairs(a, key, top=0)
    with pytest.raises(ValueError, match=r"block_size=9 is invalid"):
        eigenpairs(a, key, top=1, block_size=9)
    with pytest.raises(ValueError, match=r"v0 has shape \(3,\)"):
        topk(a, key, 1, v0=jnp.ones(3))
    assert DEPTH == 10  # the model these tests are written for
    assert ravel_pytree(_all_points()["cluster_min"][0])[0].shape == (NUM_PARAMS,)
