r"""Vardi & Shamir (2021), Section 6 / Figure 2: one hidden neuron from w = 0, v = delta.

Gradient flow of :math:`\frac13\sum_i(v\,\mathrm{relu}(w\cdot x_i) - y_i)^2` on the Theorem 4.1
data (:math:`x = (3,-1,0), (4,2,0), (0,\gamma,\gamma)`, :math:`y = (16,18,0)`) from
``w = 0, v = delta`` (``init=neuron``), for shrinking delta; all deltas of one gamma are one
batched, compiled program. The flow conserves :math:`v^2 - \|w\|^2 = \delta^2` (Du et al. 2018).

(a) the limit :math:`w_3(\infty)` against delta, one curve per gamma: as delta -> 0 it
    converges to a gamma-dependent value, although the interpolating set of the effective
    neuron :math:`u = v w` is the same for every gamma;
(b) the effective neuron's :math:`u_3 = v\,w_3` against delta, with the single-neuron limit
    :math:`w_3(\gamma)` of Theorem 4.1 (dotted) for comparison;
(c) the largest drift of :math:`v^2 - \|w\|^2` along the trajectory (solver error).

    python -m implicit_bias.papers.vardi_shamir figures fig2  # docs/figures/vardi_shamir_fig2.png
"""

import logging
from pathlib import Path

import jax
import numpy as np

from implicit_bias.data.relu_counterexample import ReluCounterexample
from implicit_bias.engine import run_batch
from implicit_bias.experiment import Experiment, SharpnessSpec
from implicit_bias.inits.neuron import Neuron
from implicit_bias.integrators.gradient_flow import GradientFlow
from implicit_bias.models.one_hidden_neuron import OneHiddenNeuron
from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser
from implicit_bias.schedule import Schedule
from implicit_bias.theory import relu_counterexample_limit

logger = logging.getLogger(__name__)

GAMMAS = (0.5, 1.0, 2.0, 4.0)
DELTAS = np.geomspace(1e-5, 10.0, 13)
OUT = DOCS_FIGURES / "vardi_shamir_fig2.png"


def run_gamma(gamma: float, deltas: np.ndarray = DELTAS, t1: float = 100.0):
    """Final (w, v) and the max balancedness drift, for each delta (one compilation)."""
    exp = Experiment(
        model=OneHiddenNeuron(input_dim=3),
        data=ReluCounterexample(gamma=gamma),
        init=Neuron(),
        integrator=GradientFlow(rtol=1e-10, atol=1e-12),
        sharpness=SharpnessSpec(method="none"),
        record=Schedule(num=100, spacing="log", log_min=1e-5),
        dtype="float64",
    )
    res = run_batch(exp, init_scale=deltas, t1=t1)
    bal = np.asarray(res.records["balancedness"])
    drift = np.abs(bal - deltas[:, None] ** 2).max(axis=1)
    loss = np.asarray(res.final["train_loss"])
    return np.asarray(res.params["w"]), np.asarray(res.params["v"]), drift, loss


def main(out: Path = OUT) -> dict[float, np.ndarray]:
    """Make the figure; returns gamma -> w3(inf) for each delta."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    jax.config.update("jax_enable_x64", True)
    fig, (axw, axu, axb) = plt.subplots(1, 3, figsize=(15, 4.3))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(GAMMAS)))
    w3s = {}
    for c, g in zip(colors, GAMMAS, strict=True):
        w, v, drift, loss = run_gamma(g)
        w3s[g] = w[:, 2]
        u3 = v * w[:, 2]
        single = relu_counterexample_limit(g).w_limit[2]
        logger.info(
            "gamma=%g: w3(inf) from %.6f (delta=%g) to %.9f (delta=%g); u3 = v w3 -> %.9f "
            "(single neuron %.9f); max drift of v^2-|w|^2 %.1e; max final loss %.1e",
            g,
            w3s[g][-1],
            DELTAS[-1],
            w3s[g][0],
            DELTAS[0],
            u3[0],
            single,
            drift.max(),
            loss.max(),
        )
        axw.plot(DELTAS, w3s[g], "o-", color=c, ms=4, label=f"γ={g:g}")
        axu.plot(DELTAS, u3, "o-", color=c, ms=4, label=f"γ={g:g}")
        axu.axhline(single, color=c, ls=":", lw=1)
        axb.plot(DELTAS, drift, "o-", color=c, ms=4, label=f"γ={g:g}")
    for ax in (axw, axu, axb):
        ax.set_xscale("log")
        ax.set_xlabel("δ = v(0)")
    axw.set_ylabel(r"$w_3(\infty)$")
    axw.set_title(r"(a) one hidden neuron: $w_3(\infty)$ vs δ")
    axw.legend(fontsize=8)
    axu.set_ylabel(r"$v(\infty)\,w_3(\infty)$")
    axu.set_title("(b) $u = v w$ (dotted: single neuron, Thm 4.1)")
    axb.set_yscale("log")
    axb.set_ylabel(r"$\max_t |v^2 - \|w\|^2 - δ^2|$")
    axb.set_title("(c) drift of the conserved balancedness")
    fig.suptitle("Vardi & Shamir (2021), Sec. 6: gradient flow from w = 0, v = δ", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    logger.info("wrote %s", out)
    return w3s


def cli(argv: list[str] | None = None) -> None:
    """The figure's command line (``--out`` and its own options)."""
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
