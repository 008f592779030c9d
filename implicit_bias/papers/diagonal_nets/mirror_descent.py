"""Mirror descent follows the reparametrized gradient flow of a diagonal network.

    python -m implicit_bias.papers.diagonal_nets figures mirror_descent

Gradient flow on ``beta = u*u - v*v`` from ``u(0) = v(0) = alpha`` satisfies
``d/dt arcsinh(beta / (2 alpha^2)) = -4 grad L(beta)``: the mirror flow of the hyperbolic
entropy with ``beta_scale = 2 alpha^2``, four times faster (Woodworth et al. 2020; Ghai et al.
2020). Mirror descent with step ``lr`` (an explicit Euler step of that mirror flow) therefore
tracks the flow at time ``k lr / 4`` with an O(lr) error; likewise ``x = u*u`` and the entropy.
Panel (a): the largest deviation along the path against lr (slope 1 = first order); panel (b):
a few coordinates of both paths. Every path is one ``run_batch`` call (float64).
"""

import logging
import time

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from implicit_bias.data import SparseRegression
from implicit_bias.engine import run_batch
from implicit_bias.experiment import Experiment, SharpnessSpec
from implicit_bias.inits import Constant, Zero
from implicit_bias.integrators import GradientFlow, MirrorDescent
from implicit_bias.models import Diagonal, Linear
from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser
from implicit_bias.schedule import Schedule

logger = logging.getLogger(__name__)
OUT = DOCS_FIGURES / "mirror_descent.png"
D, ALPHA, T_MIRROR = 40, 0.1, 60.0
LRS = (3e-2, 1e-2, 3e-3, 1e-3)
POTENTIALS = {"entropy": "nonnegative", "hyperbolic_entropy": "signed"}


def _record() -> Schedule:
    return Schedule(num=100, params=True)


def paths(potential: str) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """The flow's path (at u-time k lr / 4) and mirror descent's path for each lr."""
    nonneg = potential == "entropy"
    data = SparseRegression(nonnegative=nonneg)
    flow = Experiment(
        model=Diagonal(input_dim=D, parametrization=POTENTIALS[potential]),
        data=data,
        init=Constant(),
        integrator=GradientFlow(rtol=1e-10, atol=1e-12, max_steps=200_000),
        sharpness=SharpnessSpec(method="none"),
        record=_record(),
        dtype="float64",
    )
    ref = np.asarray(run_batch(flow, init_scale=ALPHA, t1=T_MIRROR / 4).records["predictor"][0])
    md = Experiment(
        model=Linear(input_dim=D),
        data=data,
        init=Constant() if nonneg else Zero(),
        integrator=MirrorDescent(potential, beta_scale=2 * ALPHA**2),
        sharpness=SharpnessSpec(method="none"),
        record=_record(),
        dtype="float64",
    )
    x0 = ALPHA**2 if nonneg else 0.0
    out = {}
    for lr in LRS:
        run = run_batch(md, init_scale=x0, lr=lr, steps=round(T_MIRROR / lr))
        out[lr] = np.asarray(run.records["predictor"][0])
    return ref, out


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    jax.config.update("jax_enable_x64", True)
    t0 = time.perf_counter()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for potential, color in zip(POTENTIALS, ("C0", "C3"), strict=True):
        ref, md = paths(potential)
        devs = [np.max(np.abs(md[lr] - ref)) for lr in LRS]
        slope = np.polyfit(np.log(LRS), np.log(devs), 1)[0]
        logger.info(
            "%s: max deviation %s at lr %s (log-log slope %.3f)", potential, devs, LRS, slope
        )
        axes[0].loglog(LRS, devs, "o-", color=color, label=f"{potential} (slope {slope:.2f})")
        ax = axes[1] if potential == "entropy" else axes[2]
        t = np.linspace(0, T_MIRROR / 4, ref.shape[0])
        top = np.argsort(-np.abs(ref[-1]))[:4]
        for j in top:
            ax.plot(t, ref[:, j], color="k", lw=1)
            ax.plot(t, md[LRS[0]][:, j], "--", color=color, lw=1)
        ax.set_title(
            f"({'b' if potential == 'entropy' else 'c'}) {potential}: flow (black),\n"
            f"mirror descent lr={LRS[0]} (dashed)"
        )
        ax.set_xlabel("u-flow time t = k lr / 4")
        ax.set_ylabel("largest coordinates")
    axes[0].loglog(LRS, np.asarray(LRS) * 0.05, "k:", label="slope 1")
    axes[0].set_xlabel("mirror descent step lr")
    axes[0].set_ylabel("max_k ||w_k - w_flow(k lr / 4)||_inf")
    axes[0].set_title("(a) first-order agreement with the flow")
    axes[0].legend()
    fig.suptitle(
        f"Mirror descent vs diagonal-network gradient flow (alpha={ALPHA}, "
        "beta_scale = 2 alpha^2, time factor 4)"
    )
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=120)
    logger.info("wrote %s in %.1fs", OUT, time.perf_counter() - t0)


def cli(argv: list[str] | None = None) -> None:
    """The figure's command line (``--out`` and its own options)."""
    figure_parser(__doc__, OUT).parse_args(argv)
    main()


if __name__ == "__main__":
    cli()
