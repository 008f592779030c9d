r"""Reference step ``early_stopping``: gradient flow on least squares against its closed form
and against ridge regression at the calibrated penalty.

Gradient flow on :math:`L(w) = \frac1n\|Xw - y\|^2` from :math:`w_0` has the closed form
(thin SVD :math:`X = U\,\mathrm{diag}(s)V^\top`, rates :math:`\kappa_i = 2 s_i^2/n`)

.. math:: w(t) = w_0 + V\,\mathrm{diag}(1 - e^{-\kappa_i t})\,(U^\top y / s - V^\top w_0)

(:func:`implicit_bias.theory.gradient_flow_least_squares`). Ali, Kolter & Tibshirani
(2019), *A continuous-time view of early stopping for least squares* (AISTATS), compare the
flow from 0 with ridge :math:`\hat\beta_\lambda = \arg\min \frac1n\|X\beta - y\|^2 +
\lambda\|\beta\|^2` at :math:`\lambda = 1/t_{AKT}`; their flow is on
:math:`\frac1{2n}\|X\beta - y\|^2`, so in the project's convention (no 1/2)
:math:`t_{AKT} = 2t` and the calibrated penalty is :math:`\lambda(t) = 1/(2t)`
(:func:`implicit_bias.theory.ridge_lambda_for_time`). Their Theorem 1: under
:math:`y = X\beta_0 + \sigma\varepsilon` (fixed X) the estimation risk
:math:`R(\hat\beta) = E_\varepsilon\|\hat\beta - \beta_0\|^2` satisfies
:math:`R(\text{flow}(t)) \le 1.6862\, R(\text{ridge}(\lambda(t)))` for every t.
"""

from typing import Any

import numpy as np

from implicit_bias.data.planted_regression import PlantedRegression
from implicit_bias.experiment import Experiment
from implicit_bias.models.linear import Linear
from implicit_bias.result import Result
from implicit_bias.theory import (
    akt_risk_ratio_bound,
    gradient_flow_least_squares,
    ridge_gf_risk_ratio,
    ridge_lambda_for_time,
    ridge_path,
)
from implicit_bias.theory.checks._base import AbstractCheck


class EarlyStoppingRidgeCheck(AbstractCheck):
    r"""Compare a gradient-flow run of a linear model with the closed-form flow and with ridge.

    Needs ``integrator=gradient_flow``, ``model=linear`` and ``record.params=true`` (the
    recorded predictors are the path). Keys written:

    * ``path_error``: :math:`\max_t \|w_{\rm engine}(t) - w_{\rm exact}(t)\|` over the record
      points (the closed form from the run's own data and initialization); ``distance``: the
      same at the final time.
    * ``ridge_path_distance_max``: :math:`\max_t \|w(t) - \hat\beta_{\lambda(t)}\|` (the two
      paths are close but not equal).
    * with ``data=planted_regression`` and ``data.target=planted`` (so ``w_star`` is
      :math:`\beta_0`) and a zero initialization: ``max_risk_ratio`` and ``argmax_t`` of the
      exact risk ratio flow/ridge over the recorded times, ``risk_ratio_bound`` (1.6862), the
      realized errors ``gf_error_final``/``ridge_error_final``
      (:math:`\|\hat\beta - \beta_0\|^2` for this noise draw) and the exact risks at the final
      time.
    """

    def __call__(self, exp: Experiment, run: Result) -> dict[str, Any]:
        if not (exp.integrator.continuous and isinstance(exp.model, Linear)):
            raise ValueError(
                "reference=early_stopping needs integrator=gradient_flow and model=linear, "
                f"got {type(exp.integrator).__name__} and {type(exp.model).__name__}"
            )
        if "predictor" not in run.records:
            raise ValueError("reference=early_stopping needs record.params=true")
        X = np.asarray(run.data.X, np.float64)
        y = np.asarray(run.data.y, np.float64)
        ts = np.asarray(run.times, np.float64)
        path = np.asarray(run.records["predictor"], np.float64)
        w0 = np.asarray(exp.model.predictor(run.initial_params), np.float64)
        exact = gradient_flow_least_squares(X, y, ts, w0)
        errors = np.linalg.norm(path - exact, axis=1)
        ridge = ridge_path(X, y, ridge_lambda_for_time(ts))
        out: dict[str, Any] = {
            "name": "early_stopping",
            "path_error": float(errors.max()),
            "distance": float(errors[-1]),
            "ridge_path_distance_max": float(np.linalg.norm(path - ridge, axis=1).max()),
            "lambda_convention": "lambda(t) = 1/(2t) (AKT lambda = 1/t_AKT, t_AKT = 2t)",
        }
        planted = isinstance(exp.data, PlantedRegression) and exp.data.target == "planted"
        if planted and not np.any(w0):
            beta0 = np.asarray(run.data.w_star, np.float64)
            comp = ridge_gf_risk_ratio(X, beta0, exp.data.sigma, ts)
            k = int(np.argmax(comp.ratio))
            out.update(
                risk="estimation: E||b - beta0||^2 over the noise, fixed X",
                max_risk_ratio=float(comp.ratio[k]),
                argmax_t=float(ts[k]),
                risk_ratio_bound=akt_risk_ratio_bound(),
                gf_risk_final=float(comp.gf_risk[-1]),
                ridge_risk_final=float(comp.ridge_risk[-1]),
                gf_error_final=float(np.sum((path[-1] - beta0) ** 2)),
                ridge_error_final=float(np.sum((ridge[-1] - beta0) ** 2)),
            )
        return out
