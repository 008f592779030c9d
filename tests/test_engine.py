"""The batched engine against closed forms, conserved quantities and itself."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import implicit_bias as ib
from implicit_bias.compilations import count_compilations
from implicit_bias.problem import Problem
from implicit_bias.result import CONVERGED, DIVERGED


def _marion(integrator=None, dtype="float64", **kw):
    kw.setdefault("sharpness", ib.SharpnessSpec(track=False))
    return ib.Experiment(
        model=ib.DeepLinear(input_dim=5, width=5, depth=kw.pop("depth", 10)),
        data=ib.GaussianRegression(n=50, d=5),
        init=ib.Gaussian(),
        integrator=integrator or ib.GD(),
        dtype=dtype,
        **kw,
    )


def test_gd_from_zero_reaches_pseudoinverse_solution():
    # n < d: infinitely many interpolators; GD from 0 stays in the row space of X and
    # converges to X^+ y (float64, relative error < 1e-8 as the issue requires).
    exp = ib.Experiment(
        model=ib.Linear(input_dim=20),
        data=ib.GaussianRegression(n=8, d=20, normalize=False),
        init=ib.Zero(),
        integrator=ib.GD(),
        dtype="float64",
        record=ib.Schedule(num=4),
        sharpness=ib.SharpnessSpec(method="none"),
    )
    # Step size 1/sharpness, with sharpness = 2 lambda_max(X^T X / n) <= 2 * 4 for this
    # draw; the contraction per step is at worst 1 - lambda_min / lambda_max on the row space.
    r = ib.run_trajectory(exp, lr=0.05, steps=20_000, seed=3)
    X, y = np.asarray(r.data.X), np.asarray(r.data.y)
    w_pinv = np.linalg.pinv(X) @ y
    w = np.asarray(r.params["w"])
    assert np.linalg.norm(w - w_pinv) / np.linalg.norm(w_pinv) < 1e-8
    assert int(r.status) == CONVERGED


def test_gradient_flow_matches_matrix_exponential():
    # L(w) = (1/n)||Xw - y||^2  =>  w' = -2 Sigma w + 2 b, a linear ODE whose solution from w0
    # is expm of the augmented generator. Adaptive Tsit5 at rtol=1e-10 must agree to 1e-6.
    exp = ib.Experiment(
        model=ib.Linear(input_dim=5),
        data=ib.GaussianRegression(n=50, d=5),
        init=ib.Gaussian(),
        integrator=ib.GradientFlow(rtol=1e-10, atol=1e-12),
        dtype="float64",
        record=ib.Schedule(num=8, spacing="log", log_min=1e-3, params=True),
        sharpness=ib.SharpnessSpec(method="none"),
    )
    r = ib.run_trajectory(exp, t1=3.0, init_scale=1.0, seed=1)
    X, y = np.asarray(r.data.X), np.asarray(r.data.y)
    Sigma, b = X.T @ X / len(y), X.T @ y / len(y)
    w0 = np.asarray(r.initial_params["w"])
    d = w0.shape[0]
    gen = np.zeros((d + 1, d + 1))
    gen[:d, :d], gen[:d, d] = -2 * Sigma, 2 * b
    ts = np.asarray(r.times)
    ws = np.asarray(r.records["param_w"])
    assert len(ts) == 9 and ts[-1] == pytest.approx(3.0)
    for t, w in zip(ts, ws, strict=True):
        exact = (scipy.linalg.expm(gen * t) @ np.append(w0, 1.0))[:d]
        assert np.max(np.abs(w - exact)) < 1e-6, t


def test_gradient_flow_conserves_balancedness():
    # Arora et al. (2018): under gradient flow W_{k+1}^T W_{k+1} - W_k W_k^T is constant.
    exp = _marion(
        ib.GradientFlow(rtol=1e-10, atol=1e-12),
        record=ib.Schedule(num=5, params=True),
        sharpness=ib.SharpnessSpec(method="none"),
    )
    r = ib.run_trajectory(exp, t1=20.0, init_scale=0.4, seed=0)
    names = [f"W{k}" for k in range(1, 11)]
    mats = [np.asarray(r.records[f"param_{k}"]) for k in names]

    def defects(i):
        return [b[i].T @ b[i] - a[i] @ a[i].T for a, b in zip(mats[:-1], mats[1:], strict=True)]

    d0 = defects(0)
    for i in range(1, len(r.times)):
        for a, b in zip(d0, defects(i), strict=True):
            assert np.max(np.abs(a - b)) < 1e-6
    # and training did happen
    assert float(r.final["train_loss"]) < 0.5 * float(r.initial["train_loss"])


def test_batch_equals_one_by_one():
    exp = _marion(record=ib.Schedule(num=5), sharpness=ib.SharpnessSpec(num_iters=20, track=False))
    seeds = np.arange(8)
    scales = np.linspace(0.25, 0.6, 8)
    lrs = np.array([0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07])
    batch = ib.run_batch(exp, seed=seeds, init_scale=scales, lr=lrs, steps=300)
    # XLA may pick a different reduction order for a batch of 8 than for a batch of 1, so
    # agreement is to rounding amplified by 300 steps (observed 3e-10 at lr near 2/sharpness),
    # not bitwise.
    for i in range(8):
        one = ib.run_trajectory(exp, seed=seeds[i], init_scale=scales[i], lr=lrs[i], steps=300)
        for k in ("train_loss", "test_loss", "dist_to_wstar", "sharpness"):
            np.testing.assert_allclose(batch.final[k][i], one.final[k], rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(
            batch.records["train_loss"][i], one.records["train_loss"], rtol=1e-8
        )
        for name in one.params:
            np.testing.assert_allclose(batch.params[name][i], one.params[name], atol=1e-9)


def test_swept_scalars_do_not_recompile():
    exp = _marion(record=ib.Schedule(num=3), sharpness=ib.SharpnessSpec(num_iters=5, track=False))
    with count_compilations("_simulate") as c:
        ib.run_batch(exp, seed=[0, 1], init_scale=0.3, lr=0.01, steps=50)
        ib.run_batch(exp, seed=[5, 6], init_scale=0.4, lr=0.02, steps=50)
        ib.run_batch(exp, seed=[7, 8], init_scale=[0.1, 0.2], lr=[0.03, 0.001], steps=[30, 40])
    assert c.count == 1, c.names
    # A structural change (depth) is a new program.
    with count_compilations("_simulate") as c2:
        ib.run_batch(_marion(depth=3, record=ib.Schedule(num=3)), seed=[0, 1], steps=50)
    assert c2.count == 1


def test_diverging_run_is_recorded_and_others_finish():
    exp = _marion(record=ib.Schedule(num=10))
    r = ib.run_batch(exp, seed=[0, 0, 0], init_scale=0.4, lr=[0.01, 5.0, 0.02], steps=2000)
    status = np.asarray(r.status)
    assert status[1] == DIVERGED
    assert 0 <= int(r.reached[1]) < 2000
    assert status[0] == CONVERGED and status[2] == CONVERGED
    assert r.status_names()[1] == "diverged"
    for i in (0, 2):
        assert np.isfinite(float(r.final["train_loss"][i]))
        # both converge to the least-squares regressor (unique: n > d)
        assert float(r.final["dist_to_wstar"][i]) < 1e-10


def test_per_run_steps_are_respected():
    # Runs of one batch may take different numbers of steps (steps is traced).
    exp = _marion(record=ib.Schedule(num=4), sharpness=ib.SharpnessSpec(method="none"))
    both = ib.run_batch(exp, seed=[1, 1], init_scale=0.4, lr=0.01, steps=[100, 400])
    short = ib.run_trajectory(exp, seed=1, init_scale=0.4, lr=0.01, steps=100)
    assert list(np.asarray(both.reached)) == [100, 400]
    np.testing.assert_allclose(both.params["W1"][0], short.params["W1"], atol=1e-13)
    assert not np.allclose(both.params["W1"][1], short.params["W1"])


@pytest.mark.parametrize("model", [ib.DeepLinear(depth=4), ib.ResidualLinear(depth=3)])
def test_moment_form_equals_direct_loss(model):
    # The factored-moment form of the square loss (QR of X, independent of n) must give the
    # same loss, gradient and sharpness as the direct forward pass through the n samples.
    data = ib.GaussianRegression(n=50, d=5).sample(jax.random.key(0), jnp.float64)
    params = ib.Gaussian()(jax.random.key(1), model, jnp.asarray(0.5), jnp.float64)
    trainable = {k: v for k, v in params.items() if k not in model.frozen}
    frozen = {k: v for k, v in params.items() if k in model.frozen}
    fast = Problem(model, ib.Square(use_moments=True), data, frozen)
    slow = Problem(model, ib.Square(use_moments=False), data, frozen)
    # Jitted (closures over the problems): eager evaluation of these small graphs is slow.
    loss_f, loss_s = jax.jit(lambda t: fast.loss(t)), jax.jit(lambda t: slow.loss(t))
    np.testing.assert_allclose(loss_f(trainable), loss_s(trainable), rtol=1e-12)
    gf, gs = jax.jit(jax.grad(loss_f))(trainable), jax.jit(jax.grad(loss_s))(trainable)
    for k in gf:
        np.testing.assert_allclose(gf[k], gs[k], rtol=1e-10, atol=1e-13)
    hf = jax.jit(lambda t: ib.sharpness.exact(fast.loss, t).eigenvalue)(trainable)
    hs = jax.jit(lambda t: ib.sharpness.exact(slow.loss, t).eigenvalue)(trainable)
    np.testing.assert_allclose(hf, hs, rtol=1e-10)


@pytest.mark.parametrize(
    "model",
    [
        ib.MLP(depth=10, width=5, activation="gelu_tanh"),  # Marion & Chizat, Fig. 7
        ib.MLP(depth=3, width=5, activation="gelu"),
        ib.MLP(depth=3, width=24, activation="tanh"),  # wider than the unrolled layers
        ib.MLP(depth=2, width=3, activation="relu"),
        ib.MLP(depth=1, activation="identity"),
    ],
    ids=lambda m: f"{m.activation}-L{m.depth}-m{m.width}",
)
def test_reverse_mode_mlp_path_equals_plain_autodiff(model):
    # The integrators' gradient goes through MLP.apply_for_grad (custom-VJP layers, feature-
    # major activations); it must equal autodiff of the plain forward pass. Float64, so any
    # difference beyond a few ulps of the largest entry is a wrong derivative, not rounding.
    data = ib.GaussianRegression(n=50, d=5, sigma=0.0).sample(jax.random.key(0), jnp.float64)
    params = ib.Gaussian()(jax.random.key(1), model, jnp.asarray(0.6), jnp.float64)
    problem = Problem(model, ib.Square(), data, {})
    loss_p, grad_p = jax.jit(jax.value_and_grad(problem.loss))(params)
    loss_r, grad_r = jax.jit(lambda p: problem.value_and_grad(p))(params)
    np.testing.assert_allclose(loss_r, loss_p, rtol=1e-13)
    for k in grad_p:
        scale = float(jnp.max(jnp.abs(grad_p[k])))
        np.testing.assert_allclose(grad_r[k], grad_p[k], rtol=0, atol=1e-13 * scale)
    idx = jnp.arange(0, 50, 3)
    lb_p, gb_p = jax.value_and_grad(problem.batch_loss)(params, idx)
    lb_r, gb_r = problem.batch_value_and_grad(params, idx)
    np.testing.assert_allclose(lb_r, lb_p, rtol=1e-13)
    for k in gb_p:
        np.testing.assert_allclose(
            gb_r[k], gb_p[k], rtol=0, atol=1e-13 * float(jnp.max(jnp.abs(gb_p[k])))
        )


def test_gd_on_mlp_uses_reverse_path_and_matches_plain_gd():
    # 300 GD steps of the engine (reverse-mode path) equal a plain-autodiff GD loop; the
    # sharpness (forward-over-reverse HVPs on the plain path) still works on the model.
    model = ib.MLP(depth=4, width=5, activation="gelu_tanh")
    exp = ib.Experiment(
        model=model,
        data=ib.GaussianRegression(n=20, d=5, sigma=0.0),
        init=ib.Gaussian(),
        integrator=ib.GD(),
        record=ib.Schedule(num=2),
        sharpness=ib.SharpnessSpec(track=False),
        dtype="float64",
    )
    res = ib.run_trajectory(exp, seed=3, init_scale=0.7, lr=0.05, steps=300)
    data = exp.data.sample(jax.random.fold_in(jax.random.key(3), 0), jnp.float64)
    scale = jnp.asarray(0.7, jnp.float64)
    params = exp.init(jax.random.fold_in(jax.random.key(3), 1), model, scale, jnp.float64)
    problem = Problem(model, ib.Square(), data, {})
    step = jax.jit(lambda p: jax.tree.map(lambda w, g: w - 0.05 * g, p, jax.grad(problem.loss)(p)))
    for _ in range(300):
        params = step(params)
    for k in params:
        np.testing.assert_allclose(res.params[k], params[k], rtol=1e-11, atol=1e-13)
    full = ib.sharpness.exact(problem.loss, params).eigenvalue
    np.testing.assert_allclose(res.final["sharpness"], full, rtol=1e-8)


def test_float32_runs_and_matches_float64():
    exp32 = _marion(dtype="float32", record=ib.Schedule(num=2))
    exp64 = _marion(dtype="float64", record=ib.Schedule(num=2))
    r32 = ib.run_trajectory(exp32, seed=2, init_scale=0.4, lr=0.02, steps=1000)
    r64 = ib.run_trajectory(exp64, seed=2, init_scale=0.4, lr=0.02, steps=1000)
    assert r32.final["train_loss"].dtype == jnp.float32
    # float32 round-off (1e-7 relative) amplified by ~1e3 steps of a well-conditioned flow.
    np.testing.assert_allclose(r32.final["train_loss"], r64.final["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(r32.final["sharpness"], r64.final["sharpness"], rtol=1e-3)


def test_sgd_reaches_interpolator_and_is_reproducible():
    # Noiseless overparametrized regression: SGD from zero interpolates and, staying in the
    # row space, reaches the same min-norm solution as GD.
    exp = ib.Experiment(
        model=ib.Linear(input_dim=12),
        data=ib.GaussianRegression(n=6, d=12, sigma=0.0, normalize=False),
        init=ib.Zero(),
        integrator=ib.SGD(batch_size=2),
        dtype="float64",
        record=ib.Schedule(num=2),
        sharpness=ib.SharpnessSpec(method="none"),
    )
    a = ib.run_trajectory(exp, lr=0.02, steps=20_000, seed=4)
    b = ib.run_trajectory(exp, lr=0.02, steps=20_000, seed=4)
    X, y = np.asarray(a.data.X), np.asarray(a.data.y)
    w_pinv = np.linalg.pinv(X) @ y
    np.testing.assert_allclose(a.params["w"], w_pinv, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(a.params["w"], b.params["w"])


def test_bad_scalars_are_clear_errors():
    exp = _marion()
    with pytest.raises(ib.ConfigError, match=r"lr=-0.1 is invalid: a finite float > 0"):
        ib.run_batch(exp, lr=-0.1)
    with pytest.raises(ib.ConfigError, match=r"init_scale=-1.0 is invalid"):
        ib.run_batch(exp, init_scale=[0.1, -1.0])
    with pytest.raises(ib.ConfigError, match=r"steps=2.5 is invalid: an integer"):
        ib.run_batch(exp, steps=2.5)
    with pytest.raises(ib.ConfigError, match=r"model.input_dim=3 is invalid"):
        ib.Experiment(
            model=ib.Linear(input_dim=3),
            data=ib.GaussianRegression(d=5),
            init=ib.Zero(),
            integrator=ib.GD(),
        )
    with pytest.raises(ib.ConfigError, match=r"model.depth=0 is invalid: an integer >= 1"):
        ib.DeepLinear(depth=0)
    with pytest.raises(ib.ConfigError, match=r"init='residual' is invalid: square weight"):
        ib.run_batch(
            ib.Experiment(
                model=ib.DeepLinear(depth=3, width=4),
                data=ib.GaussianRegression(d=5),
                init=ib.Residual(),
                integrator=ib.GD(),
            ),
            steps=1,
        )


def test_gradient_flow_stops_at_loss_tol():
    # Noiseless, overparametrized: the flow reaches zero loss; the event stops it at loss_tol
    # and every record after the stop holds the final state (not inf).
    exp = ib.Experiment(
        model=ib.Linear(input_dim=10),
        data=ib.GaussianRegression(n=5, d=10, sigma=0.0, normalize=False),
        init=ib.Zero(),
        integrator=ib.GradientFlow(loss_tol=1e-8, rtol=1e-9, atol=1e-12),
        dtype="float64",
        record=ib.Schedule(num=10, params=True),
        sharpness=ib.SharpnessSpec(method="none"),
    )
    r = ib.run_trajectory(exp, t1=1e4, seed=0)
    assert int(r.status) == CONVERGED
    assert 0 < float(r.reached) < 1e4
    assert float(r.final["train_loss"]) <= 1e-8 * (1 + 1e-6)
    assert np.all(np.isfinite(np.asarray(r.records["param_w"])))
    np.testing.assert_allclose(r.records["param_w"][-1], r.params["w"])
    assert np.all(np.diff(np.asarray(r.times)) >= 0)


def test_gradient_flow_out_of_solver_steps_is_solver_failed_not_diverged():
    """A flow whose solver gives up before t1 is ``solver_failed`` (not ``max_steps``, which
    would read as a flow that reached t1), with the time it reached."""
    exp = _marion(
        ib.GradientFlow(max_steps=20),
        depth=3,
        record=ib.Schedule(num=5),
        sharpness=ib.SharpnessSpec(method="none"),
    )
    r = ib.run_trajectory(exp, t1=100.0, init_scale=0.4)
    assert r.status_names() == "solver_failed"
    assert 0 < float(r.reached) < 100.0
    # the state where the solver stopped, not inf/nan
    assert np.isfinite(float(r.final["train_loss"]))
    np.testing.assert_allclose(r.records["train_loss"][-1], r.final["train_loss"])


def test_a_run_without_a_progress_bar_logs_its_phases(caplog, monkeypatch):
    """Without a terminal (progress=False: CI, log files, SLURM) a run still says what it is
    doing: a line before the compilation (which can take tens of seconds with no output), one
    when the program is ready, and the step reached at most every LOG_EVERY_SECONDS (0 here, so
    after every program call)."""
    from implicit_bias import engine

    monkeypatch.setattr(engine, "LOG_EVERY_SECONDS", 0.0)
    exp = _marion(dtype="float32")
    with caplog.at_level("INFO", logger="implicit_bias.engine"):
        res = ib.run_batch(exp, lr=[0.01, 0.02], steps=300, progress=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "implicit_bias.engine"]
    assert "compiling the program" in lines[0] and "2 run(s) of DeepLinear" in lines[0]
    assert lines[1].startswith("program ready and step 0 measured in ")
    steps = [line for line in lines if line.startswith("step ")]
    assert steps and steps[-1].startswith("step 300 of 300 (100%)")
    reached = [int(line.split()[1]) for line in steps]
    assert reached == sorted(reached)
    assert res.status.shape == (2,)
