r"""Early stopping of *discrete* GD against ridge: spectral filters, lambda(k), risk and rates.

Yao's slides (``yao_slides_implicit_regularization_gd.txt``), "Why early stopping?": the
regularization polynomials of GD, :math:`f_t = (I - (I - L_K)^t) f_\rho` (line 137), against
Tikhonov's :math:`f_\lambda = (L_K + \lambda)^{-1} L_K f_\rho` (line 135), their spectral
filters :math:`1 - (1 - \mu_i)^t` and :math:`\mu_i/(\mu_i + \lambda)` (lines 143-151), the
calibration :math:`\lambda \sim 1/t` (line 157) and the rates: Tikhonov's bias saturates at
:math:`O(\lambda^{\min(r, 1)})` while early stopping's is :math:`O(t^{-r})` (lines 159-174).

In the project's convention (:mod:`implicit_bias.theory.ridge`): GD on
:math:`\frac1n\|Xw - y\|^2` with step :math:`\eta` has filter
:math:`1 - (1 - \eta\kappa_i)^k`, :math:`\kappa_i = 2 s_i^2/n`; ridge
:math:`\arg\min \frac1n\|Xb - y\|^2 + \lambda\|b\|^2` has :math:`\kappa_i/(\kappa_i + 2\lambda)`;
the slides' :math:`\lambda \sim 1/t` is :math:`\lambda(k) = 1/(2\eta k)`.

Data: the ``early_stopping_ridge`` preset's fixed design (n = 100, d = 50, ``design_seed=0``,
:math:`y = X\beta_0 + \sigma\varepsilon`, sigma = 1). The engine runs plain GD from 0 (float64)
for four step sizes :math:`\eta\kappa_{\max} \in \{0.1, 0.5, 1, 1.9\}` in one batch, up to
:math:`t = \eta k = 10^3`; every recorded iterate is compared with the exact GD path
(:func:`~implicit_bias.theory.gd_least_squares`). Panels:

(a) the filters of GD (solid) and of ridge at :math:`\lambda(k)` (dashed) over the spectrum,
    at three times, for the smallest and the largest step;
(b) the exact estimation-risk ratio GD/ridge along :math:`t = \eta k` for each step, with the
    flow's ratio and Ali et al.'s bound 1.6862 for the flow;
(c) the rates: worst-case bias under the source condition :math:`f_\rho = L_K^r g` for
    :math:`r \in \{1/2, 1, 2\}` (closed forms, :func:`~implicit_bias.theory.source_condition_bias`);
(d) the engine's iterates of three coordinates (markers) on the exact GD path (lines) and the
    ridge path at :math:`\lambda(k)` (dashed), at the largest step.

    python -m implicit_bias.papers.least_squares figures early_stopping_gd  # ~30 s
"""

from __future__ import annotations

import logging
from pathlib import Path

import jax
import numpy as np

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "early_stopping_gd.png"
#: Step sizes as fractions of the stability limit: eta kappa_max (GD is stable below 2).
ETA_KAPPA = (0.1, 0.5, 1.0, 1.9)
T_MAX = 1e3


DATA = dict(n=100, d=50, sigma=1.0, design_seed=0, target="planted")


def run_engine(eta_kappa=ETA_KAPPA, t_max: float = T_MAX):
    """Plain GD from 0 for each step size (one batch, one compilation). Returns
    ``(lrs, steps (b, r), w (b, r, d), X, y, beta0)``."""
    from implicit_bias.data.planted_regression import PlantedRegression
    from implicit_bias.engine import run_batch
    from implicit_bias.experiment import Experiment, SharpnessSpec
    from implicit_bias.inits.zero import Zero
    from implicit_bias.integrators.gd import GD
    from implicit_bias.models.linear import Linear
    from implicit_bias.schedule import Schedule

    jax.config.update("jax_enable_x64", True)
    data = PlantedRegression(**DATA)
    # The design (and beta0) is fixed by design_seed; only its top singular value is needed
    # here, and the noise draw is the run's own (taken from the result below).
    X0 = np.asarray(data.sample(jax.random.key(0), np.float64).X)
    kappa_max = 2 * np.linalg.svd(X0, compute_uv=False)[0] ** 2 / X0.shape[0]
    lrs = np.asarray(eta_kappa) / kappa_max
    steps = np.ceil(t_max / lrs).astype(np.int64)
    exp = Experiment(
        model=Linear(input_dim=50),
        data=data,
        init=Zero(),
        integrator=GD(),
        sharpness=SharpnessSpec(method="none", track=False),
        record=Schedule(num=120, spacing="log", params=True),
        dtype="float64",
    )
    res = run_batch(exp, seed=0, init_scale=0.0, lr=lrs, steps=steps)
    X, y, beta0 = (np.asarray(a[0]) for a in (res.data.X, res.data.y, res.data.w_star))
    np.testing.assert_array_equal(X, X0)  # the design is the fixed one
    return lrs, np.asarray(res.times), np.asarray(res.records["predictor"]), X, y, beta0


def main(out: Path = OUT) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from implicit_bias.theory import (
        akt_risk_ratio_bound,
        gd_filter,
        gd_least_squares,
        gd_ridge_risk_ratio,
        ridge_filter,
        ridge_gf_risk_ratio,
        ridge_lambda_for_steps,
        ridge_path,
        source_condition_bias,
    )

    lrs, ks, w_engine, X, y, beta0 = run_engine()
    n = X.shape[0]
    s = np.linalg.svd(X, compute_uv=False)
    kappa = 2 * s**2 / n
    measured: dict = {"path_error": [], "max_ratio": {}}
    for i, lr in enumerate(lrs):
        k = ks[i]
        upto = k <= np.ceil(T_MAX / lr)
        exact = gd_least_squares(X, y, lr, k[upto])
        measured["path_error"].append(float(np.abs(w_engine[i][upto] - exact).max()))
    fig, axes = plt.subplots(2, 2, figsize=(13, 10))
    (axa, axb), (axc, axd) = axes
    kk = np.geomspace(kappa.min(), kappa.max(), 300)
    lr_lo, lr_hi = ETA_KAPPA[0] / kappa.max(), ETA_KAPPA[-1] / kappa.max()
    for c, k_hi in zip(("C0", "C1", "C2"), (1, 4, 40), strict=True):
        t = lr_hi * k_hi  # the same time eta k for both steps
        axa.plot(
            kk / kappa.max(),
            gd_filter(kk, lr_hi, [k_hi])[0],
            "-",
            color=c,
            lw=2,
            label=f"ηk = {t:.2g}: GD, ηκmax = {ETA_KAPPA[-1]:g} (k = {k_hi})",
        )
        k_lo = round(t / lr_lo)
        axa.plot(
            kk / kappa.max(),
            gd_filter(kk, lr_lo, [k_lo])[0],
            "-",
            color=c,
            lw=0.8,
            label=f"ηk = {t:.2g}: GD, ηκmax = {ETA_KAPPA[0]:g} (k = {k_lo})",
        )
        axa.plot(
            kk / kappa.max(),
            ridge_filter(kk, ridge_lambda_for_steps([k_hi], lr_hi))[0],
            "--",
            color=c,
            lw=1.2,
            label=f"ηk = {t:.2g}: ridge, λ = 1/(2ηk)",
        )
    axa.axhline(1.0, color="k", lw=0.6)
    axa.set_xscale("log")
    axa.set_xlabel(r"$\kappa/\kappa_{\max}$ (spectrum of the Hessian $2X^\top X/n$)")
    axa.set_ylabel("filter")
    axa.set_title(
        r"(a) filters $1-(1-\eta\kappa)^k$ (—) vs $\kappa/(\kappa+2\lambda)$ (--);"
        "\nnear ηκ = 2 GD overshoots (> 1) and oscillates in k",
        fontsize=10,
    )
    axa.legend(fontsize=7, loc="upper left")
    axa.grid(alpha=0.3)
    ts = np.geomspace(1e-3, T_MAX, 400)
    flow = ridge_gf_risk_ratio(X, beta0, 1.0, ts)
    axb.plot(ts, flow.ratio, "k-", lw=2.5, alpha=0.4, label="gradient flow (η → 0)")
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(lrs)))
    for c, eta_k, lr in zip(colors, ETA_KAPPA, lrs, strict=True):
        k = np.unique(np.ceil(np.geomspace(1, T_MAX / lr, 400)))
        cmp = gd_ridge_risk_ratio(X, beta0, 1.0, lr, k)
        measured["max_ratio"][eta_k] = float(cmp.ratio.max())
        axb.plot(lr * k, cmp.ratio, "-", color=c, lw=1.3, label=f"GD, ηκmax = {eta_k:g}")
    bound = akt_risk_ratio_bound()
    axb.axhline(bound, color="C3", ls="--", lw=1, label=f"flow bound {bound:.4f} (AKT 2019)")
    axb.set_xscale("log")
    axb.set_xlabel(r"$t = \eta k$")
    axb.set_ylabel(r"$R(\mathrm{GD}_k)\,/\,R(\mathrm{ridge}(1/(2\eta k)))$")
    axb.set_title("(b) exact estimation-risk ratio along k (n = 100, d = 50, σ = 1)", fontsize=10)
    axb.legend(fontsize=7)
    axb.grid(alpha=0.3)
    tt = np.geomspace(1.0, 1e4, 200)
    for c, r in zip(("C0", "C1", "C2"), (0.5, 1.0, 2.0), strict=True):
        axc.loglog(
            tt, source_condition_bias("gd", r, tt), "-", color=c, label=f"GD, r = {r:g}: ~ t^-{r:g}"
        )
        axc.loglog(
            tt,
            source_condition_bias("ridge", r, tt),
            "--",
            color=c,
            label=f"ridge, r = {r:g}: ~ λ^{min(r, 1):g}",
        )
    axc.set_xlabel(r"$t$ (GD iterations) $= 1/\lambda$ (ridge)")
    axc.set_ylabel(r"$\sup_{\mu\in(0,1]}|1-\phi(\mu)|\,\mu^r$")
    axc.set_title(
        "(c) rates under $f_\\rho = L_K^r g$: ridge saturates at r = 1, GD does not", fontsize=10
    )
    axc.legend(fontsize=7, ncol=2)
    axc.grid(alpha=0.3, which="both")
    i = len(lrs) - 1
    lr, k = lrs[i], ks[i]
    upto = k <= np.ceil(T_MAX / lr)
    kd = np.arange(0, min(int(k[upto].max()), 4000) + 1)
    exact = gd_least_squares(X, y, lr, kd)
    ridge = ridge_path(X, y, ridge_lambda_for_steps(np.maximum(kd, 1), lr))
    for c, j in zip(("C0", "C1", "C2"), (0, 1, 2), strict=True):
        axd.plot(np.maximum(kd, 0.7), exact[:, j], "-", color=c, lw=1)
        axd.plot(np.maximum(kd, 1), ridge[:, j], "--", color=c, lw=1)
        axd.plot(
            np.maximum(k[upto], 0.7),
            w_engine[i][upto][:, j],
            "o",
            color=c,
            ms=3,
            mfc="none",
            label=f"$w_{j + 1}$",
        )
    axd.set_xscale("log")
    axd.set_xlim(0.6, kd.max())
    axd.set_xlabel("step k")
    axd.set_title(
        f"(d) engine GD (o) on the exact path (—), ridge at λ(k) (--), ηκmax = {ETA_KAPPA[i]:g}\n"
        f"max |engine − exact| over every step size: {max(measured['path_error']):.1e}",
        fontsize=10,
    )
    axd.legend(fontsize=8)
    axd.grid(alpha=0.3)
    fig.suptitle(
        "Yao's slides, 'Why early stopping?': discrete GD from 0 against ridge at λ ~ 1/(ηk)",
        fontsize=11,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    logger.info(
        "engine vs exact GD path: max %s; max risk ratio by eta kappa_max: %s (flow: %.4f); "
        "wrote %s",
        ", ".join(f"{e:.1e}" for e in measured["path_error"]),
        {k: round(v, 4) for k, v in measured["max_ratio"].items()},
        float(flow.ratio.max()),
        out,
    )
    measured["flow_max_ratio"] = float(flow.ratio.max())
    return measured


def cli(argv: list[str] | None = None) -> None:
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
