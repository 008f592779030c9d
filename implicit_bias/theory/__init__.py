"""Theory: exact, independent solutions of the limits theorems predict, and the per-run checks.

The solvers (numpy / scipy, float64; one concept per module) are deterministic and independent of
the JAX engine, so that trained models can be compared against them. The per-run checks that
use them, selected by a run's config group ``reference``, are in :mod:`.checks`. See
``docs/references.md`` for the formulas,
sources, solvers and tolerances.

* :mod:`.min_norm` -- ``min_norm_solution`` / ``min_l2_solution``: GD/GF limit on least squares.
* :mod:`.ridge` -- ``ridge_path``, ``gradient_flow_least_squares``, ``ridge_gf_risk_ratio``;
  discrete GD: ``gd_filter``, ``ridge_filter``, ``ridge_lambda_for_steps``, ``gd_least_squares``,
  ``gd_ridge_risk_ratio``, ``source_condition_bias``.
* :mod:`.svm` -- ``hard_margin_svm``: GD direction on separable logistic regression.
* :mod:`.basis_pursuit` -- ``basis_pursuit``, ``basis_pursuit_nonnegative``.
* :mod:`.diagonal_networks` -- finite-``alpha`` limits of diagonal linear networks.
* :mod:`.nuclear_norm` -- nuclear-norm sensing/completion and ``min_trace_psd`` (needs cvxpy).
* :mod:`.relu_neuron` -- single ReLU neuron (Vardi & Shamir 2021); strictly monotone activations.
* :mod:`.balanced_sharpness` -- balanced rank-one sharpness and the deep linear sharpness bounds
  (Marion & Chizat 2024).
"""

from implicit_bias.theory.balanced_sharpness import (
    DeepLinearSharpnessBounds,
    balanced_rank_one_sharpness,
    deep_linear_sharpness_bounds,
)
from implicit_bias.theory.basis_pursuit import basis_pursuit, basis_pursuit_nonnegative
from implicit_bias.theory.diagonal_networks import (
    DiagonalNetworkLimit,
    diagonal_network_limit,
    diagonal_network_limit_nonnegative,
    relative_entropy_potential,
    solve_diagonal_network,
    woodworth_potential,
)
from implicit_bias.theory.min_norm import min_l2_solution, min_norm_solution
from implicit_bias.theory.nuclear_norm import (
    min_trace_psd,
    nuclear_norm_completion,
    nuclear_norm_minimizer,
)
from implicit_bias.theory.relu_neuron import (
    ReluCounterexampleSolution,
    leaky_relu_limit,
    relu_counterexample_data,
    relu_counterexample_limit,
)
from implicit_bias.theory.ridge import (
    GDRiskComparison,
    RiskComparison,
    akt_risk_ratio_bound,
    gd_filter,
    gd_least_squares,
    gd_ridge_risk_ratio,
    gradient_flow_least_squares,
    ridge_filter,
    ridge_gf_risk_ratio,
    ridge_lambda_for_steps,
    ridge_lambda_for_time,
    ridge_path,
    source_condition_bias,
)
from implicit_bias.theory.svm import HardMarginSVM, hard_margin_svm

__all__ = [
    "DeepLinearSharpnessBounds",
    "DiagonalNetworkLimit",
    "GDRiskComparison",
    "HardMarginSVM",
    "ReluCounterexampleSolution",
    "RiskComparison",
    "akt_risk_ratio_bound",
    "balanced_rank_one_sharpness",
    "basis_pursuit",
    "basis_pursuit_nonnegative",
    "deep_linear_sharpness_bounds",
    "diagonal_network_limit",
    "diagonal_network_limit_nonnegative",
    "gd_filter",
    "gd_least_squares",
    "gd_ridge_risk_ratio",
    "gradient_flow_least_squares",
    "hard_margin_svm",
    "leaky_relu_limit",
    "min_l2_solution",
    "min_norm_solution",
    "min_trace_psd",
    "nuclear_norm_completion",
    "nuclear_norm_minimizer",
    "relative_entropy_potential",
    "relu_counterexample_data",
    "relu_counterexample_limit",
    "ridge_filter",
    "ridge_gf_risk_ratio",
    "ridge_lambda_for_steps",
    "ridge_lambda_for_time",
    "ridge_path",
    "solve_diagonal_network",
    "source_condition_bias",
    "woodworth_potential",
]
