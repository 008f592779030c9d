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

#: Names accepted by :func:`sharpness`.
METHODS = ("lanczos", "power", "exact")

#: Default number of HVPs per method (``exact`` ignores it).
_DEFAULT_ITERS = {"lanczos": 25, "power": 20}


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
        method: ``"lanczos"`` (default), ``"power"`` or ``"exact"``; static.
        num_iters: HVP budget; ``None`` means 25 for Lanczos and 20 for power iteration
            (Marion & Chizat's setting). Ignored by ``exact``.
        v0: warm start, e.g. the previous ``result.vector``. Ignored by ``exact``.
        tol: relative tolerance of ``result.converged``.

    Raises:
        ConfigError: (a ``ValueError``) for an unknown ``method``.
    """
    if method == "exact":
        return exact(loss_fn, params, key)
    if method not in _DEFAULT_ITERS:
        raise ConfigError("method", method, f"one of {', '.join(map(repr, METHODS))}")
    n = _DEFAULT_ITERS[method] if num_iters is None else num_iters
    if method == "lanczos":
        return lanczos(loss_fn, params, key, num_iters=n, v0=v0, tol=tol)
    return power_iteration(loss_fn, params, key, num_iters=n, v0=v0, tol=tol)
