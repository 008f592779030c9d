"""Diagonal linear networks: the engine's gradient flow against the exact finite-alpha limit.

Setting: ``sparse_regression`` (A ~ N(0,1)^{20 x 40}, 3-sparse beta* with ||beta*|| = 1,
b = A beta*), ``beta = u*u - v*v`` (signed) or ``x = u*u`` (nonnegative) from
``u(0) = v(0) = alpha 1``, square loss ``mean((A beta - b)^2)``, gradient flow (Tsit5, float64,
rtol 1e-10). With ``g = (2/n) A^T (A beta - b)``, ``u' = -2 u g`` and ``v' = 2 v g``, so

    beta(t) = 2 alpha^2 sinh(A^T mu(t)),   x(t) = alpha^2 exp(A^T mu(t)):

``arcsinh(beta / 2 alpha^2)`` (resp. ``log(x / alpha^2)``) stays in the row space of A along
the *whole path*, ``u*v = alpha^2`` is conserved, and the limit is the unique interpolator of
that form, computed independently by ``references.solve_diagonal_network`` (scipy dual solve).

Tolerances. The path identities are exact for the flow; the solver's local error control at
rtol 1e-10 leaves a drift measured <= 3e-10 (manifold) and <= 1.5e-9 (relative, u*v) over the
runs below, asserted at 1e-8. For the limit, a run stopped at time t1 with residual r sits on
the manifold at distance ``|W A^T (A W A^T)^{-1} r|`` (first order) from the limit: we assert
the distance is below 1e-7 (runs are long enough) *and* equal to that first-order prediction
within 15% + 1e-11 (the leftover is the unfinished flow, not a wrong limit); measured: within
6% (absolute 2.1e-11), for distances between 5e-11 and 7e-9.

The GF experiments are built exactly as in tests/test_mirror_descent.py (same static structure,
batch of 4), so the two files share their two compilations when run in one process.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias.data import SparseRegression
from implicit_bias.engine import run_batch
from implicit_bias.errors import ConfigError
from implicit_bias.experiment import Experiment, SharpnessSpec
from implicit_bias.inits import Constant
from implicit_bias.integrators import GD, GradientFlow, MirrorDescent
from implicit_bias.losses import Square
from implicit_bias.models import Diagonal, Linear
from implicit_bias.problem import Problem
from implicit_bias.schedule import Schedule
from implicit_bias.theory import (
    basis_pursuit,
    basis_pursuit_nonnegative,
    min_norm_solution,
    solve_diagonal_network,
)
from implicit_bias.theory.checks import DiagonalLimitCheck

jax.config.update("jax_enable_x64", True)

D = 40
#: (alphas, t1s) of the two batches: t1 covers the ~log(1/alpha) fit and the slow tail.
RUNS = {
    "signed": ([1e-3, 1e-2, 1e-1, 1.0], [2e4, 1e4, 2e3, 100.0]),
    "nonnegative": ([1e-2, 3e-2, 1e-1, 1.0], [1e5, 3e4, 2e4, 100.0]),
}
PATH_TOL = 1e-8
LIMIT_TOL = 1e-7


def gf_experiment(parametrization: str) -> Experiment:
    """Gradient flow on a diagonal network (identical in tests/test_mirror_descent.py)."""
    return Experiment(
        model=Diagonal(input_dim=D, parametrization=parametrization),
        data=SparseRegression(nonnegative=parametrization == "nonnegative"),
        init=Constant(),
        integrator=GradientFlow(rtol=1e-10, atol=1e-12, max_steps=200_000),
        sharpness=SharpnessSpec(method="none"),
        record=Schedule(num=100, params=True),
        dtype="float64",
    )


@pytest.fixture(scope="module", params=["signed", "nonnegative"])
def flow(request):
    par = request.param
    exp = gf_experiment(par)
    alphas, t1s = RUNS[par]
    return par, exp, np.array(alphas), run_batch(exp, init_scale=alphas, t1=t1s, seed=0)


# --- data and model ---------------------------------------------------------------------------


@pytest.mark.parametrize("nonnegative", [False, True])
def test_sparse_regression_data(nonnegative):
    data = SparseRegression(nonnegative=nonnegative).sample(jax.random.key(3), jnp.float64)
    A, b, beta = (np.asarray(x) for x in (data.X, data.y, data.w_star))
    assert A.shape == (20, D) and data.X_test.shape == (20, D)
    assert np.count_nonzero(beta) == 3 and abs(np.linalg.norm(beta) - 1) < 1e-15
    assert not nonnegative or np.all(beta >= 0)
    np.testing.assert_allclose(b, A @ beta, rtol=0, atol=1e-14)  # noiseless
    np.testing.assert_allclose(data.y_test, data.X_test @ beta, rtol=0, atol=1e-14)
    # k/n = 0.15 at n/d = 0.5 is deep inside the Donoho-Tanner recovery region: basis
    # pursuit returns the planted vector (LP tolerance 1e-10, polished to rounding).
    bp = (basis_pursuit_nonnegative if nonnegative else basis_pursuit)(A, b)
    np.testing.assert_allclose(bp, beta, rtol=0, atol=1e-9)
    noisy = SparseRegression(sigma=0.1).sample(jax.random.key(3), jnp.float64)
    assert np.linalg.norm(noisy.y - noisy.X @ noisy.w_star) > 0.1


def test_sparse_regression_validation():
    with pytest.raises(ConfigError, match=r"data\.k"):
        SparseRegression(d=5, k=6)
    with pytest.raises(ConfigError, match=r"model\.parametrization"):
        Diagonal(parametrization="relu")


@pytest.mark.parametrize("par", ["signed", "nonnegative"])
def test_gradient_is_the_derived_one(par):
    """grad_u L = 2 u g, grad_v L = -2 v g with g = (2/n) A^T (A beta - b): the constants the
    finite-alpha limit rests on (relative error 1e-13: a few float64 roundings of O(1) sums)."""
    model = Diagonal(input_dim=D, parametrization=par)
    data = SparseRegression().sample(jax.random.key(0), jnp.float64)
    keys = jax.random.split(jax.random.key(1), 2)
    params = {k: jax.random.normal(keys[i], (D,)) for i, k in enumerate(model.param_shapes())}
    beta = params["u"] ** 2 - (params["v"] ** 2 if par == "signed" else 0.0)
    np.testing.assert_allclose(model.predictor(params), beta, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(model.apply(params, data.X), data.X @ beta, rtol=1e-13)
    problem = Problem(model, Square(), data, {})
    grads = jax.grad(problem.loss)(params)
    g = 2.0 / data.n * data.X.T @ (data.X @ beta - data.y)
    scale = float(jnp.max(jnp.abs(params["u"] * g)))
    np.testing.assert_allclose(grads["u"], 2 * params["u"] * g, rtol=0, atol=1e-13 * scale)
    if par == "signed":
        np.testing.assert_allclose(grads["v"], -2 * params["v"] * g, rtol=0, atol=1e-13 * scale)


# --- the engine's flow ------------------------------------------------------------------------


def test_flow_stays_on_the_mirror_manifold(flow):
    """Along the whole recorded path, the mirror coordinate lies in the row space of A."""
    par, _, alphas, res = flow
    for i, a in enumerate(alphas):
        A = np.asarray(res.data.X[i])
        null = np.eye(D) - np.linalg.pinv(A) @ A
        beta = np.asarray(res.records["predictor"][i])  # (r, d)
        z = np.arcsinh(beta / (2 * a * a)) if par == "signed" else np.log(beta / (a * a))
        assert np.abs(z @ null).max() < PATH_TOL, (par, a)
        if par == "signed":  # the conserved u * v = alpha^2
            uv = np.concatenate([res.records["uv_min"][i], res.records["uv_max"][i]])
            assert np.abs(uv / a**2 - 1).max() < PATH_TOL, a


def test_flow_limit_is_the_finite_alpha_reference(flow):
    par, exp, alphas, res = flow
    limit = DiagonalLimitCheck()
    for i, a in enumerate(alphas):
        assert res.status_names()[i] == "converged"
        out = limit(exp, res[i])
        assert out["alpha"] == pytest.approx(a, rel=1e-15)
        assert out["parametrization"] == par
        assert out["distance"] < LIMIT_TOL, (a, out)
        assert abs(out["distance"] - out["distance_first_order"]) <= (
            0.15 * out["distance_first_order"] + 1e-11
        ), (a, out)
        assert abs(out["l1_gap"] - out["reference_l1_gap"]) <= 2 * LIMIT_TOL
        # The test tells conventions apart: u(0)^2 = alpha (instead of u(0) = alpha; the same
        # at alpha = 1) or a beta_scale off by 2 moves the predicted limit by >= 1e-4.
        A, b = np.asarray(res.data.X[i]), np.asarray(res.data.y[i])
        beta = np.asarray(exp.model.predictor(res[i].params))
        for wrong in [w for w in (np.sqrt(a), np.sqrt(2) * a) if not np.isclose(w, a)]:
            other = solve_diagonal_network(A, b, wrong, nonnegative=par == "nonnegative").beta
            assert np.linalg.norm(beta - other) > 1e-4, (a, wrong)


def test_alpha_interpolates_between_basis_pursuit_and_min_l2(flow):
    """Small alpha: L1 gap to basis pursuit -> 0; large alpha (signed): distance to min-L2 -> 0."""
    par, exp, alphas, res = flow
    outs = [DiagonalLimitCheck()(exp, res[i]) for i in range(len(alphas))]
    gaps = np.array([o["l1_gap"] for o in outs])
    assert np.all(gaps > 0) and np.all(np.diff(gaps) > 0), gaps  # increasing in alpha
    assert gaps[0] < 0.05 * gaps[-1]
    for o in outs:  # basis pursuit recovers the planted vector here
        assert o["dist_bp_to_wstar"] < 1e-9
    if par == "signed":
        l2 = np.array([o["dist_to_min_l2"] for o in outs])
        assert np.all(np.diff(l2) < 0), l2
        # Q_alpha = |beta|^2 / (4 alpha^2) + O(beta^4 / alpha^6): measured 4.6e-4 at alpha = 1.
        assert l2[-1] < 1e-3 * l2[0]
        np.testing.assert_allclose(l2, [o["reference_dist_to_min_l2"] for o in outs], atol=1e-7)


def test_limit_step_rejects_other_settings(flow):
    _, exp, _, res = flow
    run = res[0]
    other = Experiment(Linear(input_dim=D), exp.data, Constant(), GD(), dtype="float64")
    with pytest.raises(ConfigError, match="reference"):
        DiagonalLimitCheck()(other, run)
    # entropy mirror descent needs a constant positive x_0
    entropy = Experiment(Linear(input_dim=D), exp.data, Constant(), MirrorDescent("entropy"))
    negative = eqx.tree_at(lambda r: r.initial_params, run, {"w": -jnp.ones(D)})
    with pytest.raises(ConfigError, match="init"):
        DiagonalLimitCheck()(entropy, negative)


def test_limit_step_reads_the_mirror_geometry(flow):
    """The geometry of a mirror-descent run is read off its potential and init: a run placed
    exactly on the predicted limit is at distance 0 (rounding of the reference solve)."""
    par, exp, _, res = flow
    run = res[1]  # carries a data set
    A, b = np.asarray(run.data.X), np.asarray(run.data.y)
    a = 0.05
    if par == "signed":
        w0 = np.full(D, 0.1)
        cases = [
            (MirrorDescent("hyperbolic_entropy", 2 * a * a), np.zeros(D), a, False),
            (MirrorDescent("euclidean"), w0, None, False),
        ]
    else:
        cases = [(MirrorDescent("entropy"), np.full(D, a * a), a, True)]
    for integ, w0, alpha, nonnegative in cases:
        if alpha is None:
            target = min_norm_solution(A, b, w0)
        else:
            target = solve_diagonal_network(A, b, alpha, nonnegative=nonnegative).beta
        md = Experiment(Linear(input_dim=D), exp.data, Constant(), integ, dtype="float64")
        placed = eqx.tree_at(
            lambda r: (r.params, r.initial_params),
            run,
            ({"w": jnp.asarray(target)}, {"w": jnp.asarray(w0)}),
        )
        out = DiagonalLimitCheck()(md, placed)
        assert out["alpha"] == (None if alpha is None else pytest.approx(alpha, rel=1e-14))
        assert out["distance"] < 1e-12 and out["residual"] < 1e-10, out
    diverged = eqx.tree_at(lambda r: r.params, run, jax.tree.map(lambda x: x * jnp.nan, run.params))
    assert "error" in DiagonalLimitCheck()(exp, diverged)


# --- presets ----------------------------------------------------------------------------------


def test_presets_and_sweep_compose():
    from implicit_bias.app.build import build_experiment, build_reference
    from implicit_bias.app.compose import compose
    from implicit_bias.app.launcher.grids import expand_grids, sweep_parser

    cfg = compose(["+experiment=diagonal", "init_scale=1e-3"])
    exp = build_experiment(cfg)
    assert exp.model == Diagonal(input_dim=D, parametrization="signed")
    assert exp.data == SparseRegression() and isinstance(exp.init, Constant)
    assert isinstance(exp.integrator, GradientFlow) and exp.dtype == "float64"
    assert isinstance(build_reference(cfg), DiagonalLimitCheck) and cfg.init_scale == 1e-3
    cfg = compose(["+experiment=mirror_descent"])
    exp = build_experiment(cfg)
    assert exp.integrator == MirrorDescent("hyperbolic_entropy", 2e-4)
    assert isinstance(exp.model, Linear) and isinstance(build_reference(cfg), DiagonalLimitCheck)
    cfg = compose(["+sweep=diagonal_alpha"], return_hydra_config=True)
    grids = [dict(g) for g in cfg.hydra.sweeper.grids]
    jobs = expand_grids(sweep_parser(), [], grids)
    alphas = sorted(float(dict(o.split("=") for o in job)["init_scale"]) for job in jobs)
    np.testing.assert_allclose(alphas, np.logspace(-6, 1, 8), rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        ["+experiment=diagonal", "init_scale=1e-3"],
        ["+experiment=mirror_descent"],
        [
            "+experiment=mirror_descent",
            "integrator.potential=entropy",
            "init=constant",
            "init_scale=1e-2",
            "data.nonnegative=true",
        ],
        [
            "+experiment=diagonal",
            "model.parametrization=nonnegative",
            "data.nonnegative=true",
            "init_scale=0.1",
        ],
    ],
)
def test_documented_commands_run(tmp_path, overrides):
    """The commands of docs/diagonal_and_mirror_descent.md, end to end (in-process)."""
    from implicit_bias.app.cli import run_config
    from implicit_bias.app.compose import compose

    cfg = compose([*overrides, "output.plots=false"])
    ref = run_config(cfg, tmp_path)["reference"]
    assert ref["name"] == "diagonal"
    # measured at most 3e-9 (the documented commands; see the docs), each equal to its
    # first-order residual prediction
    assert ref["distance"] <= 1.15 * ref["distance_first_order"] + 1e-11
    assert ref["distance"] < 1e-8
