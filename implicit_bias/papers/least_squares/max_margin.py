r"""Separable classification (Soudry et al. 2018): GD from zero against the hard-margin SVM.

The preset ``+experiment=max_margin`` (Soudry et al. 2018 Fig. 1 data: support vectors
(0.5, 1.5), (1.5, 0.5) and their negatives, 6 + 6 extra points; linear model, GD from 0 at
lr = 0.1, float64) run for 1e6 steps on the exponential and the logistic loss, and the same on
an asymmetric Gaussian data set (``data.layout=gaussian``, seed 5, whose two support vectors
span R^2 so that Theorem 3's ``w_tilde`` is fully determined). Panels:

(a), (b) the two data sets with the SVM separator (black) and GD's final direction (dashed);
(c) ``||w(t)|| / (||w_hat|| log t)`` against ``t``, with the prediction
    ``||w_hat log(lr t) + w_tilde|| / (||w_hat|| log t)`` (thin black): the convergence to 1 is
    only O(1/log t);
(d) the angle to ``w_hat``, with the prediction ``angle(w_hat log(lr t) + w_tilde, w_hat)``
    for the Gaussian data (~1/log t) -- for the Soudry data it is 0 (w_tilde is parallel to
    w_hat), so the angle decays faster than 1/log t;
(e) the normalized margin gap ``(gamma - min_i y_i x_i . w / ||w||) / gamma``;
(f) ``||P_S (w(t) - w_hat log(lr t) - w_tilde)||``, with the linearized rate ``tau^-lambda``.

    python -m implicit_bias.papers.least_squares figures max_margin  # docs/figures/max_margin.png
"""

import logging
import time
from pathlib import Path

import jax
import numpy as np

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "max_margin.png"
STEPS = 1_000_000

GAUSSIAN = ("data.layout=gaussian", "data.n_pos=20", "data.n_neg=10")  # = max_margin_gaussian
#: (label, overrides, seed)
RUNS = (
    ("Soudry data, exponential", ("loss=exponential",), 0),
    ("Soudry data, logistic", ("loss=logistic",), 0),
    ("Gaussian data, exponential", ("loss=exponential", *GAUSSIAN), 5),
    ("Gaussian data, logistic", ("loss=logistic", *GAUSSIAN), 5),
)


def compose(overrides: tuple[str, ...] = ()):
    """The config of ``+experiment=max_margin`` with overrides."""
    from implicit_bias.app.compose import compose

    return compose(["+experiment=max_margin", *overrides])


def _separator(ax, w: np.ndarray, lim: float, **kw) -> None:
    """The line ``w . x = 0``."""
    d = np.array([-w[1], w[0]]) / np.linalg.norm(w)
    ax.plot([-lim * d[0], lim * d[0]], [-lim * d[1], lim * d[1]], **kw)


def main(out: Path = OUT, steps: int = STEPS) -> list[dict]:
    """Make the figure; returns the reference-step dict of every run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from implicit_bias.app.build import build_experiment, build_reference
    from implicit_bias.engine import run_batch
    from implicit_bias.theory import hard_margin_svm
    from implicit_bias.theory.checks.max_margin import angle, normalized_margin, rho_limit

    jax.config.update("jax_enable_x64", True)
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.6))
    (ax_a, ax_b, ax_c), (ax_d, ax_e, ax_f) = axes
    refs = []
    for i, (label, overrides, seed) in enumerate(RUNS):
        cfg = compose((*overrides, f"steps={steps}", f"seed={seed}"))
        exp, reference = build_experiment(cfg), build_reference(cfg)
        lr = float(cfg.lr)
        tic = time.perf_counter()
        run = run_batch(exp, seed=seed, lr=lr, steps=steps)[0]
        wall = time.perf_counter() - tic
        ref = reference(exp, run)
        refs.append(ref)
        logger.info(
            "%-27s %.1fs (compile + %d steps): angle %.3e (predicted %s), margin gap %.3e, "
            "slope %.4f vs ||w_hat|| %.4f (%+.1f%%), ||w||/log T %.4f, rho_error %.3e",
            label,
            wall,
            steps,
            ref["angle"],
            f"{ref['angle_predicted']:.3e}" if "angle_predicted" in ref else "n/a",
            ref["margin_gap"],
            ref["slope"],
            ref["svm_norm"],
            100 * ref["slope_relative_error"],
            ref["norm_over_log_t"],
            ref.get("rho_error", float("nan")),
        )
        X, y = np.asarray(run.data.X), np.asarray(run.data.y)
        Z = y[:, None] * X
        svm = hard_margin_svm(X, y)
        k = np.asarray(run.times, np.float64)
        keep = k >= 2
        k, W = k[keep], np.asarray(run.records["predictor"])[keep]
        tau = lr * k
        w_tilde, span = rho_limit(Z, svm)
        color, ls = f"C{i // 2}", ("-" if i % 2 == 0 else "--")
        if i % 2 == 0:  # the data, once per data set
            ax = ax_a if i == 0 else ax_b
            lim = 1.1 * np.abs(X).max()
            ax.scatter(*X[y > 0].T, marker="+", color="C3", label="y = +1")
            ax.scatter(*X[y < 0].T, marker="o", facecolor="none", color="C0", label="y = -1")
            sv = Z @ svm.w <= 1 + 1e-7
            ax.scatter(*X[sv].T, s=120, facecolor="none", edgecolor="k", label="support vectors")
            _separator(ax, svm.w, lim, color="k", lw=1.5, label="hard-margin SVM")
            _separator(ax, W[-1], lim, color="C2", ls="--", lw=1.5, label=f"GD, t = {steps:.0e}")
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.legend(fontsize=7, loc="lower right")
            ax.set_title(f"({'ab'[i // 2]}) {label.split(',')[0]}, margin {svm.margin:.3f}")
            # Theorem 3's asymptote, over the last two decades (where rho(t) is near w_tilde).
            late = k >= k[-1] / 100
            svm_norm = np.linalg.norm(svm.w)
            predicted = np.linalg.norm(np.log(tau)[:, None] * svm.w + w_tilde, axis=1)
            ax_c.plot(k[late], (predicted / (svm_norm * np.log(k)))[late], "k", lw=0.7)
            pred_angle = np.array([angle(np.log(t) * svm.w + w_tilde, svm.w) for t in tau])
            if span.shape[0] == X.shape[1] and pred_angle[late].min() > 1e-8:
                ax_d.loglog(k[late], pred_angle[late], color="k", lw=0.7, label="Thm 3 prediction")
        norms = np.linalg.norm(W, axis=1)
        ax_c.plot(k, norms / (svm_norm * np.log(k)), color=color, ls=ls, label=label)
        ax_d.loglog(k, [angle(w, svm.w) for w in W], color=color, ls=ls, label=label)
        gaps = [(svm.margin - normalized_margin(Z, w)) / svm.margin for w in W]
        ax_e.loglog(k, np.maximum(gaps, 1e-12), color=color, ls=ls, label=label)
        rho = np.linalg.norm((W - np.log(tau)[:, None] * svm.w - w_tilde) @ span.T, axis=1)
        ax_f.loglog(k, rho, color=color, ls=ls, label=label)
    ax_f.loglog(k, 0.5 * (k / k[-1]) ** -0.25 * 0.03, "k:", lw=1, label=r"$\propto t^{-1/4}$")
    ax_c.set_xscale("log")
    ax_c.set_xlabel("step t")
    ax_c.axhline(1.0, color="k", ls=":", lw=1)
    ax_c.set_ylabel(r"$\|w(t)\| / (\|\hat w\| \log t)$")
    ax_c.set_title("(c) norm growth; thin black: Thm 3 asymptote")
    ax_c.legend(fontsize=7)
    ax_d.set_xlabel("step t")
    ax_d.set_ylabel(r"angle$(w(t), \hat w)$ [rad]")
    ax_d.set_title("(d) angle to the SVM direction")
    ax_d.legend(fontsize=7)
    ax_e.set_xlabel("step t")
    ax_e.set_ylabel(r"$(\gamma - \min_i y_i x_i\cdot w/\|w\|)/\gamma$")
    ax_e.set_title("(e) normalized margin gap")
    ax_e.legend(fontsize=7)
    ax_f.set_xlabel("step t")
    ax_f.set_ylabel(r"$\|P_S(w(t) - \hat w \log(\eta t) - \tilde w)\|$")
    ax_f.set_title(r"(f) distance to the asymptote $\hat w \log(\eta t) + \tilde w$")
    ax_f.legend(fontsize=7)
    fig.suptitle(
        "GD from 0 (lr = 0.1, float64) on separable data: w(t) = w_hat log(lr t) + w_tilde + o(1) "
        "(Soudry et al. 2018, Thm 3)",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    logger.info("wrote %s", out)
    return refs


def cli(argv: list[str] | None = None) -> None:
    """The figure's command line (``--out`` and its own options)."""
    parser = figure_parser(__doc__, OUT)
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args(argv)
    main(args.out, args.steps)


if __name__ == "__main__":
    cli()
