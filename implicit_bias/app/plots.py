"""Per-run plots (loss and sharpness along training, the spectral density when recorded).

Values that are not finite (a diverged run) or not positive (on a log axis) are left out of
the curves rather than breaking the axes; a diverged run's plots mark where it diverged, and a
panel with nothing to draw says so.
"""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from implicit_bias.experiment import Experiment
from implicit_bias.result import DIVERGED, Result
from implicit_bias.sharpness import SpectralDensity


def _drawable(y: np.ndarray, log: bool) -> np.ndarray:
    """``y`` with the points an axis cannot show (non-finite; non-positive on a log axis) NaN."""
    y = np.asarray(y, np.float64)
    ok = np.isfinite(y) & ((y > 0) if log else True)
    return np.where(ok, y, np.nan)


def _curve(ax, x: np.ndarray, y: np.ndarray, **kw) -> None:
    """A curve; with markers when it has too few drawable points for a line to show."""
    marker = "o" if np.isfinite(y).sum() < 3 else None
    ax.plot(x, y, marker=marker, ms=3, **kw)


def _finish(ax, x, ys: list[np.ndarray], log: bool, result: Result, xlabel: str) -> None:
    """The whole horizon on the x axis; log scale when there is something positive to show;
    the divergence point; a note when nothing is finite."""
    if x.size and x[-1] > x[0]:
        pad = 0.02 * (x[-1] - x[0])  # room for markers at the ends
        ax.set_xlim(x[0] - pad, x[-1] + pad)
    drawn = any(np.isfinite(y).any() for y in ys)
    if log and drawn:
        ax.set_yscale("log")
    if int(result.status) == DIVERGED:
        reached = float(result.reached)
        ax.axvline(reached, color="r", ls=":", lw=1, label=f"diverged ({xlabel} {reached:g})")
    if not drawn:
        ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center", va="center")


def _smoothed(nodes: np.ndarray, weights: np.ndarray, grid: np.ndarray, sigma: float):
    """:meth:`SpectralDensity.density` in numpy (plotting compiles no JAX program, and keeps
    float64 nodes in float64 whether or not JAX has x64 on): ``(g,)``."""
    z = (grid[:, None, None] - nodes[None]) / sigma
    kernel = np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * sigma)
    return np.sum(kernel * weights[None], axis=(1, 2)) / nodes.shape[0]


def plot_density(
    density: SpectralDensity,
    ax: Any = None,
    *,
    sigma: float | None = None,
    grid: np.ndarray | None = None,
    outliers: np.ndarray | None = None,
    label: str | None = None,
    color: str | None = None,
    floor: float = 1e-8,
) -> Any:
    r"""Draw :math:`\phi_\sigma` (log density against eigenvalue), outliers marked.

    Args:
        density: one (unbatched) :class:`~implicit_bias.sharpness.SpectralDensity`
            (``slq``'s result, or a run's ``density_nodes`` / ``density_weights``).
        ax: a matplotlib ``Axes``; ``None`` makes a new figure.
        sigma: smoothing width; default 1% of the node range (or 1e-3 if all nodes coincide).
        grid: eigenvalue axis; default 2000 points over the node range widened by
            :math:`5\sigma`.
        outliers: eigenvalues to mark with triangles above the curve, e.g. the certified
            ``topk(...).eigenvalues`` (the SLQ nodes themselves carry no certificate).
        label, color: passed to ``ax.semilogy``.
        floor: densities below it are drawn at it (the log axis has no zero).

    Returns:
        The ``Axes``.
    """
    nodes = np.asarray(density.nodes, np.float64)
    weights = np.asarray(density.weights, np.float64)
    lo, hi = float(nodes.min()), float(nodes.max())
    if sigma is None:
        sigma = 0.01 * (hi - lo) if hi > lo else 1e-3
    if grid is None:
        grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, 2000)
    values = _smoothed(nodes, weights, np.asarray(grid, np.float64), sigma)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    (line,) = ax.semilogy(grid, np.maximum(values, floor), label=label, color=color)
    if outliers is not None:
        outliers = np.asarray(outliers)
        top = max(float(values.max()), floor)
        ax.plot(
            outliers,
            np.full(outliers.shape, 2 * top),
            "v",
            color=line.get_color(),
            markersize=6,
            label=None if label is None else f"{label}: top eigenvalues",
        )
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel(rf"density $\phi_\sigma$ ($\sigma$ = {sigma:.2g})")
    return ax


def plot_run(out_dir: Path, result: Result, exp: Experiment) -> None:
    """Write ``loss.png`` and (when recorded) ``sharpness.png``, ``dist_to_wstar.png`` and
    ``spectral_density.png`` (initial and final, when ``spectrum.density_probes > 0``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    continuous = exp.integrator.continuous
    x = np.asarray(result.times)
    xlabel = "time t" if continuous else "step"
    rec = {k: np.asarray(v) for k, v in result.records.items()}

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ys = [_drawable(rec["train_loss"], log=True)]
    _curve(ax, x, ys[0], label="train")
    if "test_loss" in rec:  # absent when the data has no test set
        ys.append(_drawable(rec["test_loss"], log=True))
        _curve(ax, x, ys[1], label="test", ls="--")
    _finish(ax, x, ys, True, result, xlabel)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"loss ({type(exp.loss).__name__.lower()})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "loss.png", dpi=120)
    plt.close(fig)

    if "sharpness" in rec:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        y = _drawable(rec["sharpness"], log=False)
        _curve(ax, x, y, label="sharpness (top Hessian eigenvalue)")
        # The integrator's own threshold (2/lr for GD, 2(1+beta)/lr with heavy ball, none for
        # gradient flow or Adam): integrators/_base.py, stability_threshold.
        lr = float(result.scalars.lr)
        threshold = exp.integrator.stability_threshold(lr, result.initial.get("sharpness"))
        if threshold is not None:
            ax.axhline(
                float(threshold),
                color="k",
                ls="--",
                label=f"stability threshold {float(threshold):.3g}",
            )
        _finish(ax, x, [y], False, result, xlabel)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("sharpness")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / "sharpness.png", dpi=120)
        plt.close(fig)

    if "dist_to_wstar" in rec:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        y = _drawable(rec["dist_to_wstar"], log=True)
        _curve(ax, x, y)
        _finish(ax, x, [y], True, result, xlabel)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(r"$\|w - w^\star\|^2 / d$")
        fig.tight_layout()
        fig.savefig(out_dir / "dist_to_wstar.png", dpi=120)
        plt.close(fig)

    if "density_nodes" in result.final:
        plot_run_density(out_dir / "spectral_density.png", result)


def plot_run_density(path: Path, result: Result) -> None:
    """The initial and final spectral densities of one run (SLQ nodes and weights) on one
    axis, with one smoothing width and grid, the recorded top eigenvalues (certified) marked;
    a density not measured (NaN, a diverged run's) is left out."""
    curves = []
    for name, values in (("initial", result.initial), ("final", result.final)):
        nodes = np.asarray(values["density_nodes"], np.float64)
        weights = np.asarray(values["density_weights"], np.float64)
        if not (np.isfinite(nodes).all() and np.isfinite(weights).all()):
            continue
        top = values.get("spectrum_top")
        top = None if top is None or not np.isfinite(np.asarray(top)).all() else np.asarray(top)
        curves.append((name, SpectralDensity(nodes, weights, np.int32(nodes.size)), top))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    if curves:
        lo = min(float(np.min(c[1].nodes)) for c in curves)
        hi = max(float(np.max(c[1].nodes)) for c in curves)
        sigma = 0.01 * (hi - lo) if hi > lo else 1e-3
        grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, 2000)
        for (name, density, top), color in zip(curves, ("C0", "C1"), strict=False):
            plot_density(density, ax, sigma=sigma, grid=grid, outliers=top, label=name, color=color)
        ax.legend(fontsize="small", loc="center")  # the middle: the floor, below the outliers
    else:
        ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center", va="center")
    ax.set_title("spectral density (stochastic Lanczos quadrature)", fontsize="medium")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
