"""Separable classification: GD on the exponential / logistic loss against the hard-margin SVM
(Soudry, Hoffer, Nacson, Gunasekar & Srebro 2018, Theorem 3).

For a linear model from w = 0, ``w(k) = w_hat log(lr k) + w_tilde + o(1)`` where ``w_hat`` is
the hard-margin SVM (:func:`implicit_bias.theory.hard_margin_svm`) and ``w_tilde`` solves
``z_g . w_tilde = log(m_g / (n alpha_g))`` on the distinct support vectors (derivation in
:mod:`implicit_bias.theory.checks.max_margin`; the losses are means over the n samples).
Consequences tested: the slope of ``||w||`` in ``log k`` tends to ``||w_hat||``; the angle to
``w_hat`` is O(1/log k); the learning rate enters only through ``log(lr k)``.

Rate of the o(1) term (linearizing around the asymptote): ``delta = w - w_hat log tau -
w_tilde`` obeys ``d delta / d log tau = -A delta + O(tau^-(theta - 1))`` on the span of the
support vectors, ``A = sum_g alpha_g z_g z_g^T``, ``theta = min_{i not in S} z_i . w_hat``, so it
decays like ``tau^-lambda``, ``lambda = min(lambda_min(A), theta - 1)``. For the Soudry et al.
data (support vectors (0.5, 1.5), (1.5, 0.5) and their negatives, w_hat = (1/2, 1/2),
alpha = 1/4 each) ``A`` has eigenvalues 1 and 1/4, so lambda = 1/4: the convergence to the
asymptote is slow, and the tolerances below are set from measurements at 1e5 steps with a
factor of ~2 of slack, while the *rate* is tested against lambda directly. Because alpha_1 =
alpha_2, w_tilde is parallel to w_hat here, so the angle decays faster than 1/log k (it is
~tau^-1/4 / log tau); Soudry et al.'s O(1/log t) is an upper bound.

Runtime (2-core CPU): 1e5 GD steps of 16 points in d = 2, a batch of learning rates, is one
compiled loop: ~0.1 s of running after 2 s (idle machine) to 6 s (loaded) of compilation. The
1e6-step runs (~0.2 s each after compiling, but the Gaussian data needs its own compilation and
they repeat the fast checks) are marked slow.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias.data import Separable
from implicit_bias.engine import run_batch
from implicit_bias.experiment import Experiment, SharpnessSpec
from implicit_bias.inits import Zero
from implicit_bias.integrators import GD
from implicit_bias.losses import Exponential, Logistic
from implicit_bias.models import Linear
from implicit_bias.schedule import Schedule
from implicit_bias.theory import hard_margin_svm
from implicit_bias.theory.checks import MaxMarginCheck
from implicit_bias.theory.checks.max_margin import angle, rho_limit

jax.config.update("jax_enable_x64", True)

SOUDRY = Separable(layout="soudry", n_pos=6, n_neg=6, extra_gap=0.5)
W_HAT = np.array([0.5, 0.5])
LRS = (0.05, 0.1)
STEPS = 100_000
# Measured at 1e5 steps (exponential | logistic, lr 0.1 and 0.05): rho_error 0.023 0.031 |
# 0.023 0.031; angle 3.0e-3 3.7e-3 | 3.0e-3 3.7e-3; slope error -2.9% -4.3% | -2.7% -4.0%;
# margin gap 1.5e-3 1.8e-3 | 1.5e-3 1.9e-3; rho(T)/rho(T/10^1.5) 0.16-0.18 against the rate
# bound 0.41. Demanded, about twice those:
TOL_RHO, TOL_ANGLE, TOL_SLOPE, TOL_GAP = 0.06, 1e-2, 0.08, 5e-3


def _experiment(data, loss, num=50) -> Experiment:
    return Experiment(
        model=Linear(2),
        data=data,
        init=Zero(),
        integrator=GD(),
        loss=loss,
        sharpness=SharpnessSpec(method="none"),
        record=Schedule(num=num, spacing="log", params=True),
        dtype="float64",
        converge_tol=1e-12,
    )


def _rate(Z: np.ndarray, w_hat: np.ndarray) -> float:
    """``lambda = min(lambda_min(A), theta - 1)`` of the module docstring."""
    margins = Z @ w_hat
    active = margins <= 1 + 1e-7
    G = np.unique(Z[active], axis=0)
    alpha = np.linalg.lstsq(G.T, w_hat, rcond=None)[0]
    A = (alpha[:, None, None] * G[:, :, None] * G[:, None, :]).sum(0)
    return float(min(np.linalg.eigvalsh(A).min(), margins[~active].min() - 1.0))


def _rho_path(run, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """Steps and ``||P_S (w(k) - w_hat log(lr k) - w_tilde)||`` along the record (k >= 1)."""
    X, y = np.asarray(run.data.X), np.asarray(run.data.y)
    Z = y[:, None] * X
    svm = hard_margin_svm(X, y)
    w_tilde, span = rho_limit(Z, svm)
    k = np.asarray(run.times, np.float64)
    keep = k >= 1
    W = np.asarray(run.records["predictor"])[keep]
    res = W - np.log(lr * k[keep])[:, None] * svm.w - w_tilde
    return k[keep], np.linalg.norm(res @ span.T, axis=1)


def _check_rate(k: np.ndarray, rho: np.ndarray, lam: float, decades: float = 1.5):
    """``rho(T) / rho(T / 10^decades) <= (10^decades)^-lam`` (the linearized decay)."""
    i = int(np.argmin(np.abs(np.log10(k) - (np.log10(k[-1]) - decades))))
    assert rho[-1] / rho[i] <= (k[-1] / k[i]) ** (-lam), (rho[-1], rho[i], k[i], lam)


def test_soudry_layout_svm():
    d = SOUDRY.sample(jax.random.key(0), jnp.float64)
    X, y = np.asarray(d.X), np.asarray(d.y)
    svm = hard_margin_svm(X, y)
    np.testing.assert_allclose(svm.w, W_HAT, atol=1e-12)
    assert svm.margin == pytest.approx(np.sqrt(2.0), abs=1e-12)
    margins = (y[:, None] * X) @ W_HAT
    np.testing.assert_allclose(margins[:4], 1.0, atol=1e-15)  # the four support vectors
    assert np.all(margins[4:] >= 1.5)  # extra points: 1 + extra_gap
    assert _rate(y[:, None] * X, W_HAT) == pytest.approx(0.25, abs=1e-12)


def test_gaussian_layout_separable_through_origin():
    data = Separable(layout="gaussian", d=3, n_pos=40, n_neg=25, margin=0.3)
    for seed in range(3):
        d = data.sample(jax.random.key(seed), jnp.float64)
        X, y = np.asarray(d.X), np.asarray(d.y)
        assert np.all(y * X[:, 0] >= 0.3 - 1e-12)  # the planted margin along e_1
        svm = hard_margin_svm(X, y)
        assert svm.margin >= 0.3 - 1e-9  # max margin >= planted margin
        assert np.all((y[:, None] * X) @ svm.w >= 1 - 1e-9)
        Xt, yt = np.asarray(d.X_test), np.asarray(d.y_test)
        assert Xt.shape == X.shape and np.all(yt * Xt[:, 0] >= 0.3 - 1e-12)


@pytest.mark.parametrize("loss", [Exponential(), Logistic()], ids=["exponential", "logistic"])
def test_gd_soudry_layout_converges_to_svm_direction(loss):
    exp = _experiment(SOUDRY, loss)
    res = run_batch(exp, seed=0, lr=list(LRS), steps=STEPS)
    X, y = np.asarray(res.data.X[0]), np.asarray(res.data.y[0])
    Z = y[:, None] * X
    lam = _rate(Z, W_HAT)
    finals = []
    for b, lr in enumerate(LRS):
        run = res[b]
        ref = MaxMarginCheck()(exp, run)
        np.testing.assert_allclose(ref["svm_w"], W_HAT, atol=1e-12)
        # Theorem 3 with the constant: w(T) - w_hat log(lr T) -> w_tilde.
        k, rho = _rho_path(run, lr)
        assert ref["rho_error"] == pytest.approx(rho[-1], rel=1e-9)
        assert rho[-1] < TOL_RHO
        _check_rate(k, rho, lam)
        # Direction: small, and O(1/log t): angle * log t non-increasing over the last 1.5
        # decades (it rises until k ~ 1e3 while the transient of the extra points dies out).
        W = np.asarray(run.records["predictor"])
        late = k >= STEPS / 10**1.5
        angles = np.array([angle(w, W_HAT) for w in W[-late.sum() :]])
        assert ref["angle"] < TOL_ANGLE and ref["margin_gap"] < TOL_GAP
        assert np.all(np.diff(angles * np.log(k[late])) <= 1e-12)
        # ||w|| grows like ||w_hat|| log t: the fitted slope on the last decade ...
        assert abs(ref["slope_relative_error"]) < TOL_SLOPE
        # ... while ||w||/log T is still far from ||w_hat|| (an O(1/log T) offset, predicted).
        w_tilde = np.asarray(ref["w_tilde"])
        predicted = np.linalg.norm(W_HAT * np.log(lr * STEPS) + w_tilde)
        assert np.linalg.norm(W[-1]) == pytest.approx(predicted, abs=TOL_RHO)
        assert ref["norm_over_log_t"] < 0.8 * ref["svm_norm"]
        finals.append(W[-1])
    # The learning rate enters through log(lr t): halving lr shifts w by w_hat log 2.
    shift = finals[1] - finals[0] - W_HAT * np.log(LRS[1] / LRS[0])
    # Measured 0.0089 (exponential), 0.0084 (logistic), against ||w_hat|| log 2 = 0.49.
    assert np.linalg.norm(shift) < 0.03


@pytest.mark.slow
@pytest.mark.parametrize("loss", [Exponential(), Logistic()], ids=["exponential", "logistic"])
def test_gd_one_million_steps(loss):
    # Soudry layout, and an asymmetric Gaussian data set (seed 5) whose two support vectors
    # span R^2, so that w_tilde, hence the asymptotic angle ~ |P_perp w_tilde| /
    # (||w_hat|| log tau), is fully predicted (its rate lambda = min(0.485, 0.510) = 0.485).
    # Measured at 1e6 steps, lr 0.1 (exponential | logistic): Soudry rho_error 0.0116, slope
    # error -0.65%; Gaussian angle 0.1302 | 0.1304 vs predicted 0.1392 (-6.5%), rho_error
    # 0.233 | 0.223, slope error -8.7% | -8.2%.
    lr, steps = 0.1, 1_000_000
    exp = _experiment(SOUDRY, loss, num=60)
    run = run_batch(exp, seed=0, lr=lr, steps=steps)[0]
    ref = MaxMarginCheck()(exp, run)
    k, rho = _rho_path(run, lr)
    assert rho[-1] < TOL_RHO / 3 and abs(ref["slope_relative_error"]) < TOL_SLOPE / 4
    _check_rate(k, rho, 0.25, decades=2.0)

    data = Separable(layout="gaussian")
    exp = _experiment(data, loss, num=60)
    run = run_batch(exp, seed=5, lr=lr, steps=steps)[0]
    X, y = np.asarray(run.data.X), np.asarray(run.data.y)
    Z = y[:, None] * X
    svm = hard_margin_svm(X, y)
    assert np.linalg.matrix_rank(Z[Z @ svm.w <= 1 + 1e-7]) == 2  # w_tilde fully determined
    k, rho = _rho_path(run, lr)
    _check_rate(k, rho, _rate(Z, svm.w), decades=1.5)
    ref = MaxMarginCheck()(exp, run)
    # The measured angle differs from the asymptote's by at most the angle subtended by the
    # remainder rho (geometry), and the remainder is small: within 10% (measured 6.5%).
    asymptote = np.log(lr * steps) * svm.w + np.asarray(ref["w_tilde"])
    assert abs(ref["angle"] - ref["angle_predicted"]) <= np.arcsin(
        ref["rho_error"] / np.linalg.norm(asymptote)
    )
    assert ref["angle"] == pytest.approx(ref["angle_predicted"], rel=0.1)
    assert abs(ref["slope_relative_error"]) < 0.15


def test_separable_validation_and_presets():
    from implicit_bias.app.build import build_experiment, build_reference
    from implicit_bias.app.compose import compose
    from implicit_bias.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^data\.d="):
        Separable(layout="soudry", d=3)
    with pytest.raises(ConfigError, match=r"^data\.layout="):
        Separable(layout="circles")
    with pytest.raises(ConfigError, match=r"^data\.shift_neg="):
        Separable(margin=1.0, shift_neg=0.5)
    for preset, layout in (("max_margin", "soudry"), ("max_margin_gaussian", "gaussian")):
        cfg = compose([f"+experiment={preset}"])
        exp = build_experiment(cfg)
        assert isinstance(exp.data, Separable) and exp.data.layout == layout
        assert isinstance(exp.loss, Exponential) and isinstance(
            build_reference(cfg), MaxMarginCheck
        )
        assert exp.record.params and exp.record.spacing == "log"


# --- the rate: ||w|| / log t, the log log t correction, t * loss(t) (Yao's slides Thm 3) -------


@pytest.fixture(scope="module")
def rate_runs():
    """GD from 0 at lr 0.1 for 1e6 steps (tau = lr k up to 1e5) on the Soudry data and on the
    degenerate data of max_margin_rate (a support vector on the margin with dual variable 0)."""
    from implicit_bias.papers.least_squares import max_margin_rate as M

    sets = M.datasets()
    soudry = M.run(*sets["Soudry et al. data"], steps=1_000_000)
    degenerate = M.run(M.Degenerate(), 0, steps=1_000_000)
    return soudry, degenerate


def _at(rate, tau):
    return int(np.argmin(np.abs(rate.tau - tau)))


def test_loss_decays_like_norm_w_hat_squared_over_t(rate_runs):
    """tau L(tau) -> sum of the dual variables = ||w_hat||^2 (0.5 and 1 here); at tau = 1e5 the
    O(1/log tau) remainder is measured at 0.4% and 1.1%: tolerance 2%. The dual (NNLS) and
    ||w_hat||^2 agree to 1e-9."""
    for rate in rate_runs:
        assert rate.alpha.sum() == pytest.approx(rate.w_hat @ rate.w_hat, rel=1e-9)
        i = _at(rate, 1e5)
        assert rate.tau_loss[i] == pytest.approx(rate.w_hat @ rate.w_hat, rel=0.02)


def test_residual_bounded_for_soudry_and_log_log_for_degenerate(rate_runs):
    """Soudry data (every support vector has alpha > 0): rho = w - w_hat log tau converges to
    Theorem 3's w_tilde (distance at tau = 1e5 measured 0.012; tolerance 0.05) and moves by
    < 0.05 over the last decade. Degenerate data: rho_2 = w_2 grows without bound with slope
    1 against log log tau (measured 1.00 between tau = 1e2 and 1e5; tolerance 0.05), while
    w_2 - log log tau stays within 0.25 of 0 (its predicted -(log log tau - C)/log tau)."""
    soudry, deg = rate_runs
    i, j = _at(soudry, 1e4), _at(soudry, 1e5)
    assert np.linalg.norm(soudry.rho[j] - soudry.w_tilde) < 0.05
    assert np.linalg.norm(soudry.rho[j] - soudry.rho[i]) < 0.05
    np.testing.assert_allclose(deg.w_hat, [1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(deg.alpha[[0, 1]], [1.0, 0.0], atol=1e-9)  # alpha = 0 on the margin
    a, b = _at(deg, 1e2), _at(deg, 1e5)
    lll = np.log(np.log(np.maximum(deg.tau, np.e)))  # tau >= 1e2 below
    slope = (deg.w[b, 1] - deg.w[a, 1]) / (lll[b] - lll[a])
    assert slope == pytest.approx(1.0, abs=0.05)
    assert np.abs(deg.w[a : b + 1, 1] - lll[a : b + 1]).max() < 0.25
    assert deg.w[b, 1] > deg.w[a, 1] + 0.8  # unbounded: +0.92 over three decades


def test_norm_over_log_t_tends_to_norm_w_hat(rate_runs):
    """||w(tau)|| / log tau -> ||w_hat|| at rate O(1/log tau): |ratio - ||w_hat|| | log tau stays
    bounded by ||rho|| + small (triangle inequality: | ||w|| - ||w_hat|| log tau | <= ||rho||)."""
    for rate in rate_runs:
        late = rate.tau >= 10
        gap = np.abs(
            np.linalg.norm(rate.w[late], axis=1)
            - np.linalg.norm(rate.w_hat) * np.log(rate.tau[late])
        )
        assert np.all(gap <= np.linalg.norm(rate.rho[late], axis=1) + 1e-12)
