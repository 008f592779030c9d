"""The run-directory contract.

Each trajectory writes, in its run directory:

* ``metrics.json``: status and why (``status_reason``), steps (or time) reached, final
  train/test loss, final sharpness with its error bound, squared distance of the predictor to
  w* (``||w - w*||^2 / d``), wall seconds, dtype, JAX backend, versions, and the swept scalars
  as they were given. A value that is not finite (a diverged run's loss) is written as JSON
  ``null`` and its key listed under ``non_finite``; without a test set there is no test loss
  (``null``, and ``notes`` says so). Written **last**: a directory with a ``metrics.json`` is
  complete.
* ``trajectory.npz``: ``step`` (or ``t``) and every recorded metric, as arrays.
* ``params.npz``: final parameters (``W1`` ... ``WL``, or ``w``) and ``predictor``;
  ``initial_params.npz``: the same at initialization.
* ``data.npz``: ``X, y`` (and ``X_test, y_test``, ``w_star``) the run trained on.
* ``plots/``: loss and sharpness against step (with the 2/lr line for discrete integrators).

Every file is written to a temporary name and renamed (atomic on POSIX), so a killed run never
leaves a truncated file behind, with the permissions of the user's umask
(:mod:`implicit_bias.app.files`).
"""

import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

from implicit_bias import __version__
from implicit_bias.app.files import atomic_write
from implicit_bias.experiment import Experiment
from implicit_bias.models import AbstractLinearModel
from implicit_bias.result import CONVERGED, DIVERGED, STATUS_NAMES, Result
from implicit_bias.scalars import SWEPT_KEYS

logger = logging.getLogger(__name__)

COMPLETE_MARKER = "metrics.json"


def save_npz(path: Path, **arrays) -> None:
    atomic_write(path, lambda f: np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()}))


def save_json(path: Path, obj: Any) -> None:
    """``obj`` as JSON; a non-finite float is written as ``null`` (JSON has no NaN or
    infinity: Python's ``NaN``/``Infinity`` tokens are not JSON, and other readers refuse
    them)."""
    text = json.dumps(_json_safe(obj), indent=2, sort_keys=True, allow_nan=False)
    atomic_write(path, lambda f: f.write(text.encode()))


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Mapping):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def is_complete(run_dir: str | os.PathLike) -> bool:
    """Whether a run directory was fully written."""
    return (Path(run_dir) / COMPLETE_MARKER).is_file()


def _scalar(x) -> Any:
    x = np.asarray(x)
    if x.dtype == bool:
        return bool(x)
    if np.issubdtype(x.dtype, np.integer):
        return int(x)
    return float(x)  # NaN and infinity are written as null by save_json


def given_scalars(values: Mapping[str, Any], continuous: bool) -> dict[str, Any]:
    """The swept scalars of one run as the user gave them (``lr: 0.02``, not the float32
    ``0.019999999552965164`` the program computed with): integers as ``int`` (``steps=1e6``
    is 1000000), floats as the Python float of the config value. Only the keys the
    integrator reads: ``t1`` for a continuous one, ``lr`` and ``steps`` for a discrete one."""
    keys = [k for k in SWEPT_KEYS if k not in (("lr", "steps") if continuous else ("t1",))]
    out = {}
    for k in keys:
        v = values[k]
        out[k] = int(v) if k in ("seed", "data_seed", "steps") else float(v)
    return out


def _status_reason(result: Result, exp: Experiment, final: dict[str, Any]) -> str:
    """Why the run got its status, in words (the status itself is the integrator's)."""
    status = int(result.status)
    continuous = exp.integrator.continuous
    reached = _scalar(result.reached)
    where = f"time {reached:.6g}" if continuous else f"step {reached}"
    grad = final.get("grad_norm")
    g = "nan" if grad is None or not math.isfinite(grad) else f"{grad:.3g}"
    tol = f"converge_tol={exp.converge_tol:g}"
    if status == DIVERGED:
        return (
            f"the training loss was not finite or exceeded divergence_threshold="
            f"{exp.divergence_threshold:g} at {where}; the run stopped there (values that are "
            "not finite are written as null, see non_finite)"
        )
    if status == CONVERGED:
        if grad is not None and math.isfinite(grad) and grad <= exp.converge_tol:
            return f"final gradient norm {g} <= {tol}"
        return f"the integrator's stopping criterion was met at {where}"
    if continuous and reached < float(result.scalars.t1) * (1 - 1e-6):
        return (
            f"the ODE solver stopped at {where}, before t1={float(result.scalars.t1):g} (its "
            f"step limit), with final gradient norm {g} > {tol}"
        )
    budget = "t1" if continuous else "steps"
    return f"the budget ({budget}) ran out at {where} with final gradient norm {g} > {tol}"


def metrics_dict(
    result: Result,
    exp: Experiment,
    wall_seconds: float,
    scalars: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The content of ``metrics.json`` for one run (``result`` indexed, no batch axis).

    Args:
        result: the run.
        exp: its experiment.
        wall_seconds: its wall time.
        scalars: the swept scalars as given (a config, or any mapping with the keys of
            :data:`~implicit_bias.scalars.SWEPT_KEYS`); default: the values the program
            computed with (rounded to the run's dtype).
    """
    continuous = exp.integrator.continuous
    final = {k: _scalar(v) for k, v in result.final.items() if np.ndim(v) == 0}
    initial = {k: _scalar(v) for k, v in result.initial.items() if np.ndim(v) == 0}
    sc = result.scalars
    if scalars is None:
        scalars = {k: _scalar(getattr(sc, k)) for k in SWEPT_KEYS}
    notes = []
    if "test_loss" not in final:
        notes.append("no test set (the data has none), so no test loss")
    out = {
        "status": STATUS_NAMES[int(result.status)],
        "status_reason": _status_reason(result, exp, final),
        ("time_reached" if continuous else "steps_reached"): _scalar(result.reached),
        "final_train_loss": final["train_loss"],
        "final_test_loss": final.get("test_loss"),
        "final_sharpness": final.get("sharpness"),
        "final_sharpness_error_bound": final.get("sharpness_error_bound"),
        "final_dist_to_wstar": final.get("dist_to_wstar"),
        "initial_sharpness": initial.get("sharpness"),
        "initial_dist_to_wstar": initial.get("dist_to_wstar"),
        "final": final,
        "initial": initial,
        "scalars": given_scalars(scalars, continuous),
        "integrator": type(exp.integrator).__name__,
        "model": type(exp.model).__name__,
        "wall_seconds": float(wall_seconds),
        "dtype": exp.dtype,
        "backend": jax.default_backend(),
        "versions": {"implicit_bias": __version__, "jax": jax.__version__},
        "conventions": {
            "loss": "mean over samples, no 1/2",
            "dist_to_wstar": "||predictor - w*||^2 / d (mean over coordinates)",
        },
    }
    if notes:
        out["notes"] = notes
    return _mark_non_finite(out)


def _mark_non_finite(metrics: dict[str, Any]) -> dict[str, Any]:
    """List under ``non_finite`` the (dotted) keys whose value is NaN or infinite: the file
    writes them as ``null``, and says here that they were not finite rather than absent."""
    metrics.pop("non_finite", None)
    keys = sorted(_non_finite(metrics))
    if keys:
        metrics["non_finite"] = keys
    return metrics


def _non_finite(obj: Any, path: str = "") -> list[str]:
    if isinstance(obj, float):
        return [] if math.isfinite(obj) else [path]
    if isinstance(obj, Mapping):
        return [
            k for key, v in obj.items() for k in _non_finite(v, f"{path}.{key}" if path else key)
        ]
    return []


def save_run(
    run_dir: str | os.PathLike,
    result: Result,
    exp: Experiment,
    wall_seconds: float,
    *,
    plots: bool = True,
    save_data: bool = True,
    extra: dict[str, Any] | None = None,
    scalars: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write one run (``result`` indexed to a single trajectory) to ``run_dir``.

    ``scalars``: the swept scalars as given (see :func:`metrics_dict`). Returns the content of
    ``metrics.json`` as computed (floats that are not finite stay NaN/inf here; the file has
    ``null``)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    time_key = "t" if exp.integrator.continuous else "step"
    save_npz(
        run_dir / "trajectory.npz",
        **{time_key: result.times},
        **{k: v for k, v in result.records.items()},
    )
    params = {k: np.asarray(v) for k, v in result.params.items()}
    params0 = {k: np.asarray(v) for k, v in result.initial_params.items()}
    if isinstance(exp.model, AbstractLinearModel):
        params["predictor"] = np.asarray(exp.model.predictor(result.params))
        params0["predictor"] = np.asarray(exp.model.predictor(result.initial_params))
    save_npz(run_dir / "params.npz", **params)
    save_npz(run_dir / "initial_params.npz", **params0)
    if save_data:
        d = result.data
        arrays = dict(X=d.X, y=d.y, X_test=d.X_test, y_test=d.y_test, w_star=d.w_star)
        arrays = {k: v for k, v in arrays.items() if v is not None}
        save_npz(run_dir / "data.npz", **arrays)
    metrics = metrics_dict(result, exp, wall_seconds, scalars)
    metrics.update(extra or {})
    _mark_non_finite(metrics)
    if plots:
        from implicit_bias.app.plots import plot_run

        try:
            plot_run(run_dir / "plots", result, exp)
        except Exception:  # a plotting failure must not lose the run
            logger.exception("plotting failed for %s", run_dir)
    save_json(run_dir / COMPLETE_MARKER, metrics)  # last: marks the directory complete
    return metrics
