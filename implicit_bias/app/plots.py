"""Per-run plots (loss and sharpness along training).

Values that are not finite (a diverged run) or not positive (on a log axis) are left out of
the curves rather than breaking the axes; a diverged run's plots mark where it diverged, and a
panel with nothing to draw says so.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from implicit_bias.experiment import Experiment
from implicit_bias.result import DIVERGED, Result


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


def plot_run(out_dir: Path, result: Result, exp: Experiment) -> None:
    """Write ``loss.png`` and (when recorded) ``sharpness.png`` and ``dist_to_wstar.png``."""
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
