r"""Vardi & Shamir (2021), Section 6 / Figure 2: one hidden neuron from w = 0, v = delta.

Paper text: the model and the initialization at lines 109-111, Lemma 6.1 (balancedness) at
lines 113-117, the experiment and Figure 2 at lines 120-129, Assumption 6.1 at lines 125-127.
The network :math:`v\,\mathrm{relu}(w\cdot x)` on the Theorem 4.1 data
(:math:`x = (3,-1,0), (4,2,0), (0,\gamma,\gamma)`, :math:`y = (16,18,0)`), trained from
``w = 0, v = delta`` (``init=neuron``). For ``v > 0``,
:math:`v\,\mathrm{relu}(w\cdot x) = \mathrm{relu}(u\cdot x)` with the effective neuron
:math:`u = v w`, so the zero-loss set in ``u`` is the single neuron's
:math:`M = \{(5,-1,t): t\le 1\}` for every ``gamma > 0``.

(a) Figure 2(a): GD trajectories of :math:`u(t) = v(t) w(t)` from ``delta = 1e-2`` (the paper
    runs GD with a small step; ours is ``lr = 1 / (16 sqrt(26) lam_max(M_gamma))``, a
    sixteenth of the stability limit at the end of training) in the :math:`(u_2, u_3)` plane,
    with the plane :math:`x_3\cdot u = 0` and M, as Figure 1(b).
(b) Figure 2(b): :math:`w_3(\infty)` against delta, by gradient flow (lines) and by GD
    (markers, ``gamma = 1``): as delta -> 0 it converges to a negative, gamma-dependent value
    (Assumption 6.1); ``gamma = 0`` gives exactly 0 (Corollary 6.2's first input).
(c) the effective :math:`u_3 = v w_3`, with the single-neuron limit of Theorem 4.1 (dotted).
(d) Lemma 6.1: the largest drift of :math:`v^2 - \|w\|^2` from :math:`\delta^2` along each
    flow (solver error).

Every run is checked to reach zero loss (final loss <= 1e-16 and gradient norm <= 1e-6,
:func:`~.experiments.reached_zero_loss`), as the paper checks "loss smaller
than" a threshold (line 127).

    python -m implicit_bias.papers.vardi_shamir figures fig2  # docs/figures/vardi_shamir_fig2.png
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser
from implicit_bias.papers.vardi_shamir import experiments as E
from implicit_bias.theory.relu_neuron import relu_counterexample_limit

logger = logging.getLogger(__name__)

GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0)
DELTAS = np.geomspace(1e-5, 10.0, 13)
#: The trajectories of panel (a) start from this delta; GD deltas of panel (b) (gamma = 1).
TRAJ_DELTA = 1e-2
GD_GAMMA = 1.0
GD_DELTAS = np.geomspace(1e-4, 1.0, 5)
OUT = DOCS_FIGURES / "vardi_shamir_fig2.png"


def gd_lr(gamma: float) -> float:
    """A sixteenth of the stability limit at the end of training: there
    :math:`v^2 \\approx \\|u\\| = \\sqrt{26}` multiplies the single neuron's Hessian ``M``, and
    the output weight adds at most as much again."""
    return 1.0 / (16.0 * np.sqrt(26.0) * E.lam_max(gamma))


@dataclasses.dataclass(frozen=True)
class Section6:
    """The runs behind Figure 2 (numpy arrays).

    Attributes:
        flow: gamma -> gradient-flow runs over :data:`DELTAS`.
        traj: gamma -> the GD run from :data:`TRAJ_DELTA` (panel a).
        gd: the GD runs at ``gamma = 1`` over :data:`GD_DELTAS`.
    """

    flow: dict[float, E.Runs]
    traj: dict[float, E.Runs]
    gd: E.Runs


def run_all(gammas=GAMMAS, deltas=DELTAS) -> Section6:
    flow, traj = {}, {}
    for g in gammas:
        data = E.counterexample(g)
        flow[g] = f = E.hidden_neuron_flow(data, deltas)
        lr = gd_lr(g)
        traj[g] = E.hidden_neuron_gd(data, [TRAJ_DELTA], lr, int(np.ceil(6.0 / lr)))
        u3 = f.v_final * f.w_final[:, 2]
        drift = np.abs(f.balancedness - np.asarray(deltas)[:, None] ** 2).max()
        logger.info(
            "gamma=%g: w3(inf) %.6f (delta=%g) -> %.9f (delta=%g); u3 -> %.9f (single neuron "
            "%.9f); max |v^2 - |w|^2 - delta^2| %.1e; all reached zero loss: %s",
            g,
            f.w_final[-1, 2],
            deltas[-1],
            f.w_final[0, 2],
            deltas[0],
            u3[0],
            relu_counterexample_limit(g).w_limit[2],
            drift,
            bool(f.reached.all() and traj[g].reached.all()),
        )
    lr = gd_lr(GD_GAMMA)
    gd = E.hidden_neuron_gd(E.counterexample(GD_GAMMA), GD_DELTAS, lr, int(np.ceil(8.0 / lr)))
    logger.info("GD, gamma = 1: w3(inf) = %s; reached: %s", gd.w_final[:, 2], gd.reached)
    return Section6(flow, traj, gd)


def main(out: Path = OUT, results: Section6 | None = None) -> Section6:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = results or run_all()
    gammas = list(res.flow)
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    (axa, axb), (axc, axd) = axes
    colors = dict(zip(gammas, plt.cm.viridis(np.linspace(0, 0.9, len(gammas))), strict=True))
    w2s = np.linspace(-1.2, 0.6, 2)
    axa.plot(w2s, -w2s, color="0.6", lw=6, alpha=0.35, label=r"$x_3\cdot u = 0$ (γ > 0)")
    axa.plot([-1, -1], [-0.5, 1.0], color="0.45", lw=3, label="M (zero loss)")
    for g, r in res.traj.items():
        u = r.v[0][:, None] * r.w[0]
        axa.plot(u[:, 1], u[:, 2], "-", color=colors[g], lw=1.4, label=f"γ = {g:g}")
        axa.plot(*(r.v_final[0] * r.w_final[0])[1:], "*", color=colors[g], ms=9)
    axa.set_xlim(-1.15, 0.8)
    axa.set_ylim(-0.5, 1.05)
    axa.set_xlabel("$u_2 = v w_2$")
    axa.set_ylabel("$u_3 = v w_3$")
    axa.set_title(f"(a) Fig. 2(a): GD from w = 0, v = δ = {TRAJ_DELTA:g}", fontsize=10)
    axa.legend(fontsize=7, ncol=2, loc="upper right")
    axa.grid(alpha=0.3)
    deltas = DELTAS[: len(next(iter(res.flow.values())).loss)]
    for g, f in res.flow.items():
        axb.plot(deltas, f.w_final[:, 2], "-", color=colors[g], lw=1.4, label=f"γ = {g:g}")
        axc.plot(deltas, f.v_final * f.w_final[:, 2], "-", color=colors[g], lw=1.4)
        axc.axhline(relu_counterexample_limit(g).w_limit[2], color=colors[g], ls=":", lw=1)
        drift = np.abs(f.balancedness - deltas[:, None] ** 2).max(axis=1)
        axd.plot(deltas, np.maximum(drift, 1e-17), "o-", color=colors[g], ms=3, label=f"γ = {g:g}")
    axb.plot(
        GD_DELTAS,
        res.gd.w_final[:, 2],
        "x",
        color=colors.get(GD_GAMMA, "C3"),
        ms=8,
        label=f"GD, γ = {GD_GAMMA:g}",
    )
    for ax in (axb, axc, axd):
        ax.set_xscale("log")
        ax.set_xlabel("δ = v(0)")
    axb.set_ylabel(r"$w_3(\infty)$")
    axb.set_title(r"(b) Fig. 2(b): $w_3(\infty)$ vs δ (flow —, GD ×)", fontsize=10)
    axb.legend(fontsize=7)
    axc.set_ylabel(r"$u_3(\infty) = v(\infty)\,w_3(\infty)$")
    axc.set_title("(c) the effective neuron (dotted: single neuron, Thm 4.1)", fontsize=10)
    axd.set_yscale("log")
    axd.set_ylabel(r"$\max_t\,|v^2 - \|w\|^2 - δ^2|$")
    axd.set_title("(d) Lemma 6.1: balancedness is conserved", fontsize=10)
    fig.suptitle(
        "Vardi & Shamir (2021), Section 6: f(x) = v relu(w·x) from w = 0, v = δ on the "
        "Theorem 4.1 data; every run reaches zero loss",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    logger.info("wrote %s", out)
    return res


def cli(argv: list[str] | None = None) -> None:
    """The figure's command line (``--out``)."""
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
