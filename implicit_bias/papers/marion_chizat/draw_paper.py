r"""Drawing the paper's figures (Figs 1-7) from their data sets (:mod:`.runs`).

Conventions, as the authors' ``run_experiment.py``: curves are means over the runs that did
not diverge with a 95% percentile bootstrap interval (:func:`~.stats.bootstrap_mean`; seaborn's
default), the divergence probability is drawn in its own panel (Figs 3, 5), ``2 / lr`` is
dashed in the colour of its learning rate, the bounds are dotted black (``2 L a c`` on every
sharpness panel; ``8 L Lambda c`` only where the authors draw it: Figs 1, 7, not on the
residual figures, where it is not a bound). A point where every run diverged is not drawn (its
divergence probability is 1).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import xarray as xr

from implicit_bias.papers.marion_chizat.criteria import at_minimizer
from implicit_bias.papers.marion_chizat.stats import bootstrap_mean, loglog_fit

__all__ = [
    "draw_fig1",
    "draw_fig1cd",
    "draw_fig2",
    "draw_fig4",
    "draw_fig6",
    "draw_fig7",
    "draw_residual_trajectories",
    "plt",
]

BAND = "mean over non-diverged runs, 95% bootstrap CI"


def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


#: One colour per learning rate (the authors' seaborn "flare" is too pale to tell five apart).
_LR_COLORS = np.array(["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860"])


def lr_colors(n: int):
    return _LR_COLORS[:n] if n <= len(_LR_COLORS) else plt().cm.viridis(np.linspace(0, 0.9, n))


def _g_log(ax, axis: str = "y", ticks=None) -> None:
    """Readable log axes: ticks at 1, 2, 5 x 10^k (or at ``ticks``) labelled ``%g``."""
    import matplotlib.ticker as mticker

    a = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
    if ticks is not None:
        a.set_major_locator(mticker.FixedLocator(list(ticks)))
    else:
        wide = lo > 0 and hi / lo > 1e3
        a.set_major_locator(mticker.LogLocator(subs=(1.0,) if wide else (1.0, 2.0, 5.0)))
    a.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    a.set_minor_formatter(mticker.NullFormatter())


def _valid(ds: xr.Dataset) -> xr.DataArray:
    """Runs that exist and did not diverge."""
    return (ds.status >= 0) & (ds.status != 1) & np.isfinite(ds.final_train_loss)


def _curve(ax, x, values, color, label, marker="o", ls="-"):
    mean, lo, hi, _ = bootstrap_mean(values)
    ax.plot(x, mean, marker=marker, ls=ls, ms=4, color=color, label=label)
    ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0)


def _scalar(ds: xr.Dataset, name: str) -> float:
    v = ds[name].values
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else np.nan


def _data_note(ds: xr.Dataset) -> str:
    return (
        f"a = {_scalar(ds, 'a'):.3f}, Lambda = {_scalar(ds, 'Lambda'):.3f}, "
        f"lr_crit = 1/(L a c) = {_scalar(ds, 'critical_lr'):.4f}"
    )


def _sharpness_panel(ax, ds, lrs, colors, upper: bool, flow=None):
    x = ds.init_scale.values
    valid = _valid(ds)
    init = ds.initial_sharpness.where(ds.status >= 0).stack(run=("lr", "rep")).values
    _curve(ax, x, init, "gray", "initialization", marker=".", ls="-.")
    for lr, color in zip(lrs, colors, strict=True):
        sub = ds.sel(lr=lr)
        _curve(ax, x, sub.final_sharpness.where(valid.sel(lr=lr)).values, color, f"lr {lr:g}")
        ax.axhline(2 / lr, color=color, ls="--", lw=1)
    ax.axhline(_scalar(ds, "lower"), color="k", ls=":", lw=1.5, label="2 L a c (Thm 1)")
    if upper:
        ax.axhline(
            _scalar(ds, "small_init_upper"),
            color="k",
            ls="-.",
            lw=1.2,
            label="8 L Lambda c (Cor 2)",
        )
    if flow is not None:
        ok = at_minimizer(flow)
        _curve(
            ax,
            flow.init_scale.values,
            flow.final_sharpness.where(ok).values,
            "crimson",
            "gradient flow (ours)",
            marker="s",
        )
    ax.set(yscale="log", xlabel="init scale", ylabel="sharpness", title="sharpness (2/lr dashed)")


def _distance_panel(ds, ax, lrs, colors):
    x = ds.init_scale.values
    valid = _valid(ds)
    init = ds.initial_dist_to_wstar.where(ds.status >= 0).stack(run=("lr", "rep")).values
    _curve(ax, x, init, "gray", "initialization", marker=".", ls="-.")
    for lr, color in zip(lrs, colors, strict=True):
        _curve(
            ax,
            x,
            ds.final_dist_to_wstar.sel(lr=lr).where(valid.sel(lr=lr)).values,
            color,
            f"lr {lr:g}",
        )
    ax.set(
        yscale="log",
        xlabel="init scale",
        ylabel="||w - w*||^2 / d",
        title="squared distance to the optimal regressor",
    )


def _divergence_panel(ax, ds, colors):
    x = ds.init_scale.values
    exists = ds.status >= 0
    for lr, color in zip(ds.lr.values, colors, strict=True):
        e = exists.sel(lr=lr)
        p = ((ds.status.sel(lr=lr) == 1) & e).sum("rep") / e.sum("rep")
        ax.plot(x, p, "o-", ms=4, color=color, label=f"lr {lr:g}")
    ax.set(
        xlabel="init scale",
        ylabel="P(diverged)",
        title="probability of divergence",
        ylim=(-0.03, 1.03),
    )


def _tight(fig, **kwargs) -> None:
    """``fig.tight_layout()``, after turning every log axis that has no positive value to draw
    (a quick grid whose runs all failed, a panel of exact zeros) into a linear one that says
    so: matplotlib cannot place log ticks on such an axis and raises."""
    import math

    for ax in fig.axes:
        for name in ("x", "y"):
            if getattr(ax, f"get_{name}scale")() != "log":
                continue
            lo, hi = getattr(ax, f"get_{name}lim")()
            if lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi):
                continue
            getattr(ax, f"set_{name}scale")("linear")
            ax.text(
                0.5,
                0.5,
                f"no positive values to draw on this log {name} axis",
                transform=ax.transAxes,
                ha="center",
                fontsize=9,
                color="0.3",
            )
    fig.tight_layout(**kwargs)


def _save(fig, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt().close(fig)
    logging.getLogger(__name__).info("wrote %s", out)


def draw_fig1(ds: xr.Dataset, out: Path, flow: xr.Dataset | None = None) -> None:
    """Figs 1 (a, b) and 3: distance (every lr), sharpness (lr < 0.09, as the paper),
    divergence probability."""
    p = plt()
    fig, axes = p.subplots(1, 3, figsize=(17, 5))
    colors = lr_colors(ds.sizes["lr"])
    _distance_panel(ds, axes[0], ds.lr.values, colors)
    axes[0].set_title("(a) squared distance to w*")
    small = [i for i, lr in enumerate(ds.lr.values) if lr < 0.09]
    _sharpness_panel(axes[1], ds, ds.lr.values[small], colors[small], upper=True, flow=flow)
    axes[1].set_title("(b) sharpness, lr < 0.09 (2/lr dashed)")
    _divergence_panel(axes[2], ds, colors)
    axes[2].set_title("Fig 3: probability of divergence")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(
        f"Figs 1 (a, b) and 3: deep linear L = 10, Gaussian init, {ds.attrs.get('protocol')}\n"
        f"{_data_note(ds)}; {BAND}",
        fontsize=10,
    )
    _tight(fig)
    _save(fig, out)


def draw_fig1cd(ds: xr.Dataset, out: Path, window: int = 450) -> None:
    """Fig 1 (c, d): the paper's 450-step window, then the whole run to convergence."""
    p = plt()
    fig, axes = p.subplots(2, 4, figsize=(20, 8))
    colors = lr_colors(5)[[1, 3]]
    step = ds.step.values
    lower, upper = ds.attrs["lower"], ds.attrs["small_init_upper"]
    first = step <= window
    for i, (lr, color) in enumerate(zip(ds.lr.values, colors, strict=True)):
        sub = ds.sel(lr=lr)
        row = axes[i]
        row[0].plot(step[first], sub.dist_to_wstar.values[first], color=color)
        row[0].set(yscale="log", xlabel="step", ylabel="||w - w*||^2 / d")
        row[0].set_title(f"lr {lr:g}: distance, first {window} steps (the paper's window)")
        for ax, sel in ((row[1], first), (row[3], slice(None))):
            ax.plot(step[sel], sub.sharpness.values[sel], color=color, lw=0.8, label="sharpness")
            ax.axhline(2 / lr, color=color, ls="--", label="2 / lr")
            ax.axhline(lower, color="k", ls=":", label="2 L a c")
            ax.axhline(upper, color="k", ls="-.", lw=0.8, label="8 L Lambda c")
            ax.set(yscale="log", xlabel="step", ylabel="sharpness (every 5 steps)")
            _g_log(ax, "y")
        row[1].set_title(f"lr {lr:g}: sharpness, first {window} steps")
        row[3].set(
            xscale="log",
            xlim=(1, step[-1]),
            title=f"lr {lr:g}: sharpness, all {int(step[-1])} steps",
        )
        row[1].legend(fontsize=7)
        excess = sub.train_loss.values - float(ds.attrs["min_train_loss"])
        row[2].plot(step, sub.dist_to_wstar.values, color=color, label="||w - w*||^2 / d")
        row[2].plot(step, np.abs(excess), color="gray", lw=0.8, label="loss - min loss")
        row[2].plot(step, sub.grad_norm.values, color="k", lw=0.8, ls="--", label="gradient norm")
        row[2].set(
            xscale="log",
            xlim=(1, step[-1]),
            yscale="log",
            xlabel="step",
            title=f"lr {lr:g}: all steps",
        )
        row[2].legend(fontsize=7)
    fig.suptitle(
        "Fig 1 (c, d): GD from the authors' init (scale 0.35) on the authors' data; "
        f"float64; 2 L a c = {lower:.2f}, 2/lr = 100 and 20",
        fontsize=11,
    )
    _tight(fig)
    _save(fig, out)


def draw_residual_trajectories(ds: xr.Dataset, out: Path) -> None:
    """The authors' residual trajectories (scale 0.5, lr 0.02 and 0.1)."""
    p = plt()
    fig, axes = p.subplots(2, 2, figsize=(11, 8))
    colors = lr_colors(5)[[1, 3]]
    step = ds.step.values
    for i, (lr, color) in enumerate(zip(ds.lr.values, colors, strict=True)):
        sub = ds.sel(lr=lr)
        axes[i, 0].plot(step, sub.dist_to_wstar.values, color=color)
        axes[i, 0].set(yscale="log", xlabel="step", ylabel="||w - w*||^2 / d")
        axes[i, 0].set_title(f"lr {lr:g}: squared distance to w*")
        axes[i, 1].plot(step, sub.sharpness.values, color=color, label="sharpness")
        axes[i, 1].axhline(2 / lr, color=color, ls="--", label="2 / lr")
        axes[i, 1].axhline(ds.attrs["lower"], color="k", ls=":", label="2 L a c")
        axes[i, 1].set(yscale="log", xlabel="step", ylabel="sharpness", title=f"lr {lr:g}")
        _g_log(axes[i, 1], "y")
        axes[i, 1].legend(fontsize=8)
    fig.suptitle(
        "Residual network, the authors' trajectory experiment (run_experiment.py; not a "
        "numbered figure): init scale 0.5, the authors' init and projection",
        fontsize=10,
    )
    _tight(fig)
    _save(fig, out)


def draw_fig2(ds: xr.Dataset, out: Path) -> None:
    """Fig 2: final squared distance vs lr per depth; the success rate; predicted lr_crit."""
    p = plt()
    fig, axes = p.subplots(1, 2, figsize=(14, 5))
    colors = p.cm.plasma(np.linspace(0, 0.8, ds.sizes["depth"]))
    for L, color in zip(ds.depth.values, colors, strict=True):
        sub = ds.sel(depth=L).isel(init_scale=0)
        valid = _valid(sub)
        _curve(
            axes[0], sub.lr.values, sub.final_dist_to_wstar.where(valid).values, color, f"L = {L}"
        )
        ok = at_minimizer(sub)
        exists = sub.status >= 0
        axes[1].plot(
            sub.lr, ok.sum("rep") / exists.sum("rep"), "o-", ms=3, color=color, label=f"L = {L}"
        )
        crit = _scalar(sub, "critical_lr")
        for ax in axes:
            ax.axvline(crit, color=color, ls="--", lw=1)
    axes[0].set(
        xscale="log",
        ylim=(-0.01, 0.21),
        xlabel="learning rate",
        ylabel="||w - w*||^2 / d",
        title=f"squared distance at the end ({BAND})",
    )
    axes[1].set(
        xscale="log",
        ylim=(-0.03, 1.03),
        xlabel="learning rate",
        ylabel="fraction of runs at a minimizer",
        title="success rate (dashed: 1 / (L a c))",
    )
    for ax in axes:
        ax.legend(fontsize=8)
    fig.suptitle(
        f"Fig 2: residual networks, init scale 0.25, {ds.sizes['rep']} repetitions, "
        f"{int(ds.steps.max())} steps; {ds.attrs.get('protocol')}",
        fontsize=10,
    )
    _tight(fig)
    _save(fig, out)


def draw_fig4(ds: xr.Dataset, out4: Path, out5: Path) -> None:
    """Fig 4 (sharpness, lr < 0.09; distance) and Fig 5 (divergence) of the residual grid."""
    p = plt()
    colors = lr_colors(ds.sizes["lr"])
    fig, axes = p.subplots(1, 2, figsize=(13, 5))
    small = [i for i, lr in enumerate(ds.lr.values) if lr < 0.09]
    _sharpness_panel(axes[0], ds, ds.lr.values[small], colors[small], upper=False)
    _distance_panel(ds, axes[1], ds.lr.values, colors)
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(
        "Fig 4: residual network L = 10, init I + s N / sqrt(L d), the authors' projection; "
        f"{_data_note(ds)}\n{BAND}; no 8 L Lambda c line: it bounds small-init flows only",
        fontsize=10,
    )
    _tight(fig)
    _save(fig, out4)
    fig, ax = p.subplots(figsize=(6.5, 4.6))
    _divergence_panel(ax, ds, colors)
    ax.legend(fontsize=7)
    ax.set_title("Fig 5: residual network, probability of divergence")
    _tight(fig)
    _save(fig, out5)


def gap_fit(ds: xr.Dataset, lr: float = 0.001) -> tuple[dict, np.ndarray, np.ndarray]:
    """Fig 6: ``log10(test - train loss)`` on ``log10(final sharpness)`` over every run at
    ``lr`` with a finite, positive gap (the authors' ``dropna`` keeps the non-diverged runs)."""
    sub = ds.sel(lr=lr)
    valid = _valid(sub)
    gap = (sub.final_test_loss - sub.final_train_loss).where(valid).values.ravel()
    sh = sub.final_sharpness.where(valid).values.ravel()
    return loglog_fit(sh, gap), sh, gap


def draw_fig6(ds: xr.Dataset, out: Path) -> dict:
    """Fig 6: sharpness vs init scale, divergence, and the generalization gap vs the final
    sharpness at lr 0.001 with its fitted slope."""
    p = plt()
    colors = lr_colors(ds.sizes["lr"])
    fig, axes = p.subplots(1, 3, figsize=(18, 5))
    _sharpness_panel(axes[0], ds, ds.lr.values, colors, upper=False)
    axes[0].legend(fontsize=7)
    _divergence_panel(axes[1], ds, colors)
    axes[1].legend(fontsize=7)
    fit, sh, gap = gap_fit(ds)
    keep = np.isfinite(sh) & np.isfinite(gap) & (gap > 0)
    axes[2].loglog(sh[keep], gap[keep], ".", alpha=0.5)
    if np.isfinite(fit["slope"]):
        xs = np.geomspace(sh[keep].min(), sh[keep].max(), 20)
        axes[2].loglog(
            xs,
            10 ** fit["intercept"] * xs ** fit["slope"],
            "k--",
            label=f"slope {fit['slope']:.2f} +- {fit['stderr']:.2f}, r = {fit['r']:.2f}, "
            f"p = {fit['p']:.1e}, n = {fit['n']}",
        )
        axes[2].legend(fontsize=8)
    axes[2].set(
        xlabel="final sharpness", ylabel="test - train loss", title="lr 0.001: generalization gap"
    )
    _g_log(axes[2], "x")
    _g_log(axes[2], "y")
    fig.suptitle(
        f"Fig 6: n = 15 < d = 20, L = 5; {ds.attrs.get('protocol')}; {_data_note(ds)}\n{BAND}",
        fontsize=10,
    )
    _tight(fig)
    _save(fig, out)
    return fit


def draw_fig7(ds: xr.Dataset, out: Path, title: str) -> None:
    """Fig 7 (and its noisy variant): sharpness (every lr), training loss, divergence."""
    p = plt()
    colors = lr_colors(ds.sizes["lr"])
    fig, axes = p.subplots(1, 3, figsize=(18, 5))
    _sharpness_panel(axes[0], ds, ds.lr.values, colors, upper=True)
    valid = _valid(ds)
    x = ds.init_scale.values
    for lr, color in zip(ds.lr.values, colors, strict=True):
        _curve(
            axes[1],
            x,
            ds.final_train_loss.sel(lr=lr).where(valid.sel(lr=lr)).values,
            color,
            f"lr {lr:g}",
        )
    axes[1].set(
        yscale="log",
        xlabel="init scale",
        ylabel="final training loss",
        title="training loss (no w* for a non-linear net)",
    )
    _divergence_panel(axes[2], ds, colors)
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(f"{title}; {_data_note(ds)}\n{BAND}", fontsize=10)
    _tight(fig)
    _save(fig, out)
