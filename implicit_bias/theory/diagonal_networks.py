r"""Finite-initialization limits of gradient flow on diagonal linear networks.

Loss ``L(beta) = mean((A beta - b)^2)`` (any positive multiple gives the same limit), with the
parameters ``u, v in R^d`` initialized at ``u(0) = v(0) = alpha 1``.

**Signed network** ``beta = u*u - v*v`` (Woodworth et al. 2020). With ``g = grad_beta L``,
``u' = -2 u g`` and ``v' = 2 v g``, so ``u = alpha exp(-2 int g)``, ``v = alpha exp(2 int g)`` and

    beta(t) = 2 alpha^2 sinh(A^T mu(t)),     mu(t) = -(8/n) int_0^t (A beta - b) ds.

If the flow interpolates, the limit is ``beta = 2 alpha^2 sinh(A^T mu)`` with ``A beta = b``: the
KKT conditions of (Woodworth et al. 2020, Theorem 1, same constants)

    beta_inf = argmin Q_alpha(beta) s.t. A beta = b,
    Q_alpha(beta) = alpha^2 sum_i q(beta_i / alpha^2),  q(z) = 2 - sqrt(4 + z^2) + z arcsinh(z / 2),

since ``Q_alpha'(beta_i) = arcsinh(beta_i / (2 alpha^2))``. ``alpha -> 0`` gives basis pursuit
(``Q_alpha ~ log(1/alpha^2) ||beta||_1``), ``alpha -> inf`` the minimum-L2 interpolator
(``Q_alpha ~ ||beta||^2 / (4 alpha^2)``).

**Nonnegative network** ``x = u*u`` (Woodworth et al. 2020, Sec. 4; Azulay et al. 2021):
``d/dt log x = -4 grad_x L``, so ``x_inf = alpha^2 exp(A^T mu)`` with ``A x_inf = b``: the
relative-entropy (Bregman) projection of ``alpha^2 1`` onto ``{A x = b, x >= 0}``,

    x_inf = argmin sum_i x_i log(x_i / alpha^2) - x_i + alpha^2   s.t. A x = b, x >= 0.

Coordinates that vanish on the whole feasible set stay at 0 (``mu`` diverges along them); they
are found with one LP and removed before the dual solve.

**Solver.** Both limits minimize a smooth, strictly convex dual over ``mu`` (``r = rank A``
variables after replacing ``A`` by the orthonormal basis ``V_r^T`` of its row space and ``b`` by
``S_r^{-1} U_r^T b``):

    phi(mu) = 2 alpha^2 sum cosh(A^T mu) - b^T mu      (signed),
    phi(mu) = alpha^2 sum exp(A^T mu) - b^T mu         (nonnegative),

with gradient ``A beta(mu) - b`` and Hessian ``A diag(w) A^T`` (``w = sqrt(beta^2 + 4 alpha^4)``,
resp. ``w = x``). The exponentials are evaluated as ``exp(+-z + 2 log alpha)`` so tiny
``alpha`` (1e-6 and below) cause no under/overflow. ``scipy.optimize.minimize`` with
``method="trust-exact"`` and the exact Hessian does the global phase, a few pure Newton steps
(Cholesky, with backtracking) polish the gradient to rounding level.

References:
    Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry & Srebro (2020), "Kernel and
    rich regimes in overparametrized models", COLT, Theorem 1; Azulay, Moroshko, Nacson,
    Woodworth, Srebro, Globerson & Soudry (2021), "On the implicit bias of initialization
    shape: beyond infinitesimal mirror descent", ICML.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import SupportsFloat

import numpy as np
import scipy.linalg
import scipy.optimize

from implicit_bias.theory._validation import ArrayLike, as_matrix, as_scalar, as_vector

__all__ = [
    "DiagonalNetworkLimit",
    "diagonal_network_limit",
    "diagonal_network_limit_nonnegative",
    "relative_entropy_potential",
    "solve_diagonal_network",
    "woodworth_potential",
]

_EXP_MAX = 700.0  # exp(700) ~ 1e304: exponents above this make phi = +inf (step rejected)


@dataclasses.dataclass(frozen=True)
class DiagonalNetworkLimit:
    """Limit of gradient flow on a diagonal linear network and its dual certificate.

    Attributes:
        beta: the limit (``u*u - v*v``, or ``u*u`` when ``nonnegative``), shape ``(d,)``.
        mu: dual variable, shape ``(n,)``: ``beta = 2 alpha^2 sinh(A^T mu)`` (signed) or
            ``beta = alpha^2 exp(A^T mu)`` on ``free`` (nonnegative); minimum-norm choice.
        z: ``A^T mu``, shape ``(d,)`` (``-inf`` off ``free`` in the nonnegative case).
        free: boolean mask of the coordinates that are not forced to 0 (all True if signed).
        alpha: the initialization scale.
        nonnegative: which parametrization.
        residual: ``||A beta - b||_2``.
        iterations: trust-region iterations plus Newton polishing steps.
    """

    beta: np.ndarray
    mu: np.ndarray
    z: np.ndarray
    free: np.ndarray
    alpha: float
    nonnegative: bool
    residual: float
    iterations: int


def woodworth_potential(beta: ArrayLike, alpha: SupportsFloat) -> float:
    """``Q_alpha(beta) = alpha^2 sum q(beta_i/alpha^2)``, ``q(z) = 2 - sqrt(4+z^2) + z asinh(z/2)``.

    Written as ``sum beta_i asinh(beta_i/(2 alpha^2)) - sqrt(4 alpha^4 + beta_i^2) + 2 alpha^2``
    (no division by ``alpha^2`` inside the square root).
    """
    beta = as_vector("beta", beta)
    alpha = as_scalar("alpha", alpha, positive=True)
    a2 = alpha * alpha
    return float(np.sum(beta * np.arcsinh(beta / (2 * a2)) - np.hypot(2 * a2, beta) + 2 * a2))


def relative_entropy_potential(x: ArrayLike, alpha: SupportsFloat) -> float:
    """``D(x, alpha^2 1) = sum x_i log(x_i / alpha^2) - x_i + alpha^2`` for ``x >= 0``."""
    x = as_vector("x", x)
    alpha = as_scalar("alpha", alpha, positive=True)
    if np.any(x < 0):
        raise ValueError(f"x must be >= 0, got min {x.min()}")
    a2 = alpha * alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        xlog = np.where(x > 0, x * (np.log(x) - 2 * np.log(alpha)), 0.0)
    return float(np.sum(xlog - x + a2))


def _free_coordinates(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Coordinates positive somewhere on ``{A x = b, x >= 0}`` (one homogenized LP).

    ``max sum s`` s.t. ``A y = tau b``, ``0 <= s_i <= min(1, y_i)``, ``y >= 0``, ``tau >= 1``: the
    feasible set is convex and ``y = tau x`` can be scaled, so at the optimum ``s_i = 1`` exactly
    on the coordinates that are positive at some feasible ``x`` and ``s_i = 0`` elsewhere.
    """
    n, d = A.shape
    # variables: y (d), s (d), tau (1)
    c = np.concatenate([np.zeros(d), -np.ones(d), [0.0]])
    A_eq = np.hstack([A, np.zeros((n, d)), -b[:, None]])
    A_ub = np.hstack([-np.eye(d), np.eye(d), np.zeros((d, 1))])
    bounds = [(0, None)] * d + [(0, 1)] * d + [(1, None)]
    res = scipy.optimize.linprog(
        c, A_ub=A_ub, b_ub=np.zeros(d), A_eq=A_eq, b_eq=np.zeros(n), bounds=bounds, method="highs"
    )
    if res.status == 2:
        raise ValueError(
            "b is infeasible: A x = b has no solution with x >= 0 (b is not in A R^d_+)"
        )
    if res.status != 0:
        raise RuntimeError(
            f"linprog(method='highs') failed with status {res.status}: {res.message}"
        )
    return res.x[d : 2 * d] > 0.5


class _Dual:
    """Dual objective in reduced coordinates ``z = Q^T nu`` (``Q`` orthonormal rows)."""

    def __init__(self, Q: np.ndarray, c: np.ndarray, log_a2: float, nonnegative: bool):
        self.Q, self.c, self.log_a2, self.nonnegative = Q, c, log_a2, nonnegative

    def parts(self, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Returns (primal, Hessian weights, overflow flag)."""
        z = self.Q.T @ nu
        ep = z + self.log_a2
        overflow = bool(np.max(np.abs(z)) + self.log_a2 > _EXP_MAX)
        with np.errstate(over="ignore", under="ignore"):
            e_plus = np.exp(np.minimum(ep, _EXP_MAX))
            if self.nonnegative:
                return e_plus, e_plus, overflow
            e_minus = np.exp(np.minimum(-z + self.log_a2, _EXP_MAX))
        return e_plus - e_minus, e_plus + e_minus, overflow

    def fun(self, nu: np.ndarray) -> float:
        _, w, overflow = self.parts(nu)
        return np.inf if overflow else float(w.sum() - self.c @ nu)

    def grad(self, nu: np.ndarray) -> np.ndarray:
        beta, _, _ = self.parts(nu)
        return self.Q @ beta - self.c

    def hess(self, nu: np.ndarray) -> np.ndarray:
        _, w, _ = self.parts(nu)
        H = (self.Q * w[None, :]) @ self.Q.T
        return 0.5 * (H + H.T)


def _newton_polish(
    dual: _Dual, nu: np.ndarray, gtol: float, max_steps: int = 30
) -> tuple[np.ndarray, int]:
    """Pure Newton steps with backtracking until ``||grad|| <= gtol`` or no progress."""
    steps = 0
    g = dual.grad(nu)
    f = dual.fun(nu)
    for _ in range(max_steps):
        gn = float(np.linalg.norm(g))
        if gn <= gtol:
            break
        H = dual.hess(nu)
        try:
            step = scipy.linalg.cho_solve(scipy.linalg.cho_factor(H), -g)
        except np.linalg.LinAlgError:
            step = scipy.linalg.lstsq(H, -g)[0]
        t = 1.0
        while t > 1e-12:
            cand = nu + t * step
            f_c = dual.fun(cand)
            g_c = dual.grad(cand)
            # accept on sufficient decrease, or (near the optimum, where phi is flat to
            # rounding) on a decrease of the gradient norm
            if f_c <= f + 1e-4 * t * float(g @ step) or (
                np.isfinite(f_c) and np.linalg.norm(g_c) < 0.5 * gn
            ):
                break
            t *= 0.5
        else:
            break
        nu, f, g = cand, f_c, g_c
        steps += 1
    return nu, steps


def solve_diagonal_network(
    A: ArrayLike,
    b: ArrayLike,
    alpha: SupportsFloat,
    nonnegative: bool = False,
    gtol: SupportsFloat = 1e-12,
) -> DiagonalNetworkLimit:
    """Exact limit of gradient flow on a diagonal network, with its dual certificate.

    Args:
        A: measurement matrix, shape ``(n, d)``.
        b: targets, shape ``(n,)``; must be in the range of ``A`` (resp. in ``A R^d_+``).
        alpha: initialization scale ``u(0) = v(0) = alpha 1``, ``> 0``.
        nonnegative: ``False`` for ``beta = u*u - v*v``, ``True`` for ``x = u*u``.
        gtol: target for ``||A beta - b|| / max(1, ||b||)``.

    Returns:
        A :class:`DiagonalNetworkLimit`.

    Raises:
        ValueError: on bad inputs, or if the flow cannot interpolate (``b`` not in the range
            of ``A``, or ``A x = b, x >= 0`` infeasible in the nonnegative case).
        RuntimeError: if the dual solve does not reach ``100 * gtol``.
    """
    A = as_matrix("A", A)
    n, d = A.shape
    b = as_vector("b", b, length=n)
    alpha = as_scalar("alpha", alpha, positive=True)
    gtol = as_scalar("gtol", gtol, positive=True)
    free = _free_coordinates(A, b) if nonnegative else np.ones(d, dtype=bool)
    A_f = A[:, free]
    beta = np.zeros(d)
    z = np.full(d, -np.inf)
    b_scale = max(1.0, float(np.linalg.norm(b)))
    if not np.any(free):  # only x = 0 is feasible, i.e. b = 0
        return DiagonalNetworkLimit(
            beta, np.zeros(n), z, free, alpha, nonnegative, float(np.linalg.norm(b)), 0
        )
    U, s, Vt = scipy.linalg.svd(A_f, full_matrices=False)
    keep = s > max(A_f.shape) * np.finfo(np.float64).eps * s[0]
    U, s, Vt = U[:, keep], s[keep], Vt[keep]
    if np.linalg.norm(b - U @ (U.T @ b)) > 1e-9 * b_scale:
        raise ValueError(
            "b is not in the range of A (A beta = b has no solution), so gradient flow on the "
            "square loss does not interpolate and the implicit-bias limit is not defined"
        )
    c = (U.T @ b) / s
    dual = _Dual(Vt, c, 2.0 * np.log(alpha), nonnegative)
    nu = np.zeros(c.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = scipy.optimize.minimize(
            dual.fun,
            nu,
            jac=dual.grad,
            hess=dual.hess,
            method="trust-exact",
            options={"gtol": gtol * b_scale * 1e-2 / max(1.0, float(s.max())), "maxiter": 2000},
        )
    nu, polish_steps = _newton_polish(dual, res.x, gtol=1e-3 * gtol / max(1.0, float(s.max())))
    beta_f, _, _ = dual.parts(nu)
    beta[free] = beta_f
    residual = float(np.linalg.norm(A @ beta - b))
    if residual > 100 * gtol * b_scale:
        raise RuntimeError(
            f"diagonal-network dual solve did not converge: ||A beta - b|| = {residual:.3e} "
            f"(alpha={alpha}, trust-exact: {res.message})"
        )
    z[free] = Vt.T @ nu
    mu = U @ (nu / s)
    return DiagonalNetworkLimit(
        beta=beta,
        mu=mu,
        z=z if nonnegative else Vt.T @ nu,
        free=free,
        alpha=alpha,
        nonnegative=nonnegative,
        residual=residual,
        iterations=int(res.nit) + polish_steps,
    )


def diagonal_network_limit(A: ArrayLike, b: ArrayLike, alpha: SupportsFloat) -> np.ndarray:
    """Limit of gradient flow on ``beta = u*u - v*v`` from ``u(0) = v(0) = alpha 1``.

    ``beta_inf = argmin Q_alpha(beta) s.t. A beta = b`` (Woodworth et al. 2020, Theorem 1), see
    :func:`woodworth_potential` and :func:`solve_diagonal_network` (which also returns the dual
    certificate ``beta = 2 alpha^2 sinh(A^T mu)``).

    Args:
        A: measurement matrix, shape ``(n, d)``.
        b: targets in the range of ``A``, shape ``(n,)``.
        alpha: initialization scale ``> 0``.

    Returns:
        ``beta_inf``, shape ``(d,)``.
    """
    return solve_diagonal_network(A, b, alpha, nonnegative=False).beta


def diagonal_network_limit_nonnegative(
    A: ArrayLike, b: ArrayLike, alpha: SupportsFloat
) -> np.ndarray:
    """Limit of gradient flow on ``x = u*u`` from ``u(0) = alpha 1``.

    The relative-entropy projection of ``alpha^2 1`` onto ``{A x = b, x >= 0}``,
    ``x = alpha^2 exp(A^T mu)`` on the coordinates not forced to 0 (see
    :func:`solve_diagonal_network`).

    Args:
        A: measurement matrix, shape ``(n, d)``.
        b: targets in ``A R^d_+``, shape ``(n,)``.
        alpha: initialization scale ``> 0``.

    Returns:
        ``x_inf >= 0``, shape ``(d,)``.
    """
    return solve_diagonal_network(A, b, alpha, nonnegative=True).beta
