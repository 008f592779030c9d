r"""Reproduction of Marion & Chizat (2024): every figure's grid through the Python API.

Marion & Chizat, "Deep linear networks for regression are implicitly regularized towards flat
minima" (NeurIPS 2024). Deep linear network ``f(x) = W_L ... W_1 x`` (or the residual
``p^T W_L ... W_1 x``) trained by full-batch GD on ``mean((f(x) - y)^2)``. With
``Sigma = X^T X / n``, ``w*`` the least-squares regressor, ``c = ||w*||^{2 - 2/L}``,
``a = w*^T Sigma w* / ||w*||^2`` and ``Lambda = lambda_max(Sigma)`` (bounds as stated in the
issue; see ``docs/marion.md``):

* Theorem 1: every minimizer has sharpness ``>= lower = 2 L a c``;
* Corollary 2: gradient flow from a small initialization reaches a minimizer of sharpness
  ``<= small_init_upper = 8 L Lambda c``;
* edge of stability: GD with step ``lr`` cannot converge to a minimizer sharper than ``2 / lr``,
  hence no convergence above the critical lr ``1 / (L a c) = 2 / lower``.

Each ``figN`` function runs the figure's full grid with :func:`implicit_bias.run_batch`
(the sweep files ``sweeps/marion_fig*.yaml`` are the CLI equivalent, one run directory per point)
and returns an :class:`xarray.Dataset` indexed by ``init_scale``, ``lr``, ``rep`` (and ``depth``),
holding for every run its initial/final sharpness and squared distance
``||w - w*||^2 / d``, final train/test loss, status (0 converged, 1 diverged, 2 max_steps, -1 no
run at that repetition) and the bounds computed from its own data.

Runs are grouped into ``run_batch`` calls of equal ``steps`` (a batch computes every run to its
largest ``steps``) and of one batch size per figure (the last batch of a group is padded by
repeating its last run), so that a figure of one model structure compiles once.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import xarray as xr
from jaxtyping import Array, Float

from implicit_bias.app.workers import run_batch
from implicit_bias.compilations import count_compilations
from implicit_bias.data import GaussianRegression
from implicit_bias.experiment import Experiment, SharpnessSpec
from implicit_bias.inits import Gaussian, Residual
from implicit_bias.integrators import GD, GradientFlow
from implicit_bias.models import MLP, DeepLinear, ResidualLinear
from implicit_bias.scalars import Scalars
from implicit_bias.schedule import Schedule

logger = logging.getLogger(__name__)

__all__ = [
    "FIG1_LRS",
    "Grid",
    "bounds",
    "converged_to_minimizer",
    "critical_lr",
    "experiment",
    "fig1",
    "fig1_flow",
    "fig1cd",
    "fig2",
    "fig4",
    "fig5",
    "fig6",
    "fig7",
    "layer_alignment",
    "lemma2",
    "min_train_loss",
    "run_grid",
]

#: (lr, steps, repetitions) of Fig. 1, 3, 4 (Fig. 4: 4000 steps and 20 reps for every lr).
FIG1_LRS = (
    (0.005, 40000, 20),
    (0.02, 10000, 20),
    (0.07, 4000, 20),
    (0.1, 4000, 20),
    (0.2, 2000, 80),
)


@dataclasses.dataclass(frozen=True)
class Grid:
    """A figure's grid: ``init_scales`` x each ``(lr, steps, reps)`` of ``lrs``."""

    init_scales: tuple[float, ...]
    lrs: tuple[tuple[float, int, int], ...]

    def shrink(self, steps: float, reps: int, scales: int | None = None) -> Grid:
        """A quick version: steps multiplied by ``steps``, at most ``reps`` repetitions."""
        s = self.init_scales
        if scales is not None and scales < len(s):
            s = tuple(np.asarray(s)[np.linspace(0, len(s) - 1, scales).round().astype(int)])
        lrs = tuple((lr, max(1, int(st * steps)), min(r, reps)) for lr, st, r in self.lrs)
        return Grid(tuple(float(x) for x in s), lrs)


def experiment(
    model: str = "deep_linear",
    *,
    n: int = 50,
    d: int = 5,
    sigma: float = 1.0,
    depth: int = 10,
    width: int = 5,
    flow: bool = False,
    track: bool = False,
    every: int | None = None,
    sharpness: str = "lanczos",
    dtype: str = "float32",
) -> Experiment:
    """The Experiment of a Marion & Chizat setting.

    Args:
        model: ``deep_linear`` (Gaussian init), ``residual_linear`` (residual init) or
            ``mlp`` (GELU, Gaussian init).
        n, d, sigma: data size, dimension and noise (``GaussianRegression``, ``||w*|| = 1``).
        depth, width: L and the hidden width.
        flow: gradient flow (rtol 1e-10, atol 1e-12, float64 advised) instead of GD.
        track: measure the sharpness at every record point.
        every: record every ``every`` steps (default: 100 linearly spaced record points).
        sharpness: the sharpness estimator (``none`` for figures that do not show it).
        dtype: ``float32`` or ``float64``.
    """
    if model == "deep_linear":
        net, init = DeepLinear(input_dim=d, width=width, depth=depth), Gaussian()
    elif model == "residual_linear":
        net, init = ResidualLinear(input_dim=d, depth=depth), Residual()
    elif model == "mlp":
        net = MLP(input_dim=d, width=width, depth=depth, activation="gelu_tanh")
        init = Gaussian()
    else:
        raise ValueError(f"model must be deep_linear, residual_linear or mlp, got {model!r}")
    integ = GradientFlow(rtol=1e-10, atol=1e-12, max_steps=1_000_000) if flow else GD()
    record = Schedule(num=100, spacing="log") if flow else Schedule(num=100, every=every)
    return Experiment(
        model=net,
        data=GaussianRegression(n=n, d=d, sigma=sigma),
        init=init,
        integrator=integ,
        sharpness=SharpnessSpec(method=sharpness, track=track),
        record=record,
        dtype=dtype,
    )


def bounds(
    X: Float[Array | np.ndarray, "b n d"], w_star: Float[Array | np.ndarray, "b d"], L: int
) -> dict[str, np.ndarray]:
    r"""Marion & Chizat bounds of each run, from its own data (vectorized
    :func:`implicit_bias.theory.deep_linear_sharpness_bounds`), in float64.

    ``Sigma = X^T X / n``, ``a = w*^T Sigma w* / ||w*||^2``, ``Lambda = lambda_max(Sigma)``,
    ``c = ||w*||^{2-2/L}``: ``lower = 2 L a c``, ``small_init_upper = 8 L Lambda c``,
    ``critical_lr = 1 / (L a c)``.

    Returns:
        ``a``, ``Lambda``, ``lower``, ``small_init_upper``, ``critical_lr``, each of shape (b,).
    """
    X = np.asarray(X, np.float64)
    w = np.asarray(w_star, np.float64)
    Sigma = np.einsum("bni,bnj->bij", X, X) / X.shape[1]
    norm2 = np.sum(w**2, axis=-1)
    a = np.einsum("bi,bij,bj->b", w, Sigma, w) / norm2
    Lam = np.linalg.eigvalsh(Sigma)[:, -1]
    c = norm2 ** (1.0 - 1.0 / L)
    return {
        "a": a,
        "Lambda": Lam,
        "lower": 2.0 * L * a * c,
        "small_init_upper": 8.0 * L * Lam * c,
        "critical_lr": 1.0 / (L * a * c),
    }


def min_train_loss(
    X: Float[Array | np.ndarray, "b n d"], y: Float[Array | np.ndarray, "b n"]
) -> np.ndarray:
    """The least-squares training loss ``min_w mean((X w - y)^2)`` of each run (float64)."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    w = np.stack([np.linalg.lstsq(Xi, yi, rcond=None)[0] for Xi, yi in zip(X, y, strict=True)])
    return np.mean((np.einsum("bnd,bd->bn", X, w) - y) ** 2, axis=-1)


def converged_to_minimizer(ds: xr.Dataset, excess: float = 1e-3) -> xr.DataArray:
    """Runs that reached a global minimizer: status converged (gradient norm <= 1e-4) *and*
    training loss within ``excess`` (absolute; the targets are scaled so that ``||w*|| = 1``)
    of the least-squares loss. The second condition excludes runs stopped near the saddle at
    0, whose gradient is also small."""
    return (ds.status == 0) & (ds.final_train_loss - ds.min_train_loss <= excess)


def layer_alignment(params: dict[str, np.ndarray], depth: int) -> dict[str, np.ndarray]:
    r"""Lemma 2 diagnostics of a deep linear network's layers ``W_1 ... W_L`` (batched).

    With ``W_k = sum_i s_{k,i} u_{k,i} v_{k,i}^T`` (singular values decreasing):

    * ``rank_one_defect = max_k sum_{i >= 2} s_{k,i}^2 / sum_i s_{k,i}^2`` (0 iff every layer
      has rank one);
    * ``alignment = min_{k < L} |<u_{k,1}, v_{k+1,1}>|`` (1 iff the top left singular vector of
      each layer is the top right singular vector of the next: the chain is aligned).

    Args:
        params: ``W1 ... WL`` with a leading batch axis, ``W_k`` of shape ``(b, m_k, m_{k-1})``.
        depth: L.

    Returns:
        ``rank_one_defect`` and ``alignment``, shape (b,).
    """
    defect, align = None, None
    prev_u = None
    for k in range(1, depth + 1):
        W = np.asarray(params[f"W{k}"], np.float64)
        U, s, Vt = np.linalg.svd(W, full_matrices=False)
        s2 = s**2
        dk = 1.0 - s2[:, 0] / np.maximum(s2.sum(-1), 1e-300)
        defect = dk if defect is None else np.maximum(defect, dk)
        if prev_u is not None:
            ak = np.abs(np.einsum("bi,bi->b", prev_u, Vt[:, 0, :]))
            align = ak if align is None else np.minimum(align, ak)
        prev_u = U[:, :, 0]
    if align is None:
        align = np.ones_like(defect)
    return {"rank_one_defect": defect, "alignment": align}


_ALIGN = ("rank_one_defect", "alignment", "delta_rank_one_defect", "delta_alignment")
_FINAL = ("sharpness", "dist_to_wstar", "train_loss", "test_loss")
_INITIAL = ("sharpness", "dist_to_wstar")
_BOUNDS = ("lower", "small_init_upper", "critical_lr", "a", "Lambda")


def _get(d: dict, key: str, b: int) -> np.ndarray:
    return np.asarray(d[key], np.float64) if key in d else np.full(b, np.nan)


def run_grid(
    exp: Experiment,
    grid: Grid,
    *,
    depth: int,
    batch_size: int | None = None,
    t1: float | None = None,
    alignment: bool = False,
    stats: dict | None = None,
    workers: int | None = None,
) -> xr.Dataset:
    """Run ``init_scales x (lr, steps, reps)`` with as few compiled programs as possible.

    Seeds are ``0 .. reps - 1`` at every (init scale, lr): repetition ``r`` of every point uses
    the same data and init draw (as the sweep files do with ``seed: range(reps)``).

    Args:
        exp: the static structure.
        grid: the points.
        depth: L, for the bounds.
        batch_size: runs per ``run_batch`` call (default: the smallest group); every call has
            this size, so the figure compiles once.
        t1: final time (gradient flow; ``steps`` is then ignored).
        alignment: also compute :func:`layer_alignment` of the final layers.
        stats: filled with ``wall_s``, ``compile_s``, ``compilations``, ``batches``, ``runs``.
        workers: CPU worker processes per batch (:mod:`implicit_bias.app.workers`); each compiles
            the figure's program once. Pays off when the steps dominate the compile time
            (Fig. 1, 6, 7 on the 2-core CPU).

    Returns:
        Dataset with dims ``(init_scale, lr, rep)``; ``status == -1`` where a lr has fewer reps.
    """
    scales = np.asarray(grid.init_scales, np.float64)
    lrs = np.asarray([g[0] for g in grid.lrs], np.float64)
    max_rep = max(g[2] for g in grid.lrs)
    # Every run: (scale index, lr index, rep), grouped by steps.
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for j, (_, steps, reps) in enumerate(grid.lrs):
        key = 0 if t1 is not None else int(steps)
        groups.setdefault(key, []).extend(
            (i, j, r) for i in range(len(scales)) for r in range(reps)
        )
    if batch_size is None:
        batch_size = min(len(v) for v in groups.values())
    shape = (len(scales), len(lrs), max_rep)
    out = {f"final_{k}": np.full(shape, np.nan) for k in _FINAL}
    out.update({f"initial_{k}": np.full(shape, np.nan) for k in _INITIAL})
    out.update({k: np.full(shape, np.nan) for k in _BOUNDS})
    out["final_grad_norm"] = np.full(shape, np.nan)
    out["min_train_loss"] = np.full(shape, np.nan)
    if alignment:
        out.update({k: np.full(shape, np.nan) for k in _ALIGN})
    status = np.full(shape, -1, np.int8)
    tic = time.perf_counter()
    nbatch = 0
    with count_compilations("_simulate") as comp:
        for steps, runs in sorted(groups.items()):
            for start in range(0, len(runs), batch_size):
                chunk = runs[start : start + batch_size]
                idx = np.asarray(chunk)
                kw = dict(seed=idx[:, 2], init_scale=scales[idx[:, 0]], lr=lrs[idx[:, 1]])
                if t1 is not None:
                    kw["t1"] = t1
                else:
                    kw["steps"] = steps
                # Every call has the figure's batch size (one compiled program): the last
                # batch of a group is padded, and its copies dropped below.
                scalars = Scalars.make(dtype=exp.dtype, **kw).pad(batch_size)
                res = run_batch(exp, scalars, progress=False, workers=workers)
                nbatch += 1
                b = len(chunk)
                sel = tuple(idx[:b].T)
                for k in _FINAL:
                    out[f"final_{k}"][sel] = _get(res.final, k, batch_size)[:b]
                for k in _INITIAL:
                    out[f"initial_{k}"][sel] = _get(res.initial, k, batch_size)[:b]
                out["final_grad_norm"][sel] = _get(res.final, "grad_norm", batch_size)[:b]
                status[sel] = np.asarray(res.status)[:b]
                bd = bounds(np.asarray(res.data.X)[:b], np.asarray(res.data.w_star)[:b], depth)
                for k in _BOUNDS:
                    out[k][sel] = bd[k]
                out["min_train_loss"][sel] = min_train_loss(
                    np.asarray(res.data.X)[:b], np.asarray(res.data.y)[:b]
                )
                if alignment:
                    params = {k: np.asarray(v, np.float64)[:b] for k, v in res.params.items()}
                    init = {k: np.asarray(v, np.float64)[:b] for k, v in res.initial_params.items()}
                    delta = {k: params[k] - init[k] for k in params}
                    for k, v in layer_alignment(params, depth).items():
                        out[k][sel] = v
                    for k, v in layer_alignment(delta, depth).items():
                        out[f"delta_{k}"][sel] = v
    wall = time.perf_counter() - tic
    if stats is not None:
        stats.update(
            wall_s=wall,
            compile_s=comp.total_seconds,
            compilations=comp.count,
            batches=nbatch,
            runs=sum(len(v) for v in groups.values()),
        )
    logger.info(
        "%d runs in %d batches of %d: %.1fs (%d compilations, %.1fs compiling)",
        sum(len(v) for v in groups.values()),
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
    ds.attrs.update(model=type(exp.model).__name__, depth=depth, dtype=exp.dtype)
    return ds


def _grid(scales, lrs) -> Grid:
    return Grid(tuple(float(s) for s in scales), tuple(lrs))


FIG1_GRID = _grid(np.linspace(0.25, 0.6, 10), FIG1_LRS)
FIG4_GRID = _grid(np.linspace(0.0, 1.7, 10), tuple((lr, 4000, 20) for lr, _, _ in FIG1_LRS))
FIG6_GRID = _grid(
    np.linspace(0.1, 0.36, 9), ((0.001, 40000, 100), (0.004, 10000, 20), (0.01, 4000, 20))
)
FIG7_GRID = _grid(
    np.linspace(0.428, 0.7, 8), ((0.005, 160000, 20), (0.02, 40000, 20), (0.07, 16000, 20))
)
#: Gradient-flow init scales: the five smallest of Fig. 1 (the larger ones are stiff: an
#: explicit solver needs ~2.5e5 steps to t1 = 50 from 0.6, see sweeps/marion_fig1_flow.yaml).
FLOW_SCALES = FIG1_GRID.init_scales[:5]
FIG2_DEPTHS = (5, 10, 20, 40)
FIG2_LRS = tuple(float(x) for x in np.logspace(-2, -0.3, 25))


def fig1(
    grid: Grid = FIG1_GRID,
    stats: dict | None = None,
    dtype: str = "float32",
    workers: int | None = None,
) -> xr.Dataset:
    """Fig. 1 (a, b) and Fig. 3: deep linear L = 10, Gaussian init; with Lemma 2 diagnostics."""
    exp = experiment(dtype=dtype)
    return run_grid(exp, grid, depth=10, alignment=True, stats=stats, workers=workers)


def fig1_flow(
    init_scales=FLOW_SCALES,
    reps: int = 20,
    t1: float = 50.0,
    stats: dict | None = None,
) -> xr.Dataset:
    """Fig. 1 with gradient flow (float64, rtol 1e-10): the small-init sharpness of Corollary 2.

    Needs ``jax_enable_x64``. One ``run_batch`` call per init scale: a batched adaptive solve
    takes the step count of its stiffest run, and the flow's stiffness grows with the init
    scale (the sharpness reached from 0.6 is ~1e4), so mixing scales would slow the small ones
    down to the large ones' pace.
    """
    # lr is unused by the flow; 1.0 is a placeholder that passes validation.
    grid = Grid(tuple(float(s) for s in init_scales), ((1.0, 0, reps),))
    exp = experiment(flow=True, dtype="float64")
    ds = run_grid(exp, grid, depth=10, t1=t1, alignment=True, stats=stats, batch_size=reps)
    return ds.isel(lr=0)


def lemma2(
    init_scales=(0.25, 0.15, 0.1), reps: int = 2, t1: float = 20000.0, stats: dict | None = None
) -> xr.Dataset:
    """Lemma 2 diagnostics (:func:`layer_alignment`) after gradient flow from small inits.

    The smaller the init, the longer the flow stays near the saddle at 0 (escape time grows
    like ``init_scale^{-(L-2)}``): ``t1 = 2e4`` reaches the minimizer from 0.1 (measured: the
    final loss equals the least-squares loss to 1e-8).
    """
    grid = Grid(tuple(float(s) for s in init_scales), ((1.0, 0, reps),))
    exp = experiment(flow=True, dtype="float64")
    ds = run_grid(exp, grid, depth=10, t1=t1, alignment=True, stats=stats, batch_size=reps)
    return ds.isel(lr=0)


def _trajectories(exp: Experiment, lrs, init_scale: float, steps: int, stats=None) -> xr.Dataset:
    tic = time.perf_counter()
    with count_compilations("_simulate") as comp:
        res = run_batch(
            exp, seed=0, init_scale=init_scale, lr=np.asarray(lrs), steps=steps, progress=False
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
    data = {
        k: (("lr", "step"), np.asarray(v, np.float64))
        for k, v in res.records.items()
        if np.ndim(v) == 2
    }
    ds = xr.Dataset(data, coords={"lr": np.asarray(lrs, np.float64), "step": step})
    ds["status"] = ("lr", np.asarray(res.status, np.int8))
    return ds


def fig1cd(steps: int = 450, stats: dict | None = None) -> xr.Dataset:
    """Fig. 1 (c, d): loss, sharpness and distance along GD, lr 0.02 and 0.1, init scale 0.35."""
    return _trajectories(experiment(track=True, every=5), (0.02, 0.1), 0.35, steps, stats)


def fig5(steps: int = 400, stats: dict | None = None) -> xr.Dataset:
    """Fig. 5: residual network trajectories at init scale 0.5 for the five lrs."""
    exp = experiment("residual_linear", track=True, every=4)
    return _trajectories(exp, tuple(g[0] for g in FIG1_LRS), 0.5, steps, stats)


def fig4(grid: Grid = FIG4_GRID, stats: dict | None = None) -> xr.Dataset:
    """Fig. 4: residual linear network (L = 10), residual init, scales linspace(0, 1.7, 10)."""
    return run_grid(experiment("residual_linear"), grid, depth=10, stats=stats)


def fig2(
    depths=FIG2_DEPTHS,
    lrs=FIG2_LRS,
    reps: int = 50,
    steps: int = 1000,
    init_scale: float = 0.25,
    stats: dict | None = None,
) -> xr.Dataset:
    """Fig. 2: residual networks of depth 5 ... 40 over lr, init scale 0.25; dims add ``depth``.

    Only distances and statuses are plotted, so no sharpness is computed (the Lanczos
    program is a third of each depth's compile time).
    """
    parts = []
    total = {"wall_s": 0.0, "compile_s": 0.0, "compilations": 0, "batches": 0, "runs": 0}
    for L in depths:
        grid = Grid((float(init_scale),), tuple((float(lr), steps, reps) for lr in lrs))
        st: dict = {}
        # One batch per depth: all lrs x reps share the steps.
        parts.append(
            run_grid(
                experiment("residual_linear", depth=L, sharpness="none"),
                grid,
                depth=L,
                stats=st,
                batch_size=len(lrs) * reps,
            )
        )
        for k in total:
            total[k] += st[k]
    if stats is not None:
        stats.update(total)
    return xr.concat(parts, dim=xr.DataArray(list(depths), dims="depth", name="depth"))


def critical_lr(ds: xr.Dataset, threshold: float = 0.5) -> xr.DataArray:
    """Measured critical lr: the smallest lr at which the fraction of runs that do *not*
    converge (diverged or stuck away from a minimizer at the end) exceeds ``threshold``.

    Args:
        ds: a :func:`fig2` Dataset (dims depth, init_scale, lr, rep).
        threshold: fraction of failed runs.

    Returns:
        One lr per depth (NaN if no lr of the grid fails).
    """
    valid = ds.status >= 0
    failed = ((ds.status != 0) & valid).sum("rep") / valid.sum("rep")
    failed = failed.isel(init_scale=0) if "init_scale" in failed.dims else failed
    out = []
    for L in failed.depth.values:
        f = failed.sel(depth=L).values
        hit = np.nonzero(f > threshold)[0]
        out.append(float(failed.lr.values[hit[0]]) if hit.size else np.nan)
    return xr.DataArray(out, coords={"depth": failed.depth.values}, dims="depth")


def fig6(
    grid: Grid = FIG6_GRID, stats: dict | None = None, workers: int | None = None
) -> xr.Dataset:
    """Fig. 6: n = 15 < d = 20, L = 5, Gaussian init."""
    exp = experiment(n=15, d=20, depth=5)
    return run_grid(exp, grid, depth=5, stats=stats, workers=workers)


def fig7(
    grid: Grid = FIG7_GRID, stats: dict | None = None, workers: int | None = None
) -> xr.Dataset:
    """Fig. 7: bias-free GELU MLP (tanh-approximate GELU, as the paper's code), L = 10, width 5,
    sigma = 0."""
    exp = experiment("mlp", sigma=0.0)
    return run_grid(exp, grid, depth=10, stats=stats, workers=workers)
