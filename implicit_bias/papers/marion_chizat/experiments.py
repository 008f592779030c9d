r"""The paper's experiments, each a grid run through the library with the paper's protocol.

Marion & Chizat, "Deep linear networks for regression are implicitly regularized towards flat
minima" (NeurIPS 2024), Appendix C (paper text lines 599-621) and the authors' code
(``run_experiment.py``). Deep linear network ``f(x) = W_L ... W_1 x`` (width 5, L = 10) or
the residual ``p^T W_L ... W_1 x``, full-batch GD on ``mean((f(x) - y)^2)``.

**Protocol** (lines 602-613 and ``run_experiment.py``): each figure draws its data set once
and every run of the figure uses it (Figs 1-5 and 7 share one, Fig 6 has its own); the
repetitions vary only the initialization. By default the data set is **the authors' own**
(:mod:`.authors`: the same draws from ``PRNGKey(0)`` in the same key-split order, in their
PRNG stream); ``data=<int>`` draws it instead with the library's
:class:`~implicit_bias.GaussianRegression` at that ``data_seed``. The residual network's
projection ``p`` is fixed per figure too (the authors': one per figure, one per depth in Fig 2).
:func:`robustness` is the labelled exception: the Fig 1 grid with one data set per
repetition.

Each function returns an ``xarray.Dataset`` (:func:`~.grid.run_grid`) indexed by
``init_scale``, ``lr``, ``rep`` (and ``depth``); one compiled program per figure (per depth
in Fig 2, per worker process where ``workers`` is used).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import xarray as xr

from implicit_bias.app.workers import run_batch
from implicit_bias.compilations import count_compilations
from implicit_bias.data import AbstractData, GaussianRegression
from implicit_bias.experiment import Experiment, SharpnessSpec
from implicit_bias.inits import AbstractInit, Gaussian, Residual
from implicit_bias.integrators import GD, GradientFlow
from implicit_bias.models import MLP, DeepLinear
from implicit_bias.papers.marion_chizat import authors
from implicit_bias.papers.marion_chizat.bounds import bounds, min_train_loss
from implicit_bias.papers.marion_chizat.components import (
    FixedData,
    FixedNormalsInit,
    FixedProjectionResidual,
)
from implicit_bias.papers.marion_chizat.continuation import continue_gd
from implicit_bias.papers.marion_chizat.grid import Grid, run_grid
from implicit_bias.schedule import Schedule

logger = logging.getLogger(__name__)

__all__ = [
    "FIG1CD_STEPS",
    "FIG1_GRID",
    "FIG1_LRS",
    "FIG2_DEPTHS",
    "FIG2_LRS",
    "FIG4_GRID",
    "FIG6_GRID",
    "FIG7_GRID",
    "FLOW_SCALES",
    "FLOW_T1",
    "LOSS_TOL",
    "DataChoice",
    "data_set",
    "experiment",
    "fig1",
    "fig1_flow",
    "fig1cd",
    "fig2",
    "fig4",
    "fig6",
    "fig7",
    "flow_integrator",
    "residual_trajectories",
    "robustness",
]

#: ``"authors"`` (the authors' data set of the figure) or a ``data_seed`` for the library's
#: generator.
DataChoice = str | int

#: (lr, steps, repetitions) of Figs 1 and 3 (line 604-606; ``run_experiment.py``).
FIG1_LRS = (
    (0.005, 40000, 20),
    (0.02, 10000, 20),
    (0.07, 4000, 20),
    (0.1, 4000, 20),
    (0.2, 2000, 80),
)
FIG1_GRID = Grid.make(np.linspace(0.25, 0.6, 10), FIG1_LRS)
#: Figs 4 and 5 (line 610): 4000 steps and 20 repetitions at every lr.
FIG4_GRID = Grid.make(np.linspace(0.0, 1.7, 10), [(lr, 4000, 20) for lr, _, _ in FIG1_LRS])
#: Fig 6 (lines 615-617).
FIG6_GRID = Grid.make(
    np.linspace(0.1, 0.36, 9), [(0.001, 40000, 100), (0.004, 10000, 20), (0.01, 4000, 20)]
)
#: Fig 7 (lines 619-621).
FIG7_GRID = Grid.make(
    np.linspace(0.428, 0.7, 8), [(0.005, 160000, 20), (0.02, 40000, 20), (0.07, 16000, 20)]
)
#: Fig 2 (lines 612-613): depths, 25 lrs, 50 repetitions, 1000 steps, residual scale 0.25.
FIG2_DEPTHS = (5, 10, 20, 40)
FIG2_LRS = tuple(float(x) for x in np.logspace(-2, -0.3, 25))
#: Gradient flow at the five smallest init scales of Fig 1 (the larger ones are stiff: the
#: sharpness reached from 0.6 is ~1e4, so an explicit solver needs ~1e-4-sized steps).
FLOW_SCALES = FIG1_GRID.init_scales[:5]
#: Gradient flows stop when the training loss is below LOSS_TOL: on the noiseless copy of the
#: data (:meth:`FixedData.noiseless`, same trajectory, minimum loss 0), 1e-12 absolute is a
#: relative 1e-12 of the loss at 0 (~1) and puts the parameters ~1e-6 from the limit; FLOW_T1
#: is then only a cap (an explicit solver crosses the long plateau of a small init in a number
#: of steps logarithmic in its length, so a large cap costs little).
LOSS_TOL = 1e-12
FLOW_T1 = 1e14
#: Fig 1 (c, d) run 40000 steps (the paper draws 450): at lr 0.1 the edge-of-stability
#: oscillations decay slowly (lr x sharpness -> 1.999); in float64 the gradient norm falls
#: below 1e-4 at step ~15000, 1e-5 at ~20000 and 3e-11 at 40000 (measured).
FIG1CD_STEPS = 40000


def _gd64(exp: Experiment):
    """``run_grid``'s ``extra``: each stationary run's GD continued in float64 and the dense
    float64 Hessian at both end points (:mod:`.continuation`; the edge-of-stability claim)."""
    return lambda res, b: continue_gd(exp, res, b)


def flow_integrator(max_steps: int = 1_000_000) -> GradientFlow:
    """Tsit5 with rtol 1e-10, atol 1e-12 (float64), stopping at :data:`LOSS_TOL`.

    Tight tolerances: the sharpness reached from the larger scales of Fig 1 is ~1e2-1e4 and
    with rtol 1e-7 the solution jitters at a gradient norm ~ sharpness x tolerance.
    """
    return GradientFlow(rtol=1e-10, atol=1e-12, max_steps=max_steps, loss_tol=LOSS_TOL)


def data_set(
    fig: str = "1", data: DataChoice = "authors", sigma: float | None = None
) -> tuple[AbstractData, int]:
    """The data set of a figure and the ``data_seed`` to pass.

    Args:
        fig: ``"1"`` (Figs 1-5: n = 50, d = 5, sigma = 1), ``"6"`` (n = 15, d = 20) or
            ``"7"`` (sigma = 0).
        data: ``"authors"`` or a data seed for :class:`~implicit_bias.GaussianRegression`.
        sigma: override the noise level.
    """
    if data == "authors":
        label = f"the authors' data set of Fig {fig}" + (
            "" if sigma is None else f", sigma = {sigma:g}"
        )
        return FixedData(authors.data_set(fig, sigma), label=label), 0
    if isinstance(data, bool) or not isinstance(data, (int, np.integer)) or data < 0:
        raise ValueError(f"data must be 'authors' or a data seed >= 0, got {data!r}")
    n, d, s = {"1": (50, 5, 1.0), "6": (15, 20, 1.0), "7": (50, 5, 0.0)}[fig]
    return GaussianRegression(n=n, d=d, sigma=s if sigma is None else float(sigma)), int(data)


def projection(data: DataChoice, depth: int | None = None) -> np.ndarray:
    """The residual network's fixed projection: the authors' (Figs 4-5, or Fig 2 at
    ``depth``) or, for library data, a unit vector drawn from ``numpy`` with the data seed."""
    if data == "authors":
        return authors.projection(depth)
    p = np.random.default_rng([int(data), depth or 0]).standard_normal(5)
    return (p / np.linalg.norm(p)).astype(np.float32)


def experiment(
    model: str = "deep_linear",
    *,
    data: AbstractData,
    depth: int = 10,
    width: int = 5,
    init: AbstractInit | None = None,
    projection_vector: np.ndarray | None = None,
    flow: bool = False,
    track: bool = False,
    every: int | None = None,
    sharpness: str = "lanczos",
    dtype: str = "float32",
    record: Schedule | None = None,
) -> Experiment:
    """The Experiment of a Marion & Chizat setting (every structural choice explicit).

    Args:
        model: ``deep_linear``, ``residual`` (:class:`FixedProjectionResidual`, needs
            ``projection_vector``) or ``mlp`` (bias-free, tanh-GELU as the authors'
            ``jax.nn.gelu``).
        data: the data generator.
        depth, width: L and the hidden width.
        init: default Gaussian (deep linear, MLP); the residual model needs one.
        flow: gradient flow (:func:`flow_integrator`, float64 advised) instead of GD.
        track: measure the sharpness at every record point.
        every: record every ``every`` steps (default: 100 linearly spaced points).
        sharpness: ``lanczos`` (25 iterations) or ``none``.
        dtype: ``float32`` (GD, as the authors) or ``float64`` (flows).
        record: the record schedule (overrides ``every``).
    """
    d = data.input_dim
    if model == "deep_linear":
        net = DeepLinear(input_dim=d, width=width, depth=depth)
    elif model == "residual":
        if projection_vector is None:
            raise ValueError("model='residual' needs projection_vector")
        net = FixedProjectionResidual(projection=projection_vector, depth=depth)
    elif model == "mlp":
        net = MLP(input_dim=d, width=width, depth=depth, activation="gelu_tanh")
    else:
        raise ValueError(f"model must be deep_linear, residual or mlp, got {model!r}")
    if init is None:
        if model == "residual":
            raise ValueError("model='residual' needs an init")
        init = Gaussian()
    integ = flow_integrator() if flow else GD()
    if record is None:
        record = Schedule(num=100, spacing="log") if flow else Schedule(num=100, every=every)
    return Experiment(
        model=net,
        data=data,
        init=init,
        integrator=integ,
        sharpness=SharpnessSpec(method=sharpness, track=track),
        record=record,
        dtype=dtype,
    )


def fig1(
    grid: Grid = FIG1_GRID,
    data: DataChoice = "authors",
    stats: dict | None = None,
    workers: int | None = None,
) -> xr.Dataset:
    """Figs 1 (a, b) and 3: deep linear L = 10, Gaussian init, one data set."""
    ds, seed = data_set("1", data)
    exp = experiment(data=ds)
    return run_grid(
        exp, grid, depth=10, data_seed=seed, stats=stats, workers=workers, extra=_gd64(exp)
    )


def robustness(
    grid: Grid = FIG1_GRID, stats: dict | None = None, workers: int | None = None
) -> xr.Dataset:
    """The Fig 1 grid with one data set per repetition (``data_seed = rep``): not the
    paper's protocol, a robustness check to be read run by run (each run against its own
    bounds)."""
    ds, _ = data_set("1", 0)
    exp = experiment(data=ds)
    return run_grid(
        exp, grid, depth=10, data_seed=None, stats=stats, workers=workers, extra=_gd64(exp)
    )


def fig1_flow(
    init_scales=FLOW_SCALES,
    reps: int = 20,
    data: DataChoice = "authors",
    t1: float = 1e6,
    stats: dict | None = None,
) -> xr.Dataset:
    """Fig 1 with gradient flow (float64) at the smallest init scales: the curve GD departs
    from as lr -> 0 (the paper discusses it, line 623; not drawn in the paper). Needs
    ``jax_enable_x64``. Runs on the noiseless copy of the data (same trajectories)."""
    ds, seed = data_set("1", data)
    if isinstance(ds, FixedData):
        ds = ds.noiseless()
    else:
        ds = GaussianRegression(n=ds.n, d=ds.d, sigma=0.0)
    exp = experiment(data=ds, flow=True, dtype="float64")
    grid = Grid.make(init_scales, [(1.0, 0, reps)])
    out = run_grid(exp, grid, depth=10, data_seed=seed, t1=t1, stats=stats, batch_size=reps)
    return out.isel(lr=0, drop=True)


def _trajectories(
    exp: Experiment, lrs, init_scale: float, steps: int, seed: int, stats=None
) -> xr.Dataset:
    tic = time.perf_counter()
    lrs = np.asarray(lrs, np.float64)
    with count_compilations("_simulate") as comp:
        res = run_batch(
            exp,
            seed=seed,
            data_seed=0,
            init_scale=init_scale,
            lr=lrs,
            steps=steps,
            t1=1.0,
            progress=False,
        )
    if stats is not None:
        stats.update(
            wall_s=time.perf_counter() - tic,
            compile_s=comp.total_seconds,
            compilations=comp.count,
            batches=1,
            runs=len(lrs),
        )
    step = np.asarray(res.times)[0]
    out = {
        k: (("lr", "step"), np.asarray(v, np.float64))
        for k, v in res.records.items()
        if np.ndim(v) == 2
    }
    ds = xr.Dataset(out, coords={"lr": lrs, "step": step})
    ds["status"] = ("lr", np.asarray(res.status, np.int8))
    L = exp.model.depth
    X, y = np.asarray(res.data.X)[:1], np.asarray(res.data.y)[:1]
    for k, v in bounds(X, np.asarray(res.data.w_star)[:1], L).items():
        ds.attrs[k] = float(v[0])
    ds.attrs["min_train_loss"] = float(min_train_loss(X, y)[0])
    ds.attrs.update(init_scale=init_scale, depth=L)
    return ds


def fig1cd(steps: int = FIG1CD_STEPS, data: DataChoice = "authors", stats: dict | None = None):
    """Fig 1 (c, d): loss, sharpness (every 5 steps) and distance along GD at lr 0.02 and
    0.1 from init scale 0.35; with the authors' data, from the authors' own init.

    In float64 (the authors' GD is float32): at lr 0.1 the run converges to a minimizer whose
    sharpness is within 0.03% of ``2 / lr``, where float32 rounding keeps the gradient at
    ~7e-4 (loss at its rounding floor) instead of letting it decay (to 1e-11 in float64)."""
    ds, _ = data_set("1", data)
    init = FixedNormalsInit(authors.fig1cd_normals()) if data == "authors" else Gaussian()
    exp = experiment(data=ds, init=init, track=True, every=5, dtype="float64")
    return _trajectories(exp, (0.02, 0.1), 0.35, steps, 0, stats)


def residual_trajectories(
    steps: int = 400, data: DataChoice = "authors", stats: dict | None = None
) -> xr.Dataset:
    """The authors' residual trajectories (``run_experiment.py``; not a numbered figure):
    lrs 0.02 and 0.1 from residual init scale 0.5, sharpness every 5 steps; with the
    authors' data, from their init and projection."""
    ds, _ = data_set("1", data)
    init = (
        FixedNormalsInit(authors.residual_trajectory_normals(), residual=True)
        if data == "authors"
        else Residual()
    )
    exp = experiment(
        "residual", data=ds, init=init, projection_vector=projection(data), track=True, every=5
    )
    return _trajectories(exp, (0.02, 0.1), 0.5, steps, 0, stats)


def fig4(
    grid: Grid = FIG4_GRID, data: DataChoice = "authors", stats: dict | None = None
) -> xr.Dataset:
    """Figs 4 and 5: residual linear network (L = 10), residual init ``I + s N / sqrt(L d)``,
    the authors' projection."""
    ds, seed = data_set("1", data)
    exp = experiment("residual", data=ds, init=Residual(), projection_vector=projection(data))
    return run_grid(exp, grid, depth=10, data_seed=seed, stats=stats, extra=_gd64(exp))


def fig2(
    depths=FIG2_DEPTHS,
    lrs=FIG2_LRS,
    reps: int = 50,
    steps: int = 1000,
    init_scale: float = 0.25,
    data: DataChoice = "authors",
    stats: dict | None = None,
) -> xr.Dataset:
    """Fig 2: residual networks of depth 5 ... 40 over lr, init scale 0.25, the Fig 1 data
    and one projection per depth; dims add ``depth``. The sharpness is not plotted and not
    computed (a third of each depth's compile time)."""
    ds, seed = data_set("1", data)
    parts = []
    total = {"wall_s": 0.0, "compile_s": 0.0, "compilations": 0, "batches": 0, "runs": 0}
    for L in depths:
        grid = Grid.make((init_scale,), [(lr, steps, reps) for lr in lrs])
        st: dict = {}
        exp = experiment(
            "residual",
            data=ds,
            depth=L,
            init=Residual(),
            projection_vector=projection(data, L),
            sharpness="none",
        )
        parts.append(
            run_grid(exp, grid, depth=L, data_seed=seed, stats=st, batch_size=len(lrs) * reps)
        )
        for k in total:
            total[k] += st[k]
    if stats is not None:
        stats.update(total)
    return xr.concat(parts, dim=xr.DataArray(list(depths), dims="depth", name="depth"))


def fig6(
    grid: Grid = FIG6_GRID,
    data: DataChoice = "authors",
    stats: dict | None = None,
    workers: int | None = None,
) -> xr.Dataset:
    """Fig 6: n = 15 < d = 20, L = 5, Gaussian init, its own data set."""
    ds, seed = data_set("6", data)
    exp = experiment(data=ds, depth=5)
    return run_grid(exp, grid, depth=5, data_seed=seed, stats=stats, workers=workers)


def fig7(
    grid: Grid = FIG7_GRID,
    sigma: float = 0.0,
    data: DataChoice = "authors",
    stats: dict | None = None,
    workers: int | None = None,
) -> xr.Dataset:
    """Fig 7: bias-free tanh-GELU MLP, L = 10, width 5, noiseless data (``sigma = 0``); with
    ``sigma = 1`` the noisy variant the paper describes without a plot (line 619)."""
    ds, seed = data_set("7", data, sigma=sigma)
    exp = experiment("mlp", data=ds)
    return run_grid(exp, grid, depth=10, data_seed=seed, stats=stats, workers=workers)
