r"""Matrix factorization: Gunasekar et al.'s (2017) conjecture, where it holds and where not.

Four panels, all gradient descent in float64 from the identity initialization:

(a) singular values of X(t) = U U^T over the steps on the preset ``+experiment=matrix_sensing``
    (d = 10, rank-1 PSD X*, n = 20 symmetric Gaussian measurements, lr = 0.1) at alpha = 0.1
    and 1e-3: from a small init one singular value grows and the others stay at ~alpha^2;
    the dotted line is the top singular value of the min-trace PSD solution (= X* here);
(b) relative distance ||X - X_ref||_F / ||X_ref||_F to the min-trace PSD solution X_ref
    (cvxpy) against alpha, for the preset's data at seeds 0-3: the gap shrinks with alpha,
    at an instance-dependent rate (~alpha for seed 0, ~alpha^0.3-0.4 for seeds 1-2);
(c) the same below the recovery threshold (d = 8, rank 2, n = 16, seed 0), where X_ref has
    rank 3 and differs from X*: as alpha -> 0 gradient descent approaches X* (greedy low-rank
    learning, Li, Luo & Lyu 2021), not X_ref: the conjecture fails on this instance;
(d) effective rank over the steps of deep matrix completion (preset
    ``+experiment=matrix_completion``: 50 of 100 entries of a rank-2 10 x 10 matrix) at
    depth N = 1, 2, 3 from X(0) = 1e-6 I (depth 1: X(0) = 0, the min-Frobenius completion),
    against the min nuclear-norm completion and X* (Arora, Cohen, Hu & Luo 2019).

    python -m implicit_bias.papers.matrix_factorization figures figures
    # -> docs/figures/matrix_factorization.png
"""

import logging
import time
from pathlib import Path

import jax
import numpy as np

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "matrix_factorization.png"

ALPHAS = np.array([0.3, 0.1, 3e-2, 1e-2, 1e-3, 1e-4, 1e-6, 1e-9])
SEEDS = (0, 1, 2, 3)
STEPS = 300_000  # escape time ~ log(1/alpha), then a sublinear tail: enough down to 1e-9


def _compose(overrides: list[str]):
    from implicit_bias.app.build import build_experiment
    from implicit_bias.app.compose import compose

    cfg = compose(overrides)
    return cfg, build_experiment(cfg)


def _sensing_reference(data, d: int) -> np.ndarray:
    from implicit_bias.theory import min_trace_psd

    return min_trace_psd(np.asarray(data.X).reshape(-1, d, d), np.asarray(data.y))


def _rel(x: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(x - ref) / np.linalg.norm(ref))


def sensing_alpha_sweep(overrides: list[str], seeds, alphas, steps: int):
    """Relative distances of the GD limit to X_ref and to X* for every (seed, alpha), one
    ``run_batch`` call (seed and alpha are traced)."""
    from implicit_bias.engine import run_batch

    cfg, exp = _compose(["+experiment=matrix_sensing", "record.params=false", *overrides])
    d = exp.model.dim
    seed_grid, alpha_grid = (g.ravel() for g in np.meshgrid(seeds, alphas, indexing="ij"))
    tic = time.perf_counter()
    result = run_batch(exp, seed=seed_grid, init_scale=alpha_grid, lr=cfg.lr, steps=steps)
    logger.info("%d sensing runs (%s): %.1fs", len(seed_grid), overrides, time.perf_counter() - tic)
    dist_ref = np.zeros((len(seeds), len(alphas)))
    dist_star = np.zeros_like(dist_ref)
    for i, seed in enumerate(seeds):
        j0 = i * len(alphas)
        x_ref = _sensing_reference(result[j0].data, d)
        x_star = np.asarray(result[j0].data.w_star).reshape(d, d)
        logger.info(
            "seed %d: min-trace solution rank %d, ||X_ref - X*|| / ||X*|| = %.2e",
            seed,
            np.sum(np.linalg.eigvalsh(x_ref) > 1e-6),
            _rel(x_ref, x_star),
        )
        for j, alpha in enumerate(alphas):
            x = np.asarray(exp.model.matrix(result[j0 + j].params))
            dist_ref[i, j], dist_star[i, j] = _rel(x, x_ref), _rel(x, x_star)
            logger.info(
                "  alpha=%-7.0e %-9s loss=%.1e  |X-X_ref|/|X_ref|=%.2e  |X-X*|/|X*|=%.2e  "
                "erank=%.3f",
                alpha,
                result.status_names()[j0 + j],
                float(result.final["train_loss"][j0 + j]),
                dist_ref[i, j],
                dist_star[i, j],
                float(result.final["effective_rank"][j0 + j]),
            )
    return dist_ref, dist_star


def sensing_trajectories(alphas):
    """Singular values of X(t) along the preset run, at each alpha (one batch)."""
    from implicit_bias.engine import run_batch

    cfg, exp = _compose(["+experiment=matrix_sensing", "record.params=false"])
    result = run_batch(exp, init_scale=list(alphas), lr=cfg.lr, steps=20_000, seed=cfg.seed)
    x_ref = _sensing_reference(result[0].data, exp.model.dim)
    return (
        np.asarray(result.times[0]),
        np.asarray(result.records["singular_values"]),
        np.linalg.svd(x_ref, compute_uv=False),
    )


def completion_depths(depths):
    """Effective rank along deep completion at each depth, X(0) = 1e-6 I (depth 1: 0)."""
    from implicit_bias.engine import run_batch
    from implicit_bias.theory import nuclear_norm_completion
    from implicit_bias.theory.checks.nuclear_norm import effective_rank_np

    curves = {}
    for depth in depths:
        init = "init=zero" if depth == 1 else "init=identity"
        cfg, exp = _compose(["+experiment=matrix_completion", f"model.depth={depth}", init])
        alpha = 0.0 if depth == 1 else 1e-6 ** (1 / depth)
        run = run_batch(exp, init_scale=alpha, lr=cfg.lr, steps=100_000, seed=cfg.seed)[0]
        x_star = np.asarray(run.data.w_star).reshape(10, 10)
        x = np.asarray(exp.model.matrix(run.params))
        logger.info(
            "completion depth %d (alpha=%.3g): erank=%.3f |X-X*|/|X*|=%.2e loss=%.1e",
            depth,
            alpha,
            float(run.final["effective_rank"]),
            _rel(x, x_star),
            float(run.final["train_loss"]),
        )
        curves[depth] = (np.asarray(run.times), np.asarray(run.records["effective_rank"]))
    cols = np.asarray(run.data.X).argmax(axis=1)
    mask, values = np.zeros(100, bool), np.zeros(100)
    mask[cols], values[cols] = True, np.asarray(run.data.y)
    x_nuc = nuclear_norm_completion((10, 10), mask.reshape(10, 10), values.reshape(10, 10))
    erank_nuc = effective_rank_np(np.linalg.svd(x_nuc, compute_uv=False))
    erank_star = effective_rank_np(np.linalg.svd(x_star, compute_uv=False))
    logger.info(
        "min nuclear-norm completion: erank=%.3f |X-X*|/|X*|=%.2e; erank(X*)=%.3f",
        erank_nuc,
        _rel(x_nuc, x_star),
        erank_star,
    )
    return curves, erank_nuc, erank_star


def main(out: Path = OUT) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    jax.config.update("jax_enable_x64", True)
    t_alphas = (0.1, 1e-3)
    steps, svals, s_ref = sensing_trajectories(t_alphas)
    dist_ref, _ = sensing_alpha_sweep([], SEEDS, ALPHAS, STEPS)
    low = ["data.d=8", "data.rank=2", "data.n=16"]
    low_ref, low_star = sensing_alpha_sweep(low, (0,), ALPHAS, STEPS)
    curves, erank_nuc, erank_star = completion_depths((1, 2, 3))

    fig, axes = plt.subplots(1, 4, figsize=(20, 4.4))
    ax = axes[0]
    for (alpha, s), color in zip(zip(t_alphas, svals, strict=True), ("C1", "C0"), strict=True):
        for k in range(s.shape[1]):
            label = rf"$\alpha$ = {alpha:g} (all {s.shape[1]})" if k == 0 else None
            ax.loglog(np.maximum(steps, 1), s[:, k], color=color, lw=1, label=label)
    ax.axhline(s_ref[0], color="k", ls=":", lw=1, label=r"$\sigma_1(X_{\rm ref})$")
    ax.set_xlabel("step")
    ax.set_ylabel(r"singular values of $X = UU^\top$")
    ax.set_title("(a) sensing, d=10, r=1, n=20")
    ax.legend(fontsize=8)

    ax = axes[1]
    for i, seed in enumerate(SEEDS):
        ax.loglog(ALPHAS, dist_ref[i], "o-", ms=4, label=f"seed {seed}")
    ax.loglog(ALPHAS, ALPHAS, "k:", lw=1, label=r"$\alpha$")
    ax.set_xlabel(r"init scale $\alpha$ ($U(0) = \alpha I$)")
    ax.set_ylabel(r"$\|X - X_{\rm ref}\|_F / \|X_{\rm ref}\|_F$")
    ax.set_title("(b) distance to the min-trace PSD solution")
    ax.legend(fontsize=8)

    ax = axes[2]
    ax.loglog(ALPHAS, low_ref[0], "o-", ms=4, color="C3", label=r"to $X_{\rm ref}$ (min trace)")
    ax.loglog(ALPHAS, low_star[0], "s-", ms=4, color="C0", label=r"to $X^\star$ (rank 2)")
    ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel("relative Frobenius distance")
    ax.set_title("(c) below threshold: d=8, r=2, n=16")
    ax.legend(fontsize=8)

    ax = axes[3]
    for depth, (t, erank) in curves.items():
        ax.semilogx(np.maximum(t, 1), erank, label=f"depth {depth}")
    ax.axhline(erank_nuc, color="k", ls="--", lw=1, label="min nuclear norm")
    ax.axhline(erank_star, color="k", ls=":", lw=1, label=r"$X^\star$")
    ax.set_xlabel("step")
    ax.set_ylabel("effective rank")
    ax.set_title("(d) completion, 50/100 entries, rank 2")
    ax.legend(fontsize=8)
    fig.suptitle(
        "Matrix factorization, gradient descent from the identity init: Gunasekar et al. "
        "(2017), Li, Luo & Lyu (2021), Arora et al. (2019)",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    logger.info("wrote %s", out)


def cli(argv: list[str] | None = None) -> None:
    """The figure's command line (``--out`` and its own options)."""
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
