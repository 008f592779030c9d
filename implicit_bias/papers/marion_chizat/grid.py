r"""A figure's grid of runs, batched through the library, as one labelled ``xarray.Dataset``.

A grid is ``init_scales x [(lr, steps, reps), ...]`` (the paper's tables give each learning
rate its own number of steps and of repetitions, Appendix C, lines 604-621). Repetition ``r``
of every point uses the init seed ``r``; the data seed is the figure's (the paper's protocol:
one data set per figure, repetitions vary only the initialization) or, for the labelled
robustness variant, ``r`` as well (one data set per repetition).

Runs are grouped into :func:`implicit_bias.app.workers.run_batch` calls of equal ``steps``
(a batch computes every run to its largest ``steps``) and of one batch size per figure (the
last batch of a group is padded by repeating its last run, whose copies are dropped), so that
a figure of one model structure compiles once (per worker process).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

import numpy as np
import xarray as xr

from implicit_bias.app.workers import run_batch
from implicit_bias.compilations import count_compilations
from implicit_bias.experiment import Experiment
from implicit_bias.papers.marion_chizat.bounds import bounds, min_train_loss, zero_loss
from implicit_bias.papers.marion_chizat.components import FixedData
from implicit_bias.result import Result
from implicit_bias.scalars import Scalars

logger = logging.getLogger(__name__)

__all__ = ["Grid", "per_repetition", "run_grid"]

#: ``data_seed`` value meaning "one data set per repetition" (``data_seed = r``).
per_repetition = None

_FINAL = (
    "sharpness",
    "sharpness_error_bound",
    "min_eigenvalue",
    "dist_to_wstar",
    "train_loss",
    "test_loss",
    "grad_norm",
)
_INITIAL = ("sharpness", "dist_to_wstar", "train_loss", "grad_norm")
_BOUNDS = (
    "a",
    "Lambda",
    "lam_min",
    "cond",
    "rank",
    "norm_w",
    "lower",
    "thm2_upper",
    "thm1_upper",
    "small_init_upper",
    "critical_lr",
)


@dataclasses.dataclass(frozen=True)
class Grid:
    """A figure's grid: ``init_scales`` x each ``(lr, steps, reps)`` of ``lrs``.

    For gradient flow, ``lr`` and ``steps`` are placeholders (pass ``t1`` to :func:`run_grid`).
    """

    init_scales: tuple[float, ...]
    lrs: tuple[tuple[float, int, int], ...]

    def shrink(self, steps: float, reps: int, scales: int | None = None) -> Grid:
        """A quick version: steps multiplied by ``steps``, at most ``reps`` repetitions and
        ``scales`` init scales (evenly picked, the extremes kept)."""
        s = self.init_scales
        if scales is not None and scales < len(s):
            s = tuple(np.asarray(s)[np.linspace(0, len(s) - 1, scales).round().astype(int)])
        lrs = tuple((lr, max(1, int(st * steps)), min(r, reps)) for lr, st, r in self.lrs)
        return Grid(tuple(float(x) for x in s), lrs)

    @classmethod
    def make(cls, init_scales, lrs) -> Grid:
        return cls(
            tuple(float(s) for s in init_scales),
            tuple((float(lr), int(st), int(r)) for lr, st, r in lrs),
        )


def _get(d: dict, key: str, b: int) -> np.ndarray:
    return np.asarray(d[key], np.float64) if key in d else np.full(b, np.nan)


def run_grid(
    exp: Experiment,
    grid: Grid,
    *,
    depth: int,
    data_seed: int | None,
    t1: float | None = None,
    batch_size: int | None = None,
    extra: Callable[[Result, int], dict[str, np.ndarray]] | None = None,
    stats: dict | None = None,
    workers: int | None = None,
) -> xr.Dataset:
    """Run ``init_scales x (lr, steps, reps)`` with as few compiled programs as possible.

    Every swept scalar is passed explicitly (seed, data_seed, init_scale, lr, steps, t1), so
    that the library's defaults never change these results.

    Args:
        exp: the static structure.
        grid: the points.
        depth: L, for the bounds.
        data_seed: the figure's data seed, or :data:`per_repetition` (``None``) for one data
            set per repetition (``data_seed = r``). Ignored by fixed data sets.
        t1: final time (gradient flow; ``lr`` and ``steps`` are then placeholders).
        batch_size: runs per batch (default: the smallest group), the same for every call.
        extra: ``extra(result, b) -> {name: (b,) array}`` computed from each batch's first
            ``b`` runs (e.g. diagnostics of the final layers), stored as variables.
        stats: filled with ``wall_s``, ``compile_s``, ``compilations``, ``batches``, ``runs``.
        workers: CPU worker processes per batch (:mod:`implicit_bias.app.workers`).

    Returns:
        Dataset with dims ``(init_scale, lr, rep)``; ``status == -1`` where a lr has fewer
        repetitions. Variables: ``final_*``, ``initial_*``, the bounds of
        :func:`~.bounds.bounds`, ``min_train_loss``, ``zero_loss``, ``reached``, ``status``
        and the ``extra`` ones.
    """
    scales = np.asarray(grid.init_scales, np.float64)
    lrs = np.asarray([g[0] for g in grid.lrs], np.float64)
    max_rep = max(g[2] for g in grid.lrs)
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for j, (_, steps, reps) in enumerate(grid.lrs):
        key = 0 if t1 is not None else int(steps)
        groups.setdefault(key, []).extend(
            (i, j, r) for i in range(len(scales)) for r in range(reps)
        )
    if batch_size is None:
        batch_size = min(len(v) for v in groups.values())
    shape = (len(scales), len(lrs), max_rep)
    out: dict[str, np.ndarray] = {}

    def put(name: str, sel, values) -> None:
        if name not in out:
            out[name] = np.full(shape, np.nan)
        out[name][sel] = values

    status = np.full(shape, -1, np.int8)
    tic = time.perf_counter()
    nbatch = 0
    with count_compilations("_simulate") as comp:
        for steps, runs in sorted(groups.items()):
            for start in range(0, len(runs), batch_size):
                chunk = runs[start : start + batch_size]
                idx = np.asarray(chunk)
                reps_ = idx[:, 2]
                scalars = Scalars.make(
                    dtype=exp.dtype,
                    seed=reps_,
                    data_seed=reps_ if data_seed is None else int(data_seed),
                    init_scale=scales[idx[:, 0]],
                    lr=lrs[idx[:, 1]] if t1 is None else 1.0,
                    steps=steps if t1 is None else 0,
                    t1=1.0 if t1 is None else float(t1),
                ).pad(batch_size)
                res = run_batch(exp, scalars, progress=False, workers=workers)
                nbatch += 1
                b = len(chunk)
                sel = tuple(idx.T)
                for k in _FINAL:
                    put(f"final_{k}", sel, _get(res.final, k, batch_size)[:b])
                for k in _INITIAL:
                    put(f"initial_{k}", sel, _get(res.initial, k, batch_size)[:b])
                put("reached", sel, np.asarray(res.reached, np.float64)[:b])
                status[sel] = np.asarray(res.status)[:b]
                X, y = np.asarray(res.data.X)[:b], np.asarray(res.data.y)[:b]
                for k, v in bounds(X, np.asarray(res.data.w_star)[:b], depth).items():
                    if k in _BOUNDS:
                        put(k, sel, v)
                put("min_train_loss", sel, min_train_loss(X, y))
                put("zero_loss", sel, zero_loss(y))
                if extra is not None:
                    for k, v in extra(res, b).items():
                        put(k, sel, np.asarray(v, np.float64)[:b])
    wall = time.perf_counter() - tic
    nruns = sum(len(v) for v in groups.values())
    if stats is not None:
        stats.update(
            wall_s=wall,
            compile_s=comp.total_seconds,
            compilations=comp.count,
            batches=nbatch,
            runs=nruns,
        )
    logger.info(
        "%d runs in %d batches of %d: %.1fs (%d compilations, %.1fs compiling)",
        nruns,
        nbatch,
        batch_size,
        wall,
        comp.count,
        comp.total_seconds,
    )
    dims = ("init_scale", "lr", "rep")
    ds = xr.Dataset(
        {k: (dims, v) for k, v in out.items()},
        coords={
            "init_scale": scales,
            "lr": lrs,
            "rep": np.arange(max_rep),
            "steps": ("lr", np.asarray([g[1] for g in grid.lrs])),
        },
    )
    ds["status"] = (dims, status)
    ds["status"].attrs.update(
        flag_values=[-1, 0, 1, 2], flag_meanings="missing converged diverged max_steps"
    )
    ds["final_dist_to_wstar"].attrs["long_name"] = "||w - w*||^2 / d"
    if isinstance(exp.data, FixedData):
        protocol = f"one data set for the figure: {exp.data.label}"
    elif data_seed is None:
        protocol = "one data set per repetition (data_seed = rep)"
    else:
        protocol = f"one data set for the figure: {type(exp.data).__name__}, data_seed {data_seed}"
    ds.attrs.update(
        model=type(exp.model).__name__,
        init=type(exp.init).__name__,
        integrator=type(exp.integrator).__name__,
        depth=depth,
        dtype=exp.dtype,
        protocol=protocol,
        t1=np.nan if t1 is None else float(t1),
    )
    return ds
