"""Least squares with n < d: GD, SGD and a two-layer linear network against the exact
minimum-norm limits (Zhang et al. 2017, Sec. 5; Gunasekar et al. 2018).

Setting: ``PlantedRegression(n=20, d=50)`` (noise-free, fixed design), float64.

* Linear model, GD and minibatch SGD: the limit is ``w0 + X^+ (y - X w0)`` (``X^+ y`` from 0)
  and the null-space component of ``w(t)`` equals that of ``w0`` at *every* recorded step.
* ``f(x) = W2 W1 x``: ``P_null w(t) = P_null W1(0)^T W2(t)^T`` at every step, so the limit is
  ``X^+ y`` when the rows of ``W1(0)`` lie in the row space of X (W1(0) = 0 or projected onto
  it, with W2(0) != 0), and carries the residual ``P_null W1(0)^T W2(T)^T`` otherwise.

References are computed independently of the engine with ``numpy.linalg.pinv`` and with
:func:`implicit_bias.theory.min_norm_solution` (scipy ``lstsq``).

Tolerances. GD with lr = 0.1 contracts the row-space error by at most
``q = max_i |1 - 2 lr s_i^2 / n| ~ 0.985`` per step for this design (checked below), so after
2000 steps ``q^T * ||w_inf - w0|| < 1e-12``; float64 rounding of a d = 50 matrix-vector chain
accumulates to ~1e-13 over the run (measured: <= 1.5e-13). We demand 1e-10. The null-space
component is untouched up to rounding: measured <= 1.5e-13, demanded 1e-11. SGD (batch 5,
lr = 0.05, 20000 steps) interpolates, so its noise vanishes at the limit: measured ~6e-15,
demanded 1e-10. The two-layer network (GD, lr = 0.05, 5000 steps) converges to a train
residual ~5e-16 (measured distance to its limit 1e-14 to 8e-14); demanded 1e-9.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxtyping import Array, Float, PRNGKeyArray

from implicit_bias.data import PlantedRegression
from implicit_bias.engine import run_batch
from implicit_bias.experiment import Experiment, SharpnessSpec
from implicit_bias.inits import AbstractInit, Gaussian
from implicit_bias.integrators import GD, SGD
from implicit_bias.losses import Square
from implicit_bias.models import DeepLinear, Linear
from implicit_bias.result import CONVERGED
from implicit_bias.schedule import Schedule
from implicit_bias.theory import min_norm_solution
from implicit_bias.theory.checks import MinNormCheck

jax.config.update("jax_enable_x64", True)

N, D, WIDTH = 20, 50, 10
DATA = PlantedRegression(n=N, d=D, sigma=0.0, design_seed=0)
TOL_LIMIT = 1e-10  # distance to the exact limit (see the module docstring)
TOL_NULL = 1e-11  # null-space drift: rounding only
TOL_DEEP = 1e-9


def _design() -> tuple[np.ndarray, np.ndarray]:
    """The fixed design (design_seed=0) and its null-space projector, on the host."""
    X = np.asarray(DATA.sample(jax.random.key(0), jnp.float64).X)
    V = np.linalg.svd(X, full_matrices=False)[2]
    return X, np.eye(D) - V.T @ V


def _experiment(model, init, integrator) -> Experiment:
    return Experiment(
        model=model,
        data=DATA,
        init=init,
        integrator=integrator,
        loss=Square(),
        sharpness=SharpnessSpec(method="none"),
        record=Schedule(num=10, params=True),
        dtype="float64",
        converge_tol=1e-10,
    )


def _check_linear_limit(exp: Experiment, result) -> dict[str, float]:
    worst = {"limit": 0.0, "null": 0.0}
    X, P_null = _design()
    for i in range(result.batch_size):
        run = result[i]
        y = np.asarray(run.data.y)
        w0 = np.asarray(run.initial_params["w"])
        path = np.asarray(run.records["predictor"])
        w = path[-1]
        limit_pinv = w0 + np.linalg.pinv(X) @ (y - X @ w0)
        np.testing.assert_allclose(min_norm_solution(X, y, w0), limit_pinv, atol=1e-12)
        dist = np.linalg.norm(w - limit_pinv)
        drift = np.max(np.linalg.norm((path - w0) @ P_null, axis=1))
        assert int(run.status) == CONVERGED
        assert dist < TOL_LIMIT, (i, dist)
        assert drift < TOL_NULL, (i, drift)
        ref = MinNormCheck()(exp, run)
        assert ref["distance"] < TOL_LIMIT and ref["null_space_drift"] < TOL_NULL
        if np.any(w0):  # from w0 != 0 the limit is not X^+ y: the init matters
            assert np.linalg.norm(w - np.linalg.pinv(X) @ y) > 1.0
        worst = {"limit": max(worst["limit"], dist), "null": max(worst["null"], drift)}
    return worst


def test_gd_contraction_factor_of_the_design():
    # The tolerance argument of the module docstring: q^T ||w_inf - w0|| << 1e-10.
    X, _ = _design()
    s = np.linalg.svd(X, compute_uv=False)
    q = np.max(np.abs(1.0 - 2 * 0.1 * s**2 / N))
    assert q < 0.99 and q**2000 * 10.0 < 1e-8


def test_gd_linear_reaches_shifted_min_norm():
    exp = _experiment(Linear(D), Gaussian(), GD())
    # init_scale 0: w0 = 0, the limit is X^+ y; 0.5: w0 ~ N(0, 0.25 I).
    result = run_batch(exp, seed=[0, 1, 0, 1], init_scale=[0.0, 0.0, 0.5, 0.5], lr=0.1, steps=2000)
    _check_linear_limit(exp, result)


def test_sgd_linear_reaches_shifted_min_norm():
    exp = _experiment(Linear(D), Gaussian(), SGD(batch_size=5))
    result = run_batch(exp, seed=[0, 1, 2], init_scale=[0.0, 0.5, 0.5], lr=0.05, steps=20_000)
    _check_linear_limit(exp, result)


class _RowInit(AbstractInit):
    """``W1(0) = scale * G @ projector`` (G i.i.d. N(0, 1)), ``W2(0) ~ N(0, 0.3^2)``.

    With ``projector = P_row`` the rows of W1(0) lie in the row space of X (the assumption of
    the min-norm statement for two-layer linear networks); ``scale = 0`` gives ``W1(0) = 0``
    (the ``zero_first`` init); ``projector = I`` is a generic W1(0). The projector is an array
    leaf, so changing it does not recompile.
    """

    projector: Float[Array, "d d"]

    def init_trainable(self, key: PRNGKeyArray, model, scale, dtype):
        k1, k2 = jax.random.split(key)
        shapes = model.param_shapes()
        W1 = scale * jax.random.normal(k1, shapes["W1"], dtype) @ self.projector.astype(dtype)
        return {"W1": W1, "W2": 0.3 * jax.random.normal(k2, shapes["W2"], dtype)}


def _check_deep_identity(run) -> tuple[np.ndarray, float]:
    """``P_null w(t) = P_null W1(0)^T W2(t)^T`` at every record point; returns the final
    carried null-space part and the worst identity error."""
    _, P_null = _design()
    W1_0 = np.asarray(run.initial_params["W1"])
    W2_path = np.asarray(run.records["param_W2"])[:, 0, :]  # (r, m)
    path = np.asarray(run.records["predictor"])  # (r, d)
    carried = (W2_path @ W1_0) @ P_null  # rows: (P_null W1(0)^T W2(t)^T)^T
    err = float(np.max(np.linalg.norm(path @ P_null - carried, axis=1)))
    return carried[-1], err


def test_two_layer_linear_min_norm_iff_first_layer_in_row_space():
    X, P_null = _design()
    model = DeepLinear(input_dim=D, width=WIDTH, depth=2)
    pinv = np.linalg.pinv(X)
    row_space = _experiment(model, _RowInit(jnp.asarray(np.eye(D) - P_null)), GD())
    generic = _experiment(model, _RowInit(jnp.eye(D)), GD())
    # Same structure and batch size: the second call reuses the first one's compiled program.
    in_row = run_batch(row_space, seed=[0, 1], init_scale=[0.0, 0.3], lr=0.05, steps=5000)
    gen = run_batch(generic, seed=[0, 1], init_scale=[0.3, 0.3], lr=0.05, steps=5000)

    for i in range(2):  # W1(0) = 0, then W1(0) != 0 with rows in the row space
        run = in_row[i]
        y = np.asarray(run.data.y)
        w = np.asarray(run.records["predictor"])[-1]
        carried, err = _check_deep_identity(run)
        assert int(run.status) == CONVERGED
        assert np.linalg.norm(carried) < TOL_NULL and err < TOL_NULL
        assert np.linalg.norm(w - pinv @ y) < TOL_DEEP
        ref = MinNormCheck()(row_space, run)
        assert ref["distance_to_min_norm"] < TOL_DEEP and ref["null_residual"] < TOL_NULL
    assert np.linalg.norm(np.asarray(in_row[1].initial_params["W1"])) > 1.0  # a real test

    for i in range(2):  # generic W1(0)
        run = gen[i]
        y = np.asarray(run.data.y)
        w = np.asarray(run.records["predictor"])[-1]
        w0 = np.asarray(run.records["predictor"])[0]
        carried, err = _check_deep_identity(run)
        assert int(run.status) == CONVERGED and err < TOL_NULL
        # The limit is X^+ y plus the carried null-space part, which is far from 0 ...
        assert np.linalg.norm(w - (pinv @ y + carried)) < TOL_DEEP
        assert np.linalg.norm(carried) > 0.1
        # ... and it is not the linear-model prediction w0 + X^+(y - X w0): the head moved.
        assert np.linalg.norm(w - (w0 + pinv @ (y - X @ w0))) > 0.1
        ref = MinNormCheck()(generic, run)
        assert ref["distance"] < TOL_DEEP and ref["null_identity_error"] < TOL_NULL
        assert ref["null_residual"] == pytest.approx(np.linalg.norm(carried), rel=1e-9)


def _compose(preset: str, *overrides: str):
    from implicit_bias.app.compose import compose

    return compose([f"+experiment={preset}", *overrides])


@pytest.mark.parametrize(
    ("preset", "model", "integrator"),
    [("min_norm", Linear, GD), ("min_norm_sgd", Linear, SGD), ("min_norm_deep", DeepLinear, GD)],
)
def test_presets_build(preset, model, integrator):
    from implicit_bias.app.build import build_experiment, build_reference

    cfg = _compose(preset)
    exp = build_experiment(cfg)
    assert isinstance(exp.model, model) and isinstance(exp.integrator, integrator)
    assert isinstance(exp.data, PlantedRegression) and exp.data.n < exp.data.d
    assert isinstance(build_reference(cfg), MinNormCheck) and exp.dtype == "float64"


def test_planted_regression_validation():
    from implicit_bias.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^data\.target="):
        PlantedRegression(target="ridge")
    with pytest.raises(ConfigError, match=r"^data\.design_seed="):
        PlantedRegression(design_seed=-1)
    with pytest.raises(ConfigError, match=r"^data\.sigma="):
        PlantedRegression(sigma=-1.0)
    # target=planted: w_star is the unit-norm beta0 and y = X beta0 exactly without noise.
    d = PlantedRegression(target="planted").sample(jax.random.key(0), jnp.float64)
    assert float(jnp.linalg.norm(d.w_star)) == pytest.approx(1.0, abs=1e-14)
    assert float(jnp.max(jnp.abs(d.X @ d.w_star - d.y))) < 1e-13


# --- the min-norm solution as the ridge lambda -> 0 limit (Yao's slides line 51) ----------------


def test_ridge_tends_to_min_norm_at_first_order():
    """||ridge(lam) - X^+ y|| = lam ||n V diag(s^-3) U^T y|| + O(lam^2), X^+ y from scipy's
    lstsq (n = 20 < d = 50); relative error of the first-order law <= 1e-3 at lam <= 1e-4
    (the O(lam^2) term is ~ n lam / s_min^2 ~ 1e-4 here)."""
    import scipy.linalg

    from implicit_bias.theory import ridge_path

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 50)), rng.normal(size=20)
    w_plus = scipy.linalg.lstsq(X, y)[0]
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    lead = np.linalg.norm(20 * Vt.T @ ((U.T @ y) / s**3))
    lams = np.array([1e-6, 1e-5, 1e-4])
    dist = np.linalg.norm(ridge_path(X, y, lams) - w_plus, axis=1)
    np.testing.assert_allclose(dist / (lead * lams), 1.0, rtol=1e-3)
    np.testing.assert_allclose(ridge_path(X, y, [0.0])[0], w_plus, atol=1e-12)


# --- two-layer linear nets with d' > 1 outputs (Yao's slides lines 176-254) -------------------


def test_two_layer_gradients_are_the_slides_formulas():
    """grad_W1 = W2^T E X^T and grad_W2 = E X^T W1^T (lines 194-196) equal jax.grad (1e-12)."""
    import jax

    from implicit_bias.papers.least_squares import two_layer as T

    jax.config.update("jax_enable_x64", True)
    prob = T.make_problem()
    W1, W2 = T.init(prob, jax.random.key(0), 0.5, row_space=False)
    g1, g2 = jax.grad(T.loss, argnums=(0, 1))(W1, W2, prob.X, prob.Y)
    h1, h2 = T.grads(W1, W2, prob.X, prob.Y)
    np.testing.assert_allclose(g1, h1, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(g2, h2, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("batch", [None, 1, 3])
def test_two_layer_row_space_lemma_and_min_norm_limit(batch):
    """Lemma 4: (W1(t) - W1(0)) P_Null(X^T) = 0 at every record (GD and SGD; measured ~1e-14,
    tolerance 1e-11). Theorem 2: from rows of W1(0) in Col(X) the limit is A*_min =
    Y X^T (X X^T)^+ (scipy pinv), d' = 3 outputs (measured ~2e-14, tolerance 1e-9). From a
    generic W1(0) the limit interpolates but misses A*_min by its null-space part
    W2(inf) W1(0) P (exact identity)."""
    from implicit_bias.papers.least_squares import two_layer as T

    prob = T.make_problem()
    steps = 12000 if batch == 1 else 4000
    runs = T.run(prob, np.arange(2), 0.05, steps, 200, batch=batch, row_space=True)
    assert T.null_drift(prob, runs).max() < 1e-11
    assert runs.loss[:, -1].max() < 1e-20
    np.testing.assert_allclose(
        runs.A[:, -1], np.broadcast_to(prob.min_norm, runs.A[:, -1].shape), atol=1e-9
    )
    if batch is None:
        gen = T.run(prob, np.arange(2), 0.05, steps, 200, batch=None, row_space=False)
        assert T.null_drift(prob, gen).max() < 1e-11 and gen.loss[:, -1].max() < 1e-20
        P = prob.null_projector
        residual = gen.W2[:, -1] @ gen.W1[:, 0] @ P
        np.testing.assert_allclose(gen.A[:, -1] - prob.min_norm, residual, atol=1e-9)
        assert np.linalg.norm(residual, axis=(1, 2)).min() > 0.1


def test_two_layer_lemma_5_needs_full_row_rank_w2():
    """At the exact minimizer over W1 (scipy lstsq) the W1-gradient vanishes; the loss is the
    global minimum (0) iff rank W2 = d' = 3. A rank-1 W2 != 0 gives a stationary point in W1
    that is not a global minimum: the slides' Lemma 5 ("if W2 != 0") holds for d' = 1 only."""
    from implicit_bias.papers.least_squares import two_layer as T

    prob = T.make_problem()
    rng = np.random.default_rng(5)
    for rank, is_global in ((3, True), (1, False), (2, False)):
        W2 = rng.normal(size=(3, rank)) @ rng.normal(size=(rank, prob.width))
        W1, val = T.stationary_in_w1(prob, W2)
        g1, _ = T.grads(W1, W2, prob.X, prob.Y)
        assert np.abs(np.asarray(g1)).max() < 1e-10
        assert (val < 1e-20) == is_global, (rank, val)
    # d' = 1: any W2 != 0 works (the slides' setting).
    one = T.make_problem(d_out=1)
    _, val = T.stationary_in_w1(one, rng.normal(size=(1, one.width)))
    assert val < 1e-20
