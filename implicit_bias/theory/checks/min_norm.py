r"""Reference step ``min_norm``: least squares, the limit of GD / SGD / gradient flow.

For a model linear in x trained on the square loss, every (minibatch) gradient of the
end-to-end vector lies in the row space of X, so the null-space component never moves and the
run converges (if it interpolates) to the interpolator closest to its start:

.. math:: w_\infty = w_0 + X^+(y - X w_0) = P_{\rm null} w_0 + X^+ y

(Zhang et al. 2017, Sec. 5; Gunasekar et al. 2018). For a deep linear network
:math:`w^\top = h W_1` with head :math:`h = W_L\cdots W_2` the gradient w.r.t. :math:`W_1` is
:math:`h^\top r^\top X` (times 2/n), whose rows lie in the row space of X, so
:math:`W_1(t) P_{\rm null} = W_1(0) P_{\rm null}` and, at every time,

.. math:: P_{\rm null}\, w(t) = P_{\rm null} W_1(0)^\top h(t)^\top .

Hence the limit is :math:`X^+ y + P_{\rm null} W_1(0)^\top h(\infty)^\top`: the minimum-norm
interpolator :math:`X^+ y` iff the rows of :math:`W_1(0)` lie in the row space of X (e.g.
``init=zero_first``), and in general *not* :math:`w_0 + X^+(y - Xw_0)` (the head moves).
"""

from typing import Any

import numpy as np
import scipy.linalg
from jaxtyping import Float

from implicit_bias.experiment import Experiment
from implicit_bias.models import AbstractLinearModel
from implicit_bias.models.deep_linear import DeepLinear
from implicit_bias.result import Result
from implicit_bias.theory import min_norm_solution
from implicit_bias.theory.checks._base import AbstractCheck


def row_space_basis(X: Float[np.ndarray, "n d"]) -> Float[np.ndarray, "r d"]:
    """Orthonormal basis (rows) of the row space of X, rank cut at ``max(n, d) eps s_max``
    (the convention of :mod:`implicit_bias.theory`)."""
    _, s, Vt = scipy.linalg.svd(X, full_matrices=False)
    keep = s > max(X.shape) * np.finfo(np.float64).eps * (s[0] if s.size else 0.0)
    return Vt[keep]


def null_projection(
    V: Float[np.ndarray, "r d"], v: Float[np.ndarray, "d ..."]
) -> Float[np.ndarray, "d ..."]:
    """``P_null v = v - V^T V v`` for a row-space basis ``V`` (acts on the first axis)."""
    return v - V.T @ (V @ v)


def _norm(x) -> float:
    return float(np.linalg.norm(x))


class MinNormCheck(AbstractCheck):
    """Distance of the final predictor to the least-squares limit predicted from the run's own
    data and initialization (see the module docstring).

    Keys written (all Euclidean norms, float64):

    * ``distance`` / ``relative_distance``: ``||w(T) - w_pred||`` (relative to
      ``||w_pred||``), where ``w_pred = w0 + X^+(y - X w0)`` for a linear model (the
      theorem) and ``X^+ y + P_null W1(0)^T h(T)^T`` for a deep linear network (the identity
      above with the run's own final head ``h(T)``).
    * ``distance_to_min_norm``: ``||w(T) - X^+ y||``;
      ``distance_to_shifted_min_norm``: ``||w(T) - (w0 + X^+(y - X w0))||``.
    * ``null_space_drift``: ``||P_null (w(T) - w0)||``: 0 for a linear model (any
      GD/SGD/flow, up to rounding); for a deep linear net it is what the head did to the
      null-space part of ``W1(0)``.
    * deep linear only: ``null_identity_error`` ``= ||P_null w(T) - P_null W1(0)^T h(T)^T||``
      (0 up to rounding at every time), ``first_layer_null_drift``
      ``= ||(W1(T) - W1(0)) P_null||_F`` (0 up to rounding), ``null_residual``
      ``= ||P_null W1(0)^T h(T)^T||`` (the distance to ``X^+ y`` that the row-space theorem
      cannot remove) and ``initial_first_layer_null = ||W1(0) P_null||_F``.
    * ``train_residual``: ``||X w(T) - y|| / sqrt(n)`` (the limit is an interpolator only if
      this is ~0 and n <= d), ``rank``: rank of X.
    """

    def __call__(self, exp: Experiment, run: Result) -> dict[str, Any]:
        model = exp.model
        if not isinstance(model, AbstractLinearModel):
            raise ValueError(f"reference=min_norm needs a model linear in x, got {model}")
        X = np.asarray(run.data.X, np.float64)
        y = np.asarray(run.data.y, np.float64)
        w = np.asarray(model.predictor(run.params), np.float64)
        w0 = np.asarray(model.predictor(run.initial_params), np.float64)
        V = row_space_basis(X)
        shifted = min_norm_solution(X, y, w0)
        pinv = min_norm_solution(X, y)
        out: dict[str, Any] = {
            "name": "min_norm",
            "rank": int(V.shape[0]),
            "distance_to_min_norm": _norm(w - pinv),
            "distance_to_shifted_min_norm": _norm(w - shifted),
            "null_space_drift": _norm(null_projection(V, w - w0)),
            "train_residual": _norm(X @ w - y) / np.sqrt(X.shape[0]),
        }
        if isinstance(model, DeepLinear) and model.depth >= 2:
            names = list(model.param_shapes())
            W1_0 = np.asarray(run.initial_params[names[0]], np.float64)
            W1 = np.asarray(run.params[names[0]], np.float64)
            # head h = W_L ... W_2, shape (1, m).
            head = np.asarray(run.params[names[1]], np.float64)
            for k in names[2:]:
                head = np.asarray(run.params[k], np.float64) @ head
            carried = null_projection(V, W1_0.T @ head.T)[:, 0]
            predicted = pinv + carried
            out.update(
                prediction="X^+ y + P_null W1(0)^T (W_L...W_2)(T)^T",
                null_identity_error=_norm(null_projection(V, w) - carried),
                first_layer_null_drift=_norm(null_projection(V, (W1 - W1_0).T)),
                null_residual=_norm(carried),
                initial_first_layer_null=_norm(null_projection(V, W1_0.T)),
            )
        else:
            predicted = shifted
            out["prediction"] = "w0 + X^+ (y - X w0)"
        out["distance"] = _norm(w - predicted)
        out["relative_distance"] = out["distance"] / max(_norm(predicted), np.finfo(float).tiny)
        return out
