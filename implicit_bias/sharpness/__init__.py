r"""Sharpness: the top eigenvalue of the Hessian of the training loss.

The sharpness :math:`\lambda_{\max}(\nabla^2 L(\theta))` is the largest *algebraic* eigenvalue
of the Hessian of the full-batch loss w.r.t. the flattened (trainable) parameters. All
estimators take ``(loss_fn, params, key, ...)`` with ``loss_fn(params) -> scalar`` and
``params`` any pytree, use forward-over-reverse Hessian-vector products, are pure, ``jit``- and
``vmap``-safe, follow the dtype of ``params``, and return a :class:`SharpnessResult`.

* :func:`lanczos` (default): Lanczos with full re-orthogonalization and a breakdown guard;
  both ends of the spectrum with a residual error bound.
* :func:`power_iteration`: as in the papers; estimates the dominant-*magnitude* eigenvalue,
  which is negative near small initializations (see its warning).
* :func:`exact`: dense ``jax.hessian`` + ``eigh``, for small models and tests.

Beyond the top eigenvalue (docs/spectrum.md), every estimator takes a matrix-free
:class:`AbstractOperator`: :class:`Hessian`, :class:`GaussNewton`, :class:`Preconditioned`,
:class:`Block` (a parameter subset) or :class:`Dense`:

* :func:`eigenpairs` / :func:`topk` / :func:`bottomk`: extreme eigenpairs with certified
  residual bounds (block Lanczos, thick restarts); :func:`eigenvalues_above` for all
  eigenvalues above a threshold, warm-started along a trajectory;
* :func:`trace`: Hutchinson / Hutch++ estimates of the trace and of tr(A^2) with standard
  errors;
* :func:`slq`: the spectral density by stochastic Lanczos quadrature; :func:`plot_density`.

Call them under ``jax.jit`` (as the engine does, around a ``vmap``): run eagerly, JAX compiles
every primitive separately, which costs seconds of compilation for a few milliseconds of work.

Note: ``from implicit_bias.sharpness import lanczos, exact`` gives the *functions*; the
submodules of the same names are shadowed by them in this namespace.
"""

from collections.abc import Callable

from jaxtyping import PRNGKeyArray, PyTree

from ..errors import ConfigError
from ._hvp import LossFn, hvp
from ._operator import AbstractOperator
from ._result import SharpnessResult
from .block import Block
from .dense import Dense
from .density import SpectralDensity, slq
from .eigenpairs import Eigenpairs, bottomk, eigenpairs, topk
from .exact import exact
from .gauss_newton import (
    GaussNewton,
    cross_entropy_output_loss,
    logistic_output_loss,
    square_output_loss,
)
from .hessian import Hessian
from .lanczos import lanczos
from .plot import plot_density
from .power import power_iteration
from .preconditioned import Preconditioned
from .threshold import AboveThreshold, eigenvalues_above
from .trace import TRACE_METHODS, TraceEstimate, trace

__all__ = [
    "ESTIMATORS",
    "METHODS",
    "TRACE_METHODS",
    "AboveThreshold",
    "AbstractOperator",
    "Block",
    "Dense",
    "Eigenpairs",
    "GaussNewton",
    "Hessian",
    "Preconditioned",
    "SharpnessResult",
    "SharpnessSpec",
    "SpectralDensity",
    "TraceEstimate",
    "bottomk",
    "cross_entropy_output_loss",
    "eigenpairs",
    "eigenvalues_above",
    "exact",
    "hvp",
    "lanczos",
    "logistic_output_loss",
    "plot_density",
    "power_iteration",
    "sharpness",
    "slq",
    "square_output_loss",
    "topk",
    "trace",
]

#: The estimators :func:`sharpness` dispatches to, by name, with their default HVP budget
#: (``None``: the estimator takes no budget, e.g. the dense ``exact``). Adding a method is its
#: module, a line here, a ``conf/sharpness/<name>.yaml`` and a line in ``tests/helpers.py``.
ESTIMATORS: dict[str, tuple[Callable[..., SharpnessResult], int | None]] = {
    "lanczos": (lanczos, 25),
    "power": (power_iteration, 20),  # Marion & Chizat's setting
    "exact": (exact, None),
}
#: Names accepted by :func:`sharpness`.
METHODS = tuple(ESTIMATORS)


def sharpness(
    loss_fn: LossFn,
    params: PyTree,
    key: PRNGKeyArray,
    *,
    # ``str``, not a Literal: a bad name must reach the ConfigError below, not a type checker.
    method: str = "lanczos",
    num_iters: int | None = None,
    v0: PyTree | None = None,
    tol: float = 1e-6,
) -> SharpnessResult:
    """Estimate the top Hessian eigenvalue of ``loss_fn`` at ``params`` with ``method``.

    Args:
        loss_fn: ``loss_fn(params) -> scalar``.
        params: any pytree of float arrays.
        key: PRNG key (ignored by ``exact``).
        method: a name of :data:`ESTIMATORS` (``"lanczos"``, ``"power"``, ``"exact"``); static.
        num_iters: HVP budget; ``None`` means the method's default in :data:`ESTIMATORS` (25
            for Lanczos, 20 for power iteration as in Marion & Chizat). Ignored by ``exact``.
        v0: warm start, e.g. the previous ``result.vector``. Ignored by ``exact``.
        tol: relative tolerance of ``result.converged``.

    Raises:
        ConfigError: (a ``ValueError``) for an unknown ``method``.
    """
    if method not in ESTIMATORS:
        raise ConfigError("method", method, f"one of {', '.join(map(repr, METHODS))}")
    estimator, default_iters = ESTIMATORS[method]
    if default_iters is None:
        return estimator(loss_fn, params, key)
    n = default_iters if num_iters is None else num_iters
    return estimator(loss_fn, params, key, num_iters=n, v0=v0, tol=tol)


from ._spec import SharpnessSpec  # noqa: E402  (it validates against METHODS, defined above)
