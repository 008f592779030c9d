r"""Reference step for single (leaky) ReLU neurons: Vardi & Shamir (2021), Theorems 3.1, 4.1, 5.1.

Vardi & Shamir (2021), "Implicit regularization in ReLU networks with the square loss" (COLT).
For a neuron :math:`f(x) = \sigma(w\cdot x)` trained by gradient flow on the square loss:

* **Theorem 4.1** (ReLU, the three-point data ``data=relu_counterexample``, ``w(0) = 0``): the
  limit is :math:`(5, -1, w_3(\gamma))`, computed exactly by
  :func:`~implicit_bias.theory.relu_counterexample_limit` (two linear phases, the second
  starting when :math:`x_3\cdot w` crosses 0; one phase and :math:`w_3 = 0` at
  :math:`\gamma = 0`), or, for a run by plain gradient descent, by the exact two-phase GD
  :func:`~implicit_bias.theory.relu_counterexample_gd` at the run's learning rate.
* **Theorem 3.1** (strictly monotone activation, here leaky ReLU): the limit is the zero-loss point
  closest to :math:`w(0)`, :math:`w(0) + X^+(\sigma^{-1}(y) - X w(0))`
  (:func:`~implicit_bias.theory.leaky_relu_limit`).
* **Theorem 5.1** (ReLU, any data and init): if the flow converges to a zero-loss point
  :math:`w_\infty`, then :math:`\|w_\infty - w(0)\| \le 2\|w^\star - w(0)\|` with :math:`w^\star`
  the zero-loss point closest to :math:`w(0)` (:func:`closest_zero_loss_relu`). The reason:
  for every zero-loss :math:`z`, :math:`\frac{d}{dt}\|w - z\|^2 = -\frac4n\sum_i
  (\sigma(w\cdot x_i) - \sigma(z\cdot x_i))\,\sigma'(w\cdot x_i)\,(w\cdot x_i - z\cdot x_i) \le 0`
  (:math:`\sigma` is non-decreasing), so :math:`\|w_\infty - w^\star\| \le \|w(0) - w^\star\|`,
  and the triangle inequality gives the factor 2.

For :class:`~implicit_bias.models.OneHiddenNeuron` (Section 6) the step checks the conserved
balancedness :math:`v^2 - \|w\|^2` (Du, Hu & Lee 2018) and reports the effective neuron
:math:`u = v w` (for ``v > 0``, :math:`v\,\sigma(w\cdot x) = \sigma(u\cdot x)`).
"""

import itertools
import logging
from typing import Any

import numpy as np
import scipy.linalg

from implicit_bias.data.relu_counterexample import ReluCounterexample
from implicit_bias.errors import ConfigError, check
from implicit_bias.experiment import Experiment
from implicit_bias.integrators.gd import GD
from implicit_bias.models.one_hidden_neuron import OneHiddenNeuron
from implicit_bias.models.relu_neuron import ReLUNeuron
from implicit_bias.result import Result
from implicit_bias.theory.checks._base import AbstractCheck
from implicit_bias.theory.relu_neuron import (
    leaky_relu_limit,
    min_norm_ratios,
    relu_counterexample_gd,
    relu_counterexample_limit,
)

logger = logging.getLogger(__name__)

#: Largest number of zero-label samples for the exact active-set enumeration (2^k subsets).
MAX_ZERO_LABELS = 16


def closest_zero_loss_relu(X: np.ndarray, y: np.ndarray, w0: np.ndarray) -> np.ndarray:
    r"""The zero-loss point of a single ReLU neuron closest to ``w0`` (exact, numpy).

    The zero-loss set of :math:`w \mapsto \frac1n\sum_i(\max(w\cdot x_i, 0) - y_i)^2` is the
    polyhedron

    .. math:: Z = \{w : x_i\cdot w = y_i\ (y_i > 0),\ x_i\cdot w \le 0\ (y_i = 0)\}

    (empty if some :math:`y_i < 0`). Its projection :math:`p` of ``w0`` satisfies the KKT
    conditions with some active set :math:`S` of zero-label rows, so :math:`p` is the projection
    of ``w0`` onto the affine set where the rows :math:`\{y_i > 0\} \cup S` hold with equality;
    conversely every such affine projection that is feasible is at distance at least
    :math:`\|p - w0\|`. Hence :math:`p` is the closest *feasible* candidate over the
    :math:`2^k` subsets ``S`` (``k`` zero labels, at most :data:`MAX_ZERO_LABELS`).

    Args:
        X: inputs, shape ``(n, d)``.
        y: targets ``>= 0``, shape ``(n,)``.
        w0: the initialization, shape ``(d,)``.

    Returns:
        The projection of ``w0`` onto ``Z``, shape ``(d,)``.

    Raises:
        ValueError: if ``Z`` is empty (a negative target, or inconsistent equations), or if
            there are more than :data:`MAX_ZERO_LABELS` zero labels.
    """
    X, y, w0 = (np.asarray(a, np.float64) for a in (X, y, w0))
    if np.any(y < 0):
        raise ValueError("a ReLU neuron cannot fit a negative target: no zero-loss point")
    pos, zero = np.flatnonzero(y > 0), np.flatnonzero(y == 0)
    if zero.size > MAX_ZERO_LABELS:
        raise ValueError(f"{zero.size} zero labels: more than {MAX_ZERO_LABELS} to enumerate")
    scale = max(1.0, float(np.abs(y).max(initial=0.0)), float(np.abs(X).max()))
    tol = 1e-10 * scale * max(1.0, float(np.linalg.norm(w0)))
    best, best_dist = None, np.inf
    for k in range(zero.size + 1):
        for active in itertools.combinations(zero, k):
            rows = np.concatenate([pos, np.asarray(active, dtype=int)])
            if rows.size == 0:
                cand = w0.copy()
            else:
                A, b = X[rows], y[rows]
                delta, *_ = scipy.linalg.lstsq(A, b - A @ w0)
                cand = w0 + delta
                if np.abs(A @ cand - b).max() > tol:  # inconsistent equalities
                    continue
            if zero.size and (X[zero] @ cand).max() > tol:
                continue
            dist = float(np.linalg.norm(cand - w0))
            if dist < best_dist:
                best, best_dist = cand, dist
    if best is None:
        raise ValueError("the ReLU neuron has no zero-loss point on these data")
    return best


class ReluNeuronCheck(AbstractCheck):
    r"""Compares a single-neuron run with Vardi & Shamir (2021) (see the module docstring).

    The dict it returns (``"reference"`` in ``metrics.json``) has ``name``, ``theorem`` and
    ``distance``, plus, by case:

    * ReLU neuron on ``data=relu_counterexample`` from ``w = 0`` (Theorem 4.1): ``predicted`` (the
      closed-form limit of the flow, or of plain GD at the run's lr: ``reference`` says which),
      ``w3``, ``w3_predicted``, ``w3_error``, ``w3_flow``, ``crossing_time`` (flow),
      ``crossing_step`` (GD), ``norm_ratio`` = :math:`\|w\|/\|w^\star\|` and
      ``relative_distance_to_min_norm`` = :math:`\|w - w^\star\|/\|w^\star\|`,
      :math:`w^\star = (5, -1, 0)`.
    * leaky ReLU neuron (Theorem 3.1): ``predicted`` = the zero-loss point closest to ``w(0)``.
    * every ReLU neuron (Theorem 5.1): ``closest_zero_loss``, ``distance_ratio`` =
      :math:`\|w - w(0)\| / \|w^\star - w(0)\|` and ``bound_holds`` (ratio <= 2 up to
      ``rtol``; meaningful only when ``interpolates``, i.e. final loss <= ``zero_loss_tol``).
    * one hidden neuron (balancedness, Du et al. 2018): ``balancedness_initial``,
      ``balancedness_final``, ``distance`` = their absolute difference, ``effective_neuron``.

    Attributes:
        zero_loss_tol: a run interpolates if its final training loss is at most this.
        rtol: relative slack of the Theorem 5.1 bound check (the run is a numerical solution).
    """

    zero_loss_tol: float = 1e-10
    rtol: float = 1e-6

    def __check_init__(self):
        check(self.zero_loss_tol > 0, "reference.zero_loss_tol", self.zero_loss_tol, "a float > 0")
        check(self.rtol >= 0, "reference.rtol", self.rtol, "a float >= 0")

    def __call__(self, exp: Experiment, run: Result) -> dict[str, Any]:
        model = exp.model
        X, y = np.asarray(run.data.X, np.float64), np.asarray(run.data.y, np.float64)
        w = np.asarray(run.params["w"], np.float64)
        w0 = np.asarray(run.initial_params["w"], np.float64)
        loss = float(run.final["train_loss"])
        out: dict[str, Any] = {"name": "vardi_shamir", "final_train_loss": loss}
        if isinstance(model, OneHiddenNeuron):
            return out | self._one_hidden(run, w, w0)
        if not isinstance(model, ReLUNeuron):
            raise ConfigError(
                "reference",
                "vardi_shamir",
                f"model=relu_neuron or one_hidden_neuron, not {type(model).__name__}",
            )
        out["interpolates"] = loss <= self.zero_loss_tol
        if model.activation == "leaky_relu":
            out["theorem"] = "3.1"
            try:
                predicted = leaky_relu_limit(X, y, w0, negative_slope=model.negative_slope)
            except ValueError as e:  # no zero-loss point (e.g. n > d): the theorem is silent
                logger.warning("Theorem 3.1 check skipped: %s", e)
                return out | {"predicted": None, "distance": None}
            return out | _compare(w, predicted)
        out |= self._bound(X, y, w, w0, out["interpolates"])
        if isinstance(exp.data, ReluCounterexample) and not np.any(w0):
            out |= self._theorem_4_1(exp, run, w)
        else:
            out |= {"theorem": "5.1", "distance": out.get("distance_to_closest")}
        return out

    def _bound(self, X, y, w, w0, interpolates: bool) -> dict[str, Any]:
        """Theorem 5.1: ||w - w0|| <= 2 ||w* - w0||, w* the closest zero-loss point."""
        try:
            closest = closest_zero_loss_relu(X, y, w0)
        except ValueError as e:
            logger.warning("Theorem 5.1 check skipped: %s", e)
            return {"closest_zero_loss": None, "distance_ratio": None, "bound_holds": None}
        moved, needed = float(np.linalg.norm(w - w0)), float(np.linalg.norm(closest - w0))
        holds = moved <= 2.0 * needed * (1 + self.rtol)
        return {
            "closest_zero_loss": closest.tolist(),
            "distance_to_closest": float(np.linalg.norm(w - closest)),
            # w0 already interpolates: the flow does not move (0 / 0 -> 0).
            "distance_ratio": moved / needed if needed > 0 else (0.0 if moved == 0 else None),
            "bound_holds": bool(holds) if interpolates else None,
        }

    @staticmethod
    def _theorem_4_1(exp: Experiment, run: Result, w: np.ndarray) -> dict[str, Any]:
        """Theorem 4.1: the two-phase closed form of the flow, or of plain GD at the run's lr."""
        gamma = float(exp.data.gamma)
        flow = relu_counterexample_limit(gamma)
        norm_ratio, rel_dist = min_norm_ratios(w)
        out = {
            "theorem": "4.1",
            "gamma": gamma,
            "w3": float(w[2]),
            "w3_flow": float(flow.w_limit[2]),
            # None when x3 . w never crosses 0 (gamma = 0): metrics.json stays strict JSON.
            "crossing_time": _finite_or_none(flow.crossing_time),
            # ||w|| / ||w*|| and ||w - w*|| / ||w*||, w* = (5, -1, 0): the quantities of the
            # theorem's cases.
            "norm_ratio": norm_ratio,
            "relative_distance_to_min_norm": rel_dist,
        }
        predicted = flow.w_limit
        plain_gd = isinstance(exp.integrator, GD) and exp.integrator.momentum == 0.0
        if plain_gd:
            gd = relu_counterexample_gd(gamma, float(run.scalars.lr))
            predicted = gd.w_limit
            out["crossing_step"] = _finite_or_none(gd.crossing_step)
        out |= _compare(w, predicted)
        out |= {"w3_predicted": float(predicted[2]), "w3_error": float(abs(w[2] - predicted[2]))}
        out["reference"] = "gd_closed_form" if plain_gd else "flow_closed_form"
        return out

    @staticmethod
    def _one_hidden(run: Result, w, w0) -> dict[str, Any]:
        v, v0 = float(run.params["v"]), float(run.initial_params["v"])
        b0, b1 = v0**2 - float(w0 @ w0), v**2 - float(w @ w)
        return {
            "theorem": "balancedness (Du et al. 2018)",
            "balancedness_initial": b0,
            "balancedness_final": b1,
            "distance": abs(b1 - b0),
            "effective_neuron": (v * w).tolist(),
        }


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _compare(w: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    dist = float(np.linalg.norm(w - predicted))
    return {
        "predicted": predicted.tolist(),
        "found": w.tolist(),
        "distance": dist,
        "relative_distance": dist / max(float(np.linalg.norm(predicted)), 1e-300),
    }
