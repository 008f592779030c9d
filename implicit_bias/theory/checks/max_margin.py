r"""Reference step ``max_margin``: separable classification, the hard-margin SVM limit.

Soudry, Hoffer, Nacson, Gunasekar & Srebro (2018), *The implicit bias of gradient descent on
separable data* (JMLR 19(70)), Theorem 3: for a linear model trained by GD (small enough step
size) on the exponential or logistic loss of data separable through the origin,

.. math:: w(t) = \hat w \log t + \rho(t),\qquad \|\rho(t)\| \text{ bounded},

where :math:`\hat w = \arg\min \|w\|` s.t. :math:`y_i w\cdot x_i \ge 1` is the hard-margin
SVM (margin :math:`\gamma = 1/\|\hat w\|`). So :math:`\|w(t)\|/\log t \to \|\hat w\|`, the
slope of :math:`\|w\|` against :math:`\log t` tends to :math:`\|\hat w\|`, and the angle to
:math:`\hat w` and the normalized margin gap decay like :math:`1/\log t`.

**Constants, in the project's conventions.** The losses are means, :math:`L = \frac1n\sum_i
\ell(z_i\cdot w)` with :math:`z_i = y_i x_i`, and both losses have the tail
:math:`-\ell'(u) \sim e^{-u}`. Write :math:`\tau = \eta\,k` for GD (k steps of size
:math:`\eta`) and :math:`\tau = t` for the gradient flow. Substituting
:math:`w = \hat w\log\tau + \tilde w` in :math:`dw/d\tau = \frac1n\sum_i e^{-z_i\cdot w} z_i`
and using :math:`\hat w\cdot z_s = 1` on the support vectors gives
:math:`\hat w = \frac1n\sum_{s} e^{-z_s\cdot\tilde w} z_s`; with the SVM dual
:math:`\hat w = \sum_s \alpha_s z_s` (unique when the distinct support vectors are linearly
independent) this is Soudry et al.'s condition :math:`\eta\, e^{-x_n^\top\tilde w} = \alpha_n`
(their loss is a sum and their clock is the step count):

.. math:: z_g\cdot\tilde w = \log\frac{m_g}{n\,\alpha_g}

for each distinct support vector :math:`z_g` of multiplicity :math:`m_g` (e.g. the Soudry
et al. Fig. 1 data have :math:`z = y x` twice per support vector). It fixes :math:`\tilde w`
on the span of the support vectors; the rest of :math:`\rho` is set by the transient of the
other points, which decays like :math:`\tau^{-(\theta - 1)}`,
:math:`\theta = \min_{i\notin S} \hat w\cdot z_i > 1`. The learning rate therefore enters
only through :math:`\log(\eta k)`: the slope in :math:`\log k` is :math:`\|\hat w\|` for any
:math:`\eta`, but :math:`\|w\|/\log k` converges at rate :math:`O(1/\log k)` with a constant
that depends on :math:`\eta`.
"""

from typing import Any

import numpy as np
from jaxtyping import Float

from implicit_bias.experiment import Experiment
from implicit_bias.integrators.gd import GD
from implicit_bias.integrators.gradient_flow import GradientFlow
from implicit_bias.losses.exponential import Exponential
from implicit_bias.losses.logistic import Logistic
from implicit_bias.models import AbstractLinearModel
from implicit_bias.models.linear import Linear
from implicit_bias.result import Result
from implicit_bias.theory import HardMarginSVM, hard_margin_svm
from implicit_bias.theory.checks._base import AbstractCheck


def angle(a: Float[np.ndarray, " d"], b: Float[np.ndarray, " d"]) -> float:
    """Angle in radians between two nonzero vectors (``atan2`` form: accurate near 0)."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    ua, ub = a / na, b / nb
    return float(2.0 * np.arctan2(np.linalg.norm(ua - ub), np.linalg.norm(ua + ub)))


def normalized_margin(Z: Float[np.ndarray, "n d"], w: Float[np.ndarray, " d"]) -> float:
    """``min_i z_i . w / ||w||`` (geometric margin of w; negative if it misclassifies)."""
    nw = np.linalg.norm(w)
    return float(np.min(Z @ w) / nw) if nw > 0 else float("nan")


def rho_limit(
    Z: Float[np.ndarray, "n d"], svm: HardMarginSVM, active_tol: float = 1e-7
) -> tuple[Float[np.ndarray, " d"], Float[np.ndarray, "k d"]] | None:
    r"""The bounded part :math:`\tilde w` of :math:`w(\tau) = \hat w\log\tau + \tilde w +
    o(1)` on the span of the support vectors (see the module docstring), and an orthonormal
    basis (rows) of that span.

    Support vectors are the ``z_i`` with ``z_i . w_hat <= 1 + active_tol``; identical ones are
    merged (multiplicity ``m_g``). Returns ``None`` when the distinct support vectors are
    linearly dependent (the dual, hence :math:`\tilde w`, is then not unique).
    """
    active = Z @ svm.w <= 1.0 + active_tol
    G, mult = np.unique(Z[active], axis=0, return_counts=True)
    if np.linalg.matrix_rank(G) < G.shape[0]:
        return None
    # w_hat = G^T alpha with G of full row rank: alpha is unique.
    alpha, *_ = np.linalg.lstsq(G.T, svm.w, rcond=None)
    if np.any(alpha <= 0) or np.linalg.norm(G.T @ alpha - svm.w) > 1e-8 * np.linalg.norm(svm.w):
        return None
    w_tilde, *_ = np.linalg.lstsq(G, np.log(mult / (Z.shape[0] * alpha)), rcond=None)
    _, _, Vt = np.linalg.svd(G, full_matrices=False)
    return w_tilde, Vt


class MaxMarginCheck(AbstractCheck):
    r"""Direction, margin and growth of a separable-classification run against the hard-margin
    SVM of its own data (:func:`implicit_bias.theory.hard_margin_svm`).

    Keys written:

    * ``svm_w``, ``svm_norm`` (:math:`\|\hat w\| = 1/\gamma`), ``svm_margin`` (:math:`\gamma`).
    * ``angle``: angle (radians) between the final predictor and :math:`\hat w`;
      ``distance``: :math:`\|w/\|w\| - \hat w/\|\hat w\|\|` (the chord of that angle).
    * ``margin_gap``: :math:`(\gamma - \min_i z_i\cdot w/\|w\|)/\gamma` (normalized).
    * with recorded predictors (``record.params=true``): ``slope``, the least-squares slope of
      :math:`\|w\|` against :math:`\log t` over the last ``fit_decades`` decades of the record,
      ``slope_relative_error`` :math:`= (\text{slope} - \|\hat w\|)/\|\hat w\|` and
      ``norm_over_log_t`` (:math:`\|w(T)\|/\log T`, in steps or flow time).
    * linear model, exponential/logistic loss, plain GD or gradient flow, and linearly
      independent support vectors: ``rho_error``
      :math:`= \|P_S(w(T) - \hat w\log\tau_T - \tilde w)\|` (Soudry et al. Theorem 3 with the
      constant of the module docstring; ``tau = lr * steps`` for GD) and, when the support
      vectors span :math:`R^d` (so :math:`\tilde w` is fully determined),
      ``angle_predicted``, the angle of :math:`\hat w\log\tau_T + \tilde w` to :math:`\hat w`.

    Attributes:
        fit_decades: the slope is fitted on record points with :math:`t \ge T/10^{k}`.
    """

    fit_decades: float = 1.0

    def __call__(self, exp: Experiment, run: Result) -> dict[str, Any]:
        model = exp.model
        if not isinstance(model, AbstractLinearModel):
            raise ValueError(f"reference=max_margin needs a model linear in x, got {model}")
        X = np.asarray(run.data.X, np.float64)
        y = np.asarray(run.data.y, np.float64)
        Z = y[:, None] * X
        svm = hard_margin_svm(X, y)
        w = np.asarray(model.predictor(run.params), np.float64)
        svm_norm = float(np.linalg.norm(svm.w))
        u, uw = svm.direction, w / max(np.linalg.norm(w), np.finfo(float).tiny)
        out: dict[str, Any] = {
            "name": "max_margin",
            "svm_w": svm.w.tolist(),
            "svm_norm": svm_norm,
            "svm_margin": svm.margin,
            "num_support": int(np.sum(Z @ svm.w <= 1.0 + 1e-7)),
            "angle": angle(w, svm.w),
            "distance": float(np.linalg.norm(uw - u)),
            "margin_gap": (svm.margin - normalized_margin(Z, w)) / svm.margin,
            "final_norm": float(np.linalg.norm(w)),
        }
        T = float(np.asarray(run.times)[-1])
        tau = T * float(run.scalars.lr) if not exp.integrator.continuous else T
        if "predictor" in run.records:
            times = np.asarray(run.times, np.float64)
            norms = np.linalg.norm(np.asarray(run.records["predictor"], np.float64), axis=-1)
            fit = (times > 0) & (times >= T / 10.0**self.fit_decades)
            if np.unique(times[fit]).size >= 2:
                slope = float(np.polyfit(np.log(times[fit]), norms[fit], 1)[0])
                out["slope"] = slope
                out["slope_relative_error"] = (slope - svm_norm) / svm_norm
            if T > 1:
                out["norm_over_log_t"] = float(np.linalg.norm(w) / np.log(T))
        predictable = (
            isinstance(model, Linear)
            and isinstance(exp.loss, Exponential | Logistic)
            and (
                isinstance(exp.integrator, GradientFlow)
                or (isinstance(exp.integrator, GD) and exp.integrator.momentum == 0.0)
            )
        )
        limit = rho_limit(Z, svm) if predictable and tau > 0 else None
        if limit is not None:
            w_tilde, span = limit
            residual = w - svm.w * np.log(tau) - w_tilde
            out["w_tilde"] = w_tilde.tolist()
            out["rho_error"] = float(np.linalg.norm(span @ residual))
            if span.shape[0] == X.shape[1]:
                out["angle_predicted"] = angle(svm.w * np.log(tau) + w_tilde, svm.w)
        return out
