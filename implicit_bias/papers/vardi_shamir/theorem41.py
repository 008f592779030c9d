r"""Vardi & Shamir (2021), Theorem 4.1 and Figure 1: one ReLU neuron from w = 0, over gamma.

Paper text (``vardi_shamir_2021_relu_square_loss.txt``): Theorem 4.1 at lines 50-64, its proof
sketch and Figure 1 at lines 66-76, the proof at lines 193-346. Gradient flow *and* gradient
descent (the paper's Figure 1 is "an empirical simulation" by GD, line 69) of
:math:`\frac13\sum_i(\mathrm{relu}(w\cdot x_i) - y_i)^2` on
:math:`x = (3,-1,0), (4,2,0), (0,\gamma,\gamma)`, :math:`y = (16,18,0)`, from ``w = 0``, for
``gamma`` in :data:`~.experiments.GAMMAS`, against the exact two-phase closed forms
(:func:`~implicit_bias.theory.relu_counterexample_limit` for the flow,
:func:`~implicit_bias.theory.relu_counterexample_gd` for GD) and the two independent asymptotes
(:func:`~implicit_bias.theory.relu_counterexample_small_gamma`,
:func:`~implicit_bias.theory.relu_counterexample_large_gamma`).

Two figures:

* ``vardi_shamir_fig1.png`` (the paper's Figure 1): (a) GD trajectories in 3-D with the plane
  :math:`x_3\cdot w = 0` and the line :math:`M = \{(5,-1,t): t\le 1\}` of zero-loss points;
  (b) the same in the :math:`(w_2, w_3)` plane, where the plane is the line
  :math:`w_3 = -w_2` and :math:`M` the half-line :math:`w_2 = -1, w_3 \le 1`, with the
  closed-form flow.
* ``vardi_shamir_theorem41.png`` (the theorem's cases): (a) :math:`w_3(\infty)` against gamma,
  engine (flow and GD) on the closed form, with both asymptotes; (b) the theorem's two ratios
  :math:`\|w(\infty)\|/\|w^\star\| - 1` and :math:`\|w(\infty) - w^\star\|/\|w^\star\|`,
  :math:`w^\star = (5,-1,0)`; (c) GD's limit against the flow's as the step shrinks.

    python -m implicit_bias.papers.vardi_shamir figures theorem41   # both PNGs, ~1.5 min
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser
from implicit_bias.papers.vardi_shamir import experiments as E
from implicit_bias.theory.relu_neuron import (
    MIN_NORM_ZERO_LOSS,
    min_norm_ratios,
    relu_counterexample_gd,
    relu_counterexample_large_gamma,
    relu_counterexample_limit,
    relu_counterexample_small_gamma,
)

logger = logging.getLogger(__name__)

OUT_FIG1 = DOCS_FIGURES / "vardi_shamir_fig1.png"
OUT_CASES = DOCS_FIGURES / "vardi_shamir_theorem41.png"
#: The gammas drawn in Figure 1 (all of GAMMAS would crowd it).
FIG1_GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0, 50.0)
#: The dimensionless GD step of Figure 1's trajectories.
FIG1_RHO = 0.125


@dataclasses.dataclass(frozen=True)
class GammaResult:
    """Engine and closed forms for one gamma.

    Attributes:
        gamma: the data parameter.
        flow: the gradient-flow run; gd: the GD runs (one per ``rho`` of ``rhos``).
        rhos, lrs: dimensionless and actual GD steps.
        w_flow_cf: the flow's closed-form limit; w_gd_cf: GD's, one per lr, shape (k, 3).
        crossing_time: the flow's t_c (inf for gamma = 0).
    """

    gamma: float
    flow: E.Runs
    gd: E.Runs
    rhos: np.ndarray
    lrs: np.ndarray
    w_flow_cf: np.ndarray
    w_gd_cf: np.ndarray
    crossing_time: float

    @property
    def w_flow(self) -> np.ndarray:
        return self.flow.w_final[0]

    def row(self) -> dict[str, float]:
        """The table row of the docs (flow engine; GD at the smallest step)."""
        ratio, rel = min_norm_ratios(self.w_flow)
        return {
            "gamma": self.gamma,
            "w3_flow": float(self.w_flow[2]),
            "w3_closed_form": float(self.w_flow_cf[2]),
            "flow_error": float(np.linalg.norm(self.w_flow - self.w_flow_cf)),
            "norm_ratio": ratio,
            "relative_distance": rel,
            "w3_gd": float(self.gd.w_final[-1, 2]),
            "rho_gd": float(self.rhos[-1]),
            "gd_error_vs_gd_closed_form": float(np.abs(self.gd.w_final - self.w_gd_cf).max()),
            "gd_minus_flow": float(self.gd.w_final[-1, 2] - self.w_flow_cf[2]),
            "crossing_time": self.crossing_time,
            "reached": bool(self.flow.reached.all() and self.gd.reached.all()),
        }


def run_gamma(gamma: float, rhos=E.RHOS) -> GammaResult:
    """Flow and GD (every rho in one batch) for one gamma: two compilations."""
    data = E.counterexample(gamma)
    flow = E.neuron_flow(data)
    lrs = E.gd_lrs(gamma, rhos)
    gd = E.neuron_gd(data, lrs)
    cf = relu_counterexample_limit(gamma)
    gd_cf = np.stack([relu_counterexample_gd(gamma, lr).w_limit for lr in lrs])
    return GammaResult(
        gamma=float(gamma),
        flow=flow,
        gd=gd,
        rhos=np.asarray(rhos, float),
        lrs=lrs,
        w_flow_cf=cf.w_limit,
        w_gd_cf=gd_cf,
        crossing_time=cf.crossing_time,
    )


def run_all(gammas=E.GAMMAS, rhos=E.RHOS) -> dict[float, GammaResult]:
    out = {}
    for g in gammas:
        out[float(g)] = r = run_gamma(g, rhos)
        row = r.row()
        logger.info(
            "gamma=%-4g w3: flow %.9f (closed form %.9f, |dw| %.1e), GD rho=%g %.6f (vs its "
            "closed form %.1e); ||w||/||w*|| = %.7f, ||w-w*||/||w*|| = %.6f; t_c = %.4f",
            g,
            row["w3_flow"],
            row["w3_closed_form"],
            row["flow_error"],
            row["rho_gd"],
            row["w3_gd"],
            row["gd_error_vs_gd_closed_form"],
            row["norm_ratio"],
            row["relative_distance"],
            row["crossing_time"],
        )
    return out


def _plane_and_m(ax3, ax2):
    """The plane x3 . w = 0 (w2 + w3 = 0) and the zero-loss line M in both panels."""
    # The plane w3 = -w2, clipped to the drawn box (w3 in [-0.45, 1]).
    w1, w2 = np.meshgrid(np.linspace(-0.2, 5.8, 2), np.linspace(-1.0, 0.45, 2))
    ax3.plot_surface(w1, w2, -w2, color="0.55", alpha=0.2, linewidth=0)
    t = np.linspace(-0.45, 1.0, 2)
    ax3.plot(5 + 0 * t, -1 + 0 * t, t, color="0.45", lw=3, label=r"$M = \{(5,-1,t): t\leq 1\}$")
    ax3.scatter([5], [-1], [1], color="0.45", s=12)
    w2s = np.linspace(-1.2, 0.6, 2)
    ax2.plot(
        w2s,
        -w2s,
        color="0.6",
        lw=6,
        alpha=0.35,
        label=r"plane $x_3\cdot w = 0$: $w_3 = -w_2$ (γ > 0)",
    )
    ax2.plot([-1, -1], [-0.45, 1.0], color="0.45", lw=3, label="M (zero loss)")
    ax2.plot([-1], [1], "o", color="0.45", ms=4)


def fig1(results: dict[float, GammaResult], out: Path = OUT_FIG1) -> None:
    import matplotlib.pyplot as plt

    gammas = [g for g in FIG1_GAMMAS if g in results]
    fig = plt.figure(figsize=(14, 6.0))
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    ax2 = fig.add_subplot(1, 2, 2)
    _plane_and_m(ax3, ax2)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(gammas)))
    for c, g in zip(colors, gammas, strict=True):
        r = results[g]
        k = int(np.flatnonzero(np.isclose(r.rhos, FIG1_RHO))[0])
        traj = r.gd.w[k]
        ax3.plot(*traj.T, color=c, lw=1.6, label=f"γ = {g:g}")
        ax3.scatter(*r.gd.w_final[k], color=c, s=18)
        t_c = r.crossing_time if np.isfinite(r.crossing_time) else 0.3  # gamma = 0: no crossing
        ts = np.concatenate([np.linspace(0, 3 * max(t_c, 0.3), 300), [40.0]])
        cf = relu_counterexample_limit(g, ts).trajectory
        ax2.plot(cf[:, 1], cf[:, 2], "-", color=c, lw=1, alpha=0.9)
        ax2.plot(traj[1::4, 1], traj[1::4, 2], "o", color=c, ms=3, mfc="none", label=f"γ = {g:g}")
        ax2.plot(*r.gd.w_final[k, 1:], "*", color=c, ms=9)
    ax3.scatter([0], [0], [0], color="k", s=20)
    ax3.text(0, 0, 0.08, "w(0) = 0", fontsize=8)
    ax3.text(5, -1, 1.05, "(5, −1, 1)", fontsize=8)
    ax3.view_init(elev=16, azim=-75)
    ax3.set_xlabel("$w_1$")
    ax3.set_ylabel("$w_2$")
    ax3.set_zlabel("$w_3$")
    ax3.set_zlim(-0.45, 1.0)
    ax3.set_title(f"(a) GD from w = 0 (lr = {FIG1_RHO:g} / λmax), the plane and M", fontsize=10)
    ax3.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, 0.95))
    ax2.set_xlim(-1.15, 0.6)
    ax2.set_ylim(-0.45, 1.05)
    ax2.set_xlabel("$w_2$")
    ax2.set_ylabel("$w_3$")
    ax2.set_title(
        "(b) the $(w_2, w_3)$ plane: GD (o, ★ limit), exact flow (—); phase 2 is horizontal",
        fontsize=10,
    )
    ax2.legend(fontsize=7, ncol=2, loc="upper right")
    ax2.grid(alpha=0.3)
    fig.suptitle(
        "Vardi & Shamir (2021), Figure 1: one ReLU neuron on x = (3,−1,0), (4,2,0), (0,γ,γ), "
        "y = (16,18,0); every limit is in M, the limit's $w_3$ depends on γ",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    logger.info("wrote %s", out)


def cases(results: dict[float, GammaResult], out: Path = OUT_CASES) -> None:
    import matplotlib.pyplot as plt

    a = relu_counterexample_small_gamma()
    w3_big = relu_counterexample_large_gamma()
    wstar = float(np.linalg.norm(MIN_NORM_ZERO_LOSS))
    fine = np.geomspace(0.05, 200.0, 160)
    w3_cf = np.array([relu_counterexample_limit(g).w_limit[2] for g in fine])
    pos = [g for g in results if g > 0]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 4.8))
    ax1.plot(fine, w3_cf, "k-", lw=1.2, label="exact flow (two phases)")
    ax1.plot(
        fine[fine < 1.5],
        -a * fine[fine < 1.5] ** 2,
        ":",
        color="C1",
        lw=2,
        label=f"γ → 0: $-{a:.5f}\\,γ^2$",
    )
    ax1.axhline(w3_big, color="C2", ls="--", lw=1.2, label=f"γ → ∞: {w3_big:.6f}")
    ax1.plot(
        pos,
        [results[g].w_flow[2] for g in pos],
        "o",
        color="C3",
        ms=7,
        mfc="none",
        label="engine, gradient flow",
    )
    ax1.plot(
        pos,
        [results[g].gd.w_final[-1, 2] for g in pos],
        "x",
        color="C0",
        ms=7,
        label=f"engine, GD (lr = {results[pos[0]].rhos[-1]:g}/λmax)",
    )
    ax1.set_xscale("log")
    ax1.set_xlabel("γ")
    ax1.set_ylabel(r"$w_3(\infty)$")
    ax1.set_title(r"(a) the limit $(5, -1, w_3)$; γ = 0 gives $w_3 = 0$ exactly", fontsize=10)
    ax1.legend(fontsize=8)
    rel = np.abs(w3_cf) / wstar
    ax2.loglog(fine, rel, "k-", lw=1.2, label=r"$\|w(\infty)-w^\star\|/\|w^\star\|$")
    ax2.loglog(
        fine,
        np.sqrt(1 + w3_cf**2 / wstar**2) - 1,
        "-",
        color="C4",
        lw=1.2,
        label=r"$\|w(\infty)\|/\|w^\star\| - 1$",
    )
    ax2.loglog(
        fine[fine < 1.5],
        a * fine[fine < 1.5] ** 2 / wstar,
        ":",
        color="C1",
        lw=2,
        label=r"$a γ^2/\|w^\star\|$, $a^2γ^4/(2\|w^\star\|^2)$",
    )
    ax2.loglog(
        fine[fine < 1.5], (a * fine[fine < 1.5] ** 2) ** 2 / (2 * wstar**2), ":", color="C1", lw=2
    )
    for g in pos:
        r, d = min_norm_ratios(results[g].w_flow)
        ax2.plot(g, d, "o", color="C3", ms=6, mfc="none")
        ax2.plot(g, r - 1, "s", color="C3", ms=5, mfc="none")
    ax2.axhline(abs(w3_big) / wstar, color="C2", ls="--", lw=1)
    ax2.set_xlabel("γ")
    ax2.set_title(r"(b) the theorem's ratios, $w^\star = (5,-1,0)$ (engine: o, □)", fontsize=10)
    ax2.legend(fontsize=8, loc="lower right")
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(pos)))
    for c, g in zip(colors, pos, strict=True):
        r = results[g]
        err = np.abs(r.gd.w_final[:, 2] - r.w_flow_cf[2])
        ax3.loglog(r.rhos, err, "o-", color=c, ms=4, label=f"γ = {g:g}")
    rh = np.array([E.RHOS[-1], E.RHOS[0]])
    ax3.loglog(rh, 0.2 * rh, "k--", lw=1, label="slope 1")
    ax3.set_xticks(list(E.RHOS), [f"{r:g}" for r in E.RHOS])
    ax3.minorticks_off()
    ax3.set_xlabel(r"ρ = lr · λmax($M_γ$)")
    ax3.set_ylabel(r"$|w_3^{GD}(\infty) - w_3^{flow}(\infty)|$")
    ax3.set_title("(c) GD's limit → the flow's, error ∝ lr (γ = 0: both exact)", fontsize=10)
    ax3.legend(fontsize=7, ncol=2)
    fig.suptitle(
        "Vardi & Shamir (2021), Theorem 4.1: the limit depends on γ although the zero-loss set "
        "{(5,−1,t): t ≤ 1} does not; γ = 0 gives the min-norm $w^\\star$",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)
    logger.info("wrote %s", out)


def main(out_fig1: Path = OUT_FIG1, out_cases: Path = OUT_CASES) -> dict[float, GammaResult]:
    import matplotlib

    matplotlib.use("Agg")
    results = run_all()
    fig1(results, out_fig1)
    cases(results, out_cases)
    return results


def cli(argv: list[str] | None = None) -> None:
    """The figures' command line (``--out`` is Figure 1; the cases figure goes next to it)."""
    parser = figure_parser(__doc__, OUT_FIG1)
    out = parser.parse_args(argv).out
    main(out, out.with_name(OUT_CASES.name))


if __name__ == "__main__":
    cli()
