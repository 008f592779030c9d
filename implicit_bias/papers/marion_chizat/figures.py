r"""Marion & Chizat (2024) figures from :mod:`.experiments` (full grids by default).

* ``marion_fig1.png`` (Fig. 1 a, b and Fig. 3): final sharpness vs init scale per lr (mean over
  the runs that reached a minimizer, band = min..max), ``2/lr`` dashed, the Theorem 1 lower
  bound ``2 L a c`` and the Corollary 2 bound ``8 L Lambda c`` (averaged over the runs' data),
  gradient flow (``--fig flow``) when available; squared distance ``||w - w*||^2 / d``;
  divergence probability.
* ``marion_fig1cd.png``: loss, sharpness and distance along GD at lr 0.02 and 0.1.
* ``marion_fig2.png``: final squared distance vs lr per depth, predicted critical lr
  ``1/(L a c)`` (dashed) and the measured one (dotted).
* ``marion_fig4.png`` / ``marion_fig5.png``: residual network grid / trajectories.
* ``marion_fig6.png``: n < d, plus the generalization gap vs final sharpness (lr 0.001) with a
  fitted log-log slope.
* ``marion_fig7.png``: GELU MLP.

    python -m implicit_bias.papers.marion_chizat figures [--fig 1|1cd|2|4|5|6|7|flow|all]
        [--quick] [--replot]

The default draws every figure (about 3.5 min on the 2-core CPU, 2 of them for the GELU MLP of
Fig. 7, see ``benchmarks/marion.py``). The data of each full-size figure is saved to
``outputs/marion/fig<name>.nc`` before it is drawn; ``--replot`` redraws from those files
without running anything.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import jax
import numpy as np

from implicit_bias.papers._cli import DOCS_FIGURES, REPO

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES
#: Where the full-size figures' Datasets are saved (``fig<name>.nc``), for ``--replot``.
DATA = REPO / "outputs" / "marion"
FIGS = ("1", "flow", "1cd", "2", "4", "5", "6", "7")


def _save(name: str, ds) -> None:
    from implicit_bias.app.collect import _write

    DATA.mkdir(parents=True, exist_ok=True)
    _write(ds, DATA / f"fig{name}.nc")


def _load(name: str):
    import xarray as xr

    path = DATA / f"fig{name}.nc"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run the figure without --replot first")
    return xr.load_dataset(path)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _log_y(ax) -> None:
    """Log y axis if anything positive was drawn (an empty panel, e.g. when no run of a lr
    reached a minimizer, stays linear instead of failing)."""
    ys = [np.asarray(line.get_ydata(), float) for line in ax.get_lines()]
    if any(((y > 0) & np.isfinite(y)).any() for y in ys if y.size):
        ax.set_yscale("log")


def _mean_band(da, mask):
    v = da.where(mask)
    return v.mean("rep"), v.min("rep"), v.max("rep")


def plot_grid(ds, out: Path, title: str, flow=None, sharp_log: bool = True) -> None:
    """Sharpness / distance / divergence probability vs init scale, one curve per lr."""
    from implicit_bias.papers.marion_chizat.experiments import converged_to_minimizer

    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    valid = ds.status >= 0
    # Models that are not linear in x have no end-to-end vector to compare with w*: show the
    # final training loss instead, and average over the runs that fit the data (the GELU MLP
    # of Fig. 7 is still creeping along its valley after 1.6e5 steps: loss ~1e-4, gradient
    # norm ~5e-4 > the 1e-4 of the converged status).
    linear = bool(np.isfinite(ds.final_dist_to_wstar).any())
    middle = "final_dist_to_wstar" if linear else "final_train_loss"
    if linear:
        ok, who = converged_to_minimizer(ds), "runs at a minimizer"
    else:
        ok = (ds.status != 1) & valid & (ds.final_train_loss - ds.min_train_loss <= 1e-3)
        who = "runs with train loss <= 1e-3"
    x = ds.init_scale.values
    colors = plt.cm.viridis(np.linspace(0, 0.9, ds.sizes["lr"]))
    for j, lr in enumerate(ds.lr.values):
        sub, okj = ds.isel(lr=j), ok.isel(lr=j)
        m, lo, hi = _mean_band(sub.final_sharpness, okj)
        axes[0].plot(x, m, "o-", color=colors[j], label=f"lr={lr:g}")
        axes[0].fill_between(x, lo, hi, color=colors[j], alpha=0.2)
        axes[0].axhline(2 / lr, color=colors[j], ls="--", lw=1)
        m, lo, hi = _mean_band(sub[middle], okj)
        axes[1].plot(x, m, "o-", color=colors[j], label=f"lr={lr:g}")
        axes[1].fill_between(x, lo, hi, color=colors[j], alpha=0.2)
        vj = valid.isel(lr=j)
        pdiv = ((sub.status == 1) & vj).sum("rep") / vj.sum("rep")
        axes[2].plot(x, pdiv, "o-", color=colors[j], label=f"lr={lr:g}")
    lower = ds.lower.where(valid).mean(("lr", "rep"))
    upper = ds.small_init_upper.where(valid).mean(("lr", "rep"))
    axes[0].plot(x, lower, "k-", lw=2, label="lower bound 2 L a c (Thm 1)")
    axes[0].plot(x, upper, "k:", lw=2, label="8 L Lambda c (Cor. 2)")
    if flow is not None:
        fok = converged_to_minimizer(flow)
        m, lo, hi = _mean_band(flow.final_sharpness, fok)
        axes[0].plot(flow.init_scale.values, m, "s-", color="crimson", label="gradient flow")
        axes[0].fill_between(flow.init_scale.values, lo, hi, color="crimson", alpha=0.2)
    if sharp_log:
        _log_y(axes[0])
    axes[0].set(
        xlabel="init scale",
        ylabel="final sharpness",
        title=f"sharpness (2/lr dashed), mean over {who}",
    )
    axes[1].set(
        xlabel="init scale",
        ylabel="||w - w*||^2 / d (mean over coordinates)" if linear else "final training loss",
        title="squared distance to w*" if linear else f"training loss ({who})",
    )
    _log_y(axes[1])
    axes[2].set(xlabel="init scale", ylabel="P(diverged)", title="divergence probability")
    axes[0].legend(fontsize=7)
    axes[2].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_trajectories(ds, out: Path, title: str) -> None:
    """Training loss, sharpness (with 2/lr) and squared distance along GD."""
    plt = _plt()
    keys = [k for k in ("train_loss", "sharpness", "dist_to_wstar") if k in ds]
    fig, axes = plt.subplots(1, len(keys), figsize=(5.2 * len(keys), 4.2))
    colors = plt.cm.viridis(np.linspace(0, 0.9, ds.sizes["lr"]))
    for ax, k in zip(axes, keys, strict=True):
        for j, lr in enumerate(ds.lr.values):
            ax.plot(ds.step, ds[k].isel(lr=j), color=colors[j], label=f"lr={lr:g}")
            if k == "sharpness":
                ax.axhline(2 / lr, color=colors[j], ls="--", lw=1)
        ax.set(xlabel="step", ylabel=k, title=k)
        _log_y(ax)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_fig2(ds, out: Path) -> None:
    """Final squared distance vs lr per depth; predicted and measured critical lr."""
    from implicit_bias.papers.marion_chizat.experiments import critical_lr

    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.6))
    measured = critical_lr(ds)
    colors = plt.cm.plasma(np.linspace(0, 0.85, ds.sizes["depth"]))
    for i, L in enumerate(ds.depth.values):
        sub = ds.sel(depth=L).isel(init_scale=0)
        dist = sub.final_dist_to_wstar.where(np.isfinite(sub.final_dist_to_wstar))
        ax.plot(sub.lr, dist.median("rep"), "o-", ms=3, color=colors[i], label=f"L={L}")
        pred = float(sub.critical_lr.mean())
        ax.axvline(pred, color=colors[i], ls="--", lw=1)
        if np.isfinite(measured.sel(depth=L)):
            ax.axvline(float(measured.sel(depth=L)), color=colors[i], ls=":", lw=1.5)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="learning rate",
        ylabel="median ||w - w*||^2 / d (finite runs)",
        title="residual nets: predicted 1/(L a c) (dashed), measured (dotted)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def gap_slope(ds, lr: float = 0.001) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-log slope of the generalization gap (test - train loss) vs the final sharpness over
    the runs at ``lr`` that reached a minimizer (and have a positive gap)."""
    from implicit_bias.papers.marion_chizat.experiments import converged_to_minimizer

    sub = ds.sel(lr=lr)
    ok = converged_to_minimizer(ds).sel(lr=lr)
    gap = (sub.final_test_loss - sub.final_train_loss).where(ok).values.ravel()
    sh = sub.final_sharpness.where(ok).values.ravel()
    keep = np.isfinite(gap) & np.isfinite(sh) & (gap > 0) & (sh > 0)
    slope = np.polyfit(np.log(sh[keep]), np.log(gap[keep]), 1)[0] if keep.sum() > 2 else np.nan
    return float(slope), sh[keep], gap[keep]


def plot_fig6(ds, out: Path) -> float:
    plot_grid(ds, out, "Fig. 6: n = 15 < d = 20, L = 5")
    plt = _plt()
    slope, sh, gap = gap_slope(ds)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.loglog(sh, gap, ".", alpha=0.5)
    if np.isfinite(slope):
        xs = np.geomspace(sh.min(), sh.max(), 20)
        c = np.exp(np.mean(np.log(gap) - slope * np.log(sh)))
        ax.loglog(xs, c * xs**slope, "k--", label=f"slope {slope:.2f}")
        ax.legend()
    ax.set(xlabel="final sharpness", ylabel="test - train loss", title="Fig. 6, lr = 0.001")
    fig.tight_layout()
    fig.savefig(out.with_name(out.stem + "_gap.png"), dpi=110)
    plt.close(fig)
    return slope


#: Figures whose GD steps outweigh their compile time: they run in CPU worker processes
#: (``--workers``, :mod:`implicit_bias.app.workers`). Measured on the 2-core CPU: a worker compiles
#: on one core (~8 s instead of ~5 s), then steps ~1.8x faster; the others are compile-bound.
WORKER_FIGS = ("1", "6", "7")


def default_workers() -> int:
    """One worker per core on the CPU backend, else 1 (in-process)."""
    if jax.default_backend() != "cpu" or not hasattr(os, "sched_getaffinity"):
        return 1
    return len(os.sched_getaffinity(0))


def make(
    fig: str,
    quick: bool = False,
    cache: dict | None = None,
    replot: bool = False,
    workers: int | None = None,
) -> dict:
    """Run one figure's grid (or load it, ``replot``), save it, draw it, return its timings.

    ``workers`` applies to the figures of :data:`WORKER_FIGS` (default: :func:`default_workers`).
    """
    from implicit_bias.papers.marion_chizat import experiments as m

    cache = {} if cache is None else cache
    if fig not in FIGS:
        raise ValueError(f"unknown figure {fig!r}; one of {FIGS} or all")
    w = (default_workers() if workers is None else workers) if fig in WORKER_FIGS else None

    def get(run, *args, **kw):
        # Full-size data is saved before drawing (a plotting error must not lose a run);
        # --replot loads it instead of running.
        if replot:
            return _load(fig)
        ds = run(*args, **kw)
        if not quick:
            _save(fig, ds)
        return ds

    # Quick (shrunken) grids never overwrite the committed full-size figures.
    out = DATA / "quick" if quick else OUT
    out.mkdir(parents=True, exist_ok=True)
    st: dict = {}
    tic = time.perf_counter()
    q = 0.05 if quick else 1.0
    if fig == "1":
        grid = m.FIG1_GRID.shrink(q, 4, 5) if quick else m.FIG1_GRID
        ds = cache["1"] = get(m.fig1, grid, stats=st, workers=w)
        plot_grid(
            ds,
            out / "marion_fig1.png",
            "Fig. 1 (a, b) / Fig. 3: deep linear, L = 10",
            flow=cache.get("flow"),
        )
    elif fig == "flow":
        scales = m.FIG1_GRID.init_scales[:2] if quick else m.FLOW_SCALES
        ds = cache["flow"] = get(m.fig1_flow, scales, reps=2 if quick else 20, stats=st)
        if "1" in cache:
            plot_grid(
                cache["1"],
                out / "marion_fig1.png",
                "Fig. 1 (a, b) / Fig. 3: deep linear, L = 10",
                flow=ds,
            )
    elif fig == "1cd":
        ds = get(m.fig1cd, stats=st)
        plot_trajectories(ds, out / "marion_fig1cd.png", "Fig. 1 (c, d): init scale 0.35")
    elif fig == "5":
        ds = get(m.fig5, stats=st)
        plot_trajectories(ds, out / "marion_fig5.png", "Fig. 5: residual, init scale 0.5")
    elif fig == "2":
        kw = dict(reps=4, steps=200, lrs=m.FIG2_LRS[::3]) if quick else {}
        ds = cache["2"] = get(m.fig2, stats=st, **kw)
        plot_fig2(ds, out / "marion_fig2.png")
    elif fig == "4":
        grid = m.FIG4_GRID.shrink(q, 4, 5) if quick else m.FIG4_GRID
        ds = cache["4"] = get(m.fig4, grid, stats=st)
        plot_grid(ds, out / "marion_fig4.png", "Fig. 4: residual linear, L = 10")
    elif fig == "6":
        grid = m.FIG6_GRID.shrink(q, 4, 5) if quick else m.FIG6_GRID
        ds = cache["6"] = get(m.fig6, grid, stats=st, workers=w)
        st["gap_slope"] = plot_fig6(ds, out / "marion_fig6.png")
    elif fig == "7":
        grid = m.FIG7_GRID.shrink(q, 4, 4) if quick else m.FIG7_GRID
        ds = cache["7"] = get(m.fig7, grid, stats=st, workers=w)
        plot_grid(ds, out / "marion_fig7.png", "Fig. 7: GELU MLP, L = 10, sigma = 0")
    st["total_s"] = time.perf_counter() - tic
    logger.info(
        "fig %s: %.1fs (run %.1fs, compile %.1fs, %d compilations, %s runs)",
        fig,
        st["total_s"],
        st.get("wall_s", np.nan),
        st.get("compile_s", np.nan),
        st.get("compilations", -1),
        st.get("runs", "?"),
    )
    return st


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fig",
        default="all",
        help=f"comma-separated, from {', '.join(FIGS)}, or all (default: all; ~3.5 min on the "
        "2-core CPU)",
    )
    parser.add_argument("--quick", action="store_true", help="small grids (seconds)")
    parser.add_argument(
        "--replot", action="store_true", help=f"redraw from the saved {DATA}/fig<name>.nc"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"CPU worker processes for figures {', '.join(WORKER_FIGS)} (default: one per "
        "core on CPU; 1: in this process)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("jax").setLevel(logging.WARNING)
    logging.getLogger("implicit_bias.engine").setLevel(logging.WARNING)
    jax.config.update("jax_enable_x64", True)  # the flow is float64; GD runs stay float32
    OUT.mkdir(parents=True, exist_ok=True)
    figs = FIGS if args.fig == "all" else tuple(args.fig.split(","))
    cache: dict = {}
    return {f: make(f, args.quick, cache, args.replot, args.workers) for f in figs}


if __name__ == "__main__":
    main()
