r"""Every data set of the reproduction by name: how to compute it, where it is saved.

``get(name)`` runs the named experiment (full size, or shrunken with ``quick``), saves its
``xarray.Dataset`` to ``outputs/marion/<name>.nc`` (``outputs/marion/quick/`` for quick ones)
before anything is drawn from it, and returns it; with ``reuse=True`` it loads the saved file
instead when the file's ``run_spec`` attribute matches (the name, the quick flag and
:data:`SPEC_VERSION`, bumped whenever a grid or protocol changes), so that ``figures
--replot`` and ``claims`` can work from the last full-size runs without recomputing them. The
figures and the claims report both read their data through here.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr

from implicit_bias.papers._cli import REPO
from implicit_bias.papers.marion_chizat import experiments as ex
from implicit_bias.papers.marion_chizat import flows
from implicit_bias.papers.marion_chizat.continuation import CONTINUE_STEPS

logger = logging.getLogger(__name__)

__all__ = ["DATA", "RUNS", "SPEC_VERSION", "get", "path"]

#: Where the data sets are saved.
DATA = REPO / "outputs" / "marion"
#: Part of every saved file's ``run_spec``: bump it when a grid or the protocol changes, so
#: that stale files are recomputed rather than reused.
SPEC_VERSION = "issue10-v1"


@dataclasses.dataclass(frozen=True)
class Run:
    """A named experiment: ``make(quick, stats, workers) -> Dataset``.

    Attributes:
        make: the function.
        workers: whether it uses CPU worker processes (step-bound GD grids).
        what: one line for logs and reports.
        detail: part of the saved spec (a setting whose change must invalidate saved files).
    """

    make: Callable[[bool, dict, int | None], xr.Dataset]
    workers: bool
    what: str
    detail: str = ""


def _fig1(q, st, w):
    return ex.fig1(ex.FIG1_GRID.shrink(0.05, 4, 5) if q else ex.FIG1_GRID, stats=st, workers=w)


def _fig1_flow(q, st, w):
    return ex.fig1_flow(ex.FLOW_SCALES[::2] if q else ex.FLOW_SCALES, reps=2 if q else 20, stats=st)


def _fig1cd(q, st, w):
    return ex.fig1cd(steps=1000 if q else ex.FIG1CD_STEPS, stats=st)


def _fig2(q, st, w):
    kw = dict(reps=4, steps=200, lrs=ex.FIG2_LRS[::3]) if q else {}
    return ex.fig2(stats=st, **kw)


def _fig4(q, st, w):
    return ex.fig4(ex.FIG4_GRID.shrink(0.05, 4, 5) if q else ex.FIG4_GRID, stats=st)


def _restraj(q, st, w):
    return ex.residual_trajectories(stats=st)


def _fig6(q, st, w):
    return ex.fig6(ex.FIG6_GRID.shrink(0.05, 4, 5) if q else ex.FIG6_GRID, stats=st, workers=w)


def _fig7(sigma):
    def make(q, st, w):
        grid = ex.FIG7_GRID.shrink(0.02, 4, 4) if q else ex.FIG7_GRID
        return ex.fig7(grid, sigma=sigma, stats=st, workers=w)

    return make


def _robust(q, st, w):
    grid = ex.FIG1_GRID.shrink(0.05, 4, 5) if q else ex.FIG1_GRID
    return ex.robustness(grid, stats=st, workers=w)


def _small(q, st, w):
    if q:
        return flows.small_init_flows(scales=(0.05, 0.1), reps=2, stats=st)
    return flows.small_init_flows(stats=st)


def _scaling(axis, kind):
    def make(q, st, w):
        values = None
        if q:
            values = {"depth": (2, 10), "width": (5, 10), "kappa": (1.0, 10.0)}[axis]
        return flows.scaling(axis, kind, values=values, reps=2 if q else 10, stats=st)

    return make


def _lemma3(q, st, w):
    from implicit_bias.papers.marion_chizat.lemma3 import products

    tic = time.perf_counter()
    depths, widths = ((5, 20), (5, 20)) if q else ((5, 10, 20, 40, 80), (5, 10, 20, 50, 100))
    scales, draws = flows.RESIDUAL_SCALES, 5 if q else 20
    rows = []
    for s in scales:
        for L in depths:
            rows.append(("depth", s, L, 20, products(L, 20, s, draws)))
        for d in widths:
            rows.append(("width", s, 20, d, products(20, d, s, draws)))
    ds = xr.Dataset(
        {
            "smax": (("point", "draw"), np.stack([r[4]["smax"] for r in rows])),
            "smin": (("point", "draw"), np.stack([r[4]["smin"] for r in rows])),
        },
        coords={
            "axis": ("point", [r[0] for r in rows]),
            "scale": ("point", [r[1] for r in rows]),
            "depth": ("point", [r[2] for r in rows]),
            "width": ("point", [r[3] for r in rows]),
        },
    )
    st.update(wall_s=time.perf_counter() - tic, runs=len(rows) * draws, compilations=0)
    return ds


def _theorem2(q, st, w):
    from implicit_bias.papers.marion_chizat.rescaling import theorem2_data

    tic = time.perf_counter()
    ds = theorem2_data()
    st.update(wall_s=time.perf_counter() - tic, runs=int(ds.sharpness.size))
    return ds


#: The GD grids whose stationary runs are continued in float64 (:mod:`.continuation`).
_GD64 = f"gd64 continuation {CONTINUE_STEPS}"

RUNS: dict[str, Run] = {
    "fig1": Run(_fig1, True, "Figs 1 (a, b) and 3: GD grid, deep linear L = 10", _GD64),
    "fig1_flow": Run(_fig1_flow, False, "gradient flow at the smallest Fig 1 scales"),
    "fig1cd": Run(
        _fig1cd,
        False,
        "Fig 1 (c, d): two GD trajectories, the authors' init",
        f"steps={ex.FIG1CD_STEPS}",
    ),
    "fig2": Run(_fig2, False, "Fig 2: residual networks, 4 depths x 25 lrs"),
    "fig4": Run(_fig4, False, "Figs 4 and 5: residual GD grid", _GD64),
    "residual_trajectories": Run(_restraj, False, "the authors' residual trajectories"),
    "fig6": Run(_fig6, True, "Fig 6: n = 15 < d = 20"),
    "fig7": Run(_fig7(0.0), True, "Fig 7: GELU MLP, noiseless data"),
    "fig7_noisy": Run(_fig7(1.0), True, "Fig 7 with noisy data (sigma = 1)"),
    "robustness": Run(_robust, True, "the Fig 1 grid with one data set per repetition", _GD64),
    "small_init": Run(
        _small, False, "gradient flows from small inits (Cor 2, Lemma 2)", "a1 from w0"
    ),
    "scaling_depth_small": Run(_scaling("depth", "small"), False, "depth sweep, small init"),
    "scaling_depth_residual": Run(_scaling("depth", "residual"), False, "depth, residual"),
    "scaling_width_small": Run(_scaling("width", "small"), False, "width sweep, small init"),
    "scaling_width_residual": Run(_scaling("width", "residual"), False, "width, residual"),
    "scaling_kappa_small": Run(_scaling("kappa", "small"), False, "kappa sweep, small init"),
    "scaling_kappa_residual": Run(_scaling("kappa", "residual"), False, "kappa, residual"),
    "lemma3": Run(_lemma3, False, "Lemma 3: residual products at init (numpy)"),
    "theorem2": Run(_theorem2, False, "Theorem 2: rescaled minimizers, exact Hessians"),
}


def path(name: str, quick: bool = False) -> Path:
    return (DATA / "quick" if quick else DATA) / f"{name}.nc"


def _spec(name: str, quick: bool) -> str:
    detail = RUNS[name].detail
    return f"{name}|{SPEC_VERSION}|quick={quick}" + (f"|{detail}" if detail else "")


def _save(ds: xr.Dataset, p: Path) -> None:
    from implicit_bias.app.collect import _write

    p.parent.mkdir(parents=True, exist_ok=True)
    clean = ds.copy()
    for k, v in clean.data_vars.items():
        if v.dtype == bool:
            clean[k] = v.astype(np.int8)
            clean[k].attrs["boolean"] = 1
    _write(clean, p)


def _load(p: Path) -> xr.Dataset:
    ds = xr.load_dataset(p)
    for k, v in ds.data_vars.items():
        if v.attrs.get("boolean"):
            ds[k] = v.astype(bool)
    return ds


def get(
    name: str,
    quick: bool = False,
    reuse: bool = False,
    cache: dict | None = None,
    stats: dict | None = None,
    workers: int | None = None,
) -> xr.Dataset:
    """The data set ``name`` of :data:`RUNS`: run (and save) it, or with ``reuse`` load the
    saved one if its spec matches.

    Args:
        name: a key of :data:`RUNS`.
        quick: shrunken grids (seconds to a minute; saved under ``quick/``).
        reuse: load the saved file when its ``run_spec`` matches instead of running.
        cache: in-process cache (name -> Dataset) shared by the figures of one command.
        stats: filled with the run's timings (``wall_s``, ``compile_s``, ``compilations``,
            ``runs``) and ``source`` (``run`` or the file loaded).
        workers: CPU worker processes for the runs that use them.

    Raises:
        KeyError: for an unknown name.
    """
    if name not in RUNS:
        raise KeyError(f"unknown run {name!r}; one of {sorted(RUNS)}")
    stats = {} if stats is None else stats
    key = (name, quick)
    if cache is not None and key in cache:
        stats["source"] = "cache"
        return cache[key]
    p = path(name, quick)
    if reuse and p.is_file():
        ds = _load(p)
        if ds.attrs.get("run_spec") == _spec(name, quick):
            stats["source"] = str(p.relative_to(REPO))
            stats["created"] = ds.attrs.get("created", "?")
            if cache is not None:
                cache[key] = ds
            return ds
        logger.info("%s: saved spec %r differs, running again", p, ds.attrs.get("run_spec"))
    run = RUNS[name]
    logger.info("running %s (%s)%s", name, run.what, " [quick]" if quick else "")
    tic = time.perf_counter()
    ds = run.make(quick, stats, workers if run.workers else None)
    stats.setdefault("wall_s", time.perf_counter() - tic)
    stats["source"] = "run"
    ds.attrs.update(
        run_spec=_spec(name, quick),
        created=datetime.datetime.now().isoformat(timespec="seconds"),
        wall_s=float(stats["wall_s"]),
    )
    _save(ds, p)
    if cache is not None:
        cache[key] = ds
    return ds
