r"""Drawing the figures that check the theorems (not in the paper): run-by-run robustness,
the critical learning rate, Corollary 2 / Lemma 2, Theorem 2, width / depth / condition number,
and the residual results (Theorem 4, Lemma 3, Corollary 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from implicit_bias.papers.marion_chizat.criteria import at_minimizer, classify
from implicit_bias.papers.marion_chizat.draw_paper import (
    _curve,
    _g_log,
    _save,
    _tight,
    lr_colors,
    plt,
)

__all__ = [
    "draw_critical_lr",
    "draw_residual_theory",
    "draw_robustness",
    "draw_scaling",
    "draw_small_init",
    "draw_theorem2",
    "success_vs_ratio",
]


def success_vs_ratio(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Per run: ``lr / lr_crit`` (its own ``1 / (L a c)``) and whether it reached a minimizer
    (runs that exist only)."""
    dims = ds.status.dims
    exists = (ds.status >= 0).values.ravel()
    lr = ds.lr.broadcast_like(ds.status).transpose(*dims).values.ravel()
    ratio = lr / ds.critical_lr.transpose(*dims).values.ravel()
    ok = at_minimizer(ds).transpose(*dims).values.ravel()
    return ratio[exists], ok[exists]


def _binned(ratio, ok, edges):
    idx = np.digitize(ratio, edges) - 1
    frac, n = np.full(len(edges) - 1, np.nan), np.zeros(len(edges) - 1, int)
    for i in range(len(edges) - 1):
        sel = idx == i
        n[i] = sel.sum()
        if n[i]:
            frac[i] = ok[sel].mean()
    return 0.5 * (edges[1:] + edges[:-1]), frac, n


def draw_robustness(ds: xr.Dataset, out: Path) -> None:
    """One data set per repetition: each run divided by its own bound, and the success rate
    against each run's own ``lr / lr_crit``."""
    p = plt()
    fig, axes = p.subplots(1, 2, figsize=(14, 5))
    colors = lr_colors(ds.sizes["lr"])
    ok = at_minimizer(ds)
    x = ds.init_scale.values
    for lr, color in zip(ds.lr.values, colors, strict=True):
        r = (ds.final_sharpness / ds.lower).sel(lr=lr).where(ok.sel(lr=lr))
        _curve(axes[0], x, r.values, color, f"lr {lr:g}")
        axes[0].plot(
            np.repeat(x, r.sizes["rep"]), r.values.ravel(), ".", color=color, ms=2, alpha=0.4
        )
    axes[0].axhline(1, color="k", ls=":", label="Thm 1: S = 2 L a c")
    axes[0].set(
        yscale="log",
        xlabel="init scale",
        ylabel="S / (2 L a c) of each run (its own data)",
        title="runs at a minimizer: sharpness over each run's own bound",
    )
    axes[0].legend(fontsize=7)
    ratio, success = success_vs_ratio(ds)
    edges = np.array([0, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.3, 1.6, 2.0, 3.0, 5.0])
    mid, frac, n = _binned(ratio, success, edges)
    axes[1].plot(mid, frac, "o-")
    for m, f, k in zip(mid, frac, n, strict=True):
        if k:
            axes[1].annotate(str(k), (m, f), fontsize=6, xytext=(2, 4), textcoords="offset points")
    axes[1].axvline(1, color="k", ls="--", label="lr = 1 / (L a c)")
    axes[1].set(
        xscale="log",
        xlabel="lr / lr_crit of each run",
        ylabel="fraction at a minimizer (runs per bin annotated)",
        title="success rate against each run's own critical lr",
        ylim=(-0.03, 1.03),
    )
    axes[1].legend(fontsize=8)
    fig.suptitle(
        "Robustness (not the paper's protocol): the Fig 1 grid with one data set per repetition, "
        "read run by run",
        fontsize=10,
    )
    _tight(fig)
    _save(fig, out)


def _exact_points(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Success fraction per learning rate of a one-data-set grid, at its exact ``lr /
    lr_crit``."""
    ok = at_minimizer(ds)
    exists = ds.status >= 0
    other = [d for d in ds.status.dims if d != "lr"]
    frac = ok.sum(other) / exists.sum(other)
    crit = float(np.nanmedian(ds.critical_lr.values))
    return ds.lr.values / crit, frac.values


def draw_critical_lr(parts: dict[str, xr.Dataset], out: Path) -> None:
    """Success rate against ``lr / lr_crit``: Fig 2 (one data set, 4 depths) and Fig 1 at
    their exact ratios, the robustness grid (each run's own ``lr_crit``) binned."""
    p = plt()
    fig, ax = p.subplots(figsize=(8.5, 5))
    for name, ds in parts.items():
        if "depth" in ds.dims:
            for L in ds.depth.values:
                x, y = _exact_points(ds.sel(depth=L))
                ax.plot(x, y, "o-", ms=3, label=f"{name}, L = {L} (one data set)")
        elif "per repetition" in ds.attrs.get("protocol", ""):
            edges = np.array(
                [0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.3, 1.6, 2, 3, 6]
            )
            ratio, ok = success_vs_ratio(ds)
            mid, frac, _ = _binned(ratio, ok, edges)
            keep = np.isfinite(frac)
            ax.plot(mid[keep], frac[keep], "d-", ms=4, label=f"{name} (own data, binned)")
        else:
            x, y = _exact_points(ds)
            ax.plot(x, y, "s-", ms=5, label=f"{name} (one data set, all init scales)")
    ax.axvline(1, color="k", ls="--", label="lr = 1 / (L a c)")
    ax.set(
        xscale="log",
        xlabel="lr / lr_crit (each run's own)",
        ylabel="fraction of runs at a minimizer",
        ylim=(-0.03, 1.03),
        title="Critical learning rate: no run reaches a minimizer above its own 1 / (L a c)",
    )
    _g_log(ax, "x")
    ax.legend(fontsize=7)
    fig.text(
        0.01,
        0.01,
        "Fig 1 and the robustness grid include their large init scales, where GD diverges at "
        "any lr (Fig 3): their rate stays below 1.",
        fontsize=7,
    )
    _tight(fig, rect=(0, 0.03, 1, 1))
    _save(fig, out)


def draw_small_init(ds: xr.Dataset, out: Path) -> None:
    """Corollary 2, Lemma 2, (A1)/(A2) on the small-init gradient flows."""
    p = plt()
    fig, axes = p.subplots(1, 3, figsize=(18, 5))
    cat = classify(ds)
    markers = {"gaussian": "o", "zero_first": "s"}
    x = ds.init_scale.values
    for name in ds.init.values:
        sub, c = ds.sel(init=name), cat.sel(init=name)
        ratio = (sub.final_sharpness / sub.lower).where(c == 0) - 1.0
        xx = np.repeat(x, sub.sizes["rep"]) * (1.03 if name == "zero_first" else 0.97)
        a1 = sub.a1.values.ravel().astype(bool)
        a2 = sub.a2.values.ravel().astype(bool)
        r = ratio.values.ravel()
        color = "C0" if name == "gaussian" else "C1"
        axes[0].scatter(
            xx[a1 & a2],
            r[a1 & a2],
            marker=markers[name],
            s=22,
            color=color,
            label=f"{name}: A1 and A2 (proxy) hold",
        )
        axes[0].scatter(
            xx[a1 & ~a2],
            r[a1 & ~a2],
            marker=markers[name],
            s=16,
            facecolors="none",
            edgecolors=color,
            label=f"{name}: A1 holds, A2 fails",
        )
        axes[0].scatter(xx[~a1], r[~a1], marker="x", s=16, color=color, label=f"{name}: A1 fails")
        for stmt, color in (("rank_one_ratio", "C0"), ("norms_ratio", "C1"), ("align_ratio", "C2")):
            axes[1].scatter(
                xx,
                sub[stmt].values.ravel(),
                marker=markers[name],
                s=12,
                color=color,
                label=f"{stmt.replace('_ratio', '')} ({name})",
            )
        axes[2].scatter(
            xx,
            (sub.epsilon * sub.attrs.get("depth", 10) / sub.norm_w ** (2 / 10)).values.ravel(),
            marker=markers[name],
            s=12,
            color="C3",
            label=f"L eps / ||w*||^(2/L) ({name})",
        )
        axes[2].scatter(
            xx,
            sub.rank_one_defect.values.ravel(),
            marker=markers[name],
            s=12,
            color="C0",
            label=f"final rank-one defect ({name})",
        )
        axes[2].scatter(
            xx,
            1 - sub.alignment.values.ravel(),
            marker=markers[name],
            s=12,
            color="C2",
            label=f"final 1 - alignment ({name})",
        )
    lam_a = float(np.nanmedian(ds.Lambda / ds.a))
    axes[0].axhline(
        4 * lam_a - 1, color="k", ls="--", label=f"Cor 2: 4 Lambda / a - 1 = {4 * lam_a - 1:.2f}"
    )
    axes[0].set(
        xscale="log",
        yscale="log",
        xlabel="init scale",
        ylabel="S / (2 L a c) - 1  (Thm 1: >= 0)",
        title="Cor 2: sharpness of the limit over the lower bound, minus 1",
    )
    _g_log(axes[0], "y")
    axes[1].axhline(1, color="k", ls="--")
    axes[1].set(
        xscale="log",
        yscale="log",
        xlabel="init scale",
        ylabel="max over time and layers of LHS / bound",
        title="Lemma 2 (1) rank one, (2) equal norms, (3) alignment: <= 1 holds",
    )
    axes[2].axhline(1, color="k", ls="--", label="A2 proxy: L eps <= ||w*||^(2/L)")
    axes[2].set(
        xscale="log", yscale="log", xlabel="init scale", title="epsilon and the final structure"
    )
    for ax in axes:
        ax.legend(fontsize=6)
    n_sad = int((cat == 1).sum())
    fig.suptitle(
        "Gradient flow from small inits (L = 10, width 5, the authors' data): Corollary 2 and "
        f"Lemma 2 run by run; {n_sad} runs still at the saddle at 0 are left out of the left panel",
        fontsize=10,
    )
    _tight(fig)
    _save(fig, out)


def draw_theorem2(ds: xr.Dataset, out: Path) -> None:
    """Theorem 2's first bound on rescaled minimizers."""
    p = plt()
    fig, axes = p.subplots(1, ds.sizes["start"], figsize=(13, 5), squeeze=False)
    for ax, start in zip(axes[0], ds.start.values, strict=True):
        sub = ds.sel(start=start)
        for k, color in zip(sub.layer.values, ("C0", "C1", "C2"), strict=False):
            ax.loglog(
                sub.t, sub.sharpness.sel(layer=k), "o-", color=color, label=f"S, layer {k} scaled"
            )
            ax.loglog(
                sub.t,
                sub.bound.sel(layer=k),
                "--",
                color=color,
                label=f"its bound (layer {k} scaled)",
            )
        t = sub.t.values
        ref = float(sub.sharpness.isel(layer=0, t=-1))
        ax.loglog(t, ref * (t / t[-1]) ** -2.0, "k:", label="slope -2")
        ax.set(
            xlabel="t (W_k -> t W_k, others t^(-1/(L-1)))",
            ylabel="exact sharpness",
            title=f"{start} minimizer",
        )
        ax.invert_xaxis()
        _g_log(ax, "y")
        ax.legend(fontsize=6)
    fig.suptitle(
        "Theorem 2: rescaled minimizers are arbitrarily sharp. Exact Hessians (float64, solid) "
        "against the first lower bound 2 a ||w*||^2 sum_j ||W_j||_2^-2 (dashed)",
        fontsize=10,
    )
    _tight(fig)
    _save(fig, out)


def _ratio_points(ax, ds: xr.Dataset, axis: str, label: str, color: str, marker: str):
    ok = at_minimizer(ds)
    r = (ds.final_sharpness / ds.lower).where(ok)
    v = ds[axis].values
    for i, s in enumerate(ds.init_scale.values):
        sub = r.isel(init_scale=i)
        med = sub.median("rep").values
        lab = label if ds.sizes["init_scale"] == 1 else f"{label} s = {s:g}"
        ax.plot(v, med, marker + "-", color=color, alpha=1 - 0.4 * i, label=lab)
        ax.plot(
            np.repeat(v, sub.sizes["rep"]), sub.values.ravel(), ".", color=color, ms=3, alpha=0.4
        )


def draw_scaling(parts: dict[str, xr.Dataset], out: Path) -> dict[str, float]:
    """Sharpness over the lower bound against depth, width and condition number; returns the
    measured constants (largest ratio per init kind and axis)."""
    p = plt()
    fig, axes = p.subplots(1, 3, figsize=(18, 5))
    consts = {}
    for j, axis in enumerate(("depth", "width", "kappa")):
        ax = axes[j]
        for kind, color, marker in (("small", "C0", "o"), ("residual", "C3", "s")):
            ds = parts.get(f"scaling_{axis}_{kind}")
            if ds is None:
                continue
            _ratio_points(ax, ds, axis, kind, color, marker)
            ok = at_minimizer(ds)
            r = (ds.final_sharpness / ds.lower).where(ok)
            for i, sc in enumerate(ds.init_scale.values):
                key = kind if kind == "small" else f"residual s={sc:g}"
                consts[f"{key}, {axis}"] = float(r.isel(init_scale=i).max())
                consts[f"{key}, {axis}, median"] = float(r.isel(init_scale=i).median("rep").max())
            if axis == "kappa" and kind == "small":  # the residual runs share these data
                bound = (4 * ds.Lambda / ds.a).median(("init_scale", "rep"))
                ax.plot(ds.kappa, bound, "k--", lw=1, label="4 Lambda / a (Cor 2, small init)")
        if axis == "kappa":
            k = np.asarray(parts["scaling_kappa_small"].kappa.values, float)
            ax.plot(k, 4 * k, "k:", label="4 kappa")
            ax.set(xscale="log")
        else:
            ds = parts.get(f"scaling_{axis}_small")
            lam_a = float(np.nanmedian(ds.Lambda / ds.a))
            ax.axhline(
                4 * lam_a, color="k", ls="--", label=f"4 Lambda / a = {4 * lam_a:.2f} (Cor 2)"
            )
            ax.set(xscale="log")
        ax.axhline(1, color="k", ls=":", lw=1)
        ax.set(yscale="log", xlabel=axis, ylabel="S / (2 L a c)  (>= S / S_min)")
        ref = parts.get(f"scaling_{axis}_small")
        if ref is not None:
            _g_log(ax, "x", ref[axis].values)
        _g_log(ax, "y")
        ax.legend(fontsize=7)
    axes[0].set_title("depth (width 5; residual: width = d = 5)")
    axes[1].set_title("width (L = 10; residual: d = width, kappa 2.67)")
    axes[2].set_title("condition number of X^T X / n (L = 10, d = 5)")

    def worst(prefix, median=False):
        return max(
            v
            for k, v in consts.items()
            if k.startswith(prefix) and "kappa" not in k and k.endswith("median") == median
        )

    fig.suptitle(
        "Gradient flow: sharpness of the limit over the lower bound 2 L a c, run by run. Measured "
        "constant (max over depths 2-40 and widths 5-100): small init "
        f"{worst('small'):.3f}; residual init s = 0.25: {worst('residual s=0.25'):.3f}, "
        f"s = 1: {worst('residual s=1'):.3f} (largest median {worst('residual s=1', True):.3f})",
        fontsize=10,
    )
    _tight(fig)
    _save(fig, out)
    return consts


def draw_residual_theory(parts: dict[str, xr.Dataset], lemma3: xr.Dataset, out: Path) -> None:
    """Theorem 4 (convergence, increments theta_k) and Lemma 3, against depth (top row) and
    width (bottom row)."""
    p = plt()
    fig, axes = p.subplots(2, 3, figsize=(18, 9.5))
    for row, axis in enumerate(("depth", "width")):
        ax_conv, ax_theta, ax_l3 = axes[row]
        ds = parts.get(f"scaling_{axis}_residual")
        if ds is not None:
            ok = at_minimizer(ds)
            v = ds[axis].values
            for i, s in enumerate(ds.init_scale.values):
                frac = ok.isel(init_scale=i).mean("rep")
                ax_conv.plot(v, frac, "o-", label=f"s = {s:g}")
                theta = ds.theta_max.isel(init_scale=i).where(ok.isel(init_scale=i))
                ax_theta.plot(v, theta.median("rep"), "o-", label=f"s = {s:g} (median)")
                ax_theta.fill_between(v, theta.min("rep"), theta.max("rep"), alpha=0.15)
            other = "d = 5, the authors' data" if axis == "depth" else "L = 10, kappa 2.67"
            ax_conv.set(
                xscale="log",
                ylim=(-0.03, 1.03),
                xlabel=axis,
                ylabel=f"fraction of flows at a minimizer ({ds.sizes['rep']} per point)",
                title=f"Theorem 4: convergence against {axis} ({other})",
            )
            ax_theta.set(
                xscale="log",
                yscale="log",
                xlabel=axis,
                ylabel="max_k ||theta_k||_F,  theta_k = L (W_k(inf) - W_k(0))",
                title=f"Theorem 4 (8): the learned increments are theta_k / L ({axis})",
            )
            _g_log(ax_conv, "x", v)
            _g_log(ax_theta, "x", v)
            _g_log(ax_theta, "y")
        sub = lemma3.where(lemma3.axis == axis, drop=True)
        for s in np.unique(sub.scale.values):
            pts = sub.where(sub.scale == s, drop=True)
            v = pts[axis].values
            for key, ls in (("smax", "-"), ("smin", "--")):
                ax_l3.plot(v, pts[key].median("draw"), "o" + ls, label=f"{key}, s = {s:g}")
                ax_l3.fill_between(v, pts[key].min("draw"), pts[key].max("draw"), alpha=0.15)
        fixed = "d = 20" if axis == "depth" else "L = 20"
        ax_l3.set(
            xscale="log",
            yscale="log",
            xlabel=axis,
            ylabel="max sigma_max / min sigma_min of W_l ... W_k",
            title=f"Lemma 3 at init ({fixed}, {sub.sizes['draw']} draws, band = range)",
        )
        _g_log(ax_l3, "x", np.unique(sub[axis].values))
        _g_log(ax_l3, "y")
        for ax in axes[row]:
            ax.legend(fontsize=7)
    fig.suptitle(
        "Residual initialization W_k = I + s N_k / sqrt(L d) (Section 5): gradient flows of the "
        "depth and width sweeps, and products of the initial layers",
        fontsize=10,
    )
    _tight(fig)
    _save(fig, out)
