r"""Reference step ``diagonal``: diagonal linear networks and mirror descent vs their limits.

For gradient flow on a diagonal network from ``u(0) = v(0) = alpha 1`` on
``L = mean((A beta - b)^2)`` (see :class:`~implicit_bias.models.Diagonal`), with
``g = grad_beta L = (2/n) A^T (A beta - b)``:

.. math::
    \text{signed } (\beta = u^2 - v^2):\quad u' = -2ug,\ v' = 2vg\ \Rightarrow\
    \beta(t) = 2\alpha^2\sinh(A^\top\mu(t)),\qquad
    \text{nonnegative } (x = u^2):\quad x(t) = \alpha^2\exp(A^\top\mu(t)),

with :math:`\mu(t) = -\frac{8}{n}\int_0^t (A\beta - b)`. The whole path stays on this
manifold, and the limit is its unique interpolating point: the Bregman projection of the
initialization onto ``{A beta = b}`` for the hyperbolic entropy of scale ``2 alpha^2`` (the
potential ``Q_alpha`` of Woodworth et al. 2020, Theorem 1), resp. the relative-entropy
projection of ``alpha^2 1`` onto ``{A x = b, x >= 0}``. Both are computed by
:func:`implicit_bias.theory.solve_diagonal_network` (an independent scipy dual solve).
``alpha -> 0`` gives basis pursuit, ``alpha -> inf`` the Euclidean projection of ``beta(0)``
(the min-L2 interpolator for the signed network).

Mirror descent on the ``linear`` model (:class:`~implicit_bias.integrators.MirrorDescent`)
has the same limits, for every convergent step size: its dual iterates stay in
``grad psi(x_0) + range(A^T)``. The geometry is read off the run:

* ``entropy`` from ``x_0 = c 1`` (``c > 0``): ``alpha = sqrt(c)``, nonnegative;
* ``hyperbolic_entropy`` with ``beta_scale`` from ``w_0 = 0``: ``alpha = sqrt(beta_scale / 2)``;
* ``euclidean``: the limit is the Euclidean projection ``w_0 + A^+(b - A w_0)`` (no alpha).

**How far is a run from the limit, given its residual?** Near the limit, a point of the
manifold with residual :math:`r = A\beta - b` is, to first order,
:math:`\beta - \beta_\alpha = W A^\top (A W A^\top)^{-1} r` with
:math:`W = \mathrm{diag}(\sqrt{\beta_\alpha^2 + 4\alpha^4})` (signed) or
:math:`\mathrm{diag}(x_\alpha)` (nonnegative): ``distance_first_order`` reports its norm. When
``distance`` is close to it, the remaining distance is the unfinished flow (the slow tail at
small alpha: the off-support weights are ~alpha^2, so the last residual directions decay at a
rate ~alpha^2), not a wrong limit.

References:
    Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry & Srebro (2020), "Kernel and
    rich regimes in overparametrized models", COLT; Gunasekar, Lee, Soudry & Srebro (2018),
    "Characterizing implicit bias in terms of optimization geometry", ICML (mirror descent);
    Azulay et al. (2021), "On the implicit bias of initialization shape", ICML.
"""

import logging
from typing import Any

import numpy as np

from implicit_bias.errors import ConfigError, check
from implicit_bias.experiment import Experiment
from implicit_bias.integrators.gradient_flow import GradientFlow
from implicit_bias.integrators.mirror_descent import MirrorDescent
from implicit_bias.models.diagonal import Diagonal
from implicit_bias.models.linear import Linear
from implicit_bias.result import Result
from implicit_bias.theory import (
    basis_pursuit,
    basis_pursuit_nonnegative,
    min_l2_solution,
    min_norm_solution,
    solve_diagonal_network,
)
from implicit_bias.theory.checks._base import AbstractCheck

logger = logging.getLogger(__name__)


def _norm(x) -> float:
    return float(np.linalg.norm(x))


def _constant(x: np.ndarray, rtol: float = 1e-12) -> float | None:
    """The common value of the entries of ``x``, or ``None`` if they differ."""
    x = np.ravel(x)
    c = float(x[0])
    return c if np.all(np.abs(x - c) <= rtol * max(abs(c), np.finfo(float).tiny)) else None


class DiagonalLimitCheck(AbstractCheck):
    """Distances of a diagonal-network (or mirror-descent) run to basis pursuit, to the
    min-L2 interpolator and to the exact finite-alpha limit (see the module docstring).

    Keys written (Euclidean norms, float64; ``beta`` is the run's final predictor):

    * ``alpha``, ``parametrization`` (``signed`` / ``nonnegative`` / ``euclidean``),
      ``geometry`` (how alpha was obtained).
    * ``l1``: ``||beta||_1``; ``l1_basis_pursuit``: ``||beta_BP||_1`` (nonnegative BP for the
      nonnegative network); ``l1_gap = l1 - l1_basis_pursuit`` and ``relative_l1_gap``.
    * ``dist_to_min_l2``: ``||beta - A^+ b||``; ``dist_to_kernel_limit``:
      ``||beta - (beta_0 + A^+(b - A beta_0))||`` (the large-alpha limit; equal to the former
      for the signed network, whose ``beta_0 = 0``).
    * ``distance`` / ``relative_distance``: ``||beta - beta_alpha||`` to the finite-alpha
      limit; ``reference_l1_gap``: ``||beta_alpha||_1 - ||beta_BP||_1``;
      ``reference_dist_to_min_l2``; ``distance_first_order``: the part of ``distance``
      explained by the run's residual (module docstring).
    * ``residual``: ``||A beta - b||``; ``dist_bp_to_wstar``: ``||beta_BP - w*||`` (0 when
      basis pursuit recovers the planted vector).

    Attributes:
        gtol: relative residual target of the reference dual solve.
    """

    gtol: float = 1e-12

    def __check_init__(self):
        check(0 < self.gtol < 1e-3, "reference.gtol", self.gtol, "a float in (0, 1e-3)")

    def _geometry(self, exp: Experiment, run: Result) -> tuple[str, float | None, str]:
        """``(parametrization, alpha, how)``; alpha is ``None`` for the Euclidean geometry."""
        model, integ = exp.model, exp.integrator
        p0 = {k: np.asarray(v, np.float64) for k, v in run.initial_params.items()}
        if isinstance(model, Diagonal):
            alpha = _constant(np.concatenate([p0[k] for k in model.param_shapes()]))
            if alpha is None or alpha <= 0:
                raise ConfigError(
                    "init",
                    "non-constant",
                    "init=constant with init_scale > 0 (u(0) = v(0) = alpha)",
                )
            if not isinstance(integ, GradientFlow):
                logger.info(
                    "reference=diagonal: the finite-alpha limit is that of gradient flow; "
                    "%s with a finite step converges nearby (O(lr))",
                    type(integ).__name__,
                )
            return model.parametrization, alpha, "u(0) = v(0) = alpha = init_scale"
        if isinstance(model, Linear) and isinstance(integ, MirrorDescent):
            w0 = p0["w"]
            if integ.potential == "entropy":
                c = _constant(w0)
                if c is None or c <= 0:
                    raise ConfigError(
                        "init", "non-constant", "a constant positive x_0 for potential=entropy"
                    )
                return "nonnegative", float(np.sqrt(c)), "entropy from x_0 = alpha^2 1"
            if integ.potential == "hyperbolic_entropy":
                if np.any(w0 != 0):
                    raise ConfigError(
                        "init", "nonzero", "init=zero for potential=hyperbolic_entropy"
                    )
                alpha = float(np.sqrt(integ.beta_scale / 2))
                return "signed", alpha, "hyperbolic entropy, beta_scale = 2 alpha^2, w_0 = 0"
            return "euclidean", None, "Euclidean projection of w_0"
        raise ConfigError(
            "reference",
            "diagonal",
            "a diagonal model, or a linear model trained by mirror_descent "
            f"(got model={type(model).__name__}, integrator={type(integ).__name__})",
        )

    def __call__(self, exp: Experiment, run: Result) -> dict[str, Any]:
        parametrization, alpha, how = self._geometry(exp, run)
        model = exp.model
        A = np.asarray(run.data.X, np.float64)
        b = np.asarray(run.data.y, np.float64)
        beta = np.asarray(model.predictor(run.params), np.float64)
        beta0 = np.asarray(model.predictor(run.initial_params), np.float64)
        nonnegative = parametrization == "nonnegative"
        head = {"name": "diagonal", "parametrization": parametrization, "alpha": alpha}
        if not np.all(np.isfinite(beta)):
            logger.warning("reference=diagonal: the run's predictor is not finite (diverged)")
            return {**head, "error": "non-finite predictor (diverged run)"}
        try:
            bp = basis_pursuit_nonnegative(A, b) if nonnegative else basis_pursuit(A, b)
        except (ValueError, RuntimeError) as e:  # e.g. A x = b has no solution with x >= 0
            logger.warning("reference=diagonal: no basis-pursuit solution: %s", e)
            return {**head, "error": str(e)}
        l2 = min_l2_solution(A, b)
        kernel = min_norm_solution(A, b, beta0)
        l1, l1_bp = float(np.abs(beta).sum()), float(np.abs(bp).sum())
        out: dict[str, Any] = {
            **head,
            "geometry": how,
            "l1": l1,
            "l1_basis_pursuit": l1_bp,
            "l1_gap": l1 - l1_bp,
            "relative_l1_gap": (l1 - l1_bp) / max(l1_bp, np.finfo(float).tiny),
            "dist_to_min_l2": _norm(beta - l2),
            "dist_to_kernel_limit": _norm(beta - kernel),
            "residual": _norm(A @ beta - b),
        }
        if run.data.w_star is not None:
            out["dist_bp_to_wstar"] = _norm(bp - np.asarray(run.data.w_star, np.float64))

        if alpha is None:  # Euclidean mirror descent: plain GD, limit = projection of w_0
            ref = kernel
            weights = np.ones_like(beta)
        else:
            try:
                sol = solve_diagonal_network(A, b, alpha, nonnegative=nonnegative, gtol=self.gtol)
            except (ValueError, RuntimeError) as e:
                # e.g. b not in the range of A (noisy data with n >= d): no interpolating
                # limit. Reported, not raised, so that the run directory is still written.
                logger.warning("reference=diagonal: no finite-alpha limit: %s", e)
                return {**out, "error": str(e)}
            ref = sol.beta
            weights = ref if nonnegative else np.hypot(ref, 2 * alpha**2)
        r = A @ beta - b
        # First-order displacement along the manifold explained by the residual r.
        M = (A * weights) @ A.T
        delta = weights * (A.T @ np.linalg.lstsq(M, r, rcond=None)[0])
        ref_l1 = float(np.abs(ref).sum())
        out.update(
            distance=_norm(beta - ref),
            relative_distance=_norm(beta - ref) / max(_norm(ref), np.finfo(float).tiny),
            distance_first_order=_norm(delta),
            reference_l1_gap=ref_l1 - l1_bp,
            reference_dist_to_min_l2=_norm(ref - l2),
        )
        return out
