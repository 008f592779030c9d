"""Figures of the training-dynamics presets, each from its preset (``conf/experiment/``) as one
batched program per panel: edge of stability on digits, the catapult phase, label-noise GD
against GD, and GD, n-SAM and 1-SAM on a diagonal linear network.

Each function composes the preset exactly as ``python -m implicit_bias.run +experiment=NAME``
would, varies only traced scalars (the lr) inside one :func:`~implicit_bias.engine.run_batch`
call, and draws the figure (``--docs``: into ``docs/figures/NAME.png``).
"""

from collections.abc import Sequence
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from omegaconf import DictConfig

from implicit_bias.app import compose
from implicit_bias.app.build import build_experiment
from implicit_bias.engine import run_batch
from implicit_bias.experiment import Experiment
from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser
from implicit_bias.result import Result
from implicit_bias.theory.basis_pursuit import basis_pursuit

#: Edge of stability: the lrs as 2/lr (the thresholds drawn), one batch per network. The ReLU
#: network sharpens less (from 5.7 to ~12 at 2/lr = 12-60 in 3000 steps): lower thresholds.
EOS_THRESHOLDS = {"tanh": (18.0, 21.0, 24.0), "relu": (8.0, 9.0, 10.0)}
#: The control: gradient flow, with tolerances above float32's resolution (the preset is
#: float32); at the default rtol 1e-7 the solver stalls at the ReLU kinks (1e5 steps by t ~ 40,
#: 6 minutes), at 1e-4 it reaches t1 = 600 in 20 s.
EOS_FLOW = ("integrator=gradient_flow", "integrator.rtol=1e-4", "integrator.atol=1e-6")
#: Catapult: lrs in units of 2/lambda0 (integrator.lr_unit=edge).
CATAPULT_LRS = (0.5, 1.2, 1.5, 2.0)


def _times(res: Result) -> np.ndarray:
    """The record times (the same for every run of a batch)."""
    t = np.asarray(res.times)
    return t[0] if t.ndim == 2 else t


def run_preset(
    name: str, overrides: Sequence[str] = (), **scalars
) -> tuple[Experiment, Result, DictConfig]:
    """The preset's experiment, run as one batch over ``scalars`` (lists: ``lr=[...]``); the
    config's own scalars fill in the rest. Returns ``(experiment, result, config)``."""
    cfg = compose([f"+experiment={name}", *overrides])
    if cfg.dtype == "float64":  # as the command line does for a float64 preset
        jax.config.update("jax_enable_x64", True)
    exp = build_experiment(cfg)
    keys = ("lr", "steps", "init_scale", "seed", "t1")
    given = {k: scalars.get(k, cfg[k]) for k in keys}
    if exp.integrator.continuous:
        given.pop("steps")
    else:
        given.pop("t1")
    return exp, run_batch(exp, **given), cfg


def edge_of_stability(out: Path, overrides: Sequence[str] = ()) -> dict:
    """Loss and sharpness of a tanh and a ReLU MLP on digits for three lrs each (2/lr = 18,
    21, 24 and 8, 9, 10) and gradient flow for as long as the smallest lr runs; returns the
    final sharpness."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    summary = {}
    for row, (act, thresholds) in enumerate(EOS_THRESHOLDS.items()):
        lrs = [2.0 / t for t in thresholds]
        ov = [f"model.activation={act}", *overrides]
        _, res, cfg = run_preset("edge_of_stability", ov, lr=lrs)
        t1 = min(lrs) * int(cfg.steps)
        _, flow, _ = run_preset("edge_of_stability", [*EOS_FLOW, *ov], t1=t1)
        steps = _times(res)
        loss, sharp = np.asarray(res.records["train_loss"]), np.asarray(res.records["sharpness"])
        for i, (_lr, thr) in enumerate(zip(lrs, thresholds, strict=True)):
            (line,) = axes[row, 0].plot(steps, loss[i], lw=1, label=f"GD lr = 2/{thr:g}")
            axes[row, 1].plot(steps, sharp[i], lw=1, color=line.get_color())
            axes[row, 1].axhline(thr, color=line.get_color(), ls="--", lw=0.8)
        # Flow time t against the step count t / lr of the smallest lr.
        ft = _times(flow) / min(lrs)
        axes[row, 0].plot(ft, np.asarray(flow.records["train_loss"])[0], "k", lw=1, label="flow")
        axes[row, 1].plot(ft, np.asarray(flow.records["sharpness"])[0], "k", lw=1)
        axes[row, 0].set_yscale("log")
        axes[row, 0].set_ylabel(f"{act}: train loss (square, one-hot)")
        axes[row, 1].set_ylabel("sharpness (dashed: 2/lr)")
        axes[row, 0].legend(fontsize=8)
        summary[act] = np.asarray(res.final["sharpness"]).tolist()
    for ax in axes[1]:
        ax.set_xlabel("step (flow: t / min lr)")
    fig.suptitle(
        "Edge of stability: MLP 64-64-64-10 on 500 digits, full-batch GD, init 1/sqrt(3) LeCun"
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return summary


def catapult(out: Path, overrides: Sequence[str] = ()) -> dict:
    """Loss and sharpness of the wide two-layer network for lrs in units of 2/lambda0."""
    _exp, res, _ = run_preset("catapult", overrides, lr=list(CATAPULT_LRS))
    steps = _times(res)
    loss, sharp = np.asarray(res.records["train_loss"]), np.asarray(res.records["sharpness"])
    lam0 = sharp[:, 0]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    names = res.status_names()
    for i, lr in enumerate(CATAPULT_LRS):
        ok = np.isfinite(loss[i]) & (loss[i] < 1e6)
        label = f"lr = {lr:g} x 2/lambda0" + (" (diverged)" if names[i] == "diverged" else "")
        (line,) = axes[0].plot(steps[ok], loss[i][ok], lw=1, label=label)
        axes[1].plot(steps[ok], sharp[i][ok] / lam0[i], lw=1, color=line.get_color())
        axes[1].axhline(1.0 / lr, color=line.get_color(), ls="--", lw=0.8)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("train loss")
    axes[1].set_ylabel("sharpness / lambda0 (dashed: 2/lr)")
    axes[1].set_ylim(0, 1.3)
    for ax in axes:
        ax.set_xlabel("step")
    axes[0].legend(fontsize=8)
    fig.suptitle("Catapult: two-layer ReLU net, width 512, NTK parametrization, digits 0 vs 1")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return {"status": names, "final_sharpness_over_lambda0": (sharp[:, -1] / lam0).tolist()}


def _versus_gd(name: str, zero: str, out: Path, title: str, overrides: Sequence[str]) -> dict:
    """The preset's integrator against itself with its bias switched off (``zero``: GD)."""
    runs = {}
    for label, ov in ((name, []), ("GD", [zero])):
        _, res, _ = run_preset(name, [*ov, *overrides])
        runs[label] = res
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    summary = {}
    for (label, res), color in zip(runs.items(), ("C3", "k"), strict=True):
        steps = _times(res)
        axes[0].plot(steps, np.asarray(res.records["train_loss"])[0], color=color, label=label)
        axes[1].plot(steps, np.asarray(res.records["sharpness"])[0], color=color, label=label)
        beta = np.asarray(res.records["predictor"])[0, -1]
        order = np.argsort(-np.abs(beta))
        axes[2].plot(np.abs(beta[order]), "o-", ms=3, color=color, label=label)
        summary[label] = {
            "final_sharpness": float(np.asarray(res.records["sharpness"])[0, -1]),
            "l1": float(np.abs(beta).sum()),
        }
    axes[0].set_yscale("log")
    axes[0].set_ylabel("train loss")
    axes[1].set_ylabel("sharpness")
    axes[2].set_yscale("log")
    axes[2].set_ylabel("|beta_j|, sorted")
    axes[2].set_xlabel("coordinate (by size)")
    for ax in axes[:2]:
        ax.set_xlabel("step")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return summary


def label_noise(out: Path, overrides: Sequence[str] = ()) -> dict:
    """Label-noise GD against GD (noise_std = 0) on the diagonal network."""
    title = "Label-noise GD vs GD: diagonal linear network, n = 20 < d = 40"
    return _versus_gd("label_noise", "integrator.noise_std=0", out, title, overrides)


#: SAM on the diagonal network: the methods compared, as overrides of the preset (1-SAM,
#: normalized, rho 0.05), and the seeds (data sets) each runs as one batch.
SAM_METHODS = {
    "GD": ("integrator.rho=0",),
    "n-SAM": ("integrator=sam",),
    "1-SAM": (),
    "1-SAM unnormalized (paper)": ("integrator.normalize=false", "integrator.rho=0.1"),
}
SAM_SEEDS = (0, 1, 2, 3, 4)


def sam_diagonal(out: Path, overrides: Sequence[str] = ()) -> dict:
    """GD, n-SAM and 1-SAM (Andriushchenko & Flammarion 2022) on the diagonal network: the
    training and test loss and the L1 norm of beta along training (seed 0), and the final
    distance to the basis-pursuit solution (scipy's linprog) on five data sets."""
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    colors = ("k", "C0", "C3", "C1")
    summary: dict = {}
    bp_l1 = None
    for (label, ov), color in zip(SAM_METHODS.items(), colors, strict=True):
        _, res, _ = run_preset("sam_diagonal", [*ov, *overrides], seed=list(SAM_SEEDS))
        steps = _times(res)
        beta = np.asarray(res.records["predictor"])  # (seeds, records, d)
        X, y = np.asarray(res.data.X), np.asarray(res.data.y)
        bp = np.stack([basis_pursuit(X[i], y[i]) for i in range(len(SAM_SEEDS))])
        bp_l1 = float(np.abs(bp[0]).sum())
        dist = np.linalg.norm(beta[:, -1] - bp, axis=-1)
        ls = "--" if "paper" in label else "-"
        axes[0].plot(steps, np.asarray(res.records["train_loss"])[0], ls, color=color, label=label)
        axes[1].plot(steps, np.asarray(res.records["test_loss"])[0], ls, color=color)
        axes[2].plot(steps, np.abs(beta[0]).sum(-1), ls, color=color)
        axes[3].plot(SAM_SEEDS, dist, "o" + ls, color=color, ms=4)
        summary[label] = {
            "l1": np.abs(beta[:, -1]).sum(-1).round(4).tolist(),
            "distance_to_basis_pursuit": dist.round(4).tolist(),
            "test_loss": np.asarray(res.final["test_loss"]).tolist(),
            "basis_pursuit_l1": np.abs(bp).sum(-1).round(4).tolist(),
        }
    axes[2].axhline(bp_l1, color="gray", ls=":", lw=1, label="basis pursuit")
    for ax, name in zip(axes[:3], ("train loss", "test loss", "||beta||_1"), strict=True):
        ax.set_xlabel("step")
        ax.set_ylabel(name + " (seed 0)")
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[3].set_yscale("log")
    axes[3].set_xlabel("seed (data set)")
    axes[3].set_ylabel("final ||beta - basis pursuit||")
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=8)
    fig.suptitle(
        "GD, n-SAM and 1-SAM (rho 0.05, normalized; dashed: unnormalized, rho 0.1): diagonal "
        "linear network, n = 20 < d = 40, alpha = 0.05, lr 0.025"
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return summary


def _command(fn):
    name = fn.__name__

    def cli(argv: list[str] | None = None) -> None:
        parser = figure_parser(fn.__doc__ or name, DOCS_FIGURES / f"{name}.png")
        parser.add_argument("overrides", nargs="*", help="Hydra overrides of the preset")
        args = parser.parse_args(argv)
        print(name, fn(args.out, tuple(args.overrides)))

    return cli


FIGURES = {
    fn.__name__: _command(fn) for fn in (edge_of_stability, catapult, label_noise, sam_diagonal)
}
