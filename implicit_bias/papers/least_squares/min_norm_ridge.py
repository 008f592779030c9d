r"""The minimum-norm solution as the lambda -> 0 limit of ridge, drawn, with GD from 0 on it.

Sources: Yao's slides, line 51 ("Min norm solution is the limit for lambda -> 0 of regularized
solution") and lines 55-67 (n < d, full row rank, ``w_+ = X^T (X X^T)^{-1} y``); the lecture
notes, lines 51-56 ("the point we reach is the soln. to the regularized problem
min ||Ax - b||^2/2 + lambda ||x||^2 in the limit as lambda -> 0").

Ridge :math:`b(\lambda) = \arg\min \frac1n\|Xb - y\|^2 + \lambda\|b\|^2 =
V\,\mathrm{diag}(s_i/(s_i^2 + n\lambda))\,U^\top y` tends to :math:`X^+y` with
:math:`b(\lambda) - X^+y = -V\,\mathrm{diag}(n\lambda/(s_i(s_i^2 + n\lambda)))\,U^\top y`, i.e.
:math:`\|b(\lambda) - X^+y\| = \lambda\,\|n V \mathrm{diag}(s^{-3}) U^\top y\| + O(\lambda^2)`.
GD from 0 on :math:`\frac1n\|Xw - y\|^2` (the engine) stays in the row space and reaches the
same point; placed at the calibrated :math:`\lambda(k) = 1/(2\eta k)` of the slides, its
iterates follow the ridge path closely (the two filters agree to first order) and converge
exponentially once :math:`\eta k\,\kappa_{\min} \gg 1`.

(a) a toy problem (n = 1, d = 2) in the plane: the solution line, the ridge path from 0 to
    :math:`X^+y` (the foot of the perpendicular), GD's iterates on the row-space line;
(b) n = 20, d = 50 (noise sigma = 0.5): ridge coefficients against lambda (lines), the engine's
    GD iterates at lambda(k) (markers), :math:`X^+y` (scipy ``lstsq``) at the left edge;
(c) :math:`\|b(\lambda) - X^+y\|` and :math:`\|w_k - X^+y\|` against lambda, with the
    first-order law.

    python -m implicit_bias.papers.least_squares figures min_norm_ridge  # ~15 s
"""

from __future__ import annotations

import logging
from pathlib import Path

import jax
import numpy as np

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "min_norm_ridge.png"
DATA = dict(n=20, d=50, sigma=0.5, design_seed=1, target="min_norm")
ETA_KAPPA = 0.5


def run_engine(steps: int = 20000):
    """GD from 0 on the n = 20, d = 50 design (float64, one run). Returns (lr, ks, w, X, y)."""
    from implicit_bias.data.planted_regression import PlantedRegression
    from implicit_bias.engine import run_batch
    from implicit_bias.experiment import Experiment, SharpnessSpec
    from implicit_bias.inits.zero import Zero
    from implicit_bias.integrators.gd import GD
    from implicit_bias.models.linear import Linear
    from implicit_bias.schedule import Schedule

    jax.config.update("jax_enable_x64", True)
    data = PlantedRegression(**DATA)
    X0 = np.asarray(data.sample(jax.random.key(0), np.float64).X)
    lr = ETA_KAPPA / (2 * np.linalg.svd(X0, compute_uv=False)[0] ** 2 / X0.shape[0])
    exp = Experiment(
        model=Linear(input_dim=DATA["d"]),
        data=data,
        init=Zero(),
        integrator=GD(),
        sharpness=SharpnessSpec(method="none", track=False),
        record=Schedule(num=80, spacing="log", params=True),
        dtype="float64",
    )
    res = run_batch(exp, seed=0, init_scale=0.0, lr=lr, steps=steps)
    X, y = np.asarray(res.data.X[0]), np.asarray(res.data.y[0])
    return lr, np.asarray(res.times[0]), np.asarray(res.records["predictor"][0]), X, y


def main(out: Path = OUT) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import scipy.linalg

    from implicit_bias.theory import gd_least_squares, ridge_lambda_for_steps, ridge_path

    fig, (axa, axb, axc) = plt.subplots(1, 3, figsize=(17, 5.2))
    # (a) toy problem: one equation in R^2.
    x = np.array([[1.0, 2.0]])
    yy = np.array([2.0])
    w_plus = scipy.linalg.lstsq(x, yy)[0]
    t = np.linspace(-1.0, 2.5, 2)
    null = np.array([2.0, -1.0]) / np.sqrt(5)
    line = w_plus[None, :] + t[:, None] * null[None, :] * 2
    axa.plot(line[:, 0], line[:, 1], "k-", lw=1.2, label="solutions of x·w = y")
    lams = np.geomspace(1e-3, 1e2, 200)
    rp = ridge_path(x, yy, lams)
    axa.plot(rp[:, 0], rp[:, 1], "C0-", lw=2, label="ridge b(λ), λ from ∞ to 0")
    gd = gd_least_squares(x, yy, 0.05, np.arange(0, 40))
    axa.plot(gd[:, 0], gd[:, 1], "C1o", ms=3, label="GD from 0 (row-space line)")
    axa.plot(*w_plus, "k*", ms=12, label="$X^+y$ (min norm)")
    circle = np.linspace(0, 2 * np.pi, 200)
    r = np.linalg.norm(w_plus)
    axa.plot(r * np.cos(circle), r * np.sin(circle), "k:", lw=0.7, label="||w|| = ||X⁺y||")
    axa.set_aspect("equal")
    axa.set_xlim(-1.2, 2.5)
    axa.set_ylim(-1.2, 2.0)
    axa.legend(fontsize=7, loc="upper right")
    axa.set_title("(a) n = 1, d = 2: ridge and GD both end at the min-norm point", fontsize=10)
    axa.grid(alpha=0.3)
    # (b, c) n = 20, d = 50.
    lr, ks, w, X, y = run_engine()
    n = X.shape[0]
    w_plus = scipy.linalg.lstsq(X, y)[0]
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    lead = float(np.linalg.norm(n * Vt.T @ ((U.T @ y) / s**3)))
    lams = np.geomspace(1e-6, 1e3, 300)
    rp = ridge_path(X, y, lams)
    kk = ks[ks > 0]
    lam_k = ridge_lambda_for_steps(kk, lr)
    wk = w[ks > 0]
    for c, j in zip(("C0", "C1", "C2", "C3"), (0, 1, 2, 3), strict=True):
        axb.plot(lams, rp[:, j], "-", color=c, lw=1.3)
        axb.plot(lam_k, wk[:, j], "o", color=c, ms=3, mfc="none")
        axb.plot(lams[0] * 0.5, w_plus[j], "*", color=c, ms=10)
    axb.set_xscale("log")
    axb.set_xlabel("λ (GD: λ(k) = 1/(2ηk))")
    axb.set_ylabel("coefficients $w_1 … w_4$")
    axb.set_title("(b) ridge (—), engine GD at λ(k) (o), $X^+y$ (★, scipy lstsq)", fontsize=10)
    axb.grid(alpha=0.3)
    dist_r = np.linalg.norm(rp - w_plus, axis=1)
    dist_gd = np.linalg.norm(wk - w_plus, axis=1)
    axc.loglog(lams, dist_r, "C0-", lw=2, label="ridge: ||b(λ) − X⁺y||")
    axc.loglog(lams, lead * lams, "k--", lw=1, label=f"first order: {lead:.3g} λ")
    axc.loglog(
        lam_k, np.maximum(dist_gd, 1e-17), "C1o", ms=3, label="engine GD: ||w_k − X⁺y|| at λ(k)"
    )
    exact = gd_least_squares(X, y, lr, kk)
    err = float(np.abs(exact - wk).max())
    axc.set_ylim(1e-16, 1e2)
    axc.set_xlabel("λ")
    axc.set_title(
        f"(c) both → X⁺y: ridge linearly in λ, GD exponentially in k\n"
        f"(engine vs exact GD path: {err:.1e})",
        fontsize=10,
    )
    axc.legend(fontsize=8)
    axc.grid(alpha=0.3, which="both")
    fig.suptitle(
        "Min-norm least squares (n < d) as the λ → 0 limit of ridge (Yao's slides line 51; "
        "lecture notes lines 51-56)",
        fontsize=11,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    small = lams < 1e-4
    rel = float(np.abs(dist_r[small] / (lead * lams[small]) - 1).max())
    logger.info(
        "||b(lam) - X^+ y|| / (%.4g lam) - 1 <= %.1e for lam < 1e-4; GD final distance %.1e; "
        "engine vs exact GD %.1e; wrote %s",
        lead,
        rel,
        dist_gd[-1],
        err,
        out,
    )
    return {"first_order_error": rel, "gd_final": float(dist_gd[-1]), "engine_error": err}


def cli(argv: list[str] | None = None) -> None:
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
