r"""Single-neuron gradient flow: the Vardi & Shamir (2021) example, strictly monotone activations.

Model ``f(x) = sigma(w . x)``, loss ``L(w) = loss_scale * mean_i (sigma(w . x_i) - y_i)^2``
(``loss_scale = 1``: the project's mean-squared convention; ``1/2`` gives ``(1/(2n)) sum``),
gradient flow ``dw/dt = -(2 loss_scale / n) sum_i (sigma(w.x_i) - y_i) sigma'(w.x_i) x_i``. The
limit does not depend on ``loss_scale`` (it only rescales time).

**ReLU, Vardi & Shamir (2021), "Implicit regularization in ReLU networks with the square loss"
(COLT), Theorem 4.1.** Data (from a third-party reimplementation; checked against every
statement of the paper text that survived extraction in ``docs/relu_neurons.md``)

    x1 = (3, -1, 0),  x2 = (4, 2, 0),  x3 = (0, gamma, gamma),   y = (16, 18, 0),   gamma >= 0,

flow from ``w(0) = 0`` with the convention ``relu'(0) = 1`` (paper text line 46), so all three
rows are active at ``t = 0`` (``x3`` contributes nothing there since ``y3 = 0``).

* ``gamma = 0`` (the paper's base case, line 55): ``x3 = 0`` never acts; rows 1-2 have zero third
  coordinate, so ``w3 = 0`` throughout and the limit is the minimum-norm zero-loss point
  ``w* = (5, -1, 0)`` (line 70: the closed form on the first two rows and columns).
* Phase 1 (rows 1-3 active): linear flow ``w' = -M w + r`` with ``M = c X^T X``, ``r = c X^T y``,
  ``c = 2 loss_scale / 3``; for ``gamma > 0`` ``X`` is invertible (``det X = 10 gamma``) and
  ``w(t) = (I - exp(-M t)) w1*`` with ``w1* = X^{-1} y = (5, -1, 1)``, which lies on the hyperplane
  ``x3 . w = 0``. The flow reaches that hyperplane in *finite* time: ``x3 . w(t) = gamma (w2 + w3)``
  is positive at first and crosses 0 at ``t_c`` (found with :func:`scipy.optimize.brentq`).
* Phase 2 (``x3 . w < 0``, ``relu' = 0``, rows 1-2 active): ``x1, x2`` have zero third coordinate,
  so ``w3`` stays frozen at ``w3(t_c) = -w2(t_c)`` and ``(w1, w2)`` relaxes exponentially to the
  solution ``(5, -1)`` of rows 1-2 (``3*5 + 1 = 16``, ``4*5 - 2 = 18``).

Hence ``w_inf = (5, -1, -w2(t_c))`` interpolates (``x3 . w_inf = gamma(-1 + w3) < 0``) and its third
coordinate depends on ``gamma`` although the set of interpolators does not single it out: the
implicit bias is not a function of the parameters alone. The phase assumptions (rows 1-2
active throughout, ``x3`` inactive in phase 2) are checked on a fine time grid at run time.
Gradient *descent* has the same two phases with ``exp(-lam t)`` replaced by ``(1 - lr lam)^k``
(:func:`relu_counterexample_gd`). Two independent asymptotes check the two-phase solution at
both ends of ``gamma``: ``w3(inf) = -a gamma^2 + O(gamma^4)``
(:func:`relu_counterexample_small_gamma`) and the ``gamma -> inf`` limit of the flow
constrained to ``x3 . w = 0`` (:func:`relu_counterexample_large_gamma`).

**Strictly monotone activations** (e.g. leaky ReLU): every gradient lies in the row space of
``X``, so ``w(t) - w0 in rowspace(X)``; if the flow reaches zero loss, the limit is the point of
``{w : X w = sigma^{-1}(y)}`` closest to ``w0``: ``w_inf = w0 + X^+ (sigma^{-1}(y) - X w0)``
(Vardi & Shamir 2021, positive result for strictly monotone activations).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import SupportsFloat

import numpy as np
import scipy.linalg
import scipy.optimize

from implicit_bias.theory._validation import ArrayLike, as_matrix, as_scalar, as_vector

__all__ = [
    "MIN_NORM_ZERO_LOSS",
    "ReluCounterexampleGD",
    "ReluCounterexampleSolution",
    "leaky_relu_limit",
    "min_norm_ratios",
    "relu_counterexample_data",
    "relu_counterexample_gd",
    "relu_counterexample_large_gamma",
    "relu_counterexample_limit",
    "relu_counterexample_small_gamma",
]


def relu_counterexample_data(gamma: SupportsFloat) -> tuple[np.ndarray, np.ndarray]:
    """The 3-sample data set ``X = [(3,-1,0), (4,2,0), (0,gamma,gamma)]``, ``y = (16, 18, 0)``.

    ``gamma >= 0``; ``gamma = 0`` (``x3 = 0``) is the paper's base case, where the flow ends at
    the minimum-norm zero-loss point ``w* = (5, -1, 0)`` (Theorem 4.1, first case).
    """
    gamma = as_scalar("gamma", gamma, nonnegative=True)
    X = np.array([[3.0, -1.0, 0.0], [4.0, 2.0, 0.0], [0.0, gamma, gamma]])
    return X, np.array([16.0, 18.0, 0.0])


class _LinearPhase:
    """Closed form of ``w' = -c X_a^T (X_a w - y_a)`` from ``w_start`` at ``t_start``.

    ``w(t) = w_start + V diag(phi_i(t - t_start)) V^T v0`` with
    ``M = c X_a^T X_a = V diag(lam) V^T``, ``v0`` the velocity at ``w_start`` and
    ``phi_i(s) = (1 - exp(-lam_i s)) / lam_i``. ``v0`` lies in ``range(M)``, so zero eigenvalues
    are dropped (those directions never move).
    """

    def __init__(
        self, Xa: np.ndarray, ya: np.ndarray, c: float, w_start: np.ndarray, t_start: float
    ):
        lam, V = scipy.linalg.eigh(c * Xa.T @ Xa)
        keep = lam > 1e-13 * lam.max()
        self.lam, self.V = lam[keep], V[:, keep]
        self.coef = self.V.T @ (c * Xa.T @ (ya - Xa @ w_start))
        self.w_start, self.t_start = w_start, t_start

    def __call__(self, ts: ArrayLike) -> np.ndarray:
        s = np.atleast_1d(np.asarray(ts, dtype=np.float64)) - self.t_start
        phi = -np.expm1(-self.lam[None, :] * s[:, None]) / self.lam[None, :]
        return self.w_start[None, :] + (phi * self.coef[None, :]) @ self.V.T

    def time_grid(self, num: int = 4000) -> np.ndarray:
        """Geometric grid of times after ``t_start`` covering all relaxation scales."""
        lo, hi = 1e-4 / self.lam.max(), 60.0 / self.lam.min()
        return self.t_start + np.concatenate([[0.0], np.geomspace(lo, hi, num)])


@dataclasses.dataclass(frozen=True)
class ReluCounterexampleSolution:
    """Closed-form gradient flow of the Vardi & Shamir single-neuron example.

    Attributes:
        gamma: the data parameter.
        loss_scale: multiplier of the mean squared error (time scale only).
        X: data, shape ``(3, 3)``; y: targets, shape ``(3,)``.
        crossing_time: ``t_c`` where ``x3 . w`` crosses 0 (``inf`` if it never does).
        w_crossing: ``w(t_c)``, shape ``(3,)``.
        w_limit: ``w_inf = (5, -1, w3(t_c))``, shape ``(3,)``.
        ts: the requested times (or ``None``).
        trajectory: ``w(t)`` at ``ts``, shape ``(k, 3)`` (or ``None``).
    """

    gamma: float
    loss_scale: float
    X: np.ndarray
    y: np.ndarray
    crossing_time: float
    w_crossing: np.ndarray
    w_limit: np.ndarray
    ts: np.ndarray | None
    trajectory: np.ndarray | None


def relu_counterexample_limit(
    gamma: SupportsFloat, ts: ArrayLike | None = None, loss_scale: SupportsFloat = 1.0
) -> ReluCounterexampleSolution:
    """Exact two-phase gradient flow of the Vardi & Shamir (2021) single ReLU neuron example.

    Args:
        gamma: ``>= 0``, third data point ``x3 = (0, gamma, gamma)``. ``gamma = 0`` is one
            phase: ``x3 = 0`` never acts, ``w3`` stays 0 and the limit is ``(5, -1, 0)``.
        ts: optional times ``>= 0`` (``inf`` allowed) at which to return ``w(t)``.
        loss_scale: ``L(w) = loss_scale * mean_i (relu(w.x_i) - y_i)^2``; only rescales time
            (``crossing_time`` is proportional to ``1 / loss_scale``).

    Returns:
        A :class:`ReluCounterexampleSolution`.

    Raises:
        ValueError: on bad arguments.
        RuntimeError: if a phase assumption fails on the checking grid (it does not for
            ``gamma >= 0``; the check guards the closed form).
    """
    X, y = relu_counterexample_data(gamma)
    gamma = float(X[2, 1])
    loss_scale = as_scalar("loss_scale", loss_scale, positive=True)
    c = 2.0 * loss_scale / 3.0
    phase1 = _LinearPhase(X, y, c, np.zeros(3), 0.0)
    grid1 = phase1.time_grid()
    w_grid = phase1(grid1)
    h = w_grid @ X[2]
    neg = np.flatnonzero(h[1:] < 0)
    if neg.size == 0:  # gamma = 0 (x3 = 0): one phase, w3 never moves
        t_c, w_c = np.inf, phase1(np.inf)[0]
        upto = len(grid1)
    else:
        i = int(neg[0]) + 1
        t_c = scipy.optimize.brentq(
            lambda t: float(phase1(t)[0] @ X[2]),
            grid1[i - 1],
            grid1[i],
            xtol=1e-300,
            rtol=4 * np.finfo(float).eps,
            maxiter=500,
        )
        w_c = phase1(t_c)[0]
        upto = i
    if np.any(w_grid[1:upto, :] @ X[:2].T <= 0) or np.any(h[1:upto] < 0):
        raise RuntimeError(
            "Vardi-Shamir phase 1 assumption failed: a row became inactive before t_c"
        )
    phase2 = None
    w_inf = w_c
    if np.isfinite(t_c):
        phase2 = _LinearPhase(X[:2], y[:2], c, w_c, t_c)
        grid2 = phase2.time_grid()[1:]
        w2_grid = phase2(grid2)
        if np.any(w2_grid @ X[2] > 1e-12 * max(1.0, np.abs(w_c).max() * gamma)) or np.any(
            w2_grid @ X[:2].T <= 0
        ):
            raise RuntimeError(
                "Vardi-Shamir phase 2 assumption failed: the active set changed after t_c"
            )
        w_inf = phase2(np.inf)[0]
    traj = None
    ts_arr = None
    if ts is not None:
        ts_arr = np.atleast_1d(np.asarray(ts, dtype=np.float64))
        if ts_arr.ndim != 1 or np.any(np.isnan(ts_arr)) or np.any(ts_arr < 0):
            raise ValueError(f"ts must be a 1-D array of times >= 0, got shape {ts_arr.shape}")
        traj = np.empty((ts_arr.size, 3))
        first = ts_arr <= t_c
        if np.any(first):
            traj[first] = phase1(ts_arr[first])
        if np.any(~first):  # only possible when t_c is finite, i.e. phase2 exists
            traj[~first] = phase2(ts_arr[~first])
    return ReluCounterexampleSolution(
        gamma=gamma,
        loss_scale=loss_scale,
        X=X,
        y=y,
        crossing_time=float(t_c),
        w_crossing=w_c,
        w_limit=w_inf,
        ts=ts_arr,
        trajectory=traj,
    )


#: The minimum-norm zero-loss point of the Theorem 4.1 data, for every ``gamma >= 0``.
MIN_NORM_ZERO_LOSS = np.array([5.0, -1.0, 0.0])


def min_norm_ratios(w: ArrayLike) -> tuple[float, float]:
    """Theorem 4.1's two measures of how far ``w`` is from the min-norm zero-loss point.

    Returns:
        ``(||w|| / ||w*||, ||w - w*|| / ||w*||)`` with ``w* = (5, -1, 0)``
        (:data:`MIN_NORM_ZERO_LOSS`), the minimum-norm point of the zero-loss half-line
        ``{(5, -1, t) : t <= 1}`` (all of ``t``'s real line when ``gamma = 0``).
    """
    w = as_vector("w", w, length=3)
    n = float(np.linalg.norm(MIN_NORM_ZERO_LOSS))
    return float(np.linalg.norm(w)) / n, float(np.linalg.norm(w - MIN_NORM_ZERO_LOSS)) / n


class _LinearIteration:
    """Closed form of GD ``w <- w - lr c X_a^T (X_a w - y_a)`` from ``w_start`` at ``k_start``.

    ``w_k = w_start + V diag((1 - (1 - lr lam_i)^(k - k_start)) / lam_i) V^T v0`` with
    ``M = c X_a^T X_a = V diag(lam) V^T`` and ``v0 = c X_a^T (y_a - X_a w_start)`` the negative
    gradient at ``w_start`` (it lies in ``range(M)``: zero eigenvalues are dropped).
    """

    def __init__(self, Xa, ya, c, lr, w_start, k_start):
        lam, V = scipy.linalg.eigh(c * Xa.T @ Xa)
        keep = lam > 1e-13 * lam.max()
        self.lam, self.V, self.lr = lam[keep], V[:, keep], lr
        self.coef = self.V.T @ (c * Xa.T @ (ya - Xa @ w_start))
        self.w_start, self.k_start = w_start, k_start
        self.contraction = float(np.max(np.abs(1.0 - lr * self.lam)))

    def __call__(self, ks: ArrayLike) -> np.ndarray:
        k = np.atleast_1d(np.asarray(ks, dtype=np.float64)) - self.k_start
        with np.errstate(over="ignore", invalid="ignore"):
            # (1 - lr lam)^k through exp/log1p, exact at k = inf when |1 - lr lam| < 1.
            power = np.where(
                np.isinf(k)[:, None],
                0.0,
                np.power(1.0 - self.lr * self.lam[None, :], np.where(np.isinf(k), 0, k)[:, None]),
            )
        phi = (1.0 - power) / self.lam[None, :]
        return self.w_start[None, :] + (phi * self.coef[None, :]) @ self.V.T


@dataclasses.dataclass(frozen=True)
class ReluCounterexampleGD:
    """Closed-form gradient *descent* on the Vardi & Shamir single-neuron example.

    Attributes:
        gamma, lr, loss_scale: the problem and the step size.
        crossing_step: the first step ``k_c`` with ``x3 . w_k < 0`` (``inf`` if never).
        w_crossing: ``w_{k_c}``; ``w_limit``: ``(5, -1, w3(k_c))``.
        steps: the requested steps (or ``None``); trajectory: ``w_k`` there, shape ``(m, 3)``.
    """

    gamma: float
    lr: float
    loss_scale: float
    crossing_step: float
    w_crossing: np.ndarray
    w_limit: np.ndarray
    steps: np.ndarray | None
    trajectory: np.ndarray | None


def relu_counterexample_gd(
    gamma: SupportsFloat,
    lr: SupportsFloat,
    steps: ArrayLike | None = None,
    loss_scale: SupportsFloat = 1.0,
    max_steps: int = 10_000_000,
) -> ReluCounterexampleGD:
    """Exact gradient descent ``w_{k+1} = w_k - lr grad L(w_k)`` from ``w_0 = 0`` (two phases).

    The same two linear phases as the flow (:func:`relu_counterexample_limit`), with
    ``exp(-lam t)`` replaced by ``(1 - lr lam)^k``: phase 1 (all rows active, ``relu'(0) = 1``)
    ``w_k = (I - (I - lr M)^k) X^{-1} y`` until the first step ``k_c`` at which
    ``x3 . w_k < 0``; phase 2 (rows 1-2, ``w3`` frozen at ``w3(k_c)``) converges to
    ``(5, -1, w3(k_c))`` when ``lr < 2 / lam_max(M_12)``. The discrete crossing overshoots the
    continuous one by less than one step, so ``w3(k_c) - w3_flow = O(lr)``.

    Independent of the engine (numpy eigendecompositions), this is the reference a GD run is
    compared with to rounding; both phase assumptions are checked at every step up to
    convergence.

    Args:
        gamma: ``>= 0``.
        lr: step size ``> 0``.
        steps: optional step counts ``>= 0`` (integers, ``inf`` allowed) for the trajectory.
        loss_scale: as in :func:`relu_counterexample_limit`.
        max_steps: give up looking for the crossing after this many steps.

    Returns:
        A :class:`ReluCounterexampleGD`.

    Raises:
        ValueError: on bad arguments, or if ``lr`` is too large for a phase to converge
            (``|1 - lr lam| >= 1`` for an eigenvalue of a phase's matrix).
        RuntimeError: if a phase assumption fails (an active set changes otherwise than at
            ``k_c``).
    """
    X, y = relu_counterexample_data(gamma)
    gamma = float(X[2, 1])
    lr = as_scalar("lr", lr, positive=True)
    loss_scale = as_scalar("loss_scale", loss_scale, positive=True)
    c = 2.0 * loss_scale / 3.0
    phase1 = _LinearIteration(X, y, c, lr, np.zeros(3), 0)
    if phase1.contraction >= 1.0:
        raise ValueError(f"lr={lr} too large: GD diverges in phase 1 (|1 - lr lam| >= 1)")
    # Steps until phase 1 has converged to 1e-15 relative: the crossing, if any, comes before.
    horizon = int(min(max_steps, np.ceil(np.log(1e-17) / np.log(phase1.contraction)) + 2))
    ks = np.arange(1, horizon + 1)
    w_k = phase1(ks)
    h = w_k @ X[2]
    neg = np.flatnonzero(h < 0)
    if neg.size == 0:
        k_c, w_c = np.inf, phase1(np.inf)[0]
        upto = horizon
    else:
        k_c = int(ks[neg[0]])
        w_c = w_k[neg[0]]
        upto = neg[0]
    if np.any(w_k[:upto] @ X[:2].T < 0):
        raise RuntimeError("Vardi-Shamir GD phase 1 assumption failed: row 1 or 2 inactive")
    phase2 = None
    w_inf = w_c
    if np.isfinite(k_c):
        phase2 = _LinearIteration(X[:2], y[:2], c, lr, w_c, k_c)
        if phase2.contraction >= 1.0:
            raise ValueError(f"lr={lr} too large: GD diverges in phase 2 (|1 - lr lam| >= 1)")
        n2 = int(min(max_steps, np.ceil(np.log(1e-17) / np.log(phase2.contraction)) + 2))
        w2 = phase2(k_c + np.arange(1, n2 + 1))
        if np.any(w2 @ X[2] >= 0) or np.any(w2 @ X[:2].T < 0):
            raise RuntimeError("Vardi-Shamir GD phase 2 assumption failed: active set changed")
        w_inf = phase2(np.inf)[0]
    traj = steps_arr = None
    if steps is not None:
        steps_arr = np.atleast_1d(np.asarray(steps, dtype=np.float64))
        if steps_arr.ndim != 1 or np.any(np.isnan(steps_arr)) or np.any(steps_arr < 0):
            raise ValueError("steps must be a 1-D array of step counts >= 0")
        traj = np.empty((steps_arr.size, 3))
        first = steps_arr <= k_c
        if np.any(first):
            traj[first] = phase1(steps_arr[first])
        if np.any(~first):
            traj[~first] = phase2(steps_arr[~first])
    return ReluCounterexampleGD(
        gamma=gamma,
        lr=lr,
        loss_scale=loss_scale,
        crossing_step=float(k_c),
        w_crossing=w_c,
        w_limit=w_inf,
        steps=steps_arr,
        trajectory=traj,
    )


def _rows12(loss_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """``M_12 = c X_12^T X_12`` and ``r_12 = c X_12^T y_12`` (rows 1-2, ``c = 2 ls / 3``)."""
    X, y = relu_counterexample_data(0.0)
    c = 2.0 * loss_scale / 3.0
    return c * X[:2].T @ X[:2], c * X[:2].T @ y[:2]


def relu_counterexample_small_gamma(loss_scale: SupportsFloat = 1.0) -> float:
    r"""The coefficient ``a`` of ``w3(inf) = -a gamma^2 + O(gamma^4)`` as ``gamma -> 0``.

    ``dw3/dt = -c gamma^2 (w2 + w3)`` (``c = 2 loss_scale / 3``): for small ``gamma`` the flow of
    ``(w1, w2)`` is the ``gamma = 0`` flow of rows 1-2 up to ``O(gamma^2)`` and ``w3 = O(gamma^2)``,
    so ``x3 . w = gamma (w2 + w3)`` first crosses 0 at ``t0 + O(gamma^2)``, where ``t0 > 0`` is the
    zero of ``w2`` in the ``gamma = 0`` flow (which rises from 0 and then falls to -1), and

    .. math:: w_3(\infty) = -c\gamma^2 \int_0^{t_0} w_2^{(0)}(t)\,dt + O(\gamma^4),

    with the integral in closed form: ``w^{(0)}(t) = V diag(1 - e^{-lam t}) V^T w12*``
    integrates to ``V diag(t - (1 - e^{-lam t}) / lam) V^T w12*``. A check of the two-phase
    solution (:func:`relu_counterexample_limit`) that shares nothing with it but the data.
    """
    loss_scale = as_scalar("loss_scale", loss_scale, positive=True)
    M, r = _rows12(loss_scale)
    A, b = M[:2, :2], r[:2]
    lam, V = scipy.linalg.eigh(A)
    target = V.T @ np.linalg.solve(A, b)

    def w2(t: float) -> float:
        return float((V @ (-np.expm1(-lam * t) * target))[1])

    hi = 60.0 / lam.min()
    grid = np.geomspace(1e-6 / lam.max(), hi, 4000)
    i = int(np.flatnonzero(np.array([w2(t) for t in grid]) < 0)[0])
    t0 = scipy.optimize.brentq(w2, grid[i - 1], grid[i], xtol=1e-300, rtol=4 * np.finfo(float).eps)
    integral = (V @ ((t0 + np.expm1(-lam * t0) / lam) * target))[1]
    c = 2.0 * loss_scale / 3.0
    return float(c * integral)


def relu_counterexample_large_gamma(loss_scale: SupportsFloat = 1.0) -> float:
    r"""``lim_{gamma -> inf} w3(inf)``: the flow constrained to the plane ``x3 . w = 0``.

    For large ``gamma`` the row-3 force ``-c (x3 . w) x3`` (stiffness ``2 c gamma^2``) holds
    ``n . w`` at its quasi-steady value ``f(w) / (2 c gamma^2)``, ``n = (0, 1, 1)/sqrt 2``,
    ``f(w) = -n . grad L_12(w)``: in the limit the flow of rows 1-2 is projected onto the plane
    ``P = {w2 + w3 = 0}`` (a linear flow in 2-D, solved by eigendecomposition) while
    ``f(w) > 0``; once ``f`` turns negative the unconstrained flow leaves to ``x3 . w < 0``,
    where ``w3`` freezes. So the limit is ``w3`` of the projected flow at the first zero of
    ``f`` (``brentq``). Error ``O(1/gamma^2)``; independent of the two-phase solution.
    """
    loss_scale = as_scalar("loss_scale", loss_scale, positive=True)
    M, r = _rows12(loss_scale)
    B = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]) / np.array([1.0, np.sqrt(2.0)])
    n = np.array([0.0, 1.0, 1.0]) / np.sqrt(2.0)
    A, b = B.T @ M @ B, B.T @ r
    lam, V = scipy.linalg.eigh(A)
    target = V.T @ np.linalg.solve(A, b)

    def w(t: float) -> np.ndarray:
        return B @ (V @ (-np.expm1(-lam * t) * target))

    def f(t: float) -> float:
        return float(n @ (r - M @ w(t)))

    grid = np.geomspace(1e-6 / lam.max(), 60.0 / lam.min(), 4000)
    vals = np.array([f(t) for t in grid])
    if vals[0] <= 0 or not np.any(vals < 0):
        raise RuntimeError("the constrained flow never releases the plane x3 . w = 0")
    i = int(np.flatnonzero(vals < 0)[0])
    t_star = scipy.optimize.brentq(
        f, grid[i - 1], grid[i], xtol=1e-300, rtol=4 * np.finfo(float).eps
    )
    return float(w(t_star)[2])


def leaky_relu_limit(
    X: ArrayLike,
    y: ArrayLike,
    w0: ArrayLike | None = None,
    negative_slope: SupportsFloat = 0.01,
    inverse_activation: Callable[[np.ndarray], ArrayLike] | None = None,
) -> np.ndarray:
    """Gradient-flow limit for a single neuron with a strictly monotone activation.

    ``w_inf = w0 + X^+ (sigma^{-1}(y) - X w0)``: the zero-loss point closest to ``w0``
    (gradients stay in ``rowspace(X)``). For leaky ReLU ``sigma(z) = max(z, s z)``,
    ``sigma^{-1}(y) = y`` if ``y >= 0`` else ``y / s``.

    Args:
        X: inputs, shape ``(n, d)``.
        y: targets, shape ``(n,)``.
        w0: initialization, shape ``(d,)``; zeros when ``None``.
        negative_slope: leaky-ReLU slope ``s > 0`` (ignored if ``inverse_activation`` is given).
        inverse_activation: optional ``sigma^{-1}`` for another strictly monotone activation.

    Returns:
        ``w_inf``, shape ``(d,)``.

    Raises:
        ValueError: on bad inputs, or if ``X w = sigma^{-1}(y)`` has no solution (then the flow
            cannot reach zero loss and this reference does not apply).
    """
    X = as_matrix("X", X)
    n, d = X.shape
    y = as_vector("y", y, length=n)
    w0 = np.zeros(d) if w0 is None else as_vector("w0", w0, length=d)
    if inverse_activation is None:
        s = as_scalar("negative_slope", negative_slope, positive=True)
        z = np.where(y >= 0, y, y / s)
    else:
        z = as_vector("inverse_activation(y)", inverse_activation(y), length=n)
    delta, *_ = scipy.linalg.lstsq(X, z - X @ w0, cond=max(n, d) * np.finfo(np.float64).eps)
    w = w0 + delta
    if np.linalg.norm(X @ w - z) > 1e-9 * max(1.0, float(np.linalg.norm(z))):
        raise ValueError(
            "X w = sigma^{-1}(y) has no solution (no zero-loss point); gradient flow cannot "
            "interpolate and the closest-interpolator characterization does not apply"
        )
    return w
