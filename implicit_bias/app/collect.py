"""A sweep's results as one labelled array: ``collect`` run directories into an xarray Dataset.

A multirun writes one run directory per point (``metrics.json``, ``trajectory.npz``, ``.hydra/``,
see :mod:`implicit_bias.app.rundir`). :func:`collect` gathers them into an
:class:`xarray.Dataset` indexed by what was swept, and writes it to ``<sweep_dir>/sweep.nc``
(netCDF, see :func:`netcdf_engine`); :func:`load_sweep` reads it back, collecting again if a
run is newer::

    ds = load_sweep("outputs/sweeps/marion_fig1")
    ds.final_sharpness.sel(lr=0.02).mean("rep")        # average over repetitions
    with_status(ds, "converged").final_sharpness       # the converged runs only (others NaN)

Layout:

* **Dimensions** are the keys that vary across the points' ``.hydra/overrides.yaml`` (in
  command-line order), plus ``rep`` (the position of the point's ``seed`` among the sweep's
  sorted seeds) when ``seed`` varies. A key that is a function of another swept key (``steps``
  tied to ``lr`` in a grid sweep) is not a dimension but a coordinate along that key's
  dimension, so tied sweeps give dense arrays. Missing points are NaN (``status``: -1). Overrides
  common to every point are in ``attrs["overrides"]``.
* **Scalars** of ``metrics.json``: ``status`` (int8 code, the index in
  :data:`~implicit_bias.engine.STATUS_NAMES`, also listed by the CF attributes
  ``flag_values``/``flag_meanings``; -1 = no run), ``steps_reached`` (or ``time_reached``),
  ``wall_seconds``, every ``final_*`` and ``initial_*`` metric, the swept scalars that are not
  coordinates (``seed``, ``data_seed``, ...) and ``reference_*`` (the scalars of the
  reference step). The ``final_*`` values of a diverged run are masked (NaN; ``status`` says
  diverged, ``steps_reached`` where): the run stopped at a loss that was not finite or above
  the divergence threshold, and its last values (sharpness up to 1e37) are not results that an
  average over repetitions should see. Values a run wrote as ``null`` (not finite, or not
  measured) are NaN. Strings equal across runs (model, integrator, dtype, backend, versions)
  are attrs. The launcher's ``batch`` bookkeeping (batch sizes) is left
  out: it is not a result.
* **Trajectories** (``trajectory.npz``): every recorded scalar series, along a ``record``
  dimension, when all runs have the same number of record points. The time grid (``step`` or
  ``t``) is a coordinate on ``record`` when shared, else a variable with the full dimensions.
"""

import json
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from implicit_bias.app.files import atomic_path
from implicit_bias.result import STATUS_NAMES

if TYPE_CHECKING:  # xarray is imported when used: `import implicit_bias` stays light
    import xarray

logger = logging.getLogger(__name__)

SWEEP_FILE = "sweep.nc"
_MISSING_INT = -1
#: metrics.json keys that are not per-run scalar results.
_SKIP = (
    "batch",
    "final",
    "initial",
    "scalars",
    "reference",
    "versions",
    "conventions",
    "status_reason",
    "notes",
    "non_finite",
)
#: What the ``final_*`` variables of a diverged run hold (their ``masked`` attribute).
DIVERGED_MASK = (
    "NaN where status is diverged: the run stopped at a loss that was not finite or above the "
    "divergence threshold, so its final values are not results (see metrics.json of the run)"
)


def _runs(sweep_dir: Path) -> list[Path]:
    return sorted(
        p.parent
        for p in sweep_dir.rglob("metrics.json")
        if (p.parent / ".hydra" / "overrides.yaml").is_file()
    )


def _override_values(run: Path, parser) -> tuple[dict[str, Any], dict[str, str]]:
    """The point's overrides (``.hydra/overrides.yaml``): key -> value, and key -> line."""
    from omegaconf import OmegaConf

    lines = OmegaConf.to_container(OmegaConf.load(run / ".hydra" / "overrides.yaml"))
    values: dict[str, Any] = {}
    text: dict[str, str] = {}
    for o in parser.parse_overrides([str(x) for x in lines]):
        key = o.key_or_group if o.package is None else f"{o.key_or_group}@{o.package}"
        if key.startswith("hydra.") or o.is_delete():
            continue
        v = o.value()
        values[key] = v if isinstance(v, (bool, int, float, str)) or v is None else repr(v)
        text[key] = str(o.input_line)
    return values, text


def _number(v: Any) -> Any:
    """metrics.json writes non-finite floats as strings; read them back as floats."""
    if isinstance(v, str) and v.lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
        return float(v)
    return v


def _scalars(metrics: dict[str, Any], coords: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in metrics.items():
        if k not in _SKIP:
            out[k] = _number(v)
    for prefix in ("final", "initial"):
        for k, v in (metrics.get(prefix) or {}).items():
            out.setdefault(f"{prefix}_{k}", _number(v))
    for k, v in (metrics.get("scalars") or {}).items():
        if k not in coords:
            out[k] = _number(v)
    reference = metrics.get("reference")
    if isinstance(reference, dict):
        for k, v in reference.items():
            v = _number(v)
            if isinstance(v, (bool, int, float)) or v is None:
                out[f"reference_{k}"] = v
    return out


def _is_function(a: Sequence, b: Sequence) -> bool:
    """Whether b's value is determined by a's, over the points."""
    seen: dict[Any, Any] = {}
    for x, y in zip(a, b, strict=True):
        if seen.setdefault(x, y) != y:
            return False
    return True


def _sorted_unique(values: Sequence) -> list:
    uniq = list(dict.fromkeys(values))
    try:
        return sorted(uniq)
    except TypeError:  # mixed types: keep first-appearance order
        return uniq


def _coord_values(values: list) -> np.ndarray:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        if all(isinstance(v, int) for v in values):
            return np.asarray(values, np.int64)
        return np.asarray(values, np.float64)
    if all(isinstance(v, bool) for v in values):
        return np.asarray(values, bool)
    return np.asarray([str(v) for v in values], dtype=object)


def _fill(values: list, index: list[tuple], shape: tuple) -> np.ndarray | None:
    """An array of ``shape`` with values at ``index``; None when not representable."""
    present = [v for v in values if v is not None]
    missing = len(present) < len(values) or len(index) < math.prod(shape)
    if all(isinstance(v, bool) for v in present) and present and not missing:
        arr = np.zeros(shape, bool)
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in present) and present:
        arr = np.full(shape, np.nan if missing else 0, np.float64 if missing else np.int64)
    elif all(isinstance(v, (bool, int, float)) for v in present):
        arr = np.full(shape, np.nan, np.float64)
    elif all(isinstance(v, str) for v in present):
        arr = np.full(shape, "", dtype=object)
    else:
        return None
    for i, v in zip(index, values, strict=True):
        if v is not None:
            arr[i] = v
    return arr


def collect(sweep_dir: str | os.PathLike, *, write: bool = True) -> "xarray.Dataset":
    """Gather the complete runs under ``sweep_dir`` into a Dataset (see the module docstring).

    Args:
        sweep_dir: a multirun's ``hydra.sweep.dir``; every directory below it with a
            ``metrics.json`` and a ``.hydra/overrides.yaml`` is a point.
        write: also write it to ``sweep_dir/sweep.nc`` (atomically).

    Returns:
        The Dataset, loaded in memory.

    Raises:
        FileNotFoundError: no complete run under ``sweep_dir``.
        ValueError: two runs with the same swept values (two sweeps in one directory).
    """
    import xarray as xr
    from hydra.core.override_parser.overrides_parser import OverridesParser

    sweep_dir = Path(sweep_dir)
    runs = _runs(sweep_dir)
    if not runs:
        raise FileNotFoundError(f"no complete run (metrics.json + .hydra/) under {sweep_dir}")
    parser = OverridesParser.create()
    parsed = [_override_values(r, parser) for r in runs]
    overrides = [values for values, _ in parsed]
    metrics = [json.loads((r / "metrics.json").read_text()) for r in runs]

    keys = list(dict.fromkeys(k for o in overrides for k in o))
    columns = {k: [o.get(k) for o in overrides] for k in keys}
    varying = [k for k in keys if len(set(map(repr, columns[k]))) > 1]
    constant = [parsed[0][1][k] for k in keys if k not in varying and k in parsed[0][1]]
    has_rep = "seed" in varying
    candidates = [k for k in varying if k != "seed"]
    # A key determined by another swept key (steps by lr in a tied grid) is a coordinate along
    # that key's dimension. b = f(a) needs at least as many distinct a's, so visit keys with
    # more distinct values first.
    by_count = sorted(candidates, key=lambda k: -len(set(map(repr, columns[k]))))
    dims: list[str] = []
    tied: dict[str, str] = {}
    for k in by_count:
        parent = next((d for d in dims if _is_function(columns[d], columns[k])), None)
        if parent is None:
            dims.append(k)
        else:
            tied[k] = parent
    dims.sort(key=keys.index)
    levels = {d: _sorted_unique(columns[d]) for d in dims}
    if has_rep:
        levels["rep"] = _sorted_unique(columns["seed"])
        dims.append("rep")
        columns["rep"] = columns["seed"]
    shape = tuple(len(levels[d]) for d in dims)
    position = {d: {v: i for i, v in enumerate(levels[d])} for d in dims}
    index = [tuple(position[d][columns[d][p]] for d in dims) for p in range(len(runs))]
    if len(set(index)) < len(index):
        dup = next(i for i in index if index.count(i) > 1)
        clash = [str(runs[p]) for p, i in enumerate(index) if i == dup]
        raise ValueError(
            f"runs {clash} have the same swept values {dict(zip(dims, dup, strict=True))}: "
            f"{sweep_dir} holds more than one sweep; collect them separately"
        )

    coords: dict[str, Any] = {
        d: (d, _coord_values(levels[d]) if d != "rep" else np.arange(len(levels[d]))) for d in dims
    }
    for k, parent in tied.items():
        mapping = dict(zip(columns[parent], columns[k], strict=True))
        coords[k] = (parent, _coord_values([mapping[v] for v in levels[parent]]))
    data_vars: dict[str, Any] = {}
    attrs: dict[str, Any] = {
        "sweep_dir": str(sweep_dir.resolve()),
        "num_runs": len(runs),
        "overrides": json.dumps(constant),
    }

    scalars = [_scalars(m, set(coords)) for m in metrics]
    names = list(dict.fromkeys(k for s in scalars for k in s))
    for name in names:
        values = [s.get(name) for s in scalars]
        if name == "status":
            codes = {n: c for c, n in enumerate(STATUS_NAMES)}
            arr = np.full(shape, _MISSING_INT, np.int8)
            for i, v in zip(index, values, strict=True):
                arr[i] = codes[v]
            data_vars[name] = (
                dims,
                arr,
                {
                    "flag_values": np.arange(len(STATUS_NAMES), dtype=np.int8),
                    "flag_meanings": " ".join(STATUS_NAMES),
                    "missing_value_meaning": "-1: no run",
                },
            )
            continue
        if all(isinstance(v, str) for v in values) and len(set(values)) == 1:
            attrs[name] = values[0]
            continue
        arr = _fill(values, index, shape)
        if arr is None:
            logger.info("collect: skipping %s (not a scalar)", name)
            continue
        data_vars[name] = (dims, arr)
    for key in ("versions", "conventions"):
        if key in metrics[0]:
            attrs[key] = json.dumps(metrics[0][key])

    _mask_diverged(data_vars)
    _add_trajectories(runs, index, shape, dims, data_vars, coords)
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    if write:
        _write(ds, sweep_dir / SWEEP_FILE)
    return ds


def _mask_diverged(data_vars: dict[str, Any]) -> None:
    """NaN in every ``final_*`` variable where the run diverged (see :data:`DIVERGED_MASK`)."""
    if "status" not in data_vars:
        return
    diverged = data_vars["status"][1] == STATUS_NAMES.index("diverged")
    if not diverged.any():
        return
    for name, (dims, arr, *rest) in list(data_vars.items()):
        if not name.startswith("final_") or arr.dtype.kind not in "biuf":
            continue
        arr = arr.astype(np.float64)
        arr[diverged] = np.nan
        data_vars[name] = (dims, arr, {**(rest[0] if rest else {}), "masked": DIVERGED_MASK})


def with_status(ds: "xarray.Dataset", *statuses: str) -> "xarray.Dataset":
    """The runs of a sweep whose status is one of ``statuses``; the others are NaN.

    ``with_status(ds, "converged").final_sharpness.mean("rep")`` averages over the converged
    repetitions only (xarray skips NaN). A run that was not run (``status == -1``) is never
    selected.

    Args:
        ds: a sweep (:func:`collect`, :func:`load_sweep`).
        statuses: names among ``converged``, ``diverged``, ``max_steps``.

    Raises:
        ValueError: for an unknown status name.
    """
    unknown = [s for s in statuses if s not in STATUS_NAMES]
    if unknown or not statuses:
        raise ValueError(f"statuses={list(statuses)!r}: give one or more of {list(STATUS_NAMES)}")
    codes = [STATUS_NAMES.index(s) for s in statuses]
    return ds.where(ds.status.isin(codes))


def _add_trajectories(runs, index, shape, dims, data_vars, coords) -> None:
    trajs = []
    for r in runs:
        path = r / "trajectory.npz"
        if not path.is_file():
            logger.info("collect: %s has no trajectory.npz; trajectories left out", r)
            return
        with np.load(path) as z:
            trajs.append({k: np.asarray(z[k]) for k in z.files})
    time_key = "t" if "t" in trajs[0] else "step"
    lengths = {t[time_key].shape[0] for t in trajs if time_key in t}
    if len(lengths) != 1 or any(time_key not in t for t in trajs):
        logger.info("collect: runs have different record grids; trajectories left out")
        return
    (r,) = lengths
    times = [t[time_key] for t in trajs]
    rec_dims = (*dims, "record")
    if all(np.array_equal(times[0], x) for x in times[1:]):
        coords[time_key] = ("record", times[0])
    else:
        arr = np.full((*shape, r), np.nan)
        for i, x in zip(index, times, strict=True):
            arr[i] = x
        data_vars[time_key] = (rec_dims, arr)
    names = [k for k, v in trajs[0].items() if k != time_key and v.shape == (r,)]
    for name in names:
        if any(name not in t or t[name].shape != (r,) for t in trajs):
            continue
        arr = np.full((*shape, r), np.nan)
        for i, t in zip(index, trajs, strict=True):
            arr[i] = t[name]
        var = name if name not in data_vars and name not in coords else f"record_{name}"
        data_vars[var] = (rec_dims, arr)


def netcdf_engine() -> str:
    """``h5netcdf`` (netCDF4) when h5py is installed, else ``scipy`` (netCDF3, no extra package;
    64-bit integers are stored as 32-bit ones, which xarray checks are exact)."""
    import importlib.util

    return "h5netcdf" if importlib.util.find_spec("h5py") is not None else "scipy"


def _write(ds: "xarray.Dataset", path: Path) -> None:
    with atomic_path(path) as tmp:  # atomically, with the umask's permissions
        ds.to_netcdf(tmp, engine=netcdf_engine())


def load_sweep(path: str | os.PathLike) -> "xarray.Dataset":
    """The Dataset of a sweep: ``sweep.nc``, collected again if missing or older than a run.

    Args:
        path: the sweep directory, or its ``sweep.nc``.
    """
    path = Path(path)
    sweep_dir, nc = (path.parent, path) if path.suffix == ".nc" else (path, path / SWEEP_FILE)
    newest = max((p.stat().st_mtime for p in sweep_dir.rglob("metrics.json")), default=0.0)
    if not nc.is_file() or nc.stat().st_mtime < newest:
        return collect(sweep_dir)
    import xarray as xr

    return xr.load_dataset(nc)
