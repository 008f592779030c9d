r"""Ridge path and the exact gradient-flow path of least squares, from one SVD.

Conventions (the project's square loss, see ``docs/architecture.md``)::

    L(w)        = loss_scale * (1/n) ||X w - y||^2          (loss_scale = 1: mean, no 1/2)
    ridge(lam)  = argmin_w (1/n) ||X w - y||^2 + lam ||w||^2 = (X^T X + n lam I)^{-1} X^T y
    dw/dt       = -grad L(w) = -(2 loss_scale / n) X^T (X w - y)

With the thin SVD ``X = U diag(s) V^T`` and ``z = V^T w`` each coordinate relaxes
independently, ``dz_i/dt = -kappa_i (z_i - z_i^*)`` with rate ``kappa_i = 2 loss_scale s_i^2 / n``
and target ``z_i^* = (U^T y)_i / s_i``; the component of ``w0`` in ``null(X)`` never moves:

    w(t)        = w0 + V diag(1 - exp(-kappa_i t)) (z^* - V^T w0)
    ridge(lam)  = V diag(s_i / (s_i^2 + n lam)) U^T y.

Mapping to Ali, Kolter & Tibshirani (2019), "A continuous-time view of early stopping for least
squares" (AISTATS): they run gradient flow on ``(1/(2n)) ||y - X b||^2`` (our
``loss_scale = 1/2``) and define ridge exactly as above,
``argmin (1/n)||y - X b||^2 + lam ||b||^2``, and compare the two under the calibration
``lam = 1/t_AKT``. Our flow at time ``t`` with ``loss_scale`` equals theirs at
``t_AKT = 2 loss_scale t``, so the calibrated ridge parameter is

    lam(t) = 1 / (2 loss_scale t)        (= 1/(2t) in the project convention loss_scale = 1).

In the eigenbasis the shrinkage factors are then ``1 - exp(-x_i)`` (flow) and ``x_i / (1 + x_i)``
(ridge) with ``x_i = kappa_i t``; AKT's Theorem 1 bounds the estimation risk ratio flow/ridge by
``sup_x ((1 - e^{-x})(1 + x)/x)^2 = 1.68591`` (quoted as 1.6862, "1.69", in the paper) for every t,
X, beta0 and noise level (the bound
holds coordinate-wise, so it also holds for the in-sample prediction risk).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import SupportsFloat

import numpy as np
import scipy.linalg
import scipy.optimize

from implicit_bias.theory._validation import ArrayLike, as_matrix, as_scalar, as_vector

__all__ = [
    "GDRiskComparison",
    "RiskComparison",
    "akt_risk_ratio_bound",
    "gd_filter",
    "gd_least_squares",
    "gd_ridge_risk_ratio",
    "gradient_flow_least_squares",
    "ridge_filter",
    "ridge_gf_risk_ratio",
    "ridge_lambda_for_steps",
    "ridge_lambda_for_time",
    "ridge_path",
    "source_condition_bias",
]


def _svd(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD keeping only singular values above ``max(n, d) * eps * s_max``."""
    U, s, Vt = scipy.linalg.svd(X, full_matrices=False, lapack_driver="gesdd")
    keep = s > max(X.shape) * np.finfo(np.float64).eps * (s[0] if s.size else 0.0)
    return U[:, keep], s[keep], Vt[keep]


def _nonneg_vector(name: str, values: object) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty scalar or 1-D array, got shape {arr.shape}")
    if np.any(np.isnan(arr)) or np.any(arr < 0):
        raise ValueError(
            f"{name} must be >= 0 (inf allowed), got {arr[np.isnan(arr) | (arr < 0)][:3]}"
        )
    return arr


def ridge_path(X: ArrayLike, y: ArrayLike, lambdas: ArrayLike) -> np.ndarray:
    """Ridge estimates ``argmin (1/n)||X w - y||^2 + lam ||w||^2`` for each ``lam``.

    Closed form from one SVD: ``w(lam) = V diag(s_i / (s_i^2 + n lam)) U^T y``. ``lam = 0``
    gives the minimum-norm least-squares solution and ``lam = inf`` gives 0. This is the
    ridge parametrization of Ali, Kolter & Tibshirani (2019); it is calibrated to the
    gradient flow of :func:`gradient_flow_least_squares` by :func:`ridge_lambda_for_time`.

    Args:
        X: design, shape ``(n, d)``.
        y: targets, shape ``(n,)``.
        lambdas: ridge parameters ``>= 0`` (``inf`` allowed), scalar or shape ``(k,)``.

    Returns:
        Array of shape ``(k, d)``.

    Raises:
        ValueError: on bad shapes, non-finite data or negative ``lambdas``.
    """
    X = as_matrix("X", X)
    n, _ = X.shape
    y = as_vector("y", y, length=n)
    lam = _nonneg_vector("lambdas", lambdas)
    U, s, Vt = _svd(X)
    uty = U.T @ y
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = s[None, :] / (s[None, :] ** 2 + n * lam[:, None])
    factors = np.where(np.isinf(lam)[:, None], 0.0, factors)
    return (factors * uty[None, :]) @ Vt


def gradient_flow_least_squares(
    X: ArrayLike,
    y: ArrayLike,
    ts: ArrayLike,
    w0: ArrayLike | None = None,
    loss_scale: SupportsFloat = 1.0,
) -> np.ndarray:
    """Exact gradient-flow path of ``L(w) = loss_scale * mean((X w - y)^2)``.

    ``dw/dt = -(2 loss_scale / n) X^T (X w - y)``, solved from one SVD:
    ``w(t) = w0 + V diag(1 - exp(-kappa_i t)) (U^T y / s - V^T w0)`` with
    ``kappa_i = 2 loss_scale s_i^2 / n``. ``t = inf`` gives :func:`min_norm_solution`.

    Args:
        X: design, shape ``(n, d)``.
        y: targets, shape ``(n,)``.
        ts: times ``>= 0`` (``inf`` allowed), scalar or shape ``(k,)``.
        w0: initialization, shape ``(d,)``; zeros when ``None``.
        loss_scale: positive multiplier of the mean squared error (1: project convention,
            1/2: the ``1/(2n)`` convention of Ali et al. 2019). Only rescales time.

    Returns:
        Array of shape ``(k, d)``: ``w(t)`` for each ``t`` in ``ts``.

    Raises:
        ValueError: on bad shapes, non-finite data, negative ``ts`` or ``loss_scale <= 0``.
    """
    X = as_matrix("X", X)
    n, d = X.shape
    y = as_vector("y", y, length=n)
    ts = _nonneg_vector("ts", ts)
    w0 = np.zeros(d) if w0 is None else as_vector("w0", w0, length=d)
    loss_scale = as_scalar("loss_scale", loss_scale, positive=True)
    U, s, Vt = _svd(X)
    kappa = 2.0 * loss_scale * s**2 / n
    gap = U.T @ y / s - Vt @ w0  # z* - z0
    with np.errstate(invalid="ignore"):
        relaxed = -np.expm1(-kappa[None, :] * ts[:, None])  # 1 - exp(-kappa t), = 1 at t=inf
    return w0[None, :] + (relaxed * gap[None, :]) @ Vt


def ridge_lambda_for_time(ts: ArrayLike, loss_scale: SupportsFloat = 1.0) -> np.ndarray:
    """Ridge parameter calibrated to flow time: ``lam = 1 / (2 loss_scale t)`` (AKT 2019).

    ``t = 0`` maps to ``lam = inf`` and ``t = inf`` to ``lam = 0``.
    """
    ts = _nonneg_vector("ts", ts)
    loss_scale = as_scalar("loss_scale", loss_scale, positive=True)
    with np.errstate(divide="ignore"):
        return 1.0 / (2.0 * loss_scale * ts)


@functools.cache
def akt_risk_ratio_bound() -> float:
    """``sup_{x>0} ((1 - e^{-x})(1 + x) / x)^2 = 1.68591`` (attained at ``x = 1.7933``).

    Ali et al. (2019, Theorem 1) quote this constant as 1.6862 (rounded up; ``sqrt = 1.29843``).
    """

    def neg(x: float) -> float:
        return -(((-np.expm1(-x)) * (1.0 + x) / x) ** 2)

    res = scipy.optimize.minimize_scalar(
        neg, bounds=(0.1, 10.0), method="bounded", options={"xatol": 1e-12}
    )
    return float(-res.fun)


@dataclasses.dataclass(frozen=True)
class RiskComparison:
    """Exact risks of gradient flow at ``ts`` and of ridge at the calibrated ``lambdas``.

    Attributes:
        ts: flow times, shape ``(k,)``.
        lambdas: calibrated ridge parameters ``1/(2 loss_scale t)``, shape ``(k,)``.
        gf_risk: risk of the flow estimate at each time.
        ridge_risk: risk of the ridge estimate at each calibrated lambda.
        ratio: ``gf_risk / ridge_risk`` (Ali et al. 2019: ``<= akt_risk_ratio_bound()``).
        risk: ``"estimation"`` (E||b - b0||^2) or ``"in_sample"`` ((1/n) E||X(b - b0)||^2).
    """

    ts: np.ndarray
    lambdas: np.ndarray
    gf_risk: np.ndarray
    ridge_risk: np.ndarray
    ratio: np.ndarray
    risk: str


def ridge_gf_risk_ratio(
    X: ArrayLike,
    beta0: ArrayLike,
    sigma: SupportsFloat,
    ts: ArrayLike,
    loss_scale: SupportsFloat = 1.0,
    risk: str = "estimation",
) -> RiskComparison:
    """Exact risks of flow and calibrated ridge under ``y = X beta0 + N(0, sigma^2 I)``.

    Both estimators are linear in ``y`` with eigen-shrinkage factors ``f_i``
    (flow from 0: ``1 - exp(-x_i)``, ridge: ``x_i/(1 + x_i)``, ``x_i = 2 loss_scale s_i^2 t / n``),
    so with ``c_i = v_i . beta0``:

    * estimation risk ``E||b - beta0||^2 = sum (1 - f_i)^2 c_i^2 + ||P_null beta0||^2
      + sigma^2 sum f_i^2 / s_i^2``;
    * in-sample risk ``(1/n) E||X(b - beta0)||^2 = (1/n)(sum s_i^2 (1 - f_i)^2 c_i^2
      + sigma^2 sum f_i^2)``.

    Args:
        X: design, shape ``(n, d)`` (fixed design).
        beta0: true coefficients, shape ``(d,)``.
        sigma: noise standard deviation ``>= 0``.
        ts: flow times ``>= 0`` (``inf`` allowed).
        loss_scale: as in :func:`gradient_flow_least_squares`.
        risk: ``"estimation"`` or ``"in_sample"``.

    Returns:
        A :class:`RiskComparison`.

    Raises:
        ValueError: on bad inputs or an unknown ``risk``.
    """
    X = as_matrix("X", X)
    n, d = X.shape
    beta0 = as_vector("beta0", beta0, length=d)
    sigma = as_scalar("sigma", sigma, nonnegative=True)
    ts = _nonneg_vector("ts", ts)
    loss_scale = as_scalar("loss_scale", loss_scale, positive=True)
    if risk not in ("estimation", "in_sample"):
        raise ValueError(f"risk must be 'estimation' or 'in_sample', got {risk!r}")
    _, s, Vt = _svd(X)
    c = Vt @ beta0
    null_part = float(beta0 @ beta0 - c @ c)
    x = 2.0 * loss_scale * s[None, :] ** 2 * ts[:, None] / n
    f_gf = -np.expm1(-x)
    with np.errstate(divide="ignore"):
        f_ridge = 1.0 / (1.0 + 1.0 / x)  # x/(1+x), = 0 at x=0 and 1 at x=inf

    def _risk(f: np.ndarray) -> np.ndarray:
        if risk == "estimation":
            return (
                ((1 - f) ** 2 * c**2).sum(1) + max(null_part, 0.0) + sigma**2 * (f**2 / s**2).sum(1)
            )
        return ((s**2 * (1 - f) ** 2 * c**2).sum(1) + sigma**2 * (f**2).sum(1)) / n

    gf, rr = _risk(f_gf), _risk(f_ridge)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rr > 0, gf / rr, 1.0)
    return RiskComparison(
        ts=ts,
        lambdas=ridge_lambda_for_time(ts, loss_scale),
        gf_risk=gf,
        ridge_risk=rr,
        ratio=ratio,
        risk=risk,
    )


# --- discrete gradient descent: spectral filters (Yao's slides, "Why early stopping?") --------
#
# GD on L(w) = loss_scale (1/n) ||X w - y||^2 from w0 = 0 with step lr:
#     w_k = V diag(g_i) U^T y / s,   g_i = 1 - (1 - lr kappa_i)^k,   kappa_i = 2 loss_scale s_i^2/n
# (kappa_i: the Hessian's eigenvalues), against ridge V diag(r_i) U^T y / s with
#     r_i = s_i^2 / (s_i^2 + n lam) = kappa_i / (kappa_i + 2 loss_scale lam).
# Yao's slides (lines 135-157) write both for the operator L_K with the step folded into it:
# f_t = (I - (I - L_K)^t) f_rho, f_lambda = (L_K + lambda)^{-1} L_K f_rho, "lambda ~ 1/t";
# with mu = lr kappa the GD filter is 1 - (1 - mu)^k and the ridge filter mu / (mu + lam_s),
# lam_s = 2 loss_scale lr lam. Matching the filters at small mu (k mu = mu / lam_s) gives
#     lam(k) = 1 / (2 loss_scale lr k),
# the discrete counterpart of the flow's 1 / (2 loss_scale t) at t = lr k.


def gd_filter(kappa: ArrayLike, lr: SupportsFloat, steps: ArrayLike) -> np.ndarray:
    """GD's spectral filter ``1 - (1 - lr kappa)^k`` (from 0), shape ``(len(steps), len(kappa))``.

    ``steps`` may contain ``inf`` (the limit 1 when ``0 < lr kappa < 2``).
    """
    kappa = _nonneg_vector("kappa", kappa)
    lr = as_scalar("lr", lr, positive=True)
    k = _nonneg_vector("steps", steps)
    base = 1.0 - lr * kappa[None, :]
    with np.errstate(over="ignore", invalid="ignore"):
        power = np.where(
            np.isinf(k)[:, None],
            np.where(np.abs(base) < 1, 0.0, np.nan),
            np.power(base, np.where(np.isinf(k), 0.0, k)[:, None]),
        )
    return 1.0 - power


def ridge_filter(kappa: ArrayLike, lambdas: ArrayLike, loss_scale: SupportsFloat = 1.0):
    """Ridge's spectral filter ``kappa / (kappa + 2 loss_scale lam)`` (``= s^2 / (s^2 + n lam)``),
    shape ``(len(lambdas), len(kappa))``; ``lam = inf`` gives 0, ``lam = 0`` gives 1."""
    kappa = _nonneg_vector("kappa", kappa)
    lam = _nonneg_vector("lambdas", lambdas)
    loss_scale = as_scalar("loss_scale", loss_scale, positive=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 / (1.0 + 2.0 * loss_scale * lam[:, None] / kappa[None, :])
    return np.where(np.isinf(lam)[:, None], 0.0, out)


def ridge_lambda_for_steps(
    steps: ArrayLike, lr: SupportsFloat, loss_scale: SupportsFloat = 1.0
) -> np.ndarray:
    """The slides' calibration ``lam ~ 1/t`` for GD: ``lam(k) = 1 / (2 loss_scale lr k)``.

    It matches the first-order (small-``kappa``) behaviour of the two filters,
    ``k lr kappa = kappa / (2 loss_scale lam)``; ``k = 0`` maps to ``inf``.
    """
    k = _nonneg_vector("steps", steps)
    lr = as_scalar("lr", lr, positive=True)
    loss_scale = as_scalar("loss_scale", loss_scale, positive=True)
    with np.errstate(divide="ignore"):
        return 1.0 / (2.0 * loss_scale * lr * k)


def gd_least_squares(
    X: ArrayLike,
    y: ArrayLike,
    lr: SupportsFloat,
    steps: ArrayLike,
    w0: ArrayLike | None = None,
    loss_scale: SupportsFloat = 1.0,
) -> np.ndarray:
    """Exact GD path ``w_k`` on ``loss_scale * mean((X w - y)^2)`` from ``w0``, shape
    ``(len(steps), d)``: ``w_k = w0 + V diag(1 - (1 - lr kappa_i)^k) (U^T y / s - V^T w0)``.

    Raises:
        ValueError: on bad inputs.
    """
    X = as_matrix("X", X)
    n, d = X.shape
    y = as_vector("y", y, length=n)
    w0 = np.zeros(d) if w0 is None else as_vector("w0", w0, length=d)
    loss_scale = as_scalar("loss_scale", loss_scale, positive=True)
    U, s, Vt = _svd(X)
    kappa = 2.0 * loss_scale * s**2 / n
    g = gd_filter(kappa, lr, steps)
    gap = U.T @ y / s - Vt @ w0
    return w0[None, :] + (g * gap[None, :]) @ Vt


@dataclasses.dataclass(frozen=True)
class GDRiskComparison:
    """Exact risks of GD after ``k`` steps and of ridge at ``lam(k) = 1/(2 loss_scale lr k)``.

    Attributes:
        steps, lr: the steps and the step size; lambdas: the calibrated penalties.
        gd_risk, ridge_risk, ratio: as in :class:`RiskComparison`.
        risk: ``"estimation"`` or ``"in_sample"``.
    """

    steps: np.ndarray
    lr: float
    lambdas: np.ndarray
    gd_risk: np.ndarray
    ridge_risk: np.ndarray
    ratio: np.ndarray
    risk: str


def _filter_risk(f, s, c, null_part, sigma, n, risk):
    if risk == "estimation":
        return ((1 - f) ** 2 * c**2).sum(1) + max(null_part, 0.0) + sigma**2 * (f**2 / s**2).sum(1)
    return ((s**2 * (1 - f) ** 2 * c**2).sum(1) + sigma**2 * (f**2).sum(1)) / n


def gd_ridge_risk_ratio(
    X: ArrayLike,
    beta0: ArrayLike,
    sigma: SupportsFloat,
    lr: SupportsFloat,
    steps: ArrayLike,
    loss_scale: SupportsFloat = 1.0,
    risk: str = "estimation",
) -> GDRiskComparison:
    """Exact risks of GD (from 0, step ``lr``) and of ridge at ``lam(k)``, along ``steps``.

    Same formulas as :func:`ridge_gf_risk_ratio` with GD's filter ``1 - (1 - lr kappa)^k``
    in place of the flow's ``1 - exp(-kappa t)``. As ``lr -> 0`` at fixed ``t = lr k`` the
    ratio tends to the flow's (bounded by 1.6862, Ali et al. 2019); for ``lr kappa_max`` near
    2 the top components oscillate in sign and the filter is no longer monotone in ``k``.

    Raises:
        ValueError: on bad inputs or an unknown ``risk``.
    """
    X = as_matrix("X", X)
    n, d = X.shape
    beta0 = as_vector("beta0", beta0, length=d)
    sigma = as_scalar("sigma", sigma, nonnegative=True)
    lr = as_scalar("lr", lr, positive=True)
    loss_scale = as_scalar("loss_scale", loss_scale, positive=True)
    if risk not in ("estimation", "in_sample"):
        raise ValueError(f"risk must be 'estimation' or 'in_sample', got {risk!r}")
    k = _nonneg_vector("steps", steps)
    _, s, Vt = _svd(X)
    c = Vt @ beta0
    null_part = float(beta0 @ beta0 - c @ c)
    kappa = 2.0 * loss_scale * s**2 / n
    lam = ridge_lambda_for_steps(k, lr, loss_scale)
    g = gd_filter(kappa, lr, k)
    r = ridge_filter(kappa, lam, loss_scale)
    gd = _filter_risk(g, s, c, null_part, sigma, n, risk)
    rr = _filter_risk(r, s, c, null_part, sigma, n, risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rr > 0, gd / rr, 1.0)
    return GDRiskComparison(k, lr, lam, gd, rr, ratio, risk)


def source_condition_bias(method: str, r: SupportsFloat, t: ArrayLike) -> np.ndarray:
    r"""Worst-case bias of the slides' rates (lines 159-174), in closed form.

    For a source condition :math:`f_\rho = L_K^r g`, :math:`\|g\| \le 1`, and a normalized
    spectrum :math:`\mu \in (0, 1]`, the bias :math:`\|f - f_\rho\|_\rho` of a filter
    :math:`\phi` is at most :math:`\sup_{\mu} |1 - \phi(\mu)|\,\mu^r`:

    * ``"gd"``, :math:`1 - \phi = (1 - \mu)^t`: the sup is at :math:`\mu = r/(t + r)`, equal to
      :math:`(t/(t+r))^t (r/(t+r))^r \sim (r/(e t))^r`: rate :math:`t^{-r}` for every r;
    * ``"ridge"``, :math:`1 - \phi = \lambda/(\mu + \lambda)` with :math:`\lambda = 1/t`: for
      :math:`r < 1` the sup is at :math:`\mu = r\lambda/(1 - r)` (when that is <= 1), equal to
      :math:`\lambda^r r^r (1-r)^{1-r}`; for :math:`r \ge 1` it is at :math:`\mu = 1`,
      :math:`\lambda/(1 + \lambda)`: rate :math:`\lambda^{\min(r, 1)}` (saturation).

    Args:
        method: ``"gd"`` or ``"ridge"``.
        r: the source exponent, > 0.
        t: iteration counts (GD) or ``1/lambda`` (ridge), > 0.

    Returns:
        The worst-case bias at each ``t``.
    """
    r = as_scalar("r", r, positive=True)
    t = _nonneg_vector("t", t)
    if method == "gd":
        return (t / (t + r)) ** t * (r / (t + r)) ** r
    if method != "ridge":
        raise ValueError(f"method must be 'gd' or 'ridge', got {method!r}")
    lam = 1.0 / t
    if r >= 1:
        return lam / (1.0 + lam)
    mu = r * lam / (1.0 - r)
    inner = lam**r * r**r * (1.0 - r) ** (1.0 - r)
    return np.where(mu <= 1.0, inner, lam / (1.0 + lam))
