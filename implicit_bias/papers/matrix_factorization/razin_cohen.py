r"""Razin & Cohen (2020): on a 2 x 2 completion every norm diverges while the rank falls.

The preset ``+experiment=razin_cohen`` with ``init=identity``: observed W[0,1] = W[1,0] = 1,
W[1,1] = 0 (0-indexed), W[0,0] free. Every solution [[w, 1], [1, 0]] has det = -1; a depth-N >= 2
product started at W_k(0) = alpha I has det X(t) > 0 for all t (each det W_k keeps its sign
under the flow), so the loss can only vanish along X ~ [[w, 1], [1, 1/w]] with w -> infinity:
the norms diverge, the effective rank falls to 1, and the loss decays like 1/(3 w^2).

Depths N = 2, 3, 4 from X(0) = 1e-6 I (alpha = 1e-6^(1/N)), gradient descent up to time
t = lr * step = 2000 at lr = 0.025, 0.01, 0.005 (N = 2, 3, 4), so that lr * sharpness stays
below 1 (logged): GD tracks the gradient flow.

(a) nuclear norm ||X||_* (solid) and X[0,0] (dotted) against t, and the min nuclear norm 2;
(b) effective rank - 1 (Roy & Vetterli 2007);
(c) training loss, against the rank-1-path prediction 1 / (3 X[0,0]^2) (dashed);
(d) lr * sharpness (exact Hessian), below the stability limit 2.

    python -m implicit_bias.papers.matrix_factorization figures razin_cohen
    # -> docs/figures/razin_cohen.png
"""

import logging
import time
from pathlib import Path

import jax
import numpy as np

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "razin_cohen.png"

DEPTHS = (2, 3, 4)
# The sharpness grows like ||X||^(2 - 2/N): the deeper products need a smaller lr for
# lr * sharpness to stay below 1 up to t = T (measured maxima: 0.33, 0.66, 0.74).
LRS = {2: 0.025, 3: 0.01, 4: 0.005}
T = 2000.0
X0 = 1e-6  # X(0) = X0 * I at every depth


def run_depth(depth: int):
    """The preset at one depth; returns (times, records, final matrix)."""
    from implicit_bias.app.build import build_experiment
    from implicit_bias.app.compose import compose
    from implicit_bias.engine import run_batch

    # X(0) = X0 I (the preset draws the authors' random init instead; docs/presets.md).
    overrides = ["init=identity", f"model.depth={depth}", "record.num=80"]
    cfg = compose(["+experiment=razin_cohen", *overrides])
    exp = build_experiment(cfg)
    alpha = X0 ** (1 / depth)
    lr = LRS[depth]
    tic = time.perf_counter()
    run = run_batch(exp, init_scale=alpha, lr=lr, steps=round(T / lr), seed=cfg.seed)[0]
    rec = {k: np.asarray(v) for k, v in run.records.items()}
    x = np.asarray(exp.model.matrix(run.params))
    logger.info(
        "depth %d (alpha=%.3g, %.1fs): loss=%.2e  ||X||_*=%.2f  ||X||_F=%.2f  X=%s  "
        "erank-1=%.1e  max lr*sharpness=%.2f  min det X=%.1e",
        depth,
        alpha,
        time.perf_counter() - tic,
        rec["train_loss"][-1],
        rec["nuclear_norm"][-1],
        rec["frobenius_norm"][-1],
        np.array2string(x, precision=4),
        rec["effective_rank"][-1] - 1,
        lr * rec["sharpness"].max(),
        np.linalg.det(rec["predictor"].reshape(-1, 2, 2)).min(),
    )
    return lr * np.asarray(run.times), lr, rec


def main(out: Path = OUT) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    jax.config.update("jax_enable_x64", True)
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.2))
    for k, depth in enumerate(DEPTHS):
        t, lr, rec = run_depth(depth)
        t = np.maximum(t, lr)
        c = f"C{k}"
        w = rec["predictor"][:, 0]
        axes[0].loglog(t, rec["nuclear_norm"], color=c, label=f"depth {depth}")
        axes[0].loglog(t, np.abs(w), ":", color=c)
        axes[1].loglog(
            t, np.maximum(rec["effective_rank"] - 1, 1e-16), color=c, label=f"depth {depth}"
        )
        axes[2].loglog(t, rec["train_loss"], color=c, label=f"depth {depth}")
        late = np.abs(w) > 2
        axes[2].loglog(t[late], 1 / (3 * w[late] ** 2), "--", color=c, lw=1)
        axes[3].semilogx(t, lr * rec["sharpness"], color=c, label=f"depth {depth} (lr {lr:g})")
    axes[0].axhline(2.0, color="k", ls="--", lw=1, label="min nuclear norm (= 2)")
    axes[0].set_ylabel(r"$\|X\|_*$ (solid), $X_{00}$ (dotted)")
    axes[0].set_title("(a) norms grow without bound")
    axes[1].set_ylabel("effective rank - 1")
    axes[1].set_title("(b) effective rank falls to 1")
    axes[2].set_ylabel("training loss")
    axes[2].set_title(r"(c) loss vs $1/(3X_{00}^2)$ (dashed)")
    axes[3].axhline(2.0, color="k", ls="--", lw=1, label="stability limit")
    axes[3].set_ylabel(r"lr $\times$ sharpness")
    axes[3].set_title("(d) GD tracks the flow")
    for ax in axes:
        ax.set_xlabel(r"time $t$ = lr $\times$ step")
        ax.legend(fontsize=8)
    fig.suptitle(
        "Razin & Cohen (2020): 2x2 completion, W[0,1] = W[1,0] = 1, W[1,1] = 0 observed; "
        "depth-N factorization from X(0) = 1e-6 I",
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
