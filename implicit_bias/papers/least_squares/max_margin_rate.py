r"""The max-margin *rate*: ``||w(t)|| / log t``, the ``log log t`` correction and ``t * loss(t)``.

Sources: Yao's slides, Theorem 3 (lines 436-449: ``w(t) = w_hat log t + rho(t)``,
``||rho(t)|| = O(log log t)``, "for almost all data sets ... bounded"), line 285 ("the
convergence is very slow and only logarithmic in the convergence of the loss itself"), line
480 ("2-norm grows ~ log t"), line 486 ("the training loss decays as t^-1"); the lecture notes,
line 391 (``a(t) ~ a* log t + O(log log t)``).

GD from 0 on the mean exponential loss, :math:`\frac1n\sum_i e^{-z_i\cdot w}`,
:math:`z_i = y_i x_i`, in the clock :math:`\tau = \eta k`. Writing
:math:`\hat w = \sum_s \alpha_s z_s` (the SVM dual, :math:`\hat w\cdot z_s = 1` on the support
vectors) and substituting :math:`w = \hat w\log\tau + \tilde w`:

* :math:`\|w(\tau)\|/\log\tau \to \|\hat w\|`, at rate :math:`O(1/\log\tau)`;
* :math:`\tau\,L(\tau) \to \frac1n\sum_s e^{-z_s\cdot\tilde w} = \sum_s\alpha_s =
  \|\hat w\|^2` (from :math:`\hat w\cdot\hat w = \sum_s \alpha_s \hat w\cdot z_s`): the
  loss decays like :math:`\|\hat w\|^2/\tau`;
* :math:`\rho = w - \hat w\log\tau` stays bounded when every support vector has
  :math:`\alpha_s > 0` (almost every data set), and grows like :math:`\log\log\tau` when a
  support vector sits on the margin with :math:`\alpha_s = 0`.

Three data sets: Soudry et al.'s Fig. 1 data (``layout=soudry``), a generic Gaussian one
(``layout=gaussian``, seed 5) and a **degenerate** one, :math:`z \in \{(1,0), (1,1)\}` (each
twice, with its mirror image of label -1), where :math:`\hat w = (1,0)` and the second support
vector has :math:`\alpha = 0`. There the flow is solvable asymptotically:
:math:`\dot w_2 = \frac12 e^{-w_1 - w_2}`, :math:`\frac{d}{d\tau}e^{w_1} = \frac12(1 +
e^{-w_2})`, so :math:`e^{w_1} = \frac\tau2(1 + 1/\log\tau + \dots)` and
:math:`e^{w_2} = \log\tau - \log\log\tau + C + o(1)`: :math:`\rho_2 = w_2 = \log\log\tau
- (\log\log\tau - C)/\log\tau + \dots`, the :math:`\log\log\tau` correction (slope 1 against
:math:`\log\log\tau`).

Panels: (a) :math:`\|w\|/(\|\hat w\|\log\tau)`; (b) :math:`\|\rho(\tau)\|` against
:math:`\log\log\tau`; (c) the degenerate set's :math:`e^{w_2} - \log\tau`; (d)
:math:`\tau L(\tau)/\|\hat w\|^2`.

    python -m implicit_bias.papers.least_squares figures max_margin_rate  # ~30 s
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from implicit_bias.data._dataset import AbstractData, Dataset
from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "max_margin_rate.png"
LR = 0.1
STEPS = 10_000_000


class Degenerate(AbstractData):
    """z = (1, 0) and (1, 1) with label +1 and their negatives with label -1 (each z twice):
    both are support vectors of ``w_hat = (1, 0)``, the second with dual variable 0."""

    task: ClassVar[str] = "classification"

    @property
    def input_dim(self) -> int:
        return 2

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        del key
        X = jnp.array([[1.0, 0.0], [1.0, 1.0], [-1.0, 0.0], [-1.0, -1.0]], dtype)
        y = jnp.array([1.0, 1.0, -1.0, -1.0], dtype)
        return Dataset(X, y)


def datasets() -> dict[str, tuple[AbstractData, int]]:
    """name -> (data, seed)."""
    from implicit_bias.data.separable import Separable

    return {
        "Soudry et al. data": (Separable(layout="soudry", n_pos=6, n_neg=6), 0),
        "Gaussian data (seed 5)": (Separable(layout="gaussian", n_pos=20, n_neg=10), 5),
        "degenerate data (α = 0 on the margin)": (Degenerate(), 0),
    }


@dataclasses.dataclass(frozen=True)
class Rate:
    """One GD run and its asymptotic quantities (numpy).

    Attributes:
        tau: ``lr * k`` at the record points (k >= 1).
        w: the iterates, shape (r, 2); loss: the training loss.
        w_hat: the SVM; alpha: its dual variables (one per sample).
        w_tilde: Theorem 3's limit of ``rho`` (``None`` unless every support vector has a
            positive dual variable and they are linearly independent).
    """

    tau: np.ndarray
    w: np.ndarray
    loss: np.ndarray
    w_hat: np.ndarray
    alpha: np.ndarray
    w_tilde: np.ndarray | None

    @property
    def norm_over_log(self) -> np.ndarray:
        return np.linalg.norm(self.w, axis=1) / np.log(self.tau)

    @property
    def rho(self) -> np.ndarray:
        return self.w - np.log(self.tau)[:, None] * self.w_hat[None, :]

    @property
    def tau_loss(self) -> np.ndarray:
        return self.tau * self.loss


def run(data: AbstractData, seed: int, lr: float = LR, steps: int = STEPS) -> Rate:
    """GD from 0 on the exponential loss (engine, float64, one run)."""
    from implicit_bias.engine import run_batch
    from implicit_bias.experiment import Experiment, SharpnessSpec
    from implicit_bias.inits.zero import Zero
    from implicit_bias.integrators.gd import GD
    from implicit_bias.losses.exponential import Exponential
    from implicit_bias.models.linear import Linear
    from implicit_bias.schedule import Schedule
    from implicit_bias.theory import hard_margin_svm
    from implicit_bias.theory.checks.max_margin import rho_limit

    jax.config.update("jax_enable_x64", True)
    exp = Experiment(
        model=Linear(input_dim=data.input_dim),
        data=data,
        init=Zero(),
        integrator=GD(),
        loss=Exponential(),
        sharpness=SharpnessSpec(method="none", track=False),
        record=Schedule(num=120, spacing="log", params=True),
        dtype="float64",
    )
    res = run_batch(exp, seed=seed, init_scale=0.0, lr=lr, steps=steps)[0]
    k = np.asarray(res.times)
    keep = k >= 1
    X, y = np.asarray(res.data.X), np.asarray(res.data.y)
    svm = hard_margin_svm(X, y)
    lim = rho_limit(y[:, None] * X, svm)
    # rho = w - w_hat log(tau) -> w_tilde; rho_limit's w_tilde is for the same clock tau = lr k.
    return Rate(
        tau=lr * k[keep],
        w=np.asarray(res.records["predictor"])[keep],
        loss=np.asarray(res.records["train_loss"])[keep],
        w_hat=np.asarray(svm.w),
        alpha=np.asarray(svm.dual),
        w_tilde=None if lim is None else np.asarray(lim[0]),
    )


def main(out: Path = OUT, steps: int = STEPS) -> dict[str, Rate]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = {name: run(d, seed, steps=steps) for name, (d, seed) in datasets().items()}
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    (axa, axb), (axc, axd) = axes
    for c, (name, r) in zip(("C0", "C1", "C2"), rates.items(), strict=True):
        nh = float(np.linalg.norm(r.w_hat))
        late = r.tau >= 10  # log tau > 2: the ratio is meaningless near tau = 1
        axa.semilogx(r.tau[late], r.norm_over_log[late] / nh, "-", color=c, label=name)
        lll = np.log(np.log(r.tau[r.tau > 3]))
        axb.plot(lll, np.linalg.norm(r.rho[r.tau > 3], axis=1), "-", color=c, label=name)
        if r.w_tilde is not None:  # Theorem 3's bounded limit of rho (support vectors span R^2)
            axb.axhline(np.linalg.norm(r.w_tilde), color=c, ls="--", lw=1)
        axd.semilogx(r.tau, r.tau_loss / nh**2, "-", color=c, label=f"{name}: ||ŵ||² = {nh**2:.3g}")
        logger.info(
            "%s: ||w||/(||w_hat|| log tau) = %.4f, ||rho|| = %.4f, tau L / ||w_hat||^2 = %.5f at "
            "tau = %.3g; alpha = %s",
            name,
            r.norm_over_log[-1] / nh,
            np.linalg.norm(r.rho[-1]),
            r.tau_loss[-1] / nh**2,
            r.tau[-1],
            np.round(r.alpha, 4),
        )
    deg = rates["degenerate data (α = 0 on the margin)"]
    big = deg.tau > 10
    lt = np.log(deg.tau[big])
    axc.semilogx(deg.tau[big], deg.w[big, 1], "C2-", lw=2, label=r"$\rho_2 = w_2(\tau)$")
    axc.semilogx(deg.tau[big], np.log(lt), "k--", lw=1, label=r"$\log\log\tau$")
    axc.semilogx(
        deg.tau[big],
        deg.w[big, 1] - np.log(lt),
        "C2:",
        lw=1.5,
        label=r"$w_2 - \log\log\tau \approx -(\log\log\tau - C)/\log\tau \to 0$",
    )
    axa.axhline(1.0, color="k", lw=0.8)
    axa.set_xlabel(r"$\tau = \eta k$")
    axa.set_title(
        r"(a) $\|w(\tau)\| / (\|\hat w\| \log\tau) \to 1$, at rate $O(1/\log\tau)$", fontsize=10
    )
    axa.legend(fontsize=8)
    axb.set_xlabel(r"$\log\log\tau$")
    axb.set_ylabel(r"$\|w(\tau) - \hat w\log\tau\|$")
    axb.set_title(
        r"(b) $\|\rho\|$: bounded (dashed: Thm 3's $\|\tilde w\|$), or $\sim\log\log\tau$"
        r" when an $\alpha_s = 0$",
        fontsize=10,
    )
    axb.legend(fontsize=8)
    axc.set_xlabel(r"$\tau$")
    axc.set_title(r"(c) degenerate data: $\rho_2 = \log\log\tau + o(1)$, unbounded", fontsize=10)
    axc.legend(fontsize=8)
    axd.axhline(1.0, color="k", lw=0.8)
    axd.set_xlabel(r"$\tau$")
    axd.set_ylabel(r"$\tau\,L(\tau) / \|\hat w\|^2$")
    axd.set_ylim(0.0, 2.0)
    axd.set_title(r"(d) the loss decays like $\|\hat w\|^2/\tau$", fontsize=10)
    axd.legend(fontsize=8)
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"Max-margin rate: GD from 0 on the exponential loss, lr = {LR}, "
        f"{steps:.0e} steps (Yao's slides Thm 3, lines 436-449; lecture notes line 391)",
        fontsize=11,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    logger.info("wrote %s", out)
    return rates


def cli(argv: list[str] | None = None) -> None:
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
