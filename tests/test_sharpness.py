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


def _gaussian_init(key, scale):
    keys = jax.random.split(key, DEPTH)
    return {
        name: scale * jax.random.normal(k, shape)
        for k, (name, shape) in zip(keys, _shapes().items(), strict=True)
    }


def _balanced_minimizer(w, key):
    """W_1 = s u_1 w^T/|w|, W_k = s u_k u_{k-1}^T, W_L = s u_{L-1}^T with s = |w|^(1/L).

    The end-to-end predictor W_L ... W_1 is exactly w (the u_k are unit vectors).
    """
    s = jnp.linalg.norm(w) ** (1.0 / DEPTH)
    u = jax.random.normal(key, (DEPTH - 1, M))
    u = u / jnp.linalg.norm(u, axis=1, keepdims=True)
    params = {"W1": s * jnp.outer(u[0], w / jnp.linalg.norm(w))}
    params |= {f"W{k}": s * jnp.outer(u[k - 1], u[k - 2]) for k in range(2, DEPTH)}
    params[f"W{DEPTH}"] = s * u[DEPTH - 2][None, :]
    return params


@functools.cache
def _points():
    """name -> (params, X, y), all float64."""
    kx, kw, kn = jax.random.split(jax.random.key(0), 3)
    X = jax.random.normal(kx, (N, D))
    y = X @ jax.random.normal(kw, (D,)) + 0.1 * jax.random.normal(kn, (N,))

    saddle = _gaussian_init(jax.random.key(104), 0.5)
    # Two zero layers: every gradient term is a product containing one of them, so the
    # gradient vanishes; the only nonzero Hessian block couples W1 and W2, whose spectrum is
    # +/- 2|W_L...W_3| |X^T y / n| (multiplicity m each) and 0.
    saddle["W1"] = jnp.zeros((M, D))
    saddle["W2"] = jnp.zeros((M, M))

    # Near-tie minimum: data with covariance Sigma = diag(sigma) exactly and a noise orthogonal
    # to the columns of X, so w* = e_1 is the least-squares solution and the residual term of
    # the Hessian vanishes. At the balanced minimizer the nonzero Hessian eigenvalues are
    # 2 * {L sigma_1, sigma_2, ..., sigma_5} = 2 * {10, 10.05, 3, 2, 1}: a 0.5% gap.
    q, _ = jnp.linalg.qr(jax.random.normal(jax.random.key(5), (N, D)))
    sigma = jnp.array([1.0, 10.05, 3.0, 2.0, 1.0])
    X5 = jnp.sqrt(N) * q * jnp.sqrt(sigma)
    noise = 0.1 * jax.random.normal(jax.random.key(6), (N,))
    noise = noise - X5 @ jnp.linalg.lstsq(X5, noise)[0]
    e1 = jnp.eye(D)[0]

    return {
        # scale 0.1: Hessian ~1e-4, indefinite, |lambda_min| = 1.04 lambda_max.
        "indefinite_small_init": (_gaussian_init(jax.random.key(102), 0.1), X, y),
        "generic_init": (_gaussian_init(jax.random.key(103), 0.45), X, y),
        "rank_deficient_min": (
            _balanced_minimizer(jnp.linalg.lstsq(X, y)[0], jax.random.key(7)),
            X,
            y,
        ),
        "saddle": (saddle, X, y),
        "near_tie_min": (_balanced_minimizer(e1, jax.random.key(8)), X5, X5 @ e1 + noise),
    }


# --- jitted wrappers: one compilation per static configuration, shared by all points ----------


@jax.jit
def _dense_eigh(params, X, y):
    flat, unravel = ravel_pytree(params)
    hess = jax.hessian(lambda q: _loss(unravel(q), X, y))(flat)
    return jnp.linalg.eigh(0.5 * (hess + hess.T))


@jax.jit
def _grad_norm(params, X, y):
    return jnp.linalg.norm(ravel_pytree(jax.grad(_loss)(params, X, y))[0])


@functools.partial(jax.jit, static_argnames="num_iters")
def _lanczos(params, X, y, key, v0=None, *, num_iters=25):
    return lanczos(lambda p: _loss(p, X, y), params, key, num_iters=num_iters, v0=v0)


@jax.jit
def _power(params, X, y, key):
    return power_iteration(lambda p: _loss(p, X, y), params, key)


def _reference(name):
    params, X, y = _points()[name]
    evals, evecs = _dense_eigh(params, X, y)
    return np.asarray(evals), np.asarray(evecs[:, -1])


def _key(i=1):
    return jax.random.key(i)


# --- the landmark points are what they claim to be --------------------------------------------


@pytest.mark.parametrize("name", POINTS)
def test_landmark_point_has_its_property(name):
    params, X, y = _points()[name]
    evals, _ = _reference(name)
    assert ravel_pytree(params)[0].shape == (NUM_PARAMS,)
    lmax, lmin, scale = evals[-1], evals[0], np.max(np.abs(evals))
    grad = float(_grad_norm(params, X, y))
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
    evals, _ = _reference(name)
    scale = np.max(np.abs(evals))
    res = _lanczos(params, X, y, _key())
    assert isinstance(res, SharpnessResult)
    assert int(res.num_hvps) <= 30
    assert abs(float(res.eigenvalue) - evals[-1]) <= 1e-6 * abs(evals[-1])
    assert abs(float(res.min_eigenvalue) - evals[0]) <= 1e-6 * scale
    # Rayleigh-Ritz: Ritz values lie inside the spectrum (up to the reference's rounding).
    assert evals[0] - 10 * EPS64 * scale <= float(res.min_eigenvalue)
    assert float(res.eigenvalue) <= evals[-1] + 10 * EPS64 * scale
    assert bool(res.converged)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(res.vector)), 1.0, rtol=1e-12)


@pytest.mark.parametrize("num_iters", [3, 5, 8, 25])
@pytest.mark.parametrize("name", POINTS)
def test_lanczos_error_bound_contains_true_error(name, num_iters):
    params, X, y = _points()[name]
    evals, _ = _reference(name)
    res = _lanczos(params, X, y, _key(), num_iters=num_iters)
    err = abs(float(res.eigenvalue) - evals[-1])
    # The dense reference is itself only accurate to ~eps * ||H||.
    assert err <= float(res.error_bound) + 10 * EPS64 * np.max(np.abs(evals))
    # and the flag agrees with the bound's definition
    assert bool(res.converged) == (
        float(res.error_bound) <= 1e-6 * max(1.0, abs(float(res.eigenvalue)))
    )


def test_lanczos_vmap_matches_one_by_one():
    names = ("indefinite_small_init", "generic_init", "rank_deficient_min", "saddle")
    pts = [_points()[n] for n in names]
    X, y = pts[0][1], pts[0][2]  # these four share the data
    batch = jax.tree.map(lambda *a: jnp.stack(a), *[p for p, _, _ in pts])
    keys = jax.random.split(_key(3), len(names))
    batched = jax.jit(
        jax.vmap(lambda p, k: lanczos(lambda q: _loss(q, X, y), p, k, num_iters=25))
    )(batch, keys)
    assert batched.eigenvalue.shape == (len(names),)
    assert batched.vector.shape == (len(names), NUM_PARAMS)
    for i, (params, _, _) in enumerate(pts):
        single = _lanczos(params, X, y, keys[i])
        for field in ("eigenvalue", "min_eigenvalue"):
            np.testing.assert_allclose(
                getattr(batched, field)[i], getattr(single, field), rtol=1e-10
            )
        assert int(batched.num_hvps[i]) == int(single.num_hvps) == 25


def test_lanczos_eager_matches_jit():
    params, X, y = _points()["generic_init"]
    eager = lanczos(lambda p: _loss(p, X, y), params, _key(), num_iters=12)
    jitted = _lanczos(params, X, y, _key(), num_iters=12)
    np.testing.assert_allclose(eager.eigenvalue, jitted.eigenvalue, rtol=1e-12)
    np.testing.assert_allclose(eager.min_eigenvalue, jitted.min_eigenvalue, rtol=1e-12)


@pytest.mark.parametrize("name", ["generic_init", "near_tie_min"])
def test_lanczos_warm_start_from_top_vector_converges_in_two_steps(name):
    params, X, y = _points()[name]
    evals, top = _reference(name)
    res = _lanczos(params, X, y, _key(), jnp.asarray(top), num_iters=2)
    assert int(res.num_hvps) == 2
    assert abs(float(res.eigenvalue) - evals[-1]) <= 1e-12 * evals[-1]
    assert bool(res.converged) and float(res.error_bound) <= 1e-10 * evals[-1]
    assert abs(float(jnp.vdot(res.vector, top))) > 1 - 1e-10


def test_lanczos_zero_or_nan_v0_falls_back_to_random_start():
    params, X, y = _points()["generic_init"]
    cold = _lanczos(params, X, y, _key(), num_iters=8)
    for bad in (jnp.zeros(NUM_PARAMS), jnp.full(NUM_PARAMS, jnp.nan)):
        warm = _lanczos(params, X, y, _key(), bad, num_iters=8)
        np.testing.assert_array_equal(warm.eigenvalue, cold.eigenvalue)


@pytest.mark.parametrize("name", ["generic_init", "rank_deficient_min", "saddle"])
def test_lanczos_float32(name):
    params, X, y = _points()[name]
    evals, _ = _reference(name)
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


def test_lanczos_fewer_params_than_iterations_is_exact():
    a = jnp.array([[2.0, 1.0, 0.0], [1.0, -3.0, 0.5], [0.0, 0.5, 1.0]])

    def loss_fn(p):
        return 0.5 * p @ a @ p + jnp.sin(p[0])  # Hessian a - diag(sin p_0, 0, 0)

    x = jnp.array([0.3, -1.0, 2.0])
    evals = np.linalg.eigvalsh(np.asarray(a) - np.diag([np.sin(0.3), 0.0, 0.0]))
    res = lanczos(loss_fn, x, _key(), num_iters=25)
    assert int(res.num_hvps) == 3
    np.testing.assert_allclose([res.min_eigenvalue, res.eigenvalue], evals[[0, -1]], rtol=1e-12)
    assert bool(res.converged)


# --- power iteration --------------------------------------------------------------------------


def test_power_iteration_pitfall_near_small_init():
    """Power iteration finds the dominant-magnitude eigenvalue, which is negative here."""
    name = "indefinite_small_init"
    params, X, y = _points()[name]
    evals, _ = _reference(name)
    pw = _power(params, X, y, _key())
    lz = _lanczos(params, X, y, _key())
    assert float(pw.eigenvalue) < 0 < evals[-1]  # wrong sign
    assert not bool(pw.converged)  # ...but honestly flagged
    assert float(pw.error_bound) > evals[-1] - float(pw.eigenvalue) - 1e-3 * evals[-1]
    assert abs(float(lz.eigenvalue) - evals[-1]) <= 1e-6 * evals[-1]


@pytest.mark.parametrize("name", ["saddle", "near_tie_min"])
def test_power_iteration_flags_slow_convergence(name):
    # saddle: lambda_min = -lambda_max, no dominant eigenvalue; near tie: rate 0.995 per step.
    params, X, y = _points()[name]
    evals, _ = _reference(name)
    pw = _power(params, X, y, _key())
    assert abs(float(pw.eigenvalue) - evals[-1]) > 1e-4 * evals[-1]
    assert not bool(pw.converged)
    assert int(pw.num_hvps) == 40


def test_power_iteration_matches_exact_on_psd_quadratic():
    # Pytree params, PSD Hessian with a clear gap at both ends.
    spectrum = jnp.array([10.0, 6.0, 5.0, 4.0, 3.0, 0.1])
    q, _ = jnp.linalg.qr(jax.random.normal(_key(11), (6, 6)))
    a = (q * spectrum) @ q.T
    params = {"u": jnp.ones(2), "v": jnp.arange(4.0).reshape(2, 2)}

    def loss_fn(p):
        x = ravel_pytree(p)[0]
        return 0.5 * x @ a @ x

    res = power_iteration(loss_fn, params, _key(), num_iters=50)
    ref = exact(loss_fn, params)
    np.testing.assert_allclose(res.eigenvalue, 10.0, rtol=1e-10)
    np.testing.assert_allclose(ref.eigenvalue, 10.0, rtol=1e-12)
    np.testing.assert_allclose(ref.min_eigenvalue, 0.1, rtol=1e-10)
    np.testing.assert_allclose(res.min_eigenvalue, 0.1, rtol=1e-3)
    assert bool(res.converged) and int(res.num_hvps) == 100
    assert abs(float(jnp.vdot(res.vector, ref.vector))) > 1 - 1e-10
    no_shift = power_iteration(loss_fn, params, _key(), num_iters=50, shifted_iters=0)
    assert int(no_shift.num_hvps) == 50 and np.isnan(float(no_shift.min_eigenvalue))


# --- hvp, exact, dispatcher -------------------------------------------------------------------


def test_hvp_and_exact_match_dense_hessian():
    params, X, y = _points()["generic_init"]
    flat, unravel = ravel_pytree(params)
    hess = jax.hessian(lambda q: _loss(unravel(q), X, y))(flat)
    v = jax.random.normal(_key(2), flat.shape)
    hv = hvp(lambda p: _loss(p, X, y), params, v)
    np.testing.assert_allclose(hv, hess @ v, rtol=1e-10, atol=1e-10 * jnp.max(jnp.abs(hv)))
    res = exact(lambda p: _loss(p, X, y), params)
    evals = np.linalg.eigvalsh(np.asarray(0.5 * (hess + hess.T)))
    np.testing.assert_allclose([res.min_eigenvalue, res.eigenvalue], evals[[0, -1]], rtol=1e-10)
    assert float(res.error_bound) == 0.0 and bool(res.converged)
    assert int(res.num_hvps) == NUM_PARAMS


def test_dispatcher_routes_to_each_method():
    def loss_fn(p):
        return 0.5 * jnp.sum(jnp.array([3.0, 1.0, -2.0]) * p**2)

    x = jnp.ones(3)
    by_name = {m: sharpness(loss_fn, x, _key(), method=m) for m in ("lanczos", "power", "exact")}
    np.testing.assert_allclose(by_name["lanczos"].eigenvalue, 3.0, rtol=1e-12)
    np.testing.assert_allclose(by_name["exact"].eigenvalue, 3.0, rtol=1e-12)
    assert int(by_name["lanczos"].num_hvps) == 3  # min(25, p)
    assert int(by_name["power"].num_hvps) == 40  # 20 + 20 shifted
    assert int(sharpness(loss_fn, x, _key(), num_iters=2).num_hvps) == 2


def test_dispatcher_rejects_unknown_method():
    with pytest.raises(ValueError, match=r"method='arnoldi'.*'lanczos'.*'power'.*'exact'"):
        sharpness(lambda p: jnp.sum(p**2), jnp.ones(3), _key(), method="arnoldi")
