r"""Vardi & Shamir (2021), Theorem 4.1 / Figure 1: one ReLU neuron from w = 0, over gamma.

Gradient flow of :math:`\frac13\sum_i(\mathrm{relu}(w\cdot x_i) - y_i)^2` on
:math:`x = (3,-1,0), (4,2,0), (0,\gamma,\gamma)`, :math:`y = (16, 18, 0)` from ``w = 0``
(with :math:`\mathrm{relu}'(0) = 1`), run by the engine (Tsit5, float64, rtol 1e-10) and compared
with the exact two-phase closed form
(:func:`implicit_bias.theory.relu_counterexample_limit`):

(a) 3-D trajectories for several gamma and the zero-loss half-line {(5, -1, t), t <= 1};
(b) w3(t): engine (markers) vs closed form (lines), with the crossing times t_c;
(c) the limit w3(gamma): engine (markers) vs closed form (curve).

    python -m implicit_bias.papers.vardi_shamir figures fig1  # docs/figures/vardi_shamir_fig1.png
"""

import logging
from pathlib import Path

import jax
import numpy as np

from implicit_bias.data.relu_counterexample import ReluCounterexample
from implicit_bias.engine import run_batch
from implicit_bias.experiment import Experiment, SharpnessSpec
from implicit_bias.inits.zero import Zero
from implicit_bias.integrators.gradient_flow import GradientFlow
from implicit_bias.models.relu_neuron import ReLUNeuron
from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser
from implicit_bias.schedule import Schedule
from implicit_bias.theory import relu_counterexample_limit

logger = logging.getLogger(__name__)

GAMMAS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
OUT = DOCS_FIGURES / "vardi_shamir_fig1.png"


def run_gamma(gamma: float, t1: float = 20.0):
    """The engine's trajectory (times, w(t)) and limit for one gamma (one compilation)."""
    exp = Experiment(
        model=ReLUNeuron(input_dim=3),
        data=ReluCounterexample(gamma=gamma),
        init=Zero(),
        integrator=GradientFlow(rtol=1e-10, atol=1e-12),
        sharpness=SharpnessSpec(method="none"),
        record=Schedule(num=300, spacing="log", log_min=1e-5, params=True),
        dtype="float64",
    )
    run = run_batch(exp, t1=t1)[0]
    return np.asarray(run.times), np.asarray(run.records["param_w"]), np.asarray(run.params["w"])


def main(out: Path = OUT) -> dict[float, float]:
    """Make the figure; returns gamma -> |w3_engine - w3_closed_form|."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    jax.config.update("jax_enable_x64", True)
    runs = {g: run_gamma(g) for g in GAMMAS}
    errors = {}
    fig = plt.figure(figsize=(15, 4.6))
    ax3 = fig.add_subplot(1, 3, 1, projection="3d")
    axt = fig.add_subplot(1, 3, 2)
    axg = fig.add_subplot(1, 3, 3)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(GAMMAS)))
    for c, (g, (ts, traj, w_inf)) in zip(colors, runs.items(), strict=True):
        sol = relu_counterexample_limit(g, ts)
        errors[g] = float(abs(w_inf[2] - sol.w_limit[2]))
        traj_err = float(np.abs(traj - sol.trajectory).max())
        logger.info(
            "gamma=%-5g w_inf=(%.9f, %.9f, %.9f)  closed form w3=%.9f  |dw3|=%.1e  "
            "max_t |w(t) - w_cf(t)|=%.1e  t_c=%.4f",
            g,
            *w_inf,
            sol.w_limit[2],
            errors[g],
            traj_err,
            sol.crossing_time,
        )
        ax3.plot(*traj.T, color=c)
        ax3.scatter(*w_inf, color=c, s=15)
        dense = np.concatenate([np.linspace(0, 2 * sol.crossing_time, 400), [ts[-1]]])
        dense_sol = relu_counterexample_limit(g, np.sort(np.concatenate([dense, ts])))
        axt.plot(dense_sol.ts[1:], dense_sol.trajectory[1:, 2], color=c, lw=1, label=f"γ={g:g}")
        axt.plot(ts[1::6], traj[1::6, 2], "o", color=c, ms=3, mfc="none")
        axt.axvline(sol.crossing_time, color=c, lw=0.5, ls=":")
    t = np.linspace(-0.3, 0.1, 2)  # a piece of the zero-loss half-line
    ax3.plot(5 + 0 * t, -1 + 0 * t, t, "k--", lw=1.5, label="zero loss {(5, -1, t): t ≤ 1}")
    ax3.view_init(elev=18, azim=-50)
    ax3.set_xlabel("$w_1$")
    ax3.set_ylabel("$w_2$")
    ax3.set_zlabel("$w_3$")
    ax3.set_title("(a) gradient flow from w = 0")
    ax3.legend(fontsize=8, loc="upper left")
    axt.set_xscale("log")
    axt.set_xlim(1e-3, 20.0)
    axt.legend(fontsize=8, loc="lower left")
    axt.set_xlabel("time t")
    axt.set_ylabel("$w_3(t)$")
    axt.set_title("(b) $w_3(t)$: engine (o) vs closed form (—); $t_c$ dotted")
    fine = np.geomspace(0.05, 20.0, 200)
    w3_cf = [relu_counterexample_limit(g).w_limit[2] for g in fine]
    axg.plot(fine, w3_cf, "k-", label="closed form")
    axg.plot(list(runs), [r[2][2] for r in runs.values()], "o", color="C3", label="engine")
    axg.set_xscale("log")
    axg.set_xlabel("γ")
    axg.set_ylabel(r"$w_3(\infty)$")
    axg.set_title(r"(c) the limit $(5, -1, w_3(γ))$")
    axg.legend()
    fig.suptitle(
        "Vardi & Shamir (2021), Thm 4.1: same zero-loss set for every γ, "
        f"different limits (engine vs closed form: max |Δw3| = {max(errors.values()):.1e})",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    logger.info("wrote %s", out)
    return errors


def cli(argv: list[str] | None = None) -> None:
    """The figure's command line (``--out`` and its own options)."""
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
