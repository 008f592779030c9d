"""Per-run plots (loss and sharpness along training)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from implicit_bias.experiment import Experiment
from implicit_bias.result import Result


def plot_run(out_dir: Path, result: Result, exp: Experiment) -> None:
    """Write ``loss.png`` and (when tracked) ``sharpness.png`` and ``dist_to_wstar.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    continuous = exp.integrator.continuous
    x = np.asarray(result.times)
    xlabel = "time t" if continuous else "step"
    rec = {k: np.asarray(v) for k, v in result.records.items()}

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(x, rec["train_loss"], label="train")
    ax.plot(x, rec["test_loss"], label="test", ls="--")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"loss ({type(exp.loss).__name__.lower()})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "loss.png", dpi=120)
    plt.close(fig)

    if "sharpness" in rec:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(x, rec["sharpness"], label="sharpness (top Hessian eigenvalue)")
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
        ax.set_xlabel(xlabel)
        ax.set_ylabel("sharpness")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / "sharpness.png", dpi=120)
        plt.close(fig)

    if "dist_to_wstar" in rec:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(x, rec["dist_to_wstar"])
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(r"$\|w - w^\star\|^2 / d$")
        fig.tight_layout()
        fig.savefig(out_dir / "dist_to_wstar.png", dpi=120)
        plt.close(fig)
