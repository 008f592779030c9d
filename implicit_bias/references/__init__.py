"""Exact, independent reference solutions of implicit-bias limits (numpy / scipy, float64).

One concept per module; everything here is deterministic and independent of the JAX engine, so
that trained models can be compared against it. See ``docs/references.md`` for the formulas,
sources, solvers and tolerances.

* :mod:`.min_norm` -- ``min_norm_solution`` / ``min_l2_solution``: GD/GF limit on least squares.
* :mod:`.ridge` -- ``ridge_path``, ``gradient_flow_least_squares``, ``ridge_gf_risk_ratio``.
* :mod:`.svm` -- ``hard_margin_svm``: GD direction on separable logistic regression.
* :mod:`.basis_pursuit` -- ``basis_pursuit``, ``basis_pursuit_nonnegative``.
* :mod:`.diagonal_networks` -- finite-``alpha`` limits of diagonal linear networks.
* :mod:`.nuclear_norm` -- nuclear-norm sensing/completion and ``min_trace_psd`` (needs cvxpy).
* :mod:`.relu_neuron` -- Vardi & Shamir single ReLU neuron; strictly monotone activations.
* :mod:`.balanced_sharpness` -- balanced rank-one sharpness and Marion & Chizat bounds.
"""

from implicit_bias.references.balanced_sharpness import (
    MarionBounds,
    balanced_rank_one_sharpness,
    marion_bounds,
)
from implicit_bias.references.basis_pursuit import basis_pursuit, basis_pursuit_nonnegative
from implicit_bias.references.diagonal_networks import (
    DiagonalNetworkLimit,
    diagonal_network_limit,
    diagonal_network_limit_nonnegative,
    relative_entropy_potential,
    solve_diagonal_network,
    woodworth_potential,
)
from implicit_bias.references.min_norm import min_l2_solution, min_norm_solution
from implicit_bias.references.nuclear_norm import (
    min_trace_psd,
    nuclear_norm_completion,
    nuclear_norm_minimizer,
)
from implicit_bias.references.relu_neuron import (
    VardiShamirSolution,
    leaky_relu_limit,
    vardi_shamir_closed_form,
    vardi_shamir_data,
)
from implicit_bias.references.ridge import (
    RiskComparison,
    akt_risk_ratio_bound,
    gradient_flow_least_squares,
    ridge_gf_risk_ratio,
    ridge_lambda_for_time,
    ridge_path,
)
from implicit_bias.references.svm import HardMarginSVM, hard_margin_svm

__all__ = [
    "DiagonalNetworkLimit",
    "HardMarginSVM",
    "MarionBounds",
    "RiskComparison",
    "VardiShamirSolution",
    "akt_risk_ratio_bound",
    "balanced_rank_one_sharpness",
    "basis_pursuit",
    "basis_pursuit_nonnegative",
    "diagonal_network_limit",
    "diagonal_network_limit_nonnegative",
    "gradient_flow_least_squares",
    "hard_margin_svm",
    "leaky_relu_limit",
    "marion_bounds",
    "min_l2_solution",
    "min_norm_solution",
    "min_trace_psd",
    "nuclear_norm_completion",
    "nuclear_norm_minimizer",
    "relative_entropy_potential",
    "ridge_gf_risk_ratio",
    "ridge_lambda_for_time",
    "ridge_path",
    "solve_diagonal_network",
    "vardi_shamir_closed_form",
    "vardi_shamir_data",
    "woodworth_potential",
]
