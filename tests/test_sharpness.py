"""Sharpness estimators against the dense Hessian of a deep linear network.

The network is Marion & Chizat's setting: f(x) = W_L ... W_1 x with d = m = 5 and L = 10, so
230 parameters, and the square loss mean((f(X) - y)^2). Five landmark points probe what makes
sharpness estimation hard along a trajectory: an indefinite Hessian near a small init whose
most negative eigenvalue dominates, a generic init, a minimum with a rank-5 Hessian (Krylov
breakdown), a saddle with a symmetric (+/-) spectrum, and a minimum whose top two eigenvalues
are within 1%.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from implicit_bias.sharpness import (
    SharpnessResult,
    exact,
    hvp,
    lanczos,
    power_iteration,
    sharpness,
)

jax.config.update("jax_enable_x64", True)

D, M, DEPTH, N = 5, 5, 10, 50
NUM_PARAMS = M * D + (DEPTH - 2) * M * M + M  # 230
POINTS = ("indefinite_small_init", "generic_init", "rank_deficient_min", "saddle", "near_tie_min")
EPS64 = float(np.finfo(np.float64).eps)


# --- the model, inline ------------------------------------------------------------------------


def _shapes() -> dict[str, tuple[int, int]]:
    shapes = {"W1": (M, D)}
    shapes |= {f"W{k}": (M, M) for k in range(2, DEPTH)}
    shapes[f"W{DEPTH}"] = (1, M)
    return shapes


def _loss(params, X, y):
    h = X.T
    for k in range(1, DEPTH + 1):
        h = params[f"W{k}"] @ h
    return jnp.mean((h[0] - y) ** 2)


def _gaussian_init(seed, scale):
    rng = np.random.default_rng(seed)
    return {name: scale * rng.standard_normal(shape) for name, shape in _shapes().items()}


def _balanced_minimizer(w, seed):
    """W_1 = s u_1 w^T/|w|, W_k = s u_k u_{k-1}^T, W_L = s u_{L-1}^T with s = |w|^(1/L).

    The end-to-end predictor W_L ... W_1 is exactly w (the u_k are unit vectors).
    """
    s = np.linalg.norm(w) ** (1.0 / DEPTH)
    u = np.random.default_rng(seed).standard_normal((DEPTH - 1, M))
    u = u / np.linalg.norm(u, axis=1, keepdims=True)
    params = {"W1": s * np.outer(u[0], w / np.linalg.norm(w))}
    params |= {f"W{k}": s * np.outer(u[k - 1], u[k - 2]) for k in range(2, DEPTH)}
    params[f"W{DEPTH}"] = s * u[DEPTH - 2][None, :]
    return params


@functools.cache
def _points():
    """name -> (params, X, y) as float64 jax arrays (built with numpy: no compilation)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    y = X @ rng.standard_normal(D) + 0.1 * rng.standard_normal(N)

    saddle = _gaussian_init(2, 0.5)
    # Two zero layers: every gradient term is a product containing one of them, so the
    # gradient vanishes; the only nonzero Hessian block couples W1 and W2, whose spectrum is
    # +/- 2|W_L...W_3| |X^T y / n| (multiplicity m each) and 0.
    saddle["W1"] = np.zeros((M, D))
    saddle["W2"] = np.zeros((M, M))

    # Near-tie minimum: data with covariance Sigma = diag(sigma) exactly and a noise orthogonal
    # to the columns of X, so w* = e_1 is the least-squares solution and the residual term of
    # the Hessian vanishes. At the balanced minimizer the nonzero Hessian eigenvalues are
    # 2 * {L sigma_1, sigma_2, ..., sigma_5} = 2 * {10, 10.05, 3, 2, 1}: a 0.5% gap.
    q, _ = np.linalg.qr(rng.standard_normal((N, D)))
    sigma = np.array([1.0, 10.05, 3.0, 2.0, 1.0])
    X5 = np.sqrt(N) * q * np.sqrt(sigma)
    noise = 0.1 * rng.standard_normal(N)
    noise = noise - q @ (q.T @ noise)
    e1 = np.eye(D)[0]

    points = {
        # scale 0.1: Hessian ~1e-4, indefinite, |lambda_min| = 1.29 lambda_max.
        "indefinite_small_init": (_gaussian_init(0, 0.1), X, y),
        "generic_init": (_gaussian_init(1, 0.45), X, y),
        "rank_deficient_min": (_balanced_minimizer(np.linalg.lstsq(X, y)[0], 3), X, y),
        "saddle": (saddle, X, y),
        "near_tie_min": (_balanced_minimizer(e1, 4), X5, X5 @ e1 + noise),
    }
    return jax.tree.map(jnp.asarray, points)


# --- jitted wrappers: one compilation per static configuration, shared by all points ----------


@jax.jit
def _dense_hessian_and_grad_norm(params, X, y):
    flat, unravel = ravel_pytree(params)
    hess = jax.hessian(lambda q: _loss(unravel(q), X, y))(flat)
    grad = jax.grad(_loss)(params, X, y)
    return hess, jnp.linalg.norm(ravel_pytree(grad)[0])


@functools.partial(jax.jit, static_argnames="num_iters")
def _lanczos(params, X, y, key, v0=None, *, num_iters=25):
    return lanczos(lambda p: _loss(p, X, y), params, key, num_iters=num_iters, v0=v0)


@jax.jit
def _power(params, X, y, key):
    return power_iteration(lambda p: _loss(p, X, y), params, key)


@functools.cache
def _reference(name):
    """(ascending eigenvalues, top eigenvector, dense Hessian, gradient norm) by numpy."""
    hess, grad_norm = _dense_hessian_and_grad_norm(*_points()[name])
    hess = np.asarray(hess)
    evals, evecs = np.linalg.eigh(0.5 * (hess + hess.T))
    return evals, evecs[:, -1], hess, float(grad_norm)


def _key(i=1):
    return jax.random.key(i)


# --- the landmark points are what they claim to be --------------------------------------------


@pytest.mark.parametrize("name", POINTS)
def test_landmark_point_has_its_property(name):
    params, _, _ = _points()[name]
    evals, _, _, grad = _reference(name)
    assert ravel_pytree(params)[0].shape == (NUM_PARAMS,)
    lmax, lmin, scale = evals[-1], evals[0], np.max(np.abs(evals))
    if name == "indefinite_small_init":
        assert 0 < lmax < -lmin  # the most negative eigenvalue dominates in magnitude
    elif name == "generic_init":
        assert grad > 1e-2 and lmin < 0 < lmax
    elif name == "rank_deficient_min":
        assert grad < 1e-10
        rank = np.sum(np.abs(evals) > 1e-9 * scale)
        assert rank <= D  # 5 out of 230
        assert lmin > -1e-12 * scale
    elif name == "saddle":
        assert grad == 0.0
        assert lmax > 0.1
        np.testing.assert_allclose(lmin, -lmax, rtol=1e-12)
    elif name == "near_tie_min":
        assert grad < 1e-10
        assert 0 < (evals[-1] - evals[-2]) / evals[-1] < 0.01


# --- Lanczos ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", POINTS)
def test_lanczos_matches_dense_hessian(name):
    params, X, y = _points()[name]
    evals, _, _, _ = _reference(name)
    scale = np.max(np.abs(evals))
    res = _lanczos(params, X, y, _key())
    assert isinstance(res, SharpnessResult)
    assert int(res.num_hvps) == 25
    err = abs(float(res.eigenvalue) - evals[-1])
    assert err <= 1e-6 * abs(evals[-1])
    assert abs(float(res.min_eigenvalue) - evals[0]) <= 1e-6 * scale
    # The bound contains the true error (the dense reference is itself only accurate to
    # ~eps * ||H||, hence the slack).
    assert err <= float(res.error_bound) + 10 * EPS64 * scale
    assert bool(res.converged)
    # Rayleigh-Ritz: Ritz values lie inside the spectrum (up to the reference's rounding).
    assert evals[0] - 10 * EPS64 * scale <= float(res.min_eigenvalue)
    assert float(res.eigenvalue) <= evals[-1] + 10 * EPS64 * scale
    np.testing.assert_allclose(np.linalg.norm(np.asarray(res.vector)), 1.0, rtol=1e-12)


@pytest.mark.parametrize("name", POINTS)
def test_lanczos_error_bound_when_not_converged(name):
    """After 5 steps the top Ritz value is not always converged, nor always the top eigenvalue.

    What the residual bound guarantees is an eigenvalue of H within it (Paige, 1971); it
    bounds lambda_max - theta whenever it claims convergence.
    """
    params, X, y = _points()[name]
    evals, _, _, _ = _reference(name)
    slack = 10 * EPS64 * np.max(np.abs(evals))
    res = _lanczos(params, X, y, _key(), num_iters=5)
    theta, bound = float(res.eigenvalue), float(res.error_bound)
    assert np.min(np.abs(evals - theta)) <= bound + slack
    assert theta <= evals[-1] + slack
    assert bool(res.converged) == (bound <= 1e-6 * max(1.0, abs(theta)))
    if bool(res.converged):
        assert evals[-1] - theta <= bound + slack


def test_lanczos_vmap_matches_one_by_one():
    names = ("indefinite_small_init", "generic_init", "rank_deficient_min", "saddle")
    pts = [_points()[n] for n in names]
    X, y = pts[0][1], pts[0][2]  # these four share the data
    batch = jax.tree.map(lambda *a: jnp.stack(a), *[p for p, _, _ in pts])
    keys = jax.random.split(_key(3), len(names))
    batched = jax.jit(jax.vmap(lambda p, k: lanczos(lambda q: _loss(q, X, y), p, k, num_iters=25)))(
        batch, keys
    )
    assert batched.eigenvalue.shape == batched.converged.shape == (len(names),)
    assert batched.vector.shape == (len(names), NUM_PARAMS)
    for i, (params, _, _) in enumerate(pts):
        single = _lanczos(params, X, y, keys[i])
        atol = 1e-10 * abs(float(single.eigenvalue))
        for field in ("eigenvalue", "min_eigenvalue"):
            np.testing.assert_allclose(
                getattr(batched, field)[i], getattr(single, field), rtol=1e-10, atol=atol
            )
        assert int(batched.num_hvps[i]) == int(single.num_hvps) == 25


@pytest.mark.parametrize("name", ["generic_init", "near_tie_min"])
def test_lanczos_warm_start_from_top_vector_converges_in_two_steps(name):
    params, X, y = _points()[name]
    evals, top, _, _ = _reference(name)
    res = _lanczos(params, X, y, _key(), jnp.asarray(top), num_iters=2)
    assert int(res.num_hvps) == 2
    assert abs(float(res.eigenvalue) - evals[-1]) <= 1e-12 * evals[-1]
    assert bool(res.converged) and float(res.error_bound) <= 1e-10 * evals[-1]
    assert abs(np.vdot(np.asarray(res.vector), top)) > 1 - 1e-10


@functools.cache
def _small_quadratic():
    """A 6-parameter pytree problem with a known indefinite spectrum (numpy-built)."""
    spectrum = np.array([10.0, 6.0, 5.0, 4.0, 3.0, -0.5])
    q, _ = np.linalg.qr(np.random.default_rng(11).standard_normal((6, 6)))
    a = jnp.asarray((q * spectrum) @ q.T)
    params = {"u": jnp.ones(2), "v": jnp.arange(4.0).reshape(2, 2)}

    def loss_fn(p):
        x = ravel_pytree(p)[0]
        return 0.5 * x @ a @ x + jnp.sum(x)

    return loss_fn, params, spectrum, q[:, 0]


def test_lanczos_zero_or_nan_v0_falls_back_to_random_start():
    loss_fn, params, spectrum, _ = _small_quadratic()
    run = jax.jit(lambda k, v0: lanczos(loss_fn, params, k, num_iters=3, v0=v0))
    cold = jax.jit(lambda k: lanczos(loss_fn, params, k, num_iters=3))(_key())
    for v0 in (np.zeros(6), np.full(6, np.nan)):
        res = run(_key(), v0)
        np.testing.assert_allclose(res.eigenvalue, cold.eigenvalue, rtol=1e-12)
        np.testing.assert_allclose(res.min_eigenvalue, cold.min_eigenvalue, rtol=1e-12)
    # Ritz values interlace: inside [lambda_min, lambda_max] even after 3 of 6 steps.
    assert spectrum[-1] <= float(cold.min_eigenvalue)
    assert float(cold.eigenvalue) <= spectrum[0]


@pytest.mark.parametrize("name", ["generic_init", "rank_deficient_min", "saddle"])
def test_lanczos_float32(name):
    params, X, y = _points()[name]
    evals, _, _, _ = _reference(name)
    to32 = functools.partial(jax.tree.map, lambda a: a.astype(jnp.float32))
    res = _lanczos(to32(params), to32(X), to32(y), _key())
    assert res.eigenvalue.dtype == res.vector.dtype == jnp.float32
    assert abs(float(res.eigenvalue) - evals[-1]) <= 1e-4 * abs(evals[-1])
    assert np.isfinite(np.asarray(res.vector)).all()


def test_all_zero_params_zero_hessian_without_nans():
    # L >= 3 and all layers zero: every second derivative contains a zero layer, H = 0, and
    # Lanczos breaks down at every step.
    params = jax.tree.map(jnp.zeros_like, _points()["generic_init"][0])
    _, X, y = _points()["generic_init"]
    for res in (_lanczos(params, X, y, _key()), _power(params, X, y, _key())):
        assert float(res.eigenvalue) == 0.0 and float(res.min_eigenvalue) == 0.0
        assert float(res.error_bound) == 0.0 and bool(res.converged)
        np.testing.assert_allclose(np.linalg.norm(np.asarray(res.vector)), 1.0, rtol=1e-12)


# --- power iteration --------------------------------------------------------------------------


def test_power_iteration_pitfall_near_small_init():
    """Power iteration finds the dominant-magnitude eigenvalue, which is negative here."""
    name = "indefinite_small_init"
    params, X, y = _points()[name]
    evals, _, _, _ = _reference(name)
    pw = _power(params, X, y, _key())
    lz = _lanczos(params, X, y, _key())
    assert float(pw.eigenvalue) < 0 < evals[-1]  # wrong sign
    assert not bool(pw.converged)  # ...but honestly flagged
    assert abs(float(lz.eigenvalue) - evals[-1]) <= 1e-6 * evals[-1]


@pytest.mark.parametrize("name", ["saddle", "near_tie_min"])
def test_power_iteration_flags_slow_convergence(name):
    # saddle: lambda_min = -lambda_max, no dominant eigenvalue; near tie: rate 0.995 per step.
    params, X, y = _points()[name]
    evals, _, _, _ = _reference(name)
    pw = _power(params, X, y, _key())
    assert abs(float(pw.eigenvalue) - evals[-1]) > 1e-4 * evals[-1]
    assert not bool(pw.converged)
    assert int(pw.num_hvps) == 40


def test_power_iteration_matches_exact_on_psd_quadratic():
    loss_fn, params, _, top = _small_quadratic()

    def psd_loss(p):  # shift the spectrum to [10.5, ..., 0]: PSD, gap 0.5 at the bottom
        x = ravel_pytree(p)[0]
        return loss_fn(p) + 0.25 * x @ x

    res, ref = jax.jit(
        lambda p, k: (power_iteration(psd_loss, p, k, num_iters=60), exact(psd_loss, p))
    )(params, _key())
    np.testing.assert_allclose(ref.eigenvalue, 10.5, rtol=1e-12)
    np.testing.assert_allclose(ref.min_eigenvalue, 0.0, atol=1e-12)
    np.testing.assert_allclose(res.eigenvalue, ref.eigenvalue, rtol=1e-10)
    np.testing.assert_allclose(res.min_eigenvalue, ref.min_eigenvalue, atol=1e-3)
    assert bool(res.converged) and int(res.num_hvps) == 120
    assert abs(np.vdot(np.asarray(res.vector), top)) > 1 - 1e-10
    assert abs(np.vdot(np.asarray(ref.vector), top)) > 1 - 1e-10


# --- hvp, exact, dispatcher -------------------------------------------------------------------


def test_hvp_matches_dense_hessian():
    params, X, y = _points()["generic_init"]
    _, _, hess, _ = _reference("generic_init")
    v = jax.random.normal(_key(2), (NUM_PARAMS,))
    hv = jax.jit(lambda p, v: hvp(lambda q: _loss(q, X, y), p, v))(params, v)
    np.testing.assert_allclose(hv, hess @ np.asarray(v), rtol=1e-9, atol=1e-12 * np.abs(hv).max())


def test_dispatcher_routes_to_each_method():
    loss_fn, params, spectrum, _ = _small_quadratic()

    @functools.partial(jax.jit, static_argnames=("method", "num_iters"))
    def run(key, method, num_iters=None):
        return sharpness(loss_fn, params, key, method=method, num_iters=num_iters)

    for method in ("lanczos", "exact"):  # Lanczos with k = p = 6 is exact too
        res = run(_key(), method)
        np.testing.assert_allclose(res.eigenvalue, spectrum[0], rtol=1e-12)
        np.testing.assert_allclose(res.min_eigenvalue, spectrum[-1], rtol=1e-12)
        assert float(res.error_bound) <= 1e-12 and bool(res.converged)
        assert int(res.num_hvps) == 6  # min(25, p) and p
    assert int(run(_key(), "power").num_hvps) == 40  # 20 + 20 shifted
    assert int(run(_key(), "lanczos", num_iters=2).num_hvps) == 2


def test_dispatcher_rejects_unknown_method():
    with pytest.raises(ValueError, match=r"method='arnoldi'.*'lanczos'.*'power'.*'exact'"):
        sharpness(lambda p: jnp.sum(p**2), jnp.ones(3), _key(), method="arnoldi")
