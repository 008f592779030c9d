r"""Diagonal network ``beta = u*u - v*v`` over the init scale alpha: from basis pursuit to min-L2.

The points of ``sweeps/diagonal_alpha.yaml`` (alpha in logspace(-6, 1, 8), each with its tied
``t1``) on the preset ``+experiment=diagonal`` (gradient flow, Tsit5, float64, rtol 1e-12,
Gaussian compressed sensing n = 20, d = 40, 3-sparse target), run as **one** ``run_batch`` call:
alpha and t1 are traced scalars, so the eight flows share one compiled program. Each run is
compared with the exact finite-alpha limit (the Bregman projection of Woodworth et al. 2020,
Theorem 1, :func:`implicit_bias.theory.solve_diagonal_network`), drawn as a curve over a
fine alpha grid:

(a) the L1 gap ``||beta_alpha||_1 - ||beta_BP||_1`` to basis pursuit (log-log);
(b) the distance ``||beta_alpha - A^+ b||`` to the min-L2 interpolator;
(c) the distance of each run to the exact finite-alpha limit, next to the part of it that its
    final residual explains to first order (``distance_first_order`` of ``reference=diagonal``).

    python -m implicit_bias.papers.diagonal_nets figures diagonal_alpha
    # -> docs/figures/diagonal_alpha.png
"""

import logging
import time
from pathlib import Path

import jax
import numpy as np
from omegaconf import DictConfig, OmegaConf, open_dict

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "diagonal_alpha.png"
SWEEP = "diagonal_alpha"  # sweeps/diagonal_alpha.yaml


def compose_sweep(overrides: tuple[str, ...] = ()) -> tuple[DictConfig, list]:
    """The config of ``+sweep=diagonal_alpha`` (the preset plus the sweep file) and its grids."""
    from implicit_bias.app.compose import compose

    cfg = compose([f"+sweep={SWEEP}", *overrides], return_hydra_config=True)
    grids = OmegaConf.to_container(cfg.hydra.sweeper.grids, resolve=True)
    with open_dict(cfg):
        del cfg["hydra"]  # Hydra's own part (launcher, sweeper) is not the experiment's
    return cfg, grids


def sweep_points(grids: list) -> tuple[np.ndarray, np.ndarray]:
    """``(init_scale, t1)`` of every point of the grids, expanded as the grid sweeper does."""
    from implicit_bias.app.launcher.grids import expand_grids, sweep_parser

    jobs = expand_grids(sweep_parser(), [], grids)
    points = [dict(o.split("=", 1) for o in job) for job in jobs]
    return (
        np.array([float(p["init_scale"]) for p in points]),
        np.array([float(p["t1"]) for p in points]),
    )


def run_sweep(cfg, alphas: np.ndarray, t1s: np.ndarray):
    """Every point of the sweep as one batched program; the reference step of each run."""
    from implicit_bias.app.build import build_experiment, build_reference
    from implicit_bias.engine import run_batch

    exp, reference = build_experiment(cfg), build_reference(cfg)
    tic = time.perf_counter()
    result = run_batch(exp, init_scale=alphas, t1=t1s, seed=cfg.seed)
    logger.info("%d flows, one run_batch call: %.1fs", len(alphas), time.perf_counter() - tic)
    return [reference(exp, result[i]) for i in range(len(alphas))], result


def main(out: Path = OUT, overrides: tuple[str, ...] = ()) -> list[dict]:
    """Make the figure; returns the reference-step dict of every run.

    Args:
        out: the PNG to write.
        overrides: Hydra overrides applied on top of ``+sweep=diagonal_alpha``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from implicit_bias.theory import basis_pursuit, min_l2_solution, solve_diagonal_network

    jax.config.update("jax_enable_x64", True)
    cfg, grids = compose_sweep(tuple(overrides))
    alphas, t1s = sweep_points(grids)
    refs, result = run_sweep(cfg, alphas, t1s)
    A = np.asarray(result.data.X[0], np.float64)
    b = np.asarray(result.data.y[0], np.float64)
    l1_bp = float(np.abs(basis_pursuit(A, b)).sum())
    l2 = min_l2_solution(A, b)
    for a, t1, r, status in zip(alphas, t1s, refs, result.status_names(), strict=True):
        logger.info(
            "alpha=%-7.0e t1=%-7.0e %-9s L1 gap=%.4e (exact %.4e)  |beta-beta_L2|=%.4e  "
            "|beta-beta_alpha|=%.1e (first order %.1e, residual %.1e)",
            a,
            t1,
            status,
            r["l1_gap"],
            r["reference_l1_gap"],
            r["dist_to_min_l2"],
            r["distance"],
            r["distance_first_order"],
            r["residual"],
        )

    fine = np.logspace(np.log10(alphas.min()), np.log10(alphas.max()), 71)
    exact = [solve_diagonal_network(A, b, a).beta for a in fine]
    gap_curve = [np.abs(beta).sum() - l1_bp for beta in exact]
    l2_curve = [np.linalg.norm(beta - l2) for beta in exact]

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.4))
    ax1.loglog(fine, gap_curve, "k-", lw=1, label=r"exact limit $\beta_\alpha$")
    ax1.loglog(alphas, [r["l1_gap"] for r in refs], "o", color="C3", label="gradient flow")
    ax1.axhline(np.abs(l2).sum() - l1_bp, color="C0", ls="--", lw=1, label="min-L2 interpolator")
    ax1.set_xlabel(r"init scale $\alpha$ ($u(0) = v(0) = \alpha$)")
    ax1.set_ylabel(r"$\|\beta\|_1 - \|\beta_{BP}\|_1$")
    ax1.set_title("(a) L1 gap to basis pursuit")
    ax1.legend(fontsize=8)
    ax2.loglog(fine, l2_curve, "k-", lw=1, label=r"exact limit $\beta_\alpha$")
    ax2.loglog(alphas, [r["dist_to_min_l2"] for r in refs], "o", color="C3", label="gradient flow")
    ax2.set_xlabel(r"$\alpha$")
    ax2.set_ylabel(r"$\|\beta - A^+ b\|_2$")
    ax2.set_title("(b) distance to the min-L2 interpolator")
    ax2.legend(fontsize=8)
    ax3.loglog(alphas, [r["distance"] for r in refs], "o", color="C3", label="distance")
    ax3.loglog(
        alphas,
        [r["distance_first_order"] for r in refs],
        "x",
        color="k",
        label="explained by the final residual",
    )
    ax3.set_xlabel(r"$\alpha$")
    ax3.set_ylabel(r"$\|\beta(t_1) - \beta_\alpha\|_2$")
    ax3.set_title(r"(c) run vs exact finite-$\alpha$ limit")
    ax3.legend(fontsize=8)
    fig.suptitle(
        "Diagonal linear network u*u - v*v, gradient flow on compressed sensing "
        "(n = 20, d = 40, k = 3): Woodworth et al. (2020)",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    logger.info("wrote %s", out)
    return refs


def cli(argv: list[str] | None = None) -> None:
    """The figure's command line (``--out`` and its own options)."""
    parser = figure_parser(__doc__, OUT)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. integrator.rtol=1e-12")
    args = parser.parse_args(argv)
    main(args.out, tuple(args.overrides))


if __name__ == "__main__":
    cli()
