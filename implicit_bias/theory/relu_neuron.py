r"""Single-neuron gradient flow: the Vardi & Shamir (2021) example, strictly monotone activations.

Model ``f(x) = sigma(w . x)``, loss ``L(w) = loss_scale * mean_i (sigma(w . x_i) - y_i)^2``
(``loss_scale = 1``: the project's mean-squared convention; ``1/2`` gives ``(1/(2n)) sum``),
gradient flow ``dw/dt = -(2 loss_scale / n) sum_i (sigma(w.x_i) - y_i) sigma'(w.x_i) x_i``. The
limit does not depend on ``loss_scale`` (it only rescales time).

**ReLU, Vardi & Shamir (2021), "Implicit regularization in ReLU networks with the square loss"
(COLT), single-neuron construction.** Data (as specified for this project)

    x1 = (3, -1, 0),  x2 = (4, 2, 0),  x3 = (0, gamma, gamma),   y = (16, 18, 0),

flow from ``w(0) = 0`` with the convention ``relu'(0) = 1``, so all three rows are active at
``t = 0`` (``x3`` contributes nothing there since ``y3 = 0``).

* Phase 1 (rows 1-3 active): linear flow ``w' = -M w + r`` with ``M = c X^T X``, ``r = c X^T y``,
  ``c = 2 loss_scale / 3``; ``X`` is invertible (``det X = 10 gamma``) and
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
    "ReluCounterexampleSolution",
    "leaky_relu_limit",
    "relu_counterexample_data",
    "relu_counterexample_limit",
]


def relu_counterexample_data(gamma: SupportsFloat) -> tuple[np.ndarray, np.ndarray]:
    """The 3-sample data set ``X = [(3,-1,0), (4,2,0), (0,gamma,gamma)]``, ``y = (16, 18, 0)``."""
    gamma = as_scalar("gamma", gamma, positive=True)
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
        gamma: ``> 0``, third data point ``x3 = (0, gamma, gamma)``.
        ts: optional times ``>= 0`` (``inf`` allowed) at which to return ``w(t)``.
        loss_scale: ``L(w) = loss_scale * mean_i (relu(w.x_i) - y_i)^2``; only rescales time
            (``crossing_time`` is proportional to ``1 / loss_scale``).

    Returns:
        A :class:`ReluCounterexampleSolution`.

    Raises:
        ValueError: on bad arguments.
        RuntimeError: if a phase assumption fails on the checking grid (it does not for
            ``gamma > 0``; the check guards the closed form).
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
    if neg.size == 0:  # stays active: converges to X^{-1} y on the boundary of the region
        t_c, w_c = np.inf, np.linalg.solve(X, y)
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
