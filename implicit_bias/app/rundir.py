"""The run-directory contract.

Each trajectory writes, in its run directory:

* ``metrics.json``: status, steps (or time) reached, final train/test loss, final sharpness
  with its error bound, squared distance of the predictor to w* (``||w - w*||^2 / d``), wall
  seconds, dtype, JAX backend, versions, and the swept scalars. Written **last**: a directory
  with a ``metrics.json`` is complete.
* ``trajectory.npz``: ``step`` (or ``t``) and every recorded metric, as arrays.
* ``params.npz``: final parameters (``W1`` ... ``WL``, or ``w``) and ``predictor``;
  ``initial_params.npz``: the same at initialization.
* ``data.npz``: ``X, y, X_test, y_test`` (and ``w_star``) the run trained on.
* ``plots/``: loss and sharpness against step (with the 2/lr line for discrete integrators).

Every file is written to a temporary name and renamed (atomic on POSIX), so a killed run never
leaves a truncated file behind.
"""

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import jax
import numpy as np

from implicit_bias import __version__
from implicit_bias.experiment import Experiment
from implicit_bias.models import AbstractLinearModel
from implicit_bias.result import STATUS_NAMES, Result

logger = logging.getLogger(__name__)

COMPLETE_MARKER = "metrics.json"


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_npz(path: Path, **arrays) -> None:
    _atomic_write(path, lambda f: np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()}))


def save_json(path: Path, obj: Any) -> None:
    _atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2, sort_keys=True).encode()))


def is_complete(run_dir: str | os.PathLike) -> bool:
    """Whether a run directory was fully written."""
    return (Path(run_dir) / COMPLETE_MARKER).is_file()


def _scalar(x) -> Any:
    x = np.asarray(x)
    if x.dtype == bool:
        return bool(x)
    if np.issubdtype(x.dtype, np.integer):
        return int(x)
    v = float(x)
    return v if np.isfinite(v) else str(v)


def metrics_dict(result: Result, exp: Experiment, wall_seconds: float) -> dict[str, Any]:
    """The content of ``metrics.json`` for one run (``result`` indexed, no batch axis)."""
    continuous = exp.integrator.continuous
    final = {k: _scalar(v) for k, v in result.final.items() if np.ndim(v) == 0}
    initial = {k: _scalar(v) for k, v in result.initial.items() if np.ndim(v) == 0}
    sc = result.scalars
    out = {
        "status": STATUS_NAMES[int(result.status)],
        ("time_reached" if continuous else "steps_reached"): _scalar(result.reached),
        "final_train_loss": final["train_loss"],
        "final_test_loss": final["test_loss"],
        "final_sharpness": final.get("sharpness"),
        "final_sharpness_error_bound": final.get("sharpness_error_bound"),
        "final_dist_to_wstar": final.get("dist_to_wstar"),
        "initial_sharpness": initial.get("sharpness"),
        "initial_dist_to_wstar": initial.get("dist_to_wstar"),
        "final": final,
        "initial": initial,
        "scalars": {
            "seed": _scalar(sc.seed),
            "data_seed": _scalar(sc.data_seed),
            "init_scale": _scalar(sc.init_scale),
            **({"t1": _scalar(sc.t1)} if continuous else {}),
            **({} if continuous else {"lr": _scalar(sc.lr), "steps": _scalar(sc.steps)}),
        },
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
    return out


def save_run(
    run_dir: str | os.PathLike,
    result: Result,
    exp: Experiment,
    wall_seconds: float,
    *,
    plots: bool = True,
    save_data: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write one run (``result`` indexed to a single trajectory) to ``run_dir``."""
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
        arrays = dict(X=d.X, y=d.y, X_test=d.X_test, y_test=d.y_test)
        if d.w_star is not None:
            arrays["w_star"] = d.w_star
        save_npz(run_dir / "data.npz", **arrays)
    metrics = metrics_dict(result, exp, wall_seconds)
    metrics.update(extra or {})
    if plots:
        from implicit_bias.app.plots import plot_run

        try:
            plot_run(run_dir / "plots", result, exp)
        except Exception:  # a plotting failure must not lose the run
            logger.exception("plotting failed for %s", run_dir)
    save_json(run_dir / COMPLETE_MARKER, metrics)  # last: marks the directory complete
    return metrics
