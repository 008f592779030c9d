"""Tests of implicit_bias.theory against independent checks.

Every reference is compared with something computed another way: optimality (KKT) conditions,
a second solver, a closed form, or a numerical integration of the gradient flow. Tolerances are
stated next to each assertion with the reason for their size; float64 rounding is ~1e-16, so
"exact" closed forms are held to ~1e-10..1e-12 and iterative/ODE references to the accuracy of
the independent method.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
from scipy.integrate import solve_ivp

from implicit_bias.theory import (
    akt_risk_ratio_bound,
    balanced_rank_one_sharpness,
    basis_pursuit,
    basis_pursuit_nonnegative,
    deep_linear_sharpness_bounds,
    diagonal_network_limit,
    diagonal_network_limit_nonnegative,
    gradient_flow_least_squares,
    hard_margin_svm,
    leaky_relu_limit,
    min_l2_solution,
    min_norm_solution,
    relative_entropy_potential,
    relu_counterexample_limit,
    ridge_gf_risk_ratio,
    ridge_lambda_for_time,
    ridge_path,
    solve_diagonal_network,
    woodworth_potential,
)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _null_space(A: np.ndarray) -> np.ndarray:
    return scipy.linalg.null_space(A)


# --------------------------------------------------------------------------------------------
# 1. minimum-norm solution
# --------------------------------------------------------------------------------------------


def test_min_norm_matches_pinv_and_gradient_descent():
    rng = _rng(0)
    n, d = 8, 20
    X, y, w0 = rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d)
    w = min_norm_solution(X, y, w0)
    # independent closed form (numpy pinv): exact up to rounding * cond(X) ~ 1e-14
    np.testing.assert_allclose(w, w0 + np.linalg.pinv(X) @ (y - X @ w0), atol=1e-12)
    # interpolates, and w - w0 is in the row space (orthogonal to null(X))
    np.testing.assert_allclose(X @ w, y, atol=1e-12)
    assert np.abs(_null_space(X).T @ (w - w0)).max() < 1e-12
    # plain gradient descent on mean((Xw - y)^2) from w0: contraction factor
    # 1 - lam_min/lam_max ~ 0.93 per step here, so 1500 steps reach rounding level
    H = 2.0 / n * X.T @ X
    lr = 1.0 / np.linalg.eigvalsh(H)[-1]
    v = w0.copy()
    for _ in range(1500):
        v -= lr * (2.0 / n) * X.T @ (X @ v - y)
    np.testing.assert_allclose(v, w, atol=1e-10)
    assert min_l2_solution(X, y, w0) == pytest.approx(w, abs=0)


def test_min_norm_overdetermined_is_least_squares():
    rng = _rng(1)
    X, y = rng.normal(size=(30, 5)), rng.normal(size=30)
    # full column rank: the unique least-squares solution (normal equations), any w0
    w_ls = np.linalg.solve(X.T @ X, X.T @ y)
    np.testing.assert_allclose(min_norm_solution(X, y, rng.normal(size=5)), w_ls, atol=1e-12)


def test_min_norm_validation():
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        min_norm_solution(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        min_norm_solution(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="w0 must have shape"):
        min_norm_solution(np.ones((3, 2)), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="X must contain only finite"):
        min_norm_solution(np.array([[1.0, np.nan]]), np.ones(1))


# --------------------------------------------------------------------------------------------
# 2. ridge path and gradient flow on least squares
# --------------------------------------------------------------------------------------------


def test_ridge_path_matches_normal_equations():
    rng = _rng(2)
    n, d = 15, 10
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    lams = np.array([0.0, 1e-3, 0.1, 1.0, 10.0, np.inf])
    W = ridge_path(X, y, lams)
    for lam, w in zip(lams[1:-1], W[1:-1], strict=True):
        # solve((X^T X + n lam I), X^T y), and the gradient of (1/n)||Xw-y||^2 + lam||w||^2
        np.testing.assert_allclose(
            w, np.linalg.solve(X.T @ X + n * lam * np.eye(d), X.T @ y), atol=1e-12
        )
        assert np.abs(2 / n * X.T @ (X @ w - y) + 2 * lam * w).max() < 1e-12
    np.testing.assert_allclose(W[0], min_norm_solution(X, y), atol=1e-12)
    np.testing.assert_array_equal(W[-1], np.zeros(d))


def _flow_by_expm(X, y, w0, t, loss_scale):
    """w(t) for dw/dt = -H w + g via one augmented matrix exponential (no SVD)."""
    n, d = X.shape
    H = 2 * loss_scale / n * X.T @ X
    g = 2 * loss_scale / n * X.T @ y
    M = np.zeros((d + 1, d + 1))
    M[:d, :d], M[:d, d] = -H, g
    E = scipy.linalg.expm(M * t)
    return E[:d, :d] @ w0 + E[:d, d]


@pytest.mark.parametrize("loss_scale", [1.0, 0.5])
def test_gradient_flow_least_squares_matches_expm(loss_scale):
    rng = _rng(3)
    n, d = 6, 9
    X, y, w0 = rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d)
    ts = np.array([0.0, 0.01, 0.3, 2.0, 25.0])
    W = gradient_flow_least_squares(X, y, ts, w0=w0, loss_scale=loss_scale)
    for t, w in zip(ts, W, strict=True):
        # expm (scaling-and-squaring Pade) is accurate to ~1e-13 relative at these norms
        np.testing.assert_allclose(w, _flow_by_expm(X, y, w0, t, loss_scale), atol=1e-10)
    # t = inf is the minimum-norm limit from w0
    w_inf = gradient_flow_least_squares(X, y, np.inf, w0=w0, loss_scale=loss_scale)[0]
    np.testing.assert_allclose(w_inf, min_norm_solution(X, y, w0), atol=1e-12)
    # loss_scale only rescales time: w_{s}(t) = w_{1}(s t)
    W1 = gradient_flow_least_squares(X, y, loss_scale * ts, w0=w0)
    np.testing.assert_allclose(W, W1, atol=1e-12)


def test_akt_calibration_matches_shrinkage_factors():
    """GF at t and ridge at lam = 1/(2t) have factors 1-exp(-x) and x/(1+x) (AKT 2019)."""
    rng = _rng(4)
    n, d = 12, 5
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    t = 0.7
    lam = ridge_lambda_for_time(t)[0]
    assert lam == pytest.approx(1 / (2 * t))
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    x = 2 * s**2 * t / n
    wr = ridge_path(X, y, lam)[0]
    wg = gradient_flow_least_squares(X, y, t)[0]
    np.testing.assert_allclose(Vt @ wr, x / (1 + x) * (U.T @ y) / s, atol=1e-12)
    np.testing.assert_allclose(Vt @ wg, -np.expm1(-x) * (U.T @ y) / s, atol=1e-12)
    # AKT's own convention: flow on (1/(2n))||.||^2 at time t_akt = 1/lam
    wg_akt = gradient_flow_least_squares(X, y, 1 / lam, loss_scale=0.5)[0]
    np.testing.assert_allclose(wg_akt, wg, atol=1e-12)


def test_risk_ratio_formula_and_akt_bound():
    # the constant sup ((1 - e^-x)(1 + x)/x)^2 = 1.685909 at x = 1.7933 (fine grid); AKT
    # quote it rounded up as 1.6862
    assert akt_risk_ratio_bound() == pytest.approx(1.6859090583, abs=1e-9)
    rng = _rng(5)
    ts = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 61), [np.inf]])
    worst = 0.0
    for n, d, sigma in [(20, 10, 0.5), (10, 30, 1.0), (40, 40, 3.0), (30, 8, 0.0)]:
        X = rng.normal(size=(n, d)) * rng.uniform(0.1, 3.0, size=d)
        beta0 = rng.normal(size=d)
        for risk in ("estimation", "in_sample"):
            rc = ridge_gf_risk_ratio(X, beta0, sigma, ts, risk=risk)
            # holds coordinatewise in the eigenbasis; 1e-12 slack for rounding
            assert np.all(rc.ratio <= akt_risk_ratio_bound() + 1e-12)
            assert rc.ratio[0] == pytest.approx(1.0) and rc.ratio[-1] == pytest.approx(1.0)
            worst = max(worst, float(rc.ratio.max()))
    assert worst > 1.0  # the flow is strictly worse than ridge somewhere
    # independent evaluation of the estimation risk: bias from the noiseless fit, variance
    # sigma^2 ||S||_F^2 from the estimator's matrix S (columns: responses to unit y = e_j)
    n, d, sigma, t = 15, 6, 0.8, 0.4
    X, beta0 = rng.normal(size=(n, d)), rng.normal(size=d)
    rc = ridge_gf_risk_ratio(X, beta0, sigma, t)
    lam = rc.lambdas[0]
    for est, risk in [
        (lambda yy: gradient_flow_least_squares(X, yy, t)[0], rc.gf_risk[0]),
        (lambda yy: ridge_path(X, yy, lam)[0], rc.ridge_risk[0]),
    ]:
        S = np.stack([est(e) for e in np.eye(n)], axis=1)
        bias = est(X @ beta0) - beta0
        assert risk == pytest.approx(bias @ bias + sigma**2 * np.sum(S**2), rel=1e-12)


def test_ridge_validation():
    with pytest.raises(ValueError, match="lambdas must be >= 0"):
        ridge_path(np.ones((3, 2)), np.ones(3), [-1.0])
    with pytest.raises(ValueError, match="loss_scale must be > 0"):
        gradient_flow_least_squares(np.ones((3, 2)), np.ones(3), [1.0], loss_scale=0.0)
    with pytest.raises(ValueError, match="risk must be"):
        ridge_gf_risk_ratio(np.ones((3, 2)), np.ones(2), 1.0, [1.0], risk="oops")


# --------------------------------------------------------------------------------------------
# 3. hard-margin SVM
# --------------------------------------------------------------------------------------------


def test_svm_analytic_examples():
    # signed points z = y x: (1,0) and (0,1) are the support, (2,2), (3,1) are not:
    # w = (1, 1), margin 1/sqrt(2), dual (1, 1)
    X = np.array([[1.0, 0.0], [2.0, 2.0], [3.0, 1.0], [0.0, -1.0]])
    y = np.array([1.0, 1.0, 1.0, -1.0])
    s = hard_margin_svm(X, y)
    np.testing.assert_allclose(s.w, [1.0, 1.0], atol=1e-12)
    assert s.margin == pytest.approx(1 / np.sqrt(2), abs=1e-12)
    np.testing.assert_array_equal(s.support, [0, 3])
    np.testing.assert_allclose(s.dual, [1.0, 0.0, 0.0, 1.0], atol=1e-12)
    # one support vector: w = z1 / ||z1||^2 = (1/2, 1/2) already satisfies (3,0).w = 1.5 >= 1
    s = hard_margin_svm(np.array([[1.0, 1.0], [3.0, 0.0]]), np.array([1.0, 1.0]))
    np.testing.assert_allclose(s.w, [0.5, 0.5], atol=1e-12)
    np.testing.assert_array_equal(s.support, [0])


def test_svm_kkt_random():
    rng = _rng(6)
    for _ in range(5):
        X = rng.normal(size=(40, 5))
        y = np.sign(X @ rng.normal(size=5))
        s = hard_margin_svm(X, y)
        G = y[:, None] * X
        m = G @ s.w
        # KKT of min ||w||^2/2 s.t. G w >= 1, each to rounding level (polished solution)
        assert np.all(s.dual >= 0)
        np.testing.assert_allclose(G.T @ s.dual, s.w, atol=1e-10)  # stationarity
        assert m.min() >= 1 - 1e-10  # primal feasibility
        assert np.abs(s.dual * (m - 1)).max() < 1e-10  # complementary slackness
        np.testing.assert_allclose(m[s.support], 1.0, atol=1e-8)
        assert s.margin == pytest.approx(np.min(X @ s.direction * y), rel=1e-10)


def test_svm_matches_slsqp():
    rng = _rng(7)
    X = rng.normal(size=(12, 3))
    y = np.sign(X @ np.array([1.0, -2.0, 0.5]))
    s = hard_margin_svm(X, y)
    G = y[:, None] * X
    res = scipy.optimize.minimize(
        lambda w: 0.5 * w @ w,
        x0=5 * s.direction / s.margin,  # feasible start, not the answer
        jac=lambda w: w,
        constraints=[{"type": "ineq", "fun": lambda w: G @ w - 1, "jac": lambda w: G}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 500},
    )
    assert res.success
    # SLSQP's accuracy on this 3-D QP is ~1e-8 at worst (measured 6e-15)
    np.testing.assert_allclose(res.x, s.w, atol=1e-7)


def test_svm_soudry_figure1_style():
    """Soudry et al. (2018) Fig. 1-style data: max-margin direction (1,1)/sqrt(2), and GD on the
    logistic loss from a generic init approaches it in angle (slowly, ~1/log t)."""
    X = np.array([[0.5, 1.5], [1.5, 0.5], [-0.5, -1.5], [-1.5, -0.5]])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    s = hard_margin_svm(X, y)
    np.testing.assert_allclose(s.w, [0.5, 0.5], atol=1e-12)
    assert s.margin == pytest.approx(np.sqrt(2), abs=1e-12)
    np.testing.assert_array_equal(s.support, [0, 1, 2, 3])  # all four are on the margin
    G = y[:, None] * X
    w = np.array([1.0, -0.5])
    angles = []
    for k in range(1, 10_001):
        w += 1.0 * (G.T @ (1.0 / (1.0 + np.exp(G @ w)))) / 4  # GD, lr 1, mean logistic loss
        if k in (10, 100, 1_000, 10_000):
            angles.append(np.arccos(np.clip(w @ s.direction / np.linalg.norm(w), -1, 1)))
    assert all(a > b for a, b in itertools.pairwise(angles))
    assert angles[-1] < 0.03  # measured 0.0175 rad at 1e4 steps


def test_svm_not_separable_and_validation():
    with pytest.raises(ValueError, match="not linearly separable"):
        hard_margin_svm(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([1.0, 1.0]))
    rng = _rng(8)
    X = rng.normal(size=(40, 2))
    with pytest.raises(ValueError, match="not linearly separable"):
        hard_margin_svm(X, np.sign(X[:, 0] * X[:, 1]))  # XOR labels
    with pytest.raises(ValueError, match="not linearly separable"):
        hard_margin_svm(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="y must contain only labels -1 and"):
        hard_margin_svm(np.ones((2, 2)), np.array([0.0, 1.0]))


# --------------------------------------------------------------------------------------------
# 4. basis pursuit
# --------------------------------------------------------------------------------------------


def _l1_dual_value(A, b, nonnegative):
    """Independent dual LP: max b.nu s.t. |A^T nu| <= 1 (resp. A^T nu <= 1)."""
    d = A.shape[1]
    A_ub = A.T if nonnegative else np.vstack([A.T, -A.T])
    b_ub = np.ones(d if nonnegative else 2 * d)
    res = scipy.optimize.linprog(-b, A_ub=A_ub, b_ub=b_ub, bounds=(None, None), method="highs")
    assert res.status == 0
    return -res.fun


def test_basis_pursuit_recovery_and_duality():
    rng = _rng(9)
    A = rng.normal(size=(20, 60))
    x0 = np.zeros(60)
    x0[[3, 17, 40]] = [1.5, -2.0, 0.7]
    x = basis_pursuit(A, A @ x0)
    # 3-sparse in 20 Gaussian measurements: exact recovery; polished, so to rounding level
    np.testing.assert_allclose(x, x0, atol=1e-10)
    # generic b: certify optimality with the independent dual LP (strong duality, HiGHS
    # tolerances 1e-10 relative -> 1e-8 on the objective)
    b = rng.normal(size=20)
    x = basis_pursuit(A, b)
    np.testing.assert_allclose(A @ x, b, atol=1e-12)
    assert np.abs(x).sum() == pytest.approx(_l1_dual_value(A, b, False), rel=1e-8)
    assert np.count_nonzero(np.abs(x) > 1e-12) <= 20  # a vertex


def test_basis_pursuit_nonnegative():
    rng = _rng(10)
    A = rng.normal(size=(15, 40))
    x0 = np.zeros(40)
    x0[[1, 8, 30]] = [1.0, 0.5, 2.0]
    x = basis_pursuit_nonnegative(A, A @ x0)
    np.testing.assert_allclose(x, x0, atol=1e-10)
    b = A @ rng.uniform(0, 1, size=40)
    x = basis_pursuit_nonnegative(A, b)
    assert x.min() >= 0
    np.testing.assert_allclose(A @ x, b, atol=1e-10)
    assert x.sum() == pytest.approx(_l1_dual_value(A, b, True), rel=1e-8)
    with pytest.raises(ValueError, match="b is infeasible"):
        basis_pursuit_nonnegative(np.ones((1, 3)), [-1.0])
    with pytest.raises(ValueError, match="b is infeasible"):
        basis_pursuit(np.array([[1.0, 1.0], [1.0, 1.0]]), [1.0, 2.0])


# --------------------------------------------------------------------------------------------
# 5. diagonal linear networks
# --------------------------------------------------------------------------------------------


def _sparse_problem(seed=11, n=10, d=40, support=(3, 17, 30)):
    rng = _rng(seed)
    A = rng.normal(size=(n, d))
    x0 = np.zeros(d)
    x0[list(support)] = [1.5, -2.0, 0.7]
    return A, A @ x0


def test_diagonal_network_kkt_across_alpha():
    A, b = _sparse_problem()
    N = _null_space(A)
    for alpha in np.logspace(-6, 1, 8):
        sol = solve_diagonal_network(A, b, alpha)
        beta = sol.beta
        # feasibility: the dual gradient is driven to rounding level (measured <= 2e-12)
        assert np.linalg.norm(A @ beta - b) <= 1e-10 * np.linalg.norm(b)
        # stationarity with the returned multiplier: beta = 2 alpha^2 sinh(A^T mu)
        np.testing.assert_allclose(
            beta, 2 * alpha**2 * np.sinh(A.T @ sol.mu), rtol=1e-9, atol=1e-14
        )
        # independent of mu: grad Q_alpha(beta) = asinh(beta / (2 alpha^2)) lies in range(A^T)
        g = np.arcsinh(beta / (2 * alpha**2))
        assert np.abs(N.T @ g).max() <= 1e-8 * max(1.0, np.abs(g).max())


def test_diagonal_network_minimizes_woodworth_potential():
    """Q_alpha (Woodworth et al. 2020, Thm 1 constants) is minimal at beta among A x = b."""
    A, b = _sparse_problem(seed=12, n=6, d=15, support=(1, 5, 9))
    N = _null_space(A)
    rng = _rng(13)
    for alpha in (1e-3, 0.1, 1.0, 3.0):
        beta = diagonal_network_limit(A, b, alpha)
        q0 = woodworth_potential(beta, alpha)
        for scale in (1e-4, 1e-2, 1.0):
            for _ in range(10):
                delta = N @ rng.normal(size=N.shape[1]) * scale
                # strict convexity: any feasible perturbation increases Q (slack for rounding)
                assert woodworth_potential(beta + delta, alpha) >= q0 - 1e-12 * max(1.0, abs(q0))


@pytest.mark.parametrize("alpha", [0.1, 0.5])
def test_diagonal_network_matches_gradient_flow_integration(alpha):
    """Integrate u' = -2 u g, v' = 2 v g (g = grad of mean((A beta - b)^2)) to convergence."""
    rng = _rng(14)
    n, d = 3, 6
    A, b = rng.normal(size=(n, d)), rng.normal(size=n)

    def rhs(_, p):
        u, v = p[:d], p[d:]
        g = 2.0 / n * A.T @ (A @ (u * u - v * v) - b)
        return np.concatenate([-2 * u * g, 2 * v * g])

    # LSODA (stiff-aware: the flow relaxes on very different time scales) to t = 200, where
    # the flow has converged to rounding: measured error 5e-14 (alpha=0.1), 1.2e-13 (0.5)
    sol = solve_ivp(rhs, (0, 200), np.full(2 * d, alpha), method="LSODA", rtol=1e-12, atol=1e-14)
    u, v = sol.y[:d, -1], sol.y[d:, -1]
    np.testing.assert_allclose(u * u - v * v, diagonal_network_limit(A, b, alpha), atol=1e-8)


def test_diagonal_network_interpolates_between_l1_and_l2():
    A, b = _sparse_problem()
    bp = basis_pursuit(A, b)
    l2 = min_l2_solution(A, b)
    alphas = np.logspace(-6, 0, 7)
    gaps = [np.abs(diagonal_network_limit(A, b, a)).sum() - np.abs(bp).sum() for a in alphas]
    # rich regime: the L1 excess decreases monotonically as alpha -> 0 (like 1/log(1/alpha)
    # here, since the BP support is smaller than n); measured 2.4 at alpha=1, 5e-3 at 1e-6
    assert all(g2 < g1 for g1, g2 in zip(gaps[::-1], gaps[::-1][1:], strict=False))
    assert gaps[0] >= -1e-10 and gaps[0] < 1e-2 * gaps[-1]
    # kernel regime: Q_alpha(beta) = ||beta||^2/(4 alpha^2) (1 + O(beta^2/alpha^4)), so the
    # distance to the min-L2 interpolator decays like alpha^-4 (measured: 2.2e-7 relative at
    # alpha = 10)
    big = np.array([1.0, 10**0.5, 10.0])
    dist = np.array([np.linalg.norm(diagonal_network_limit(A, b, a) - l2) for a in big])
    assert dist[-1] < 1e-5 * np.linalg.norm(l2)
    slopes = np.diff(np.log(dist)) / np.diff(np.log(big))
    np.testing.assert_allclose(slopes, -4.0, atol=0.1)


def test_nonnegative_diagonal_network():
    rng = _rng(15)
    n, d = 5, 12
    A = rng.normal(size=(n, d))
    b = A @ rng.uniform(0.5, 1.5, size=d)  # strictly positive feasible point exists
    N = _null_space(A)
    for alpha in (1e-6, 1e-3, 0.3, 3.0):
        sol = solve_diagonal_network(A, b, alpha, nonnegative=True)
        x = sol.beta
        assert sol.free.all() and x.min() > 0
        assert np.linalg.norm(A @ x - b) <= 1e-10 * np.linalg.norm(b)
        np.testing.assert_allclose(x, alpha**2 * np.exp(A.T @ sol.mu), rtol=1e-9)
        # mirror-descent optimality: log(x / alpha^2) in range(A^T)
        g = np.log(x) - 2 * np.log(alpha)
        assert np.abs(N.T @ g).max() <= 1e-8 * max(1.0, np.abs(g).max())
        # the relative entropy to alpha^2 1 grows along feasible directions
        for _ in range(10):
            delta = N @ rng.normal(size=N.shape[1]) * 1e-2 * x.min()
            d0 = relative_entropy_potential(x, alpha)
            assert relative_entropy_potential(x + delta, alpha) >= d0 - 1e-12 * max(1.0, abs(d0))
    # alpha -> 0: sum(x) approaches the nonnegative basis pursuit value
    bpn = basis_pursuit_nonnegative(A, b).sum()
    excess = [diagonal_network_limit_nonnegative(A, b, a).sum() - bpn for a in (1e-1, 1e-3, 1e-6)]
    assert excess[0] > excess[1] > excess[2] >= -1e-10


def test_nonnegative_diagonal_network_gradient_flow_and_forced_zeros():
    rng = _rng(16)
    n, d, alpha = 2, 5, 0.5
    A = rng.normal(size=(n, d))
    b = A @ rng.uniform(0.5, 1.5, size=d)

    def rhs(_, u):
        return -2 * u * (2.0 / n * A.T @ (A @ (u * u) - b))

    sol = solve_ivp(rhs, (0, 200), np.full(d, alpha), method="LSODA", rtol=1e-12, atol=1e-14)
    # converged to rounding by t = 200 (measured error ~1e-12)
    np.testing.assert_allclose(
        sol.y[:, -1] ** 2, diagonal_network_limit_nonnegative(A, b, alpha), atol=1e-8
    )
    # feasible set {x1 + x2 + x3 = 2, x3 + x4 = 0, x >= 0} forces x3 = x4 = 0; the entropy
    # projection of alpha^2 1 onto {x1 + x2 = 2} is (1, 1) for every alpha
    A2 = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    for alpha in (1e-4, 1.0):
        sol2 = solve_diagonal_network(A2, [2.0, 0.0], alpha, nonnegative=True)
        np.testing.assert_array_equal(sol2.free, [True, True, False, False])
        np.testing.assert_allclose(sol2.beta, [1.0, 1.0, 0.0, 0.0], atol=1e-12)


def test_nonnegative_diagonal_network_matches_cvxpy_entropy_projection():
    cp = pytest.importorskip("cvxpy")
    rng = _rng(17)
    n, d = 4, 10
    A = rng.normal(size=(n, d))
    b = A @ rng.uniform(0.5, 1.5, size=d)
    for alpha in (0.1, 1.0):
        x = cp.Variable(d)
        prob = cp.Problem(cp.Minimize(cp.sum(cp.kl_div(x, alpha**2 * np.ones(d)))), [A @ x == b])
        prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
        ref = diagonal_network_limit_nonnegative(A, b, alpha)
        # the objective is flat at the optimum, so an interior-point x is only accurate to
        # ~sqrt(gap): measured 1.6e-5 (alpha = 0.1) and 7e-6 (alpha = 1) at gap 1e-10, while the
        # reference meets its KKT conditions to 1e-15; the objective values agree to ~1e-11
        np.testing.assert_allclose(ref, x.value, atol=1e-4)
        assert relative_entropy_potential(ref, alpha) == pytest.approx(prob.value, rel=1e-8)


def test_diagonal_network_validation():
    with pytest.raises(ValueError, match="alpha must be > 0"):
        diagonal_network_limit(np.eye(2), np.ones(2), 0.0)
    with pytest.raises(ValueError, match="b is not in the range of A"):
        diagonal_network_limit(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([1.0, 2.0]), 1.0)
    with pytest.raises(ValueError, match="b is infeasible"):
        diagonal_network_limit_nonnegative(np.ones((1, 3)), np.array([-1.0]), 1.0)


# --------------------------------------------------------------------------------------------
# 6. nuclear norm (optional cvxpy)
# --------------------------------------------------------------------------------------------


def test_nuclear_norm_minimizer_recovery_and_certificate():
    cp = pytest.importorskip("cvxpy")
    from implicit_bias.theory import nuclear_norm_minimizer

    rng = _rng(18)
    d, m = 6, 30
    X0 = rng.normal(size=(d, 1)) @ rng.normal(size=(1, d))
    As = rng.normal(size=(m, d, d))
    b = np.einsum("mij,ij->m", As, X0)
    X = nuclear_norm_minimizer(As, b)
    # rank 1 (11 degrees of freedom) from 30 Gaussian measurements: exact recovery; SDP
    # accuracy at gap 1e-9 on a degenerate (rank-deficient) solution: measured ~4e-8
    np.testing.assert_allclose(X, X0, atol=1e-6)
    # independent dual certificate: ||sum nu_i A_i||_op <= 1 and b.nu = ||X||_*
    nu = cp.Variable(m)
    dual = cp.Problem(
        cp.Maximize(b @ nu), [cp.sigma_max(cp.sum([nu[i] * As[i] for i in range(m)])) <= 1]
    )
    dual.solve(solver="CLARABEL", tol_gap_abs=1e-9, tol_gap_rel=1e-9, tol_feas=1e-9)
    Y = np.einsum("m,mij->ij", nu.value, As)
    assert np.linalg.norm(Y, 2) <= 1 + 1e-7
    assert np.linalg.svd(X, compute_uv=False).sum() == pytest.approx(b @ nu.value, rel=1e-7)


def test_nuclear_norm_completion_and_min_trace_psd():
    pytest.importorskip("cvxpy")
    from implicit_bias.theory import (
        min_trace_psd,
        nuclear_norm_completion,
        nuclear_norm_minimizer,
    )

    rng = _rng(19)
    d = 6
    u, v = rng.normal(size=(d, 1)), rng.normal(size=(d, 1))
    X0 = u @ v.T
    mask = rng.random((d, d)) < 0.7
    Xc = nuclear_norm_completion((d, d), mask, X0)
    np.testing.assert_allclose(Xc, X0, atol=1e-6)  # exact completion, SDP accuracy
    np.testing.assert_allclose(nuclear_norm_completion((d, d), mask, X0[mask]), Xc, atol=1e-9)
    # PSD sensing: recovers u u^T and agrees with the unconstrained nuclear-norm program
    P = u @ u.T
    As = rng.normal(size=(25, d, d))
    As = 0.5 * (As + As.transpose(0, 2, 1))
    b = np.einsum("mij,ij->m", As, P)
    Xp = min_trace_psd(As, b)
    assert np.linalg.eigvalsh(Xp).min() >= -1e-8
    np.testing.assert_allclose(Xp, P, atol=1e-6)
    np.testing.assert_allclose(nuclear_norm_minimizer(As, b), Xp, atol=1e-6)
    # commuting (diagonal) measurements: min trace PSD = nonnegative basis pursuit on the
    # diagonal (Gunasekar et al. 2017 prove the conjecture in this case); two solvers agree
    Ad = rng.normal(size=(3, d))
    xd = np.zeros(d)
    xd[[0, 4]] = [1.0, 2.0]
    Xd = min_trace_psd(np.stack([np.diag(a) for a in Ad]), Ad @ xd)
    np.testing.assert_allclose(Xd, np.diag(basis_pursuit_nonnegative(Ad, Ad @ xd)), atol=1e-6)


def test_nuclear_norm_import_error_and_validation(monkeypatch):
    from implicit_bias.theory import nuclear_norm_completion, nuclear_norm_minimizer

    if importlib.util.find_spec("cvxpy") is not None:  # validation runs after the import
        with pytest.raises(ValueError, match="mask must be a boolean array"):
            nuclear_norm_completion((2, 2), np.ones((2, 3), bool), np.zeros((2, 2)))
        with pytest.raises(ValueError, match="As must be a 3-D array"):
            nuclear_norm_minimizer(np.ones((2, 2)), np.ones(2))
    monkeypatch.setitem(sys.modules, "cvxpy", None)  # simulate the missing extra
    with pytest.raises(ImportError, match=r"pip install implicit_bias\[cvx\]"):
        nuclear_norm_minimizer(np.ones((1, 2, 2)), np.ones(1))


# --------------------------------------------------------------------------------------------
# 7. single ReLU neuron (Vardi & Shamir 2021)
# --------------------------------------------------------------------------------------------


def _integrate_vardi_shamir(X, y, ts, loss_scale=1.0):
    """Piecewise ODE: rows 1-3 active until x3.w hits 0 (event, no jump), then rows 1-2."""
    c = 2.0 * loss_scale / 3.0

    def rhs(_, w, active):
        Xa = X[active]
        return -c * Xa.T @ (Xa @ w - y[active])

    def hit(_, w, active):
        return X[2] @ w

    hit.terminal, hit.direction = True, -1
    opts = {"method": "DOP853", "rtol": 1e-13, "atol": 1e-15, "dense_output": True}
    s1 = solve_ivp(rhs, (0, 100), np.zeros(3), events=hit, args=(np.array([0, 1, 2]),), **opts)
    t_c, w_c = s1.t_events[0][0], s1.y_events[0][0]
    s2 = solve_ivp(rhs, (t_c, 80 / loss_scale), w_c, args=(np.array([0, 1]),), **opts)
    traj = np.array([s1.sol(t) if t <= t_c else s2.sol(t) for t in ts])
    return t_c, w_c, s2.y[:, -1], traj


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 4.0])
def test_vardi_shamir_closed_form_matches_integration(gamma):
    ts = np.linspace(0.0, 20.0, 41)
    sol = relu_counterexample_limit(gamma, ts=ts)
    t_c, w_c, w_end, traj = _integrate_vardi_shamir(sol.X, sol.y, ts)
    # DOP853 at rtol 1e-13 with an exact event: measured agreement 1e-11..1e-13
    assert sol.crossing_time == pytest.approx(t_c, abs=1e-8)
    np.testing.assert_allclose(sol.w_crossing, w_c, atol=1e-8)
    np.testing.assert_allclose(sol.trajectory, traj, atol=1e-8)
    np.testing.assert_allclose(sol.w_limit, w_end, atol=1e-8)
    # the limit interpolates: relu(X w) = y exactly (rows 1-2 solved, x3.w < 0)
    np.testing.assert_allclose(sol.w_limit[:2], [5.0, -1.0], atol=1e-12)
    assert sol.X[2] @ sol.w_limit < 0
    np.testing.assert_allclose(np.maximum(sol.X @ sol.w_limit, 0), sol.y, atol=1e-12)
    assert sol.w_limit[2] == pytest.approx(-sol.w_crossing[1], abs=1e-12)  # w3 frozen at t_c


def test_vardi_shamir_w3_depends_on_gamma_and_loss_scale_is_time():
    w3 = [relu_counterexample_limit(g).w_limit[2] for g in (0.5, 1.0, 2.0, 4.0)]
    # measured -0.0116, -0.0408, -0.1107, -0.1926: strictly monotone in gamma
    assert all(b < a - 1e-3 for a, b in itertools.pairwise(w3))
    s1, s2 = relu_counterexample_limit(1.0), relu_counterexample_limit(1.0, loss_scale=0.5)
    assert s2.crossing_time == pytest.approx(2 * s1.crossing_time, rel=1e-12)
    np.testing.assert_allclose(s2.w_limit, s1.w_limit, atol=1e-12)
    t_c, _, w_end, _ = _integrate_vardi_shamir(s2.X, s2.y, [0.0], loss_scale=0.5)
    assert t_c == pytest.approx(s2.crossing_time, abs=1e-8)
    np.testing.assert_allclose(w_end, s2.w_limit, atol=1e-8)
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        relu_counterexample_limit(-1.0)


def test_vardi_shamir_gamma_zero_and_large_gamma_match_integration():
    """gamma = 0 (x3 = 0, the paper's base case): one phase, the limit is (5, -1, 0) with
    w3 = 0 throughout (solve_ivp on the two active rows, no event). Large gammas (stiff phase
    1, stiffness ~ gamma^2): the two-phase solution against the event-driven integration."""
    ts = np.linspace(0.0, 20.0, 21)
    sol = relu_counterexample_limit(0.0, ts=ts)
    assert sol.crossing_time == np.inf
    X, y = sol.X, sol.y
    ref = solve_ivp(
        lambda _, w: -2 / 3 * X.T @ (X @ w - y),
        (0, 20),
        np.zeros(3),
        method="DOP853",
        rtol=1e-13,
        atol=1e-15,
        dense_output=True,
    )
    np.testing.assert_allclose(sol.trajectory, ref.sol(ts).T, atol=1e-8)
    np.testing.assert_allclose(sol.w_limit, [5.0, -1.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(sol.trajectory[:, 2], 0.0)
    for gamma in (10.0, 50.0):
        s = relu_counterexample_limit(gamma)
        t_c, _, w_end, _ = _integrate_vardi_shamir(s.X, s.y, [0.0])
        assert s.crossing_time == pytest.approx(t_c, abs=1e-8)
        np.testing.assert_allclose(s.w_limit, w_end, atol=1e-8)


def test_leaky_relu_limit_matches_integration():
    rng = _rng(20)
    n, d, slope = 3, 5, 0.1
    X, y, w0 = rng.normal(size=(n, d)), rng.normal(size=n), 0.3 * rng.normal(size=d)
    w = leaky_relu_limit(X, y, w0, negative_slope=slope)

    def act(z):
        return np.where(z >= 0, z, slope * z)

    def rhs(_, v):
        z = X @ v
        return -2.0 / n * X.T @ ((act(z) - y) * np.where(z >= 0, 1.0, slope))

    sol = solve_ivp(rhs, (0, 3000), w0, method="DOP853", rtol=1e-12, atol=1e-14)
    # the kinks at z = 0 cost the integrator some accuracy: measured ~1e-11
    np.testing.assert_allclose(sol.y[:, -1], w, atol=1e-7)
    np.testing.assert_allclose(act(X @ w), y, atol=1e-12)
    assert np.abs(_null_space(X).T @ (w - w0)).max() < 1e-12  # closest zero-loss point
    with pytest.raises(ValueError, match="no zero-loss point"):
        leaky_relu_limit(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, 2.0]))


# --------------------------------------------------------------------------------------------
# 8. balanced rank-one sharpness (Marion & Chizat 2024)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("L", [1, 2, 3, 10])
def test_balanced_rank_one_sharpness_matches_jax_hessian(L):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    rng = _rng(21)
    d = m = 5
    X = rng.normal(size=(60, d)) * rng.uniform(0.3, 2.0, size=d)
    w_star = rng.normal(size=d)
    y = X @ w_star
    Sigma = X.T @ X / X.shape[0]
    # balanced rank-one minimizer W_k = s u_k u_{k-1}^T, u_0 = w*/||w*||, u_L = 1
    s = np.linalg.norm(w_star) ** (1.0 / L)
    units = [w_star / np.linalg.norm(w_star)]
    for _ in range(L - 1):
        v = rng.normal(size=m)
        units.append(v / np.linalg.norm(v))
    units.append(np.ones(1))
    params = {f"W{k}": jnp.asarray(s * np.outer(units[k], units[k - 1])) for k in range(1, L + 1)}
    flat, unravel = ravel_pytree(params)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def loss(theta):
        p = unravel(theta)
        out = Xj.T
        for k in range(1, L + 1):
            out = p[f"W{k}"] @ out
        return jnp.mean((out[0] - yj) ** 2)

    assert float(loss(flat)) < 1e-25  # it is a global minimizer
    top = np.linalg.eigvalsh(np.asarray(jax.jit(jax.hessian(loss))(flat)))[-1]
    S = balanced_rank_one_sharpness(Sigma, w_star, L)
    # both exact in float64; measured relative error <= 3e-15
    assert S == pytest.approx(top, rel=1e-8)
    bounds = deep_linear_sharpness_bounds(Sigma, w_star, L)
    c = np.linalg.norm(w_star) ** (2 - 2 / L)
    assert bounds.balanced_rank_one == pytest.approx(S, rel=1e-14)
    assert bounds.lower <= S * (1 + 1e-12)
    assert S <= 2 * ((L - 1) * bounds.a + bounds.Lambda) * c * (1 + 1e-12)
    assert S <= bounds.upper_minimizer * (1 + 1e-12) <= bounds.small_init_upper


def test_marion_bounds_closed_forms_and_validation():
    Sigma = np.diag([3.0, 1.0])
    w_star = np.array([0.0, 2.0])  # along the small eigenvalue: a = 1, Lambda = 3
    b = deep_linear_sharpness_bounds(Sigma, w_star, 3)
    c = 2.0 ** (2 - 2 / 3)
    assert (b.a, b.Lambda) == (pytest.approx(1.0), pytest.approx(3.0))
    assert b.lower == pytest.approx(6 * c) and b.critical_lr == pytest.approx(2 / b.lower)
    assert b.upper_minimizer == pytest.approx(18 * c) and b.small_init_upper == pytest.approx(
        72 * c
    )
    # Sigma^{1/2}(I + 2 e2 e2^T)Sigma^{1/2} = diag(3, 3): S = 2 c * 3
    assert b.balanced_rank_one == pytest.approx(6 * c)
    assert balanced_rank_one_sharpness(Sigma, w_star, 1) == pytest.approx(6.0)  # 2 lambda_max
    with pytest.raises(ValueError, match="positive semi-definite"):
        balanced_rank_one_sharpness(np.diag([1.0, -1.0]), np.ones(2), 2)
    with pytest.raises(ValueError, match="L must be an integer depth >= 1"):
        balanced_rank_one_sharpness(np.eye(2), np.ones(2), 0)
    with pytest.raises(ValueError, match="w_star must be nonzero"):
        deep_linear_sharpness_bounds(np.eye(2), np.zeros(2), 2)
