"""Stiff gradient flow: the implicit solvers (Kvaerno) agree with an explicit one (Tsit5) and
with the closed form on a stiff least-squares flow, in far fewer steps (issue 11, item 3)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import implicit_bias as ib
from implicit_bias.integrators.gradient_flow import DENSE_JACOBIAN_LIMIT
from implicit_bias.problem import Problem

T1 = 20.0


@pytest.fixture(scope="module")
def stiff():
    """Least squares with Sigma = X^T X / n of eigenvalues 500 ... 0.05 (condition number 1e4):
    the flow w' = -2 Sigma w + 2 b has rates 1000 (the explicit solver's stability limit) and
    0.1 (still moving at t1 = 20). Returns the problem, w0 and the closed-form w(t1)."""
    rng = np.random.default_rng(0)
    n, d = 20, 4
    u, _ = np.linalg.qr(rng.normal(size=(n, d)))
    v, _ = np.linalg.qr(rng.normal(size=(d, d)))
    eig = np.array([500.0, 50.0, 1.0, 0.05])
    X = np.sqrt(n) * u @ np.diag(np.sqrt(eig)) @ v.T
    y = rng.normal(size=n)
    data = ib.ArrayData(X, y).sample(jax.random.key(0), jnp.float64)
    model = ib.Linear(input_dim=d)
    problem = Problem(model, ib.Square(), data, {})
    w0 = rng.normal(size=d)
    Sigma, b = X.T @ X / n, X.T @ y / n
    gen = np.zeros((d + 1, d + 1))
    gen[:d, :d], gen[:d, d] = -2 * Sigma, 2 * b
    exact = (scipy.linalg.expm(gen * T1) @ np.append(w0, 1.0))[:d]
    # The loss convention the closed form assumes: L = (1/n)||Xw - y||^2.
    np.testing.assert_allclose(
        float(problem.loss({"w": jnp.asarray(w0)})), np.mean((X @ w0 - y) ** 2), rtol=1e-12
    )
    return problem, w0, exact


def _solve(problem, w0, solver):
    flow = ib.GradientFlow(solver=solver, rtol=1e-10, atol=1e-12, max_steps=200_000)
    ts = jnp.asarray([T1 / 2, T1])
    sol = jax.jit(lambda w: flow.solve(problem, {"w": w}, ts))(jnp.asarray(w0))
    assert bool(sol.succeeded)
    return np.asarray(sol.ys["w"][-1]), int(sol.num_steps)


def test_stiff_and_explicit_solvers_agree_with_the_closed_form(stiff):
    problem, w0, exact = stiff
    implicit, n_implicit = _solve(problem, w0, "kvaerno5")
    explicit, n_explicit = _solve(problem, w0, "tsit5")
    rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b)  # noqa: E731
    assert rel(implicit, explicit) < 1e-6
    assert rel(implicit, exact) < 1e-6
    assert rel(explicit, exact) < 1e-6
    # The explicit solver is held to ~2.8 / 1000 per step by stability (~7,000 steps to
    # t1 = 20), the implicit one only by accuracy.
    assert n_explicit > 3000, n_explicit
    assert n_implicit < n_explicit / 10, (n_implicit, n_explicit)


def test_default_is_explicit_and_auto_picks_the_stiff_solver_for_small_models():
    # Explicit by default: on a flow that is not stiff, Tsit5 is ~30x faster than Kvaerno
    # (benchmarks/stiff_flow.py).
    assert ib.GradientFlow().resolved_solver(230) == "tsit5"
    flow = ib.GradientFlow(solver="auto")
    assert flow.resolved_solver(230) == "kvaerno5"
    assert flow.resolved_solver(DENSE_JACOBIAN_LIMIT + 1) == "tsit5"
    assert ib.GradientFlow(solver="tsit5").resolved_solver(10) == "tsit5"
