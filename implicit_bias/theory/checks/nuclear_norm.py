r"""Reference step ``nuclear_norm``: the minimum nuclear-norm (or trace) solution.

For matrix factorization (``model=matrix_factorization``) trained on measurements
:math:`\langle A_i, X\rangle = b_i` (a sample is :math:`x_i = \operatorname{vec}(A_i)`):

* symmetric model :math:`X = U U^\top` from :math:`U(0) = \alpha I`: Gunasekar et al. (2017),
  *Implicit regularization in matrix factorization*, conjecture that gradient flow converges,
  as :math:`\alpha \to 0`, to

  .. math:: X_{\rm ref} = \operatorname{argmin}\{\operatorname{tr} X :
      \langle A_i, X\rangle = b_i,\ X \succeq 0\}

  (:func:`~implicit_bias.theory.min_trace_psd`; for PSD X the trace is the nuclear norm).
  They prove it for commuting measurements; it fails in general (Li, Luo & Lyu 2021, *Towards
  resolving the implicit bias of gradient descent for matrix factorization: greedy low-rank
  learning*; Razin & Cohen 2020), so this is a *conjectured* limit, and the distance this step
  reports is the measurement, not a test;
* deep model :math:`X = W_N \cdots W_1`: the unconstrained
  :math:`\operatorname{argmin}\{\|X\|_* : \langle A_i, X\rangle = b_i\}`
  (:func:`~implicit_bias.theory.nuclear_norm_minimizer`), the natural norm-based candidate,
  which Arora et al. (2019) show deep factorizations beat on low rank, and which Razin & Cohen
  (2020) show can be infinitely far from the flow (every norm of the run diverges).

The reference is solved with cvxpy (the optional extra ``implicit_bias[cvx]``), independently
of the engine, in float64. Its own accuracy is reported (``reference_constraint_residual``).
"""

import math
from typing import Any

import numpy as np
from jaxtyping import Float

from implicit_bias.errors import ConfigError, check
from implicit_bias.experiment import Experiment
from implicit_bias.models import AbstractLinearModel, MatrixFactorization
from implicit_bias.result import Result
from implicit_bias.theory import min_trace_psd, nuclear_norm_minimizer
from implicit_bias.theory.checks._base import AbstractCheck

TARGETS = ("auto", "min_trace_psd", "min_nuclear_norm")


def effective_rank_np(singular_values: Float[np.ndarray, " k"]) -> float:
    r"""Roy & Vetterli (2007) effective rank :math:`\exp(-\sum_i p_i \log p_i)`,
    :math:`p_i = \sigma_i / \sum_j \sigma_j` (numpy, float64; 0 for the zero matrix).

    Independent of the engine's :func:`~implicit_bias.models.matrix_factorization.effective_rank`
    so that the two can be checked against each other.
    """
    s = np.asarray(singular_values, np.float64)
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s[s > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def _num(x) -> float | str:
    """A JSON-safe float (non-finite values as strings, like ``outputs.metrics_dict``)."""
    v = float(x)
    return v if math.isfinite(v) else str(v)


class NuclearNormCheck(AbstractCheck):
    r"""Distance of the run's final matrix to the minimum-trace PSD / minimum nuclear-norm
    solution of its own measurements (see the module docstring).

    Keys written (Frobenius norms of d x d matrices, float64):

    * ``target``: ``min_trace_psd`` or ``min_nuclear_norm``.
    * ``distance`` :math:`\|X - X_{\rm ref}\|_F`, ``relative_distance`` (over
      :math:`\|X_{\rm ref}\|_F`).
    * ``nuclear_norm``, ``reference_nuclear_norm``, ``relative_nuclear_norm_gap``
      :math:`(\|X\|_* - \|X_{\rm ref}\|_*)/\|X_{\rm ref}\|_*` (>= 0 up to the run's
      constraint residual when X fits the data; for the ``min_trace_psd`` target and a PSD X
      this is the trace gap).
    * ``effective_rank``, ``reference_effective_rank`` (Roy & Vetterli 2007),
      ``singular_values``, ``reference_singular_values`` (descending lists).
    * ``train_residual`` :math:`\|\mathcal{A}(X) - b\|/\sqrt{n}` of the run, and
      ``reference_constraint_residual`` :math:`\max_i |\langle A_i, X_{\rm ref}\rangle - b_i|`
      of the solver.
    * with a planted matrix (``w_star``): ``relative_distance_to_ground_truth`` of the run and
      ``reference_relative_distance_to_ground_truth`` (0 when the convex program recovers X*:
      then "the run reached the reference" and "the run recovered X*" coincide).

    Attributes:
        target: ``auto`` (``min_trace_psd`` for ``model.kind=symmetric``, else
            ``min_nuclear_norm``), or either explicitly.
        solver: a cvxpy solver name; ``None``: Clarabel at 1e-9 tolerances when installed.
    """

    target: str = "auto"
    solver: str | None = None

    def __check_init__(self):
        check(self.target in TARGETS, "reference.target", self.target, f"one of {list(TARGETS)}")

    def __call__(self, exp: Experiment, run: Result) -> dict[str, Any]:
        model = exp.model
        A = np.asarray(run.data.X, np.float64)
        n, p = A.shape
        d = math.isqrt(p)
        if not isinstance(model, AbstractLinearModel) or d * d != p:
            raise ConfigError(
                "reference",
                "nuclear_norm",
                "a model linear in x on flattened d x d measurement matrices "
                f"(model=matrix_factorization), got {type(model).__name__} on inputs of "
                f"dimension {p}",
            )
        target = self.target
        if target == "auto":
            symmetric = isinstance(model, MatrixFactorization) and model.kind == "symmetric"
            target = "min_trace_psd" if symmetric else "min_nuclear_norm"
        As = A.reshape(n, d, d)
        b = np.asarray(run.data.y, np.float64)
        solve = min_trace_psd if target == "min_trace_psd" else nuclear_norm_minimizer
        x_ref = solve(As, b, solver=self.solver)
        x = np.asarray(model.predictor(run.params), np.float64).reshape(d, d)

        s = np.linalg.svd(x, compute_uv=False) if np.all(np.isfinite(x)) else np.full(d, np.nan)
        s_ref = np.linalg.svd(x_ref, compute_uv=False)
        ref_norm = float(np.linalg.norm(x_ref))
        ref_nuc = float(s_ref.sum())
        tiny = np.finfo(np.float64).tiny
        distance = float(np.linalg.norm(x - x_ref))
        out: dict[str, Any] = {
            "name": "nuclear_norm",
            "target": target,
            "distance": _num(distance),
            "relative_distance": _num(distance / max(ref_norm, tiny)),
            "nuclear_norm": _num(s.sum()),
            "reference_nuclear_norm": ref_nuc,
            "relative_nuclear_norm_gap": _num((s.sum() - ref_nuc) / max(ref_nuc, tiny)),
            "effective_rank": _num(effective_rank_np(s)),
            "reference_effective_rank": effective_rank_np(s_ref),
            "singular_values": [_num(v) for v in s],
            "reference_singular_values": [float(v) for v in s_ref],
            "train_residual": _num(np.linalg.norm(A @ x.reshape(-1) - b) / math.sqrt(n)),
            "reference_constraint_residual": float(np.max(np.abs(A @ x_ref.reshape(-1) - b))),
        }
        if run.data.w_star is not None:
            x_star = np.asarray(run.data.w_star, np.float64).reshape(d, d)
            star_norm = max(float(np.linalg.norm(x_star)), tiny)
            out["relative_distance_to_ground_truth"] = _num(np.linalg.norm(x - x_star) / star_norm)
            out["reference_relative_distance_to_ground_truth"] = float(
                np.linalg.norm(x_ref - x_star) / star_norm
            )
        return out
