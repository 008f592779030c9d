r"""One ReLU convention everywhere: relu'(0) = 1 (Vardi & Shamir 2021, paper text line 46).

The same MLP (depth 3, width 16, no biases), the same data (``GaussianRegression``), the same
``init=zero_first`` (W1 = 0, the other layers N(0, 0.5^2)) and the same GD (lr 0.05, 2000
steps), four seeds, with three activations:

* ``relu`` of the project: relu'(0) = 1 (``models/_activations.py``), what ``model=mlp
  model.activation=relu`` now runs;
* JAX's ``jax.nn.relu``, relu'(0) = 0 (what it ran before): at W1 = 0 every hidden
  pre-activation is 0, the gradient is exactly 0 and the loss never moves;
* GELU, for reference.

(a) training loss along the steps; (b) the gradient norm at initialization. The flat runs of
JAX's convention stop with gradient exactly 0 far from the best loss: the engine reports them
``stationary`` (they never moved; ``tests/test_status.py``).

    python -m implicit_bias.papers.vardi_shamir figures relu_convention  # ~30 s
"""

from __future__ import annotations

import logging
from pathlib import Path

import jax
import numpy as np
from jaxtyping import Array, Float

from implicit_bias._types import Params
from implicit_bias.models.mlp import MLP
from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "relu_convention.png"
SEEDS = 4


class JaxReluMLP(MLP):
    """The same MLP with JAX's ``jax.nn.relu`` (derivative 0 at 0), for comparison only."""

    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        names = list(self.param_shapes())
        h = x
        for k in names[:-1]:
            h = jax.nn.relu(h @ params[k].T)
        return (h @ params[names[-1]].T)[:, 0]

    def apply_for_grad(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        return self.apply(params, x)


def run(model) -> dict[str, np.ndarray]:
    from implicit_bias.data.gaussian_regression import GaussianRegression
    from implicit_bias.engine import run_batch
    from implicit_bias.experiment import Experiment, SharpnessSpec
    from implicit_bias.inits.zero_first import ZeroFirst
    from implicit_bias.integrators.gd import GD
    from implicit_bias.schedule import Schedule

    exp = Experiment(
        model=model,
        data=GaussianRegression(),
        init=ZeroFirst(),
        integrator=GD(),
        sharpness=SharpnessSpec(method="none", track=False),
        record=Schedule(num=100, spacing="linear"),
        dtype="float32",
    )
    res = run_batch(exp, seed=np.arange(SEEDS), lr=0.05, steps=2000, init_scale=0.5)
    return {
        "steps": np.asarray(res.times[0]),
        "loss": np.asarray(res.records["train_loss"]),
        "grad0": np.asarray(res.initial["grad_norm"]),
        "status": np.asarray(res.status_names()),
    }


def main(out: Path = OUT) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kw = dict(input_dim=5, width=16, depth=3)
    runs = {
        "relu, relu'(0) = 1 (the project's)": run(MLP(activation="relu", **kw)),
        "jax.nn.relu, relu'(0) = 0": run(JaxReluMLP(activation="relu", **kw)),
        "gelu": run(MLP(activation="gelu", **kw)),
    }
    fig, (axa, axb) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [2, 1]})
    for c, (name, r) in zip(("C0", "C3", "C2"), runs.items(), strict=True):
        for i in range(SEEDS):
            axa.semilogy(r["steps"], r["loss"][i], color=c, lw=1.2, label=name if i == 0 else None)
        axb.plot(
            np.full(SEEDS, list(runs).index(name)),
            np.maximum(r["grad0"], 1e-12),
            "o",
            color=c,
            ms=7,
            mfc="none",
        )
        logger.info(
            "%s: loss %s -> %s; initial gradient norm %s; engine status %s",
            name,
            np.round(r["loss"][:, 0], 4),
            np.round(r["loss"][:, -1], 4),
            r["grad0"],
            list(r["status"]),
        )
    axa.set_xlabel("GD step")
    axa.set_ylabel("training loss")
    axa.set_title("(a) MLP (depth 3, width 16) from W1 = 0 (init=zero_first), 4 seeds", fontsize=10)
    axa.legend(fontsize=8)
    axa.grid(alpha=0.3, which="both")
    axb.set_yscale("log")
    axb.set_xticks(range(len(runs)), ["relu'(0) = 1", "relu'(0) = 0", "gelu"])
    axb.set_ylim(1e-13, 100)
    axb.annotate(
        "engine status: converged\n(issue 12)",
        (1, 1e-12),
        (1, 1e-9),
        ha="center",
        fontsize=8,
        arrowprops=dict(arrowstyle="->"),
    )
    axb.set_ylabel("gradient norm at initialization (0 drawn at 1e-12)")
    axb.set_title("(b) at W1 = 0 JAX's convention has gradient exactly 0", fontsize=10)
    axb.grid(alpha=0.3)
    fig.suptitle(
        "One ReLU convention everywhere: relu'(0) = 1 (Vardi & Shamir 2021, line 46)", fontsize=11
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    logger.info("wrote %s", out)
    return runs


def cli(argv: list[str] | None = None) -> None:
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
