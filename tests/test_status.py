"""Statuses with meanings (issue 12): the three cases an absolute gradient test called
``converged``, each now reported as what it is, and the numbers each decision used.

The criteria are :mod:`implicit_bias.status`'s (README, "Statuses")."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

import implicit_bias as ib
from implicit_bias.app.rundir import metrics_dict
from implicit_bias.status import (
    CONVERGED,
    MAX_STEPS,
    STATIONARY,
    STATUS_NAMES,
    criteria,
    decide,
)


def _logistic_data(seed=0, n=300, d=20):
    """Standardized, strongly correlated features (5 latent factors + 1% noise: condition
    number of X^T X ~ 1e4, like the breast-cancer data of the issue) and labels drawn from a
    logistic model: not linearly separable (checked), the optimum is finite."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)) @ rng.normal(size=(5, d)) + 0.01 * rng.normal(size=(n, d))
    X = (X - X.mean(0)) / X.std(0)
    p = 1 / (1 + np.exp(-2.0 * (X @ rng.normal(size=d))))
    y = np.where(rng.random(n) < p, 1.0, -1.0)
    return X, y


def _scipy_logistic_optimum(X, y):
    def f(v):
        return np.mean(np.logaddexp(0, -y * (X @ v)))

    def g(v):
        return -(X * (y * scipy.special.expit(-y * (X @ v)))[:, None]).mean(0)

    opt = scipy.optimize.minimize(
        f, np.zeros(X.shape[1]), jac=g, method="BFGS", options={"gtol": 1e-12, "maxiter": 10**5}
    )
    assert np.linalg.norm(g(opt.x)) < 1e-8  # a true stationary point of a convex loss
    return opt.fun


def test_relu_mlp_with_zero_first_layer_never_moves_is_stationary():
    """JAX's relu (derivative 0 at 0) and W1 = 0: the gradient is exactly 0, the loss never
    changes (the issue's first case). Reported ``stationary``, not ``converged``."""
    from implicit_bias.papers.vardi_shamir.relu_convention import JaxReluMLP

    exp = ib.Experiment(
        model=JaxReluMLP(input_dim=5, width=16, depth=3, activation="relu"),
        data=ib.GaussianRegression(),
        init=ib.ZeroFirst(),
        integrator=ib.GD(),
        sharpness=ib.SharpnessSpec(method="none", track=False),
        dtype="float32",
    )
    res = ib.run_batch(exp, seed=np.arange(2), lr=0.05, steps=200, init_scale=0.5)
    np.testing.assert_array_equal(res.initial["grad_norm"], 0.0)
    np.testing.assert_array_equal(res.final["train_loss"], res.initial["train_loss"])
    assert res.status_names() == ["stationary", "stationary"]
    m = metrics_dict(res[0], exp, 0.0)
    assert m["status_criteria"]["never_moved"] is True
    assert m["status_criteria"]["initial_grad_norm"] == 0.0
    assert "never moved" in m["status_reason"]


def test_logistic_far_from_its_optimum_is_not_converged():
    """Logistic regression on ill-conditioned non-separable data: after 3000 GD steps the
    gradient is small (it passes the gradient test at converge_tol=1e-3, as an absolute test
    at 1e-4 passed in the issue) but the loss is > 20% above the optimum. The optimum test
    (the loss's minimum computed by Newton's method, checked against scipy's BFGS to 1e-7)
    reports it ``max_steps``; a run reaching the optimum is ``converged``."""
    X, y = _logistic_data()
    best = _scipy_logistic_optimum(X, y)
    exp = ib.Experiment(
        model=ib.Linear(input_dim=X.shape[1]),
        data=ib.ArrayData(X, y, task="classification"),
        init=ib.Zero(),
        integrator=ib.GD(),
        loss=ib.Logistic(),
        sharpness=ib.SharpnessSpec(method="none", track=False),
        dtype="float64",
        converge_tol=1e-3,
    )
    run = ib.run_trajectory(exp, lr=1.0, steps=3000)
    opt = float(run.final["optimal_loss"])
    # Newton (quadratic convergence) and BFGS agree to rounding-level tolerance.
    assert opt == pytest.approx(best, rel=1e-7)
    loss = float(run.final["train_loss"])
    assert loss > 1.2 * opt, (loss, opt)  # the situation: >= 20% above the optimum
    c = metrics_dict(run, exp, 0.0)["status_criteria"]
    assert c["gradient_test"] is True  # small gradient: a gradient test alone would say yes
    assert c["optimum_test"] is False
    assert c["loss_gap"] == pytest.approx(loss - opt)
    assert run.status_names() == "max_steps"


def test_deep_linear_flow_at_the_saddle_is_stationary():
    """The issue's third case: gradient flow on the deep linear net from scale 0.1 sits at the
    saddle near 0 (loss ~1.61, gradient ~1.6e-5 below the old absolute 1e-4); Lanczos finds
    lambda_min ~ -2.8e-4 against lambda_max ~ 3.1e-4: a saddle, ``stationary``. The optimal
    loss the status compares with is the data's least-squares loss (numpy lstsq)."""
    exp = ib.Experiment(
        model=ib.DeepLinear(input_dim=5),
        data=ib.GaussianRegression(),
        init=ib.Gaussian(),
        integrator=ib.GradientFlow(),
        dtype="float64",
    )
    run = ib.run_trajectory(exp, init_scale=0.1, t1=30.0, seed=0)
    X, yv = np.asarray(run.data.X), np.asarray(run.data.y)
    w = np.linalg.lstsq(X, yv, rcond=None)[0]
    ls = float(np.mean((X @ w - yv) ** 2))
    assert float(run.final["optimal_loss"]) == pytest.approx(ls, rel=1e-10)
    assert float(run.final["train_loss"]) > 5 * ls
    assert float(run.final["grad_norm"]) < 1e-4
    c = metrics_dict(run, exp, 0.0)["status_criteria"]
    assert c["saddle"] is True and c["min_eigenvalue"] < -c["saddle_tol"]
    assert run.status_names() == "stationary"


def test_least_squares_gd_to_its_optimum_is_converged():
    """Overdetermined least squares from 0 with lr below 1/lambda_max: GD converges linearly;
    after 3000 steps both tests hold (gradient ~1e-12, loss at the lstsq optimum)."""
    exp = ib.Experiment(
        model=ib.Linear(input_dim=5),
        data=ib.GaussianRegression(n=50, d=5),
        init=ib.Zero(),
        integrator=ib.GD(),
        sharpness=ib.SharpnessSpec(method="exact", track=False),
        dtype="float64",
        converge_tol=1e-8,
    )
    run = ib.run_trajectory(exp, lr=0.1, steps=3000)
    assert run.status_names() == "converged", metrics_dict(run, exp, 0.0)["status_reason"]


def _crit(g0=1.0, gT=1e-9, L0=1.0, LT=0.1, opt=None, lam_min=None, lam_max=None):
    f = jnp.float64
    final = {"grad_norm": f(gT), "train_loss": f(LT)}
    if opt is not None:
        final["optimal_loss"] = f(opt)
    if lam_min is not None:
        final["min_eigenvalue"], final["sharpness"] = f(lam_min), f(lam_max)
    return criteria({"grad_norm": f(g0), "train_loss": f(L0)}, final, 1e-4)


@pytest.mark.parametrize(
    "kw, expected",
    [
        ({}, CONVERGED),  # gradient test, optimum unknown
        ({"gT": 1e-3}, MAX_STEPS),  # gradient 1e-3 > 1e-4 * max(1, 1)
        ({"g0": 100.0, "gT": 1e-3}, CONVERGED),  # relative to the initial gradient
        ({"g0": 0.0, "gT": 0.0, "LT": 1.0}, STATIONARY),  # never moved, optimum unknown
        ({"g0": 0.0, "gT": 0.0, "LT": 1.0, "opt": 1.0}, CONVERGED),  # started at the optimum
        ({"opt": 0.05}, MAX_STEPS),  # gap 0.05 > 1e-3 * 0.95
        ({"opt": 0.1 - 1e-5}, CONVERGED),  # gap 1e-5 <= 1e-3 * 0.9
        ({"lam_min": -1e-2, "lam_max": 1.0}, STATIONARY),  # saddle
        ({"lam_min": -1e-7, "lam_max": 1.0}, CONVERGED),  # rounding-level: not a saddle
        ({"gT": 1e-3, "lam_min": -1.0, "lam_max": 1.0}, MAX_STEPS),  # moving: no saddle claim
    ],
)
def test_decision_table(kw, expected):
    """Each rule of the README's table, on hand-made numbers."""
    got = int(decide(_crit(**kw)))
    assert got == expected, (kw, STATUS_NAMES[got])


def test_gradient_tolerance_has_a_rounding_floor():
    """converge_tol = 1e-8 (a float64 tolerance) and g_T = 1e-6 g_0: in float32 the gradient is
    not resolved below ~1e-6 of its scale, so the floor 100 eps = 1.2e-5 applies (converged); in
    float64 the floor is 2.2e-14 and the tolerance 1e-8 decides (max_steps)."""
    for dtype, expected in ((jnp.float32, CONVERGED), (jnp.float64, MAX_STEPS)):
        one = jnp.ones((), dtype)
        c = criteria(
            {"grad_norm": one, "train_loss": one},
            {"grad_norm": 1e-6 * one, "train_loss": 0.5 * one},
            1e-8,
        )
        assert int(decide(c)) == expected, dtype
        assert float(c["grad_tol"]) == pytest.approx(
            max(1e-8, 100 * float(jnp.finfo(dtype).eps)), rel=1e-6
        )


def test_separable_logistic_has_no_minimizer_and_is_never_converged():
    """Separable data (labels the sign of x . w): the logistic loss's infimum 0 is not attained
    (Newton's iterate keeps growing), so a run whose gradient passes even a loose tolerance is
    ``max_steps``, not ``converged``; on non-separable data the optimum is attained."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = np.sign(X @ np.array([1.0, -2.0, 0.5]))
    exp = ib.Experiment(
        model=ib.Linear(input_dim=3),
        data=ib.ArrayData(X, y, task="classification"),
        init=ib.Zero(),
        integrator=ib.GD(),
        loss=ib.Logistic(),
        sharpness=ib.SharpnessSpec(method="none", track=False),
        dtype="float64",
        converge_tol=0.5,  # the gradient test passes: only the missing minimizer decides
    )
    run = ib.run_trajectory(exp, lr=1.0, steps=2000)
    c = metrics_dict(run, exp, 0.0)["status_criteria"]
    assert c["gradient_test"] is True and c["optimum_attained"] is False
    assert run.status_names() == "max_steps"
    X2, y2 = _logistic_data(n=60, d=3)
    exp2 = ib.Experiment(**{**exp.__dict__, "data": ib.ArrayData(X2, y2, task="classification")})
    run2 = ib.run_trajectory(exp2, lr=1.0, steps=10)
    assert bool(run2.final["optimum_attained"])
