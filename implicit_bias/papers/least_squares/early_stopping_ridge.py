r"""Early stopping vs ridge (Ali, Kolter & Tibshirani 2019): gradient flow on least squares
from 0, run by the engine, against ridge at the calibrated penalty ``lambda(t) = 1/(2t)``.

The preset ``+experiment=early_stopping_ridge`` (n = 100, d = 50, fixed design, beta0 on the
unit sphere, y = X beta0 + sigma eps with sigma = 1; Tsit5 at rtol 1e-10, float64), run for B
noise draws as one batch (the seed draws the noise). Panels:

(a) the coefficient paths: engine flow ``w(t)`` (solid) and ridge ``b(lambda(t))`` (dashed)
    for a few coordinates, one noise draw;
(b) the estimation risk ``E||b - beta0||^2`` (over the noise, X fixed) of both along t:
    exact (lines, :func:`implicit_bias.theory.ridge_gf_risk_ratio`) and Monte Carlo over
    the B engine flows and the ridge fits on the same draws (markers, +/- 2 standard errors);
(c) the risk ratio flow/ridge: exact for several noise levels (lines), Monte Carlo for the
    preset's (markers), and AKT's Theorem 1 bound 1.6862.

    python -m implicit_bias.papers.least_squares figures early_stopping_ridge
    # -> docs/figures/early_stopping_ridge.png
"""

import logging
import time
from pathlib import Path

import jax
import numpy as np

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "early_stopping_ridge.png"
NUM_DRAWS = 100
SIGMAS = (0.25, 1.0, 3.0)


def compose(overrides: tuple[str, ...] = ()):
    """The config of ``+experiment=early_stopping_ridge`` with overrides."""
    from implicit_bias.app.compose import compose

    return compose(["+experiment=early_stopping_ridge", *overrides])


def main(out: Path = OUT, num_draws: int = NUM_DRAWS) -> dict:
    """Make the figure; returns the measured maxima of the path error and of the ratios."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from implicit_bias.app.build import build_experiment
    from implicit_bias.engine import run_batch
    from implicit_bias.theory import (
        akt_risk_ratio_bound,
        gradient_flow_least_squares,
        ridge_gf_risk_ratio,
        ridge_lambda_for_time,
        ridge_path,
    )

    jax.config.update("jax_enable_x64", True)
    cfg = compose()
    exp = build_experiment(cfg)
    sigma = float(cfg.data.sigma)
    tic = time.perf_counter()
    res = run_batch(exp, seed=np.arange(num_draws), t1=cfg.t1)
    logger.info(
        "%d gradient flows, one run_batch call: %.1fs", num_draws, time.perf_counter() - tic
    )
    ts = np.asarray(res.times[0])
    X, beta0 = np.asarray(res.data.X[0]), np.asarray(res.data.w_star[0])
    paths = np.asarray(res.records["predictor"])  # (B, r, d)
    lam = ridge_lambda_for_time(ts)
    ridges = np.stack([ridge_path(X, np.asarray(res.data.y[b]), lam) for b in range(num_draws)])
    path_error = max(
        float(
            np.abs(paths[b] - gradient_flow_least_squares(X, np.asarray(res.data.y[b]), ts)).max()
        )
        for b in range(num_draws)
    )
    gf_err = np.sum((paths - beta0) ** 2, axis=-1)
    ridge_err = np.sum((ridges - beta0) ** 2, axis=-1)
    exact = ridge_gf_risk_ratio(X, beta0, sigma, ts)
    measured = gf_err.mean(0) / ridge_err.mean(0)
    bound = akt_risk_ratio_bound()
    pos = ts > 0
    stats = {
        "path_error_max": path_error,
        "exact_ratio_max": float(exact.ratio.max()),
        "measured_ratio_max": float(measured[pos].max()),
        "bound": bound,
    }
    logger.info(
        "max |engine - closed-form flow| = %.2e over %d draws x %d times; risk ratio: exact max "
        "%.4f at t = %.3g, Monte Carlo max %.4f; bound %.4f",
        path_error,
        num_draws,
        len(ts),
        stats["exact_ratio_max"],
        ts[np.argmax(exact.ratio)],
        stats["measured_ratio_max"],
        bound,
    )

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15.5, 4.4))
    coords = np.argsort(-np.abs(beta0))[:4]
    for j, c in enumerate(coords):
        ax1.plot(ts[pos], paths[0, pos, c], color=f"C{j}", label=f"flow, coordinate {c}")
        ax1.plot(ts[pos], ridges[0, pos, c], color=f"C{j}", ls="--")
        ax1.axhline(beta0[c], color=f"C{j}", ls=":", lw=0.8)
    ax1.set_xscale("log")
    ax1.set_xlabel("flow time t  (ridge at lambda = 1/(2t), dashed; beta0 dotted)")
    ax1.set_ylabel("coefficient")
    ax1.set_title("(a) coefficient paths, one noise draw")
    ax1.legend(fontsize=7)

    for err, risk, name, color in (
        (gf_err, exact.gf_risk, "gradient flow", "C3"),
        (ridge_err, exact.ridge_risk, "ridge, lambda = 1/(2t)", "C0"),
    ):
        se = err.std(0, ddof=1) / np.sqrt(num_draws)
        ax2.plot(ts[pos], risk[pos], color=color, label=f"{name} (exact)")
        ax2.errorbar(
            ts[pos][::3],
            err.mean(0)[pos][::3],
            2 * se[pos][::3],
            fmt="o",
            ms=3,
            color=color,
            label=f"{name} (engine, {num_draws} draws)",
        )
    ax2.set_xscale("log")
    ax2.set_xlabel("t")
    ax2.set_ylabel(r"$E\|\hat\beta - \beta_0\|^2$")
    ax2.set_title(f"(b) estimation risk, sigma = {sigma:g}")
    ax2.legend(fontsize=7)

    dense = np.logspace(-3, 3, 400)
    for k, s in enumerate(SIGMAS):
        r = ridge_gf_risk_ratio(X, beta0, s, dense)
        ax3.plot(dense, r.ratio, color=f"C{k + 4}", label=f"exact, sigma = {s:g}")
    ax3.plot(ts[pos], measured[pos], "o", ms=3, color="k", label=f"engine, sigma = {sigma:g}")
    ax3.axhline(bound, color="k", ls="--", lw=1, label=f"AKT Thm 1 bound (sup = {bound:.4f})")
    ax3.set_xscale("log")
    ax3.set_ylim(top=1.8)
    ax3.set_xlabel("t")
    ax3.set_ylabel("risk(flow, t) / risk(ridge, 1/(2t))")
    ax3.set_title("(c) risk ratio")
    ax3.legend(fontsize=7, loc="lower left")
    fig.suptitle(
        f"Early stopping vs ridge: least squares n = {X.shape[0]}, d = {X.shape[1]}, fixed design "
        f"(max |engine - exact flow| = {path_error:.1e})",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    logger.info("wrote %s", out)
    return stats


def cli(argv: list[str] | None = None) -> None:
    """The figure's command line (``--out`` and its own options)."""
    parser = figure_parser(__doc__, OUT)
    parser.add_argument("--draws", type=int, default=NUM_DRAWS)
    args = parser.parse_args(argv)
    main(args.out, args.draws)


if __name__ == "__main__":
    cli()
