r"""Where a run ended, decided on the paper's side: minimizer, saddle, diverged or still moving.

The engine's status says whether the final gradient is small; a deep linear network also has
a small gradient next to the saddle at 0, where a run from a small initialization can sit for
a long time (and for L >= 3 the Hessian there is 0). A run counts as **at a minimizer** only
if all of these hold:

* it did not diverge (finite final loss);
* it is stationary: final gradient norm ``<= grad_tol`` (1e-3, see below);
* its training loss is within ``loss_tol`` of the least-squares minimum, relative to the
  loss gap ``R_0 - R_min`` between the saddle at 0 and the minimum (``1e-5``: runs at a
  minimizer reach ~1e-7 in float32, the rounding floor of a loss ~1; runs at the saddle sit
  at ~1);
* the Hessian's smallest eigenvalue is not clearly negative: Lanczos' smallest Ritz value
  ``>= -eig_tol * sharpness`` (``1e-3``). The smallest Ritz value is an upper bound on the
  smallest eigenvalue (Cauchy interlacing), so a clearly negative one certifies a descent
  direction. Next to a minimizer of the flat valley it is ~-1e-6 of the sharpness.

Stationarity matters for GD: above the critical learning rate GD can settle into a period-two
orbit around a minimizer (the edge of stability) whose loss is within 1e-5 of the minimum but
whose gradient (~ sharpness x amplitude) does not decay: measured over every GD grid, the
runs above their critical lr whose loss is that close have gradient norms >= 9e-3. Below it,
a float32 run that converged to a minimizer whose sharpness is within 0.1% of ``2 / lr``
keeps a rounding-driven oscillation of gradient ~7e-4 (Fig 1 (d) in float32, loss at its
float32 floor; in float64 the same run's gradient falls to 1e-11). ``grad_tol = 1e-3`` lies
between the two (the engine's ``converge_tol``, 1e-4, would count the latter as moving).

A stationary run whose loss is not within tolerance, or that has a clearly negative
curvature, is **at a saddle** (e.g. next to the saddle at 0); a finite, non-stationary run is
**moving** (still converging, or oscillating at the edge of stability).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["CATEGORIES", "at_minimizer", "classify", "counts"]

#: Category codes of :func:`classify`.
CATEGORIES = ("minimizer", "saddle", "moving", "diverged", "missing")
GRAD_TOL = 1e-3
LOSS_TOL = 1e-5
EIG_TOL = 1e-3


def classify(
    ds: xr.Dataset,
    grad_tol: float = GRAD_TOL,
    loss_tol: float = LOSS_TOL,
    eig_tol: float = EIG_TOL,
) -> xr.DataArray:
    """Category code of each run (index into :data:`CATEGORIES`).

    Args:
        ds: a grid Dataset with ``status`` (-1 missing, 1 diverged), ``final_train_loss``,
            ``min_train_loss``, ``zero_loss``, ``final_grad_norm`` and, when the sharpness was
            measured, ``final_sharpness`` and ``final_min_eigenvalue``.
    """
    missing = ds.status < 0
    finite = np.isfinite(ds.final_train_loss) & (ds.status != 1) & ~missing
    stationary = ds.final_grad_norm <= grad_tol
    gap = np.maximum(ds.zero_loss - ds.min_train_loss, 1e-12)
    near = (ds.final_train_loss - ds.min_train_loss) <= loss_tol * gap
    if "final_min_eigenvalue" in ds and bool(np.isfinite(ds.final_min_eigenvalue).any()):
        scale = np.maximum(np.abs(ds.final_sharpness), 1e-12)
        convex = (ds.final_min_eigenvalue >= -eig_tol * scale) | ~np.isfinite(
            ds.final_min_eigenvalue
        )
    else:
        convex = xr.ones_like(near)
    code = xr.full_like(ds.status, 2, dtype=np.int8)  # moving
    code = code.where(~(finite & stationary), 1)  # saddle, unless below
    code = code.where(~(finite & stationary & near & convex), 0)  # minimizer
    code = code.where(finite | missing, 3)
    code = code.where(~missing, 4)
    return code.rename("category")


def at_minimizer(ds: xr.Dataset, **kw) -> xr.DataArray:
    """Boolean: the run is at a minimizer (see the module docstring)."""
    return classify(ds, **kw) == 0


def counts(ds: xr.Dataset, **kw) -> dict[str, int]:
    """Number of runs in each category (``missing`` excluded)."""
    code = classify(ds, **kw).values.ravel()
    return {name: int((code == i).sum()) for i, name in enumerate(CATEGORIES[:4])}
