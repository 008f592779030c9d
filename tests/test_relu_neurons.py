"""Single ReLU neurons and one hidden neuron against Vardi & Shamir (2021).

"Implicit regularization in ReLU networks with the square loss" (COLT 2021):

* Theorem 4.1: from w = 0 on x = (3,-1,0), (4,2,0), (0,g,g), y = (16,18,0) the gradient flow of a
  ReLU neuron ends at (5, -1, w3(g)); the engine is compared with the exact two-phase closed form
  of :func:`implicit_bias.theory.relu_counterexample_limit` along the whole trajectory.
* Theorem 3.1: leaky ReLU ends at the zero-loss point closest to w(0).
* Theorem 5.1: ReLU ends within twice the distance from w(0) of the closest zero-loss point.
* Section 6: one hidden neuron v relu(w . x) conserves v^2 - ||w||^2 (Du et al. 2018).

Tolerances: the flows are integrated in float64 with Tsit5 at rtol = 1e-10, atol = 1e-12 and
measured to agree with the exact solutions to ~1e-9 (the kink at the crossing costs nothing
measurable); the tests demand 1e-6, 1000x above that and 1000x below the issue's requirement
(1e-3) for w3.
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from jaxtyping import PRNGKeyArray

from implicit_bias.data import AbstractData, Dataset, ReluCounterexample
from implicit_bias.engine import run_batch
from implicit_bias.errors import ConfigError
from implicit_bias.experiment import Experiment, SharpnessSpec
from implicit_bias.inits import Gaussian, Neuron, Zero
from implicit_bias.integrators import GD, GradientFlow
from implicit_bias.losses import Square
from implicit_bias.models import OneHiddenNeuron, ReLUNeuron
from implicit_bias.models._activations import leaky_relu, relu
from implicit_bias.schedule import Schedule
from implicit_bias.theory import leaky_relu_limit, relu_counterexample_limit
from implicit_bias.theory.checks import ReluNeuronCheck
from implicit_bias.theory.checks.relu_neuron import closest_zero_loss_relu
from implicit_bias.theory.relu_neuron import (
    min_norm_ratios,
    relu_counterexample_gd,
    relu_counterexample_large_gamma,
    relu_counterexample_small_gamma,
)

jax.config.update("jax_enable_x64", True)

GAMMAS = (0.5, 1.0, 2.0, 4.0)
FLOW = GradientFlow(rtol=1e-10, atol=1e-12)
TOL = 1e-6  # see the module docstring; measured errors are ~1e-9


def _experiment(model, data, init, num=40, **kw) -> Experiment:
    return Experiment(
        model=model,
        data=data,
        init=init,
        integrator=FLOW,
        sharpness=SharpnessSpec(method="none"),
        record=Schedule(num=num, spacing="log", log_min=1e-4, params=True),
        dtype="float64",
        **kw,
    )


# --- the activation convention ----------------------------------------------------------------


def test_relu_derivative_is_one_at_zero():
    z = jnp.array([-2.0, -1e-300, 0.0, 1e-300, 3.0])
    d_relu = jax.vmap(jax.grad(relu))(z)
    d_leaky = jax.vmap(jax.grad(lambda t: leaky_relu(t, 0.1)))(z)
    np.testing.assert_array_equal(d_relu, [0.0, 0.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(d_leaky, [0.1, 0.1, 1.0, 1.0, 1.0])
    # Values are exactly JAX's; only the derivative at the kink differs (JAX's is 0 for relu).
    np.testing.assert_array_equal(relu(z), jax.nn.relu(z))
    np.testing.assert_array_equal(leaky_relu(z, 0.1), jax.nn.leaky_relu(z, 0.1))
    assert jax.grad(jax.nn.relu)(0.0) == 0.0
    # Second derivatives (used by sharpness) are those of the linear pieces: zero.
    np.testing.assert_array_equal(jax.vmap(jax.grad(jax.grad(relu)))(z), np.zeros(5))
    # Forward mode agrees with reverse mode.
    _, tangent = jax.jvp(relu, (z,), (jnp.ones_like(z),))
    np.testing.assert_array_equal(tangent, d_relu)


@pytest.mark.parametrize("model_cls", [ReLUNeuron, OneHiddenNeuron])
def test_loss_gradient_matches_formula(model_cls):
    """grad of mean (f - y)^2 equals the hand-written gradient, including at w = 0."""
    data = ReluCounterexample(gamma=1.5).sample(jax.random.key(0), jnp.float64)
    X, y = np.asarray(data.X), np.asarray(data.y)
    model = model_cls(input_dim=3, activation="leaky_relu", negative_slope=0.3)
    for w in (np.zeros(3), np.array([1.0, -2.0, 0.5])):
        params = {"w": jnp.asarray(w)}
        v = 0.7
        if model_cls is OneHiddenNeuron:
            params["v"] = jnp.asarray(v)
        grads = jax.grad(lambda p: Square()(model, p, data))(params)
        z = X @ w
        act, dact = np.where(z >= 0, z, 0.3 * z), np.where(z >= 0, 1.0, 0.3)
        if model_cls is ReLUNeuron:
            r = act - y
            np.testing.assert_allclose(grads["w"], 2 / 3 * X.T @ (r * dact), rtol=1e-13)
        else:
            r = v * act - y
            np.testing.assert_allclose(grads["w"], 2 / 3 * v * X.T @ (r * dact), rtol=1e-13)
            np.testing.assert_allclose(grads["v"], 2 / 3 * r @ act, rtol=1e-13)


# --- data, init, validation -------------------------------------------------------------------


def test_vardi_shamir_data_and_zero_loss_set():
    data = ReluCounterexample(gamma=2.0).sample(jax.random.key(3), jnp.float64)
    np.testing.assert_array_equal(data.X, [[3, -1, 0], [4, 2, 0], [0, 2, 2]])
    np.testing.assert_array_equal(data.y, [16, 18, 0])
    assert data.X_test is None  # no test set (no test loss; was a copy of the training set)
    assert data.w_star is None
    model = ReLUNeuron(input_dim=3)
    for t in (-3.0, 0.0, 1.0):  # {(5, -1, t): t <= 1} interpolates, for every gamma
        loss = Square()(model, {"w": jnp.array([5.0, -1.0, t])}, data)
        assert float(loss) == 0.0
    assert float(Square()(model, {"w": jnp.array([5.0, -1.0, 1.1])}, data)) > 0


def test_neuron_init():
    p = Neuron()(jax.random.key(0), OneHiddenNeuron(input_dim=4), jnp.asarray(0.25), jnp.float64)
    assert list(p) == ["w", "v"]
    np.testing.assert_array_equal(p["w"], np.zeros(4))
    assert p["v"].shape == () and float(p["v"]) == 0.25
    p = Neuron()(jax.random.key(0), ReLUNeuron(input_dim=2), jnp.asarray(0.25), jnp.float64)
    np.testing.assert_array_equal(p["w"], np.zeros(2))


@pytest.mark.parametrize(
    "build, key",
    [
        (lambda: ReLUNeuron(activation="tanh"), "model.activation"),
        (
            lambda: OneHiddenNeuron(activation="leaky_relu", negative_slope=0.0),
            "model.negative_slope",
        ),
        (lambda: ReLUNeuron(input_dim=0), "model.input_dim"),
        (lambda: ReluCounterexample(gamma=-0.5), "data.gamma"),
        (lambda: ReluNeuronCheck(zero_loss_tol=0.0), "reference.zero_loss_tol"),
    ],
)
def test_validation_names_the_key(build, key):
    with pytest.raises(ConfigError, match=key):
        build()


# --- the closest zero-loss point (Theorem 5.1's comparator) -----------------------------------


def test_closest_zero_loss_relu_matches_slsqp():
    """Exact active-set enumeration vs a generic constrained solver (SLSQP) and KKT."""
    rng = np.random.default_rng(0)
    assert np.allclose(closest_zero_loss_relu(*vardi_shamir_data_np(1.0), np.zeros(3)), [5, -1, 0])
    for _ in range(10):
        X = rng.normal(size=(5, 7))
        y = np.maximum(X @ rng.normal(size=7), 0.0)
        w0 = rng.normal(size=7)
        p = closest_zero_loss_relu(X, y, w0)
        pos, zero = y > 0, y == 0
        ref = _slsqp_projection(X, y, w0)
        # SLSQP converges to ~1e-8; the enumeration is exact to rounding.
        np.testing.assert_allclose(p, ref, atol=1e-6)
        np.testing.assert_allclose(X[pos] @ p, y[pos], atol=1e-12)
        assert np.all(X[zero] @ p <= 1e-12)
        # No worse than SLSQP (whose answer may be infeasible by ~1e-8, hence the slack).
        assert np.linalg.norm(p - w0) <= np.linalg.norm(ref - w0) + 1e-7


def _slsqp_projection(X, y, w0):
    pos, zero = y > 0, y == 0
    cons = [
        {"type": "eq", "fun": lambda w: X[pos] @ w - y[pos]},
        {"type": "ineq", "fun": lambda w: -X[zero] @ w},
    ]
    return scipy.optimize.minimize(
        lambda w: np.sum((w - w0) ** 2),
        w0,
        jac=lambda w: 2 * (w - w0),
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    ).x


def vardi_shamir_data_np(gamma):
    X = np.array([[3.0, -1.0, 0.0], [4.0, 2.0, 0.0], [0.0, gamma, gamma]])
    return X, np.array([16.0, 18.0, 0.0])


# --- Theorem 4.1: engine vs closed form ---------------------------------------------------------


@pytest.fixture(scope="module")
def vs_runs():
    """One engine run per gamma (each gamma is a separate compilation: ~4 s each)."""
    out = {}
    for g in GAMMAS:
        exp = _experiment(ReLUNeuron(input_dim=3), ReluCounterexample(gamma=g), Zero())
        out[g] = (exp, run_batch(exp, t1=20.0)[0])
    return out


def test_closed_form_uses_our_loss_convention():
    """The reference trajectory solves dw/dt = -grad mean (relu(Xw) - y)^2 (no 1/2).

    Central differences of the closed form (step 1e-6, error ~1e-12 * |w'''|) vs our gradient,
    in phase 1 and in phase 2; with a 1/2 convention they would differ by a factor 2.
    """
    model, g = ReLUNeuron(input_dim=3), 2.0
    data = ReluCounterexample(gamma=g).sample(jax.random.key(0), jnp.float64)
    sol = relu_counterexample_limit(g)
    grad = jax.grad(lambda w: Square()(model, {"w": w}, data))
    h = 1e-6
    for t in (0.3 * sol.crossing_time, 0.9 * sol.crossing_time, 2 * sol.crossing_time, 1.0):
        w_m, w, w_p = relu_counterexample_limit(g, np.array([t - h, t, t + h])).trajectory
        dw = (w_p - w_m) / (2 * h)
        np.testing.assert_allclose(dw, -np.asarray(grad(jnp.asarray(w))), atol=1e-7, rtol=1e-7)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_theorem_4_1_trajectory_matches_closed_form(vs_runs, gamma):
    exp, run = vs_runs[gamma]
    assert int(run.status) == 0 and float(run.final["train_loss"]) < 1e-15
    ts = np.asarray(run.times)
    sol = relu_counterexample_limit(gamma, ts)
    traj = np.asarray(run.records["param_w"])
    # Record points straddle the crossing (phase 1 and phase 2 are both tested).
    assert ts[1] < sol.crossing_time < ts[-1]
    np.testing.assert_allclose(traj, sol.trajectory, atol=TOL, rtol=0)
    w = np.asarray(run.params["w"])
    np.testing.assert_allclose(w[:2], [5.0, -1.0], atol=TOL, rtol=0)
    assert abs(w[2] - sol.w_limit[2]) < TOL
    ref = ReluNeuronCheck()(exp, run)
    assert ref["theorem"] == "4.1" and ref["w3_error"] < TOL and ref["distance"] < TOL
    assert ref["interpolates"] and ref["bound_holds"]


def test_theorem_4_1_limit_is_not_a_function_of_w(vs_runs):
    """Every limit interpolates every data set of the family (the zero-loss set {(5,-1,t), t<=1}
    does not depend on gamma), yet the limits differ: no R(w) minimized over that set selects
    them all."""
    limits = {g: np.asarray(run.params["w"]) for g, (_, run) in vs_runs.items()}
    model = ReLUNeuron(input_dim=3)
    for g in GAMMAS:
        data = ReluCounterexample(gamma=g).sample(jax.random.key(0), jnp.float64)
        for w in limits.values():
            assert float(Square()(model, {"w": jnp.asarray(w)}, data)) < 1e-15
    w3 = np.array([limits[g][2] for g in GAMMAS])
    assert np.all(np.diff(w3) < -1e-3)  # strictly decreasing in gamma, gaps >> TOL


# --- Theorem 3.1: strictly monotone activation ------------------------------------------------


class _ReLUTeacher(AbstractData):
    """n Gaussian inputs in R^d labelled by a ReLU teacher (a zero-loss point exists), or by
    its absolute value ``|x . w_t|`` (``positive``: every sample is fitted on the linear side,
    where the flow converges at the full rate, not at rate ``slope^2``).

    Labels are >= 0 on purpose: with a negative label the loss of a leaky-ReLU neuron has a
    *convex* kink at w . x_i = 0 on which the flow can slide (Filippov), which an explicit
    adaptive solver can only chatter through (see docs/relu_neurons.md).
    """

    task: ClassVar[str] = "regression"
    n: int = 4
    d: int = 6
    positive: bool = False

    @property
    def input_dim(self) -> int:
        return self.d

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        kx, kw = jax.random.split(key)
        X = jax.random.normal(kx, (self.n, self.d), dtype)
        z = X @ jax.random.normal(kw, (self.d,), dtype)
        return Dataset(X, jnp.abs(z) if self.positive else jax.nn.relu(z))


def test_theorem_3_1_leaky_relu_closest_zero_loss_point():
    """Leaky ReLU from random w0 (3 samples in R^5): the limit is w0 + X^+(sigma^-1(y) - X w0)."""
    slope, b = 0.3, 4
    exp = _experiment(
        ReLUNeuron(input_dim=5, activation="leaky_relu", negative_slope=slope),
        _ReLUTeacher(n=3, d=5, positive=True),
        Gaussian(),
        num=5,
    )
    res = run_batch(exp, seed=np.arange(b), init_scale=1.0, t1=300.0)
    crossed = 0
    for i in range(b):
        run = res[i]
        X, y = np.asarray(run.data.X), np.asarray(run.data.y)
        w0, w = np.asarray(run.initial_params["w"]), np.asarray(run.params["w"])
        crossed += int(np.any((X @ w0 < 0) & (y > 0)))  # some sample starts on the leaky side
        pred = leaky_relu_limit(X, y, w0, negative_slope=slope)
        assert int(run.status) == 0 and float(run.final["train_loss"]) < 1e-16
        assert np.linalg.norm(w - pred) < TOL
        # The limit is not the closest zero-loss point to 0: the init matters.
        assert np.linalg.norm(pred - leaky_relu_limit(X, y, None, negative_slope=slope)) > 0.1
        ref = ReluNeuronCheck()(exp, run)
        assert ref["theorem"] == "3.1" and ref["distance"] < TOL
    assert crossed >= 1  # the leaky branch was exercised


# --- Theorem 5.1: ReLU within a factor 2 of the closest zero-loss point ------------------------


def test_theorem_5_1_factor_two_bound():
    """Random ReLU teachers (3 samples in R^3) and random inits: every run that interpolates
    moved at most twice as far as the closest zero-loss point, and ||w(t) - w*|| never
    increased along any run (the monotonicity behind the theorem; slack 1e-8 for the solver
    error, measured 1e-10). About half the runs interpolate (the others lose a positive
    sample to the dead side of the ReLU for good)."""
    b = 32
    exp = _experiment(ReLUNeuron(input_dim=3), _ReLUTeacher(n=3, d=3), Gaussian(), num=30)
    res = run_batch(exp, seed=np.arange(b), init_scale=0.5, t1=200.0)
    limit = ReluNeuronCheck()
    ratios = []
    for i in range(b):
        run = res[i]
        X, y = np.asarray(run.data.X), np.asarray(run.data.y)
        w0 = np.asarray(run.initial_params["w"])
        w_star = closest_zero_loss_relu(X, y, w0)
        dist = np.linalg.norm(np.asarray(run.records["param_w"]) - w_star, axis=1)
        assert np.all(np.diff(dist) <= 1e-8)
        ref = limit(exp, run)
        assert ref["theorem"] == "5.1"
        if ref["interpolates"]:
            assert ref["bound_holds"]
            ratios.append(ref["distance_ratio"])
    assert len(ratios) >= b // 4, f"only {len(ratios)} of {b} runs interpolated"
    assert max(ratios) <= 2.0
    # The flow does not find the closest zero-loss point in general (unlike Theorem 3.1).
    assert max(ratios) > 1.0 + 1e-2


# --- Section 6: one hidden neuron -------------------------------------------------------------


def test_one_hidden_neuron_conserves_balancedness():
    """From w = 0, v = delta: v^2 - ||w||^2 = delta^2 at every record point (measured ~2e-11)."""
    deltas = np.array([0.5, 1e-2, 1e-4])
    exp = _experiment(OneHiddenNeuron(input_dim=3), ReluCounterexample(gamma=1.0), Neuron(), num=60)
    res = run_batch(exp, init_scale=deltas, t1=100.0)
    bal = np.asarray(res.records["balancedness"])
    np.testing.assert_allclose(bal, np.broadcast_to(deltas[:, None] ** 2, bal.shape), atol=TOL)
    v, w = np.asarray(res.params["v"]), np.asarray(res.params["w"])
    np.testing.assert_allclose(v**2 - np.sum(w**2, axis=1), deltas**2, atol=TOL)
    assert np.all(np.asarray(res.final["train_loss"]) < 1e-15)
    # The effective neuron u = v w interpolates: (u1, u2) = (5, -1), x3 . u <= 0.
    u = v[:, None] * w
    np.testing.assert_allclose(u[:, :2], np.broadcast_to([5.0, -1.0], (3, 2)), atol=TOL)
    assert np.all(u[:, 1] + u[:, 2] < 0)
    for i in range(3):
        ref = ReluNeuronCheck()(exp, res[i])
        assert ref["distance"] < TOL and abs(ref["balancedness_initial"] - deltas[i] ** 2) < 1e-15


# --- CLI presets --------------------------------------------------------------------------------


def test_experiment_presets_compose():
    from implicit_bias.app.build import build_experiment, build_reference
    from implicit_bias.app.compose import compose

    cfg = compose(["+experiment=vardi_shamir", "data.gamma=2"])
    exp = build_experiment(cfg)
    assert isinstance(exp.model, ReLUNeuron) and exp.model.input_dim == 3
    assert exp.data == ReluCounterexample(gamma=2.0) and isinstance(exp.init, Zero)
    assert exp.dtype == "float64" and exp.integrator.rtol == 1e-10
    assert isinstance(build_reference(cfg), ReluNeuronCheck)
    cfg = compose(["+experiment=one_hidden_neuron", "init_scale=0.1"])
    exp = build_experiment(cfg)
    assert isinstance(exp.model, OneHiddenNeuron) and isinstance(exp.init, Neuron)
    assert cfg.init_scale == 0.1
    cfg = compose(["+experiment=vardi_shamir_gd", "data.gamma=0"])
    exp = build_experiment(cfg)
    assert isinstance(exp.integrator, GD) and exp.data == ReluCounterexample(gamma=0.0)
    assert isinstance(build_reference(cfg), ReluNeuronCheck)


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides", [["+experiment=vardi_shamir", "data.gamma=2"], ["+experiment=one_hidden_neuron"]]
)
def test_experiment_presets_run(tmp_path, overrides):
    """The documented commands end to end (in-process): metrics.json holds the reference."""
    from implicit_bias.app.cli import run_config
    from implicit_bias.app.compose import compose

    cfg = compose([*overrides, "output.plots=false"])
    metrics = run_config(cfg, tmp_path)
    assert metrics["status"] == "converged"
    ref = metrics["reference"]
    assert ref["distance"] < TOL
    if "w3_error" in ref:
        assert ref["theorem"] == "4.1" and ref["w3_error"] < TOL
    assert (tmp_path / "metrics.json").is_file() and (tmp_path / "trajectory.npz").is_file()


# --- Theorem 4.1: gamma = 0, gradient descent, the cases ----------------------------------------


def test_gamma_zero_is_the_base_case():
    """gamma = 0 (x3 = 0, the paper's first case, line 55): the flow ends at w* = (5, -1, 0)."""
    data = ReluCounterexample(gamma=0.0).sample(jax.random.key(0), jnp.float64)
    np.testing.assert_array_equal(data.X[2], [0.0, 0.0, 0.0])
    sol = relu_counterexample_limit(0.0, np.array([0.0, 0.1, 1.0]))
    assert sol.crossing_time == np.inf
    np.testing.assert_allclose(sol.w_limit, [5.0, -1.0, 0.0], atol=1e-13)
    np.testing.assert_array_equal(sol.trajectory[:, 2], 0.0)  # w3 never moves
    assert min_norm_ratios(sol.w_limit) == pytest.approx((1.0, 0.0), abs=1e-13)
    exp = _experiment(ReLUNeuron(input_dim=3), ReluCounterexample(gamma=0.0), Zero())
    run = run_batch(exp, t1=20.0)[0]
    ref = ReluNeuronCheck()(exp, run)
    assert ref["theorem"] == "4.1" and ref["gamma"] == 0.0
    assert ref["distance"] < TOL and ref["relative_distance_to_min_norm"] < TOL


def _numpy_gd(gamma, lr, steps):
    """Plain numpy GD on mean (relu(Xw) - y)^2 with relu'(0) = 1: shares only the data with
    the closed form of relu_counterexample_gd."""
    X, y = vardi_shamir_data_np(gamma)
    w = np.zeros(3)
    out = [w]
    for _ in range(steps):
        z = X @ w
        w = w - lr * 2 / 3 * X.T @ ((np.maximum(z, 0) - y) * (z >= 0))
        out.append(w)
    return np.array(out)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 20.0])
def test_gd_closed_form_matches_plain_iteration(gamma):
    """The two-phase GD closed form equals the GD iteration at every step (rounding: 1e-11)."""
    lr = (
        0.25
        / np.linalg.eigvalsh(
            2 / 3 * vardi_shamir_data_np(gamma)[0].T @ vardi_shamir_data_np(gamma)[0]
        )[-1]
    )
    steps = int(np.ceil(14.0 / lr))
    ref = _numpy_gd(gamma, lr, steps)
    ks = np.unique(np.geomspace(1, steps, 60).astype(int))
    gd = relu_counterexample_gd(gamma, lr, ks)
    np.testing.assert_allclose(gd.trajectory, ref[ks], atol=1e-11, rtol=0)
    np.testing.assert_allclose(gd.w_limit, ref[-1], atol=1e-11, rtol=0)
    if gamma > 0:  # the crossing step is the first with x3 . w < 0
        h = ref @ vardi_shamir_data_np(gamma)[0][2]
        assert gd.crossing_step == np.flatnonzero(h < 0)[0]


def test_gd_converges_to_the_flow_at_first_order():
    """|w3_GD - w3_flow| is proportional to lr (halving lr halves it, within 10%)."""
    flow = relu_counterexample_limit(2.0).w_limit[2]
    lrs = np.array([4e-3, 2e-3, 1e-3, 5e-4])
    err = np.array([abs(relu_counterexample_gd(2.0, lr).w_limit[2] - flow) for lr in lrs])
    np.testing.assert_allclose(err[:-1] / err[1:], 2.0, rtol=0.1)


def test_engine_gd_matches_gd_closed_form():
    """The engine's GD (optax) against the exact two-phase GD, two step sizes in one batch;
    float64 rounding over ~1e4 steps: measured <= 1e-13, tolerance 1e-9. The reference step
    picks the GD closed form for plain GD."""
    gamma = 2.0
    lrs = np.array([0.02, 0.005])
    exp = Experiment(
        model=ReLUNeuron(input_dim=3),
        data=ReluCounterexample(gamma=gamma),
        init=Zero(),
        integrator=GD(),
        sharpness=SharpnessSpec(method="none", track=False),
        record=Schedule(num=40, spacing="log", params=True),
        dtype="float64",
    )
    res = run_batch(exp, lr=lrs, steps=np.ceil(16 / lrs).astype(int), init_scale=0.0)
    for i, lr in enumerate(lrs):
        run = res[i]
        gd = relu_counterexample_gd(gamma, lr, np.asarray(run.times))
        np.testing.assert_allclose(np.asarray(run.records["param_w"]), gd.trajectory, atol=1e-9)
        ref = ReluNeuronCheck()(exp, run)
        assert ref["reference"] == "gd_closed_form" and ref["distance"] < 1e-9
        # GD is O(lr) away from the flow: distinguishable at these steps.
        assert abs(ref["w3"] - ref["w3_flow"]) > 1e-4


def test_gamma_asymptotes_are_independent_checks_of_the_closed_form():
    """Small gamma: w3 = -a gamma^2 + O(gamma^4) (a from the gamma = 0 flow); large gamma: the
    flow constrained to x3 . w = 0. Relative errors scale as gamma^2 and 1/gamma^2."""
    a = relu_counterexample_small_gamma()
    for g in (0.01, 0.03):
        w3 = relu_counterexample_limit(g).w_limit[2]
        assert abs(w3 / g**2 + a) / a < 0.25 * g**2  # measured: 0.19 g^2
    w3_inf = relu_counterexample_large_gamma()
    for g in (100.0, 300.0):
        w3 = relu_counterexample_limit(g).w_limit[2]
        assert abs(w3 - w3_inf) / abs(w3_inf) < 5.0 / g**2  # measured: ~3.9 / g^2


def test_theorem_4_1_ratios_increase_with_gamma():
    """The quantities of the theorem's cases: 1 at gamma = 0, then strictly increasing."""
    gammas = [0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
    ratios = np.array([min_norm_ratios(relu_counterexample_limit(g).w_limit) for g in gammas])
    assert ratios[0] == pytest.approx((1.0, 0.0), abs=1e-13)
    assert np.all(np.diff(ratios, axis=0) > 0)
    assert ratios[-1, 1] < abs(relu_counterexample_large_gamma()) / np.sqrt(26)


def test_data_audit_holds():
    from implicit_bias.papers.vardi_shamir.audit import audit

    rows = audit()
    assert len(rows) >= 10 and all(r.passed for r in rows), [r.line for r in rows if not r.passed]


# --- Theorem 4.2 / Lemma 4.1 -----------------------------------------------------------------


def test_lemma_4_1_chain_is_legal_and_realized_by_gammas():
    """Every move of the chain has u - w orthogonal to w and ||u - w|| = rho ||w|| with
    rho <= rho(50); moves are realized by actual gammas (brentq on the closed form)."""
    from implicit_bias.papers.vardi_shamir.theorem42 import gamma_for_rho, lemma41_chain, rho

    rng = np.random.default_rng(0)
    rmax = rho(50.0)
    for _ in range(3):
        a, b = rng.normal(size=3), 3 * rng.normal(size=3)
        chain = lemma41_chain(a, b, rmax)
        np.testing.assert_allclose(chain[0].start, a)
        np.testing.assert_allclose(chain[-1].end, b, atol=1e-12 * np.linalg.norm(b))
        for m0, m1 in zip(chain[:-1], chain[1:], strict=True):
            np.testing.assert_array_equal(m0.end, m1.start)
        assert max(m.orthogonality for m in chain) < 1e-13
        assert max(m.rho for m in chain) <= rmax
    for m in chain[:: len(chain) // 3]:
        g = gamma_for_rho(m.rho)
        assert abs(rho(g) - m.rho) < 1e-10


def test_rotated_and_scaled_input_rotates_and_scales_the_limit():
    """Theorem 4.2's argument (lines 81-84): input (X Q^T, s y) ends at s Q w(inf)."""
    from implicit_bias.papers.vardi_shamir.transforms import single_neuron

    chk = single_neuron(gamma=2.0, scale=3.0, seed=0)
    assert chk.reached and chk.error < TOL


# --- Section 6: Lemma 6.2, Theorem 6.2, Corollary 6.3 ------------------------------------------


@pytest.mark.slow
def test_lemma_6_2_rotation_and_scaling():
    from implicit_bias.papers.vardi_shamir.transforms import hidden_neuron

    for chk in hidden_neuron(gamma=1.0, c=4.0, delta=1e-3):
        assert chk.reached and chk.error < TOL, chk


@pytest.mark.slow
def test_corollary_6_3_pairs_are_limits_of_transformed_inputs():
    from implicit_bias.papers.vardi_shamir.transforms import corollary_6_3

    cor = corollary_6_3(gamma=1.0, delta=1e-4)
    assert cor.reached and cor.transform_error < TOL and cor.cross_loss < 1e-16
    assert cor.orthogonality < 1e-12 and cor.rho > 1e-3


# --- one ReLU convention everywhere -------------------------------------------------------------


def test_mlp_relu_uses_derivative_one_at_zero():
    """MLP(activation=relu) at W1 = 0: every hidden pre-activation is 0; the gradient of W1 is
    the hand-written backprop with relu'(0) = 1, through both forward passes (plain and the
    reverse-mode-only one); with JAX's relu'(0) = 0 it would be exactly zero."""
    from implicit_bias.models import MLP

    model = MLP(input_dim=3, width=4, depth=3, activation="relu")
    k = jax.random.split(jax.random.key(0), 4)
    X = jax.random.normal(k[0], (6, 3), jnp.float64)
    y = jax.random.normal(k[1], (6,), jnp.float64)
    W2 = jax.random.normal(k[2], (4, 4), jnp.float64)
    W3 = jax.random.normal(k[3], (1, 4), jnp.float64)
    params = {"W1": jnp.zeros((4, 3)), "W2": W2, "W3": W3}
    data = Dataset(X, y)
    g_plain = jax.grad(lambda p: Square()(model, p, data))(params)["W1"]
    g_fast = jax.grad(lambda p: jnp.mean((model.apply_for_grad(p, X) - y) ** 2))(params)["W1"]
    r = -np.asarray(y)  # the output is 0
    expected = 2 / 6 * (np.asarray(W2).T @ np.asarray(W3).T @ r[None, :]) @ np.asarray(X)
    np.testing.assert_allclose(g_plain, expected, rtol=1e-12)
    np.testing.assert_allclose(g_fast, expected, rtol=1e-12)
    g_jax = jax.grad(
        lambda W1: jnp.mean(((jax.nn.relu(jax.nn.relu(X @ W1.T) @ W2.T) @ W3.T)[:, 0] - y) ** 2)
    )(jnp.zeros((4, 3)))
    assert float(jnp.abs(g_jax).max()) == 0.0


def test_mlp_relu_from_zero_first_layer_trains():
    """init=zero_first with ReLU (the issue's stuck case): with relu'(0) = 1 the loss falls by
    more than 10x in 2000 GD steps for every seed (measured: 0.15-2.3% of the initial loss)."""
    from implicit_bias.data import GaussianRegression
    from implicit_bias.inits import ZeroFirst
    from implicit_bias.integrators import GD as GD_
    from implicit_bias.models import MLP

    exp = Experiment(
        model=MLP(input_dim=5, width=16, depth=3, activation="relu"),
        data=GaussianRegression(),
        init=ZeroFirst(),
        integrator=GD_(),
        sharpness=SharpnessSpec(method="none", track=False),
        dtype="float32",
    )
    res = run_batch(exp, seed=np.arange(4), lr=0.05, steps=2000, init_scale=0.5)
    loss0, loss = np.asarray(res.initial["train_loss"]), np.asarray(res.final["train_loss"])
    assert np.all(np.asarray(res.initial["grad_norm"]) > 1e-2)
    assert np.all(loss < 0.1 * loss0), (loss0, loss)


@pytest.mark.xfail(strict=True, reason="statuses: issue 12")
def test_stuck_run_at_exact_zero_gradient_is_not_converged():
    """Every sample on the dead side of the ReLU: the gradient is exactly 0 and the loss stays
    at (16^2 + 18^2)/3 = 193.3, far from the best possible 0. The run must not be reported as
    an ordinary ``converged`` (issue 12 introduces the status for it)."""
    from implicit_bias.inits import Constant
    from implicit_bias.papers.vardi_shamir.experiments import FixedData

    X, y = vardi_shamir_data_np(1.0)
    exp = Experiment(
        model=ReLUNeuron(input_dim=3),
        data=FixedData.from_arrays(-X, y),  # with w0 = (1, 1, 1): x . w0 = -2, -6, -2 < 0
        init=Constant(),
        integrator=GD(),
        sharpness=SharpnessSpec(method="exact", track=False),
        dtype="float64",
    )
    run = run_batch(exp, init_scale=1.0, lr=0.01, steps=100)[0]
    # The numbers that identify the case (these hold today; the status is what fails).
    assert float(run.final["grad_norm"]) == 0.0
    assert float(run.final["train_loss"]) == pytest.approx((16**2 + 18**2) / 3)
    assert run.status_names() != "converged"
