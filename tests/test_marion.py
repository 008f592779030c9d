"""Marion & Chizat (2024): the authors' data, the paper-side components, bounds and criteria.

Fast (CI) tests; the numbers are checked against independent computations: the authors'
``generate_data`` key chain replayed here, ``theory.deep_linear_sharpness_bounds``, dense
Hessians (``jax.hessian`` + ``eigvalsh``, float64), conserved quantities.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from jax import random

from implicit_bias.data import Dataset
from implicit_bias.losses import Square
from implicit_bias.models import AbstractLinearModel, DeepLinear, ResidualLinear
from implicit_bias.papers.marion_chizat import (
    authors,
    bounds,
    criteria,
    flows,
    lemma2,
    rescaling,
)
from implicit_bias.papers.marion_chizat import experiments as ex
from implicit_bias.papers.marion_chizat.components import (
    FixedData,
    FixedNormalsInit,
    FixedProjectionResidual,
)
from implicit_bias.papers.marion_chizat.lemma3 import products
from implicit_bias.papers.marion_chizat.stats import bootstrap_mean, loglog_fit
from implicit_bias.problem import Problem
from implicit_bias.theory import balanced_rank_one_sharpness, deep_linear_sharpness_bounds

jax.config.update("jax_enable_x64", True)


# ----------------------------------------------------------------------------- the authors' data


def _replay_generate_data(n, d, noise_variance, key):
    """The authors' utils.generate_data (github.com/PierreMarion23/implicit-reg-sharpness),
    written again here from its description so that the test does not trust the module under
    test: five splits for X, X_test, w_true, noise, noise_test; float32; w* = pinv(X^T X) X^T y,
    everything divided by ||w*||."""
    key, sub = random.split(key)
    X = random.normal(sub, (n, d), jnp.float32)
    key, sub = random.split(key)
    random.normal(sub, (n, d), jnp.float32)  # X_test: drawn, not compared
    key, sub = random.split(key)
    w_true = random.normal(sub, (d,), jnp.float32)
    key, sub = random.split(key)
    noise = random.normal(sub, (n,), jnp.float32)
    y = X @ w_true + noise_variance * noise
    w_star = jnp.linalg.pinv(X.T @ X) @ X.T @ y
    norm = jnp.linalg.norm(w_star)
    return np.asarray(X), np.asarray(y / norm), np.asarray(w_star / norm)


def _chain(steps):
    key = random.PRNGKey(0)
    subs = []
    for _ in range(steps):
        key, sub = random.split(key)
        subs.append(sub)
    return subs


def _a_lambda(X, w):
    X, w = np.asarray(X, np.float64), np.asarray(w, np.float64)
    S = X.T @ X / X.shape[0]
    return w @ S @ w / (w @ w), np.linalg.eigvalsh(S)[-1]


def test_authors_data_replays_their_key_chain():
    """The authors' data option equals their generate_data replayed from PRNGKey(0) in their
    key-split order (run_experiment.py: split 1 -> Figs 1-5, split 21 -> Fig 6; the nonlinear
    branch repeats split 1 with sigma = 0), in jax 0.4.27's stream (threefry_partitionable
    False). float32 draws through the same ops: equal to 1e-6 relative (XLA may fuse the
    float32 pinv differently)."""
    with jax.threefry_partitionable(False):
        subs = _chain(21)
        ref1 = _replay_generate_data(50, 5, 1.0, subs[0])
        ref7 = _replay_generate_data(50, 5, 0.0, subs[0])
        ref6 = _replay_generate_data(15, 20, 1.0, subs[20])
    for fig, ref in (("1", ref1), ("7", ref7), ("6", ref6)):
        got = authors.data_set(fig)
        np.testing.assert_array_equal(got["X"][:3], ref[0][:3])  # the draws are bit-exact
        np.testing.assert_allclose(got["y"], ref[1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got["w_star"], ref[2], rtol=1e-5, atol=1e-6)
        a, lam = _a_lambda(got["X"], got["w_star"])
        a_ref, lam_ref = _a_lambda(ref[0], ref[2])
        assert a == pytest.approx(a_ref, rel=1e-5) and lam == pytest.approx(lam_ref, rel=1e-12)
    # Pinned values (jax 0.10.2): the stream the authors' jax 0.4.27 produced. A change here
    # means JAX changed its PRNG again.
    np.testing.assert_allclose(
        authors.data_set("1")["X"][0],
        [-0.95431787, 1.4599903, -0.0287581, 0.8926333, 0.8500766],
        rtol=1e-6,
    )
    a, lam = _a_lambda(authors.data_set("1")["X"], authors.data_set("1")["w_star"])
    assert a == pytest.approx(0.9328053, rel=1e-5) and lam == pytest.approx(1.5941824, rel=1e-6)
    # The figure's data option hands exactly these arrays to the engine.
    data, seed = ex.data_set("1")
    assert isinstance(data, FixedData) and seed == 0
    np.testing.assert_array_equal(data.arrays["X"], ref1[0])


def test_authors_projection_and_inits_replay_their_draws():
    with jax.threefry_partitionable(False):
        subs = _chain(21)
        w = random.normal(subs[5], (5,), jnp.float32)
        p_ref = np.asarray(w / jnp.linalg.norm(w))
        w40 = random.normal(subs[18], (5,), jnp.float32)
        p40 = np.asarray(w40 / jnp.linalg.norm(w40))
        k = random.split(subs[3], 451)[-1]
        ks = random.split(k, 10)
        z1 = np.asarray(random.normal(ks[0], (5, 5), jnp.float32))
        z10 = np.asarray(random.normal(ks[-1], (1, 5), jnp.float32))
    np.testing.assert_array_equal(authors.projection(), p_ref)
    np.testing.assert_array_equal(authors.projection(40), p40)
    z = authors.fig1cd_normals()
    np.testing.assert_array_equal(z["W1"], z1)
    np.testing.assert_array_equal(z["W10"], z10)


# ----------------------------------------------------------------------------- components


def test_noiseless_copy_has_the_same_gradient_and_hessian():
    """y -> X w* changes the loss by the constant R_min only (X^T (y - X w*) = 0): gradient
    and Hessian-vector products agree to rounding (1e-10 relative, float64)."""
    noisy = FixedData({k: np.asarray(v, np.float64) for k, v in authors.data_set("1").items()})
    clean = noisy.noiseless()
    model = DeepLinear(input_dim=5, width=5, depth=4)
    params = {
        k: 0.5 * jax.random.normal(jax.random.key(i), s, jnp.float64)
        for i, (k, s) in enumerate(model.param_shapes().items())
    }
    probs = [
        Problem(model, Square(), d.sample(jax.random.key(0), jnp.float64), {})
        for d in (noisy, clean)
    ]
    g = [jax.grad(p.loss)(params) for p in probs]
    for k in params:
        np.testing.assert_allclose(g[0][k], g[1][k], rtol=1e-10, atol=1e-12)
    h = [jax.jvp(jax.grad(p.loss), (params,), (params,))[1] for p in probs]
    for k in params:
        np.testing.assert_allclose(h[0][k], h[1][k], rtol=1e-10, atol=1e-12)
    X, w = clean.arrays["X"], clean.arrays["w_star"]
    assert probs[1].loss({k: v for k, v in params.items()}) >= 0
    assert float(np.mean((X @ w - clean.arrays["y"]) ** 2)) < 1e-28


def test_fixed_normals_init_and_projection_model():
    z = {f"W{k}": np.full((3, 3), float(k)) for k in (1, 2)}
    model = FixedProjectionResidual(projection=np.array([0.0, 1.0, 0.0]), depth=2)
    res = FixedNormalsInit(z, residual=True)(
        jax.random.key(0), model, jnp.asarray(0.6), jnp.float64
    )
    np.testing.assert_allclose(res["W2"], np.eye(3) + 0.6 / np.sqrt(6) * 2.0)
    np.testing.assert_array_equal(res["p"], [0.0, 1.0, 0.0])
    # p^T W_2 W_1 equals the library's ResidualLinear predictor on the same parameters.
    lib = ResidualLinear(input_dim=3, depth=2)
    np.testing.assert_allclose(model.predictor(res), lib.predictor(res), rtol=1e-14)
    gauss = FixedNormalsInit({"W1": np.ones((1, 3))})(
        jax.random.key(0), DeepLinear(input_dim=3, width=1, depth=1), jnp.asarray(0.3), jnp.float64
    )
    np.testing.assert_allclose(gauss["W1"], 0.3)
    # A model linear in x for the engine (the library's interface, as ResidualLinear): the
    # distance to w* of Figs 2 and 4 is recorded (it was silently NaN when this class was a
    # plain AbstractModel).
    assert isinstance(model, AbstractLinearModel)
    X = np.arange(12.0).reshape(4, 3) / 10
    w_star = np.array([1.0, -1.0, 0.5])
    data = Dataset(jnp.asarray(X), jnp.asarray(X @ w_star), w_star=jnp.asarray(w_star))
    prob = Problem(model, Square(), data, {"p": res["p"]})
    trainable = {k: v for k, v in res.items() if k != "p"}
    dist = prob.metrics(trainable)["dist_to_wstar"]
    w = np.asarray(model.predictor(res))
    np.testing.assert_allclose(dist, np.sum((w - w_star) ** 2) / 3, rtol=1e-12)
    with pytest.raises(Exception, match=r"init\.normals\[W2\]"):
        FixedNormalsInit({"W1": np.ones((3, 3))})(
            jax.random.key(0), model, jnp.asarray(1.0), jnp.float64
        )


# ----------------------------------------------------------------------------- bounds


def test_bounds_equal_reference():
    """Vectorized bounds vs theory.deep_linear_sharpness_bounds run by run (float64 both;
    rtol 1e-12: the same formulas, only the summation order of Sigma differs)."""
    rng = np.random.default_rng(0)
    for n, d, L in ((50, 5, 10), (15, 20, 5), (30, 5, 1)):
        X = rng.standard_normal((3, n, d))
        w = rng.standard_normal((3, d))
        got = bounds.bounds(X, w, L)
        for i in range(3):
            ref = deep_linear_sharpness_bounds(X[i].T @ X[i] / n, w[i], L)
            for k in ("a", "Lambda", "lower", "small_init_upper", "critical_lr"):
                np.testing.assert_allclose(got[k][i], getattr(ref, k), rtol=1e-12, err_msg=k)
            assert got["thm2_upper"][i] >= ref.balanced_rank_one * (1 - 1e-12)
            assert got["rank"][i] == min(n, d)


def test_layer_bounds_bracket_the_exact_sharpness_at_minimizers():
    """At minimizers (balanced, generic, rescaled), the exact sharpness (dense Hessian, float64)
    is >= Theorem 2's first bound and <= the Gauss-Newton bound; the balanced one equals the
    closed form to 1e-9."""
    data = authors.data_set("1")
    X, y = np.asarray(data["X"], np.float64), np.asarray(data["y"], np.float64)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    L, m = 4, 3
    starts = [
        rescaling.balanced_minimizer(w, m, L),
        rescaling.generic_minimizer(w, m, L),
        rescaling.rescale(rescaling.generic_minimizer(w, m, L), 2, 0.1),
    ]
    S = rescaling.exact_sharpness(starts, X, y, m)
    bd = bounds.bounds(X[None], w[None], L)
    Sigma = X.T @ X / len(X)
    assert S[0] == pytest.approx(balanced_rank_one_sharpness(Sigma, w, L), rel=1e-9)
    for s, layers in zip(S, starts, strict=True):
        mats = [layers[f"W{k}"][None] for k in range(1, L + 1)]
        lo = bounds.layer_norm_bound(mats, bd["a"], bd["norm_w"])[0]
        hi = bounds.gauss_newton_bound(mats, bd["Lambda"])[0]
        assert lo * (1 - 1e-9) <= s <= hi * (1 + 1e-9), (lo, s, hi)
    # The rescaled minimizer is still one: same product, same loss.
    v = np.ones(1)
    for k in range(L, 0, -1):
        v = v @ starts[2][f"W{k}"]
    np.testing.assert_allclose(v, w, rtol=1e-10)


# ----------------------------------------------------------------------------- Lemma 2


def test_lemma2_exact_structures():
    """A balanced rank-one chain has epsilon = 0, no tail, alignment 1; Lemma 2's statements
    bound a random init's structure by its own epsilon (they hold at t = 0 by construction
    of the proof's telescoping)."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal(4)
    chain = rescaling.balanced_minimizer(w, 3, 5)
    layers = [chain[f"W{k}"][None] for k in range(1, 6)]
    assert lemma2.epsilon(layers)[0] < 1e-12
    st = lemma2.structure(layers)
    assert st["tail"].max() < 1e-12 and np.all(np.abs(st["align2"] - 1) < 1e-12)
    init = [0.3 * rng.standard_normal((2, 3, 4))] + [
        0.3 * rng.standard_normal((2, 3, 3)) for _ in range(3)
    ]
    init.append(0.3 * rng.standard_normal((2, 1, 3)))
    traj = [W[:, None] for W in init]  # one record point: t = 0
    out = lemma2.lemma2_checks(traj, init)
    assert np.all(out["lemma1_drift"] == 0)
    for k in ("rank_one_ratio", "norms_ratio", "align_ratio"):
        assert np.all(out[k] <= 1), (k, out[k])


@pytest.fixture(scope="module")
def tiny_flows():  # a float64 flow program: ~15-40 s of compilation, hence slow
    """Two small-init gradient flows (zero-first, L = 3, the authors' data): one compile."""
    return flows.small_init_flows(scales=(0.3,), reps=2, inits=("zero_first",), depth=3)


@pytest.mark.slow
def test_small_init_flows_lemma_and_assumptions(tiny_flows):
    """Zero-first init satisfies (A1) exactly; the flow conserves the imbalances (Lemma 1, to
    the integration error 1e-6 at rtol 1e-10), Lemma 2 holds at every recorded time, the flow
    stops at a minimizer (loss 1e-12 of the noiseless copy) whose sharpness is bracketed by
    Theorem 1 and the Gauss-Newton bound."""
    ds = tiny_flows.sel(init="zero_first")
    assert bool(ds.a1.all())
    assert float(ds.lemma1_drift.max()) <= 1e-6
    for k in ("rank_one_ratio", "norms_ratio", "align_ratio"):
        assert float(ds[k].max()) <= 1 + 1e-9
    assert bool(criteria.at_minimizer(ds).all())
    assert float((ds.final_sharpness / ds.lower).min()) >= 1 - 1e-6
    assert bool((ds.final_sharpness <= ds.gauss_newton_bound * (1 + 1e-9)).all())
    assert bool((ds.final_sharpness >= ds.layer_norm_bound * (1 - 1e-6)).all())


# ----------------------------------------------------------------------------- criteria, grid


def test_criteria_categories():
    status = np.array([0, 0, 0, 1, 2, -1], np.int8)
    ds = xr.Dataset(
        {
            "status": ("run", status),
            "final_train_loss": ("run", [0.5, 1.4, 0.5, np.inf, 0.7, np.nan]),
            "min_train_loss": ("run", [0.5] * 6),
            "zero_loss": ("run", [1.5] * 6),
            "final_grad_norm": ("run", [5e-3, 1e-6, 1e-6, np.nan, 0.1, np.nan]),
            "final_sharpness": ("run", [20.0, 1e-9, 20.0, np.nan, 30.0, np.nan]),
            "final_min_eigenvalue": ("run", [-1e-5, 0.0, -1.0, np.nan, -1.0, np.nan]),
        }
    )
    got = [criteria.CATEGORIES[i] for i in criteria.classify(ds).values]
    # near the minimum but not stationary (an edge-of-stability oscillation); at the saddle at
    # 0; at the minimum loss but with a clearly negative curvature; diverged; moving; missing.
    assert got == ["moving", "saddle", "saddle", "diverged", "moving", "missing"]
    ok = ds.assign(final_grad_norm=ds.final_grad_norm.where(ds.status != 0, 1e-6))
    assert criteria.CATEGORIES[int(criteria.classify(ok)[0])] == "minimizer"


def test_grid_protocol_one_data_set_or_one_per_repetition():
    """run_grid with a figure's data seed gives every run the same data (equal bounds); with
    per_repetition each repetition its own. Both share one compiled program (data_seed is a
    traced scalar)."""
    from implicit_bias.compilations import count_compilations
    from implicit_bias.data import GaussianRegression
    from implicit_bias.papers.marion_chizat.grid import per_repetition, run_grid

    exp = ex.experiment(data=GaussianRegression(), sharpness="none")
    grid = ex.Grid.make((0.3, 0.4), [(0.02, 10, 3)])
    with count_compilations("_simulate") as comp:
        fixed = run_grid(exp, grid, depth=10, data_seed=7)
        own = run_grid(exp, grid, depth=10, data_seed=per_repetition)
    assert comp.count == 1
    assert np.ptp(fixed.lower.values) == 0
    assert len(np.unique(own.lower.values)) == 3  # one value per repetition
    np.testing.assert_array_equal(own.lower.isel(init_scale=0), own.lower.isel(init_scale=1))
    assert "one data set for the figure" in fixed.attrs["protocol"]
    assert "per repetition" in own.attrs["protocol"]


def test_tiny_fig1_on_the_authors_data():
    """A tiny Fig 1 grid on the authors' data: one compilation; the bounds are the authors'
    data set's (2 L a = 18.656); runs at a minimizer satisfy Theorem 1 (Lanczos, float32:
    1e-3) and 2/lr."""
    grid = ex.Grid.make((0.3, 0.4), [(0.02, 1500, 2), (0.07, 1500, 2)])
    st: dict = {}
    ds = ex.fig1(grid, stats=st)
    assert st["compilations"] == 1 and st["runs"] == 8
    assert np.ptp(ds.lower.values) == 0
    assert ds.lower.values.ravel()[0] == pytest.approx(20 * 0.9328053, rel=1e-5)
    ok = criteria.at_minimizer(ds)
    assert int(ok.sum()) >= 4, ds.status.values
    assert float((ds.final_sharpness / ds.lower).where(ok).min()) >= 1 - 1e-3
    assert float((ds.final_sharpness * ds.lr / 2).where(ok).max()) <= 1.01
    # The float64 continuation (continuation.py) at every run at a minimizer: the dense float64
    # Hessian agrees with Lanczos (float32 parameters: 1e-5), GD settles where it was.
    ex_ = ds.final_sharpness_exact.where(ok)
    assert float(abs(ds.final_sharpness / ex_ - 1).max()) <= 1e-5
    assert float(abs(ds.gd64_sharpness / ex_ - 1).max()) <= 1e-3
    assert float(ds.gd64_grad_norm.where(ok).max()) <= 1e-6


def test_tiny_fig4_continues_the_residual_network_with_its_projection_frozen():
    """The residual grid's continuation moves the trainable layers only (the projection is
    frozen): at a run at a minimizer the dense float64 Hessian (of the trainable parameters)
    is the Lanczos value and the continuation settles there."""
    ds = ex.fig4(ex.Grid.make((0.5,), [(0.02, 1500, 2)]))
    ok = criteria.at_minimizer(ds)
    assert int(ok.sum()) == 2, ds.status.values
    np.testing.assert_allclose(ds.final_sharpness_exact, ds.final_sharpness, rtol=1e-5)
    np.testing.assert_allclose(ds.gd64_sharpness, ds.final_sharpness_exact, rtol=1e-3)
    assert float(ds.gd64_grad_norm.max()) <= 1e-6


def _unstable_and_stable_minimizer_runs():
    """Two runs of a depth-2 width-2 linear net put at the same unbalanced minimizer
    ``W1 = t e1 w*^T``, ``W2 = e1^T / t`` (t = 0.3), rounded to float32, with lr S / 2 = 1.01
    (GD-unstable) and 0.95 (stable); S from the dense float64 Hessian."""
    import equinox as eqx
    from jax.flatten_util import ravel_pytree

    from implicit_bias import GaussianRegression, run_batch

    exp = ex.experiment(data=GaussianRegression(n=20, d=2), depth=2, width=2, sharpness="none")
    res = run_batch(exp, seed=[0, 0], lr=[0.1, 0.1], steps=1, progress=False)
    data = jax.tree.map(lambda a: np.asarray(a[0], np.float64), res.data)
    w = np.linalg.lstsq(data.X, data.y, rcond=None)[0]
    t = 0.3
    p = {"W1": np.array([[t * w[0], t * w[1]], [0.0, 0.0]]), "W2": np.array([[1 / t, 0.0]])}
    flat, unravel = ravel_pytree(p)
    S = np.linalg.eigvalsh(
        np.asarray(jax.hessian(lambda v: exp.loss(exp.model, unravel(v), data))(flat))
    )[-1]
    lrs = np.array([2.02, 1.9]) / S
    res = run_batch(exp, seed=[0, 0], lr=lrs, steps=1, progress=False)
    res = eqx.tree_at(
        lambda r: r.params,
        res,
        {k: jnp.asarray(np.stack([v, v]), jnp.float32) for k, v in p.items()},
    )
    final = {**res.final, "grad_norm": jnp.zeros(2), "train_loss": jnp.zeros(2)}
    return exp, eqx.tree_at(lambda r: r.final, res, final), S, lrs


def test_gd64_continuation_leaves_an_unstable_minimizer_and_keeps_a_stable_one():
    """continue_gd: the dense float64 Hessian at the float32 end point is the exact one (1e-6:
    the float32 rounding of the parameters); GD continued in float64 leaves the minimizer with
    lr S / 2 = 1.01 (the error along the top eigenvector grows by 1.02 per step) and settles at
    a stable one, and does not move the minimizer with lr S / 2 = 0.95."""
    from implicit_bias.papers.marion_chizat.continuation import continue_gd

    exp, res, S, lrs = _unstable_and_stable_minimizer_runs()
    out = continue_gd(exp, res, 2)
    np.testing.assert_allclose(out["final_sharpness_exact"], S, rtol=1e-6)
    unstable, stable = (out[k] * lrs / 2 for k in ("final_sharpness_exact", "gd64_sharpness"))
    assert unstable[0] == pytest.approx(1.01, rel=1e-6)
    assert stable[0] < 1  # left, to a GD-stable minimizer (0.9899 measured)
    assert out["gd64_moved"][0] > 1e-2 and out["gd64_grad_norm"][0] < 1e-8
    assert out["gd64_train_loss"][0] == pytest.approx(out["gd64_train_loss"][1], rel=1e-12)
    # The stable one stays: it moves from the float32-rounded point to the float64 minimizer
    # (5e-8 measured, the float32 spacing ~6e-8 relative), its sharpness by as much (1e-7).
    assert stable[1] == pytest.approx(unstable[1], rel=1e-7) and out["gd64_moved"][1] < 1e-6
    assert out["gd64_min_eigenvalue"].min() > -1e-8


def test_eos_claim_at_the_settled_float64_continuation():
    """The edge-of-stability row: checked where the float64 continuation settles, the float32
    value reported next to it; a continuation that did not settle fails the row, as does a
    settled sharpness above 2 / lr (no threshold moved)."""
    from implicit_bias.papers.marion_chizat.claims import eos

    lr = np.array([0.07, 0.1, 0.2])
    ds = xr.Dataset(
        {
            "status": ("lr", np.zeros(3, np.int8)),
            "final_train_loss": ("lr", [0.5, 0.5, 0.5]),
            "min_train_loss": ("lr", [0.5] * 3),
            "zero_loss": ("lr", [1.5] * 3),
            "final_grad_norm": ("lr", [1e-7, 1e-4, 1e-7]),
            "final_sharpness": ("lr", [28.918, 19.99, 5.0]),
            "final_min_eigenvalue": ("lr", [0.0] * 3),
            "final_sharpness_exact": ("lr", [28.918, 19.99, 5.0]),
            "gd64_sharpness": ("lr", [28.263, 19.99, 5.0]),
            "gd64_grad_norm": ("lr", [1e-12] * 3),
            "gd64_train_loss": ("lr", [0.5] * 3),
        },
        coords={"lr": lr},
    )
    row = eos("x", ds)
    assert row.passed and row.measured.startswith("0.9995 (float32 end points: 1.012")
    assert "1 left its float32 end point (lr S / 2: 1.0121 -> 0.9892); 0 not settled" in row.runs
    assert not eos("x", ds.assign(gd64_grad_norm=ds.gd64_grad_norm.where(lr != 0.1, 1e-2))).passed
    assert not eos("x", ds.assign(gd64_sharpness=ds.gd64_sharpness.where(lr != 0.07, 29.0))).passed
    old = eos("x", ds.drop_vars([k for k in ds if k.startswith("gd64") or "exact" in k]))
    assert not old.passed and old.measured == "1.012"


# ----------------------------------------------------------------------------- numerics


def test_lemma3_products_and_stats():
    out = products(3, 4, 0.0, draws=2)
    np.testing.assert_allclose(out["smax"], 1.0)
    np.testing.assert_allclose(out["smin"], 1.0)
    out = products(4, 4, 1.0, draws=3)
    assert np.all(out["smax"] >= 1) and np.all(out["smin"] <= 1)
    mean, lo, hi, n = bootstrap_mean(np.array([[1.0, 1.0, np.nan], [np.nan] * 3]))
    assert mean[0] == lo[0] == hi[0] == 1.0 and n.tolist() == [2, 0] and np.isnan(mean[1])
    x = np.geomspace(1, 100, 20)
    fit = loglog_fit(x, 3 * x**0.8)
    assert fit["slope"] == pytest.approx(0.8, abs=1e-12) and fit["r"] == pytest.approx(1.0)
