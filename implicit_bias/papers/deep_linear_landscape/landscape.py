r"""The lecture notes' landscape statement for deep linear networks, as an experiment.

Lecture notes (``lecture_notes_implicit_regularization.txt``, lines 405-413): "Theorem
[Kawaguchi]: There are no spurious local minima for :math:`\sum_i\|A_1A_2\cdots A_kx_i -
b_i\|_2^2` (linear deep net); only bad saddle points for :math:`k \ge 3`. Here bad saddle point
means the Hessian has no negative eigenvalues."

So a GD run on a deep linear network that stops at a critical point is either at a global
minimum or at a saddle; for depth >= 3 some saddles are *bad* (degenerate: the Hessian is PSD,
e.g. at the origin, where it vanishes). The experiment, per depth ``L`` in :data:`DEPTHS`
(scalar output, ``d = m = 3``, one fixed Gaussian regression data set, float64, plain GD):

* random Gaussian inits at several scales (:data:`SCALES`, :data:`SEEDS` seeds each);
* inits *on* critical manifolds, from which GD never moves: all layers zero (``zero``) and the
  first two layers zero (:class:`TwoZeroLayers`, the rest Gaussian); and tiny Gaussian inits
  (``1e-4``), which sit near the origin's saddle for a long time.

Every run ends with its loss gap to the least-squares optimum :math:`L^\star`
(``scipy.linalg.lstsq``), its gradient norm and its smallest Hessian eigenvalue from Lanczos
(``Result.final["min_eigenvalue"]``; with as many Lanczos steps as parameters the Krylov space is
the whole space and the Ritz values are the eigenvalues; checked against ``jax.hessian`` +
``eigvalsh`` by the tests). Classification, from the numbers (not the engine's status):

* ``global min``: relative gap :math:`(L - L^\star)/(L(0) - L^\star) \le` :data:`GAP_TOL`;
* ``strict saddle``: gap above, gradient norm :math:`\le` :data:`GRAD_TOL`, and
  :math:`\lambda_{\min} < -` :data:`EIG_TOL`;
* ``degenerate critical point``: gap above, gradient small, :math:`\lambda_{\min} \ge -`
  :data:`EIG_TOL`; each is then *certified* not to be a local minimum by a higher-order descent
  direction (:func:`descent_certificate`: along :math:`\theta + \varepsilon d` the loss drops
  like :math:`\varepsilon^L`);
* ``not stopped``: gradient above :data:`GRAD_TOL` (still moving, or creeping away from a
  saddle): not counted as a critical point.

The claim checked: no run stops at a non-global local minimum.

    python -m implicit_bias.papers.deep_linear_landscape figures   # ~1 min
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from implicit_bias._types import Params
from implicit_bias.inits._base import AbstractInit, gaussian_params, trainable_shapes
from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "deep_linear_landscape.png"
DEPTHS = (2, 3, 4)
#: Init scales of the Gaussian runs (at depth 4, lr 0.02 and scale 1 some runs diverge: their
#: sharpness exceeds 2 / lr; 0.7 is below that).
SCALES = (1e-4, 0.05, 0.2, 0.5, 0.7)
SEEDS = 12
WIDTH = 3
DIM = 3
LR = 0.02
STEPS = 20_000
GAP_TOL = 1e-8
GRAD_TOL = 1e-8
EIG_TOL = 1e-10
DATA = dict(n=20, d=DIM, sigma=1.0)


class TwoZeroLayers(AbstractInit):
    """``W1 = W2 = 0`` and the other layers N(0, scale^2): a critical point (every layer's
    gradient contains the product W2 W1 = 0 or one of the two zero factors) with end-to-end
    predictor 0, not a minimum when the loss at 0 exceeds the optimum."""

    def init_trainable(self, key, model, scale, dtype) -> Params:
        shapes = trainable_shapes(model)
        params = gaussian_params(key, shapes, scale, dtype)
        for name in list(shapes)[:2]:
            params[name] = jnp.zeros(shapes[name], dtype)
        return params


@dataclasses.dataclass(frozen=True)
class Endpoints:
    """The end of every run of one depth (numpy, leading axis: the runs).

    Attributes:
        depth: L; init: the init's name per run; scale: its scale.
        loss, loss0, grad_norm, grad_norm0, min_eigenvalue, max_eigenvalue: final and initial
            values (the eigenvalues from Lanczos at the end).
        best: the least-squares optimum L*; loss_at_zero: the loss of the zero predictor.
        params: final parameters (dict of arrays with a leading run axis).
        X, y: the data.
    """

    depth: int
    init: np.ndarray
    scale: np.ndarray
    loss: np.ndarray
    loss0: np.ndarray
    grad_norm: np.ndarray
    grad_norm0: np.ndarray
    min_eigenvalue: np.ndarray
    max_eigenvalue: np.ndarray
    best: float
    loss_at_zero: float
    params: dict
    X: np.ndarray
    y: np.ndarray

    @property
    def relative_gap(self) -> np.ndarray:
        return (self.loss - self.best) / (self.loss_at_zero - self.best)

    def classify(self) -> np.ndarray:
        """One of ``global min``, ``strict saddle``, ``degenerate critical point``,
        ``not stopped`` per run (module docstring)."""
        out = np.full(self.loss.shape, "not stopped", dtype=object)
        stopped = self.grad_norm <= GRAD_TOL
        glob = self.relative_gap <= GAP_TOL
        out[glob & stopped] = "global min"
        out[~glob & stopped & (self.min_eigenvalue < -EIG_TOL)] = "strict saddle"
        out[~glob & stopped & (self.min_eigenvalue >= -EIG_TOL)] = "degenerate critical point"
        return out


def experiment(depth: int, init: AbstractInit):
    from implicit_bias.data.gaussian_regression import GaussianRegression
    from implicit_bias.experiment import Experiment, SharpnessSpec
    from implicit_bias.integrators.gd import GD
    from implicit_bias.models.deep_linear import DeepLinear
    from implicit_bias.schedule import Schedule

    model = DeepLinear(input_dim=DIM, width=WIDTH, depth=depth)
    return Experiment(
        model=model,
        data=GaussianRegression(**DATA),
        init=init,
        integrator=GD(),
        # As many Lanczos steps as parameters: the Ritz values are the Hessian's eigenvalues.
        sharpness=SharpnessSpec(method="lanczos", num_iters=model.num_params, track=False),
        record=Schedule(num=20, spacing="log"),
        dtype="float64",
        converge_tol=GRAD_TOL,
    )


def run_depth(depth: int, scales=SCALES, seeds: int = SEEDS, steps: int = STEPS) -> Endpoints:
    """Random, zero and two-zero-layer inits at one depth (three compilations)."""
    from implicit_bias.engine import run_batch
    from implicit_bias.inits.gaussian import Gaussian
    from implicit_bias.inits.zero import Zero

    jax.config.update("jax_enable_x64", True)
    sc = np.repeat(np.asarray(scales, np.float64), seeds)
    sd = np.tile(np.arange(seeds), len(scales))
    groups = [
        ("gaussian", Gaussian(), sc, sd),
        ("zero", Zero(), np.array([0.0]), np.array([0])),
        ("two zero layers", TwoZeroLayers(), np.full(seeds, 1.0), np.arange(seeds)),
    ]
    parts = []
    for name, init, scales_, seeds_ in groups:
        res = run_batch(
            experiment(depth, init),
            seed=seeds_,
            data_seed=0,
            init_scale=scales_,
            lr=LR,
            steps=steps,
        )
        parts.append((name, scales_, res))
    X, y = np.asarray(parts[0][2].data.X[0]), np.asarray(parts[0][2].data.y[0])
    w_ls = scipy.linalg.lstsq(X, y)[0]
    best = float(np.mean((X @ w_ls - y) ** 2))

    def cat(f):
        return np.concatenate([np.asarray(f(r)) for _, _, r in parts])

    return Endpoints(
        depth=depth,
        init=np.concatenate([np.full(len(s), n, dtype=object) for n, s, _ in parts]),
        scale=np.concatenate([s for _, s, _ in parts]),
        loss=cat(lambda r: r.final["train_loss"]),
        loss0=cat(lambda r: r.initial["train_loss"]),
        grad_norm=cat(lambda r: r.final["grad_norm"]),
        grad_norm0=cat(lambda r: r.initial["grad_norm"]),
        min_eigenvalue=cat(lambda r: r.final["min_eigenvalue"]),
        max_eigenvalue=cat(lambda r: r.final["sharpness"]),
        best=best,
        loss_at_zero=float(np.mean(y**2)),
        params={k: cat(lambda r, k=k: r.params[k]) for k in parts[0][2].params},
        X=X,
        y=y,
    )


def loss_fn(params: dict, X, y):
    """Mean squared error of the deep linear network (the engine's model and loss)."""
    h = X.T
    for k in sorted(params, key=lambda s: int(s[1:])):
        h = params[k] @ h
    return jnp.mean((h[0] - y) ** 2)


def descent_certificate(params: dict, X, y, eps=(1e-3, 3e-3, 1e-2)) -> tuple[float, np.ndarray]:
    """A higher-order descent direction at a critical point whose end-to-end predictor is 0.

    Direction ``d``: the layers of a balanced factorization of the least-squares predictor
    ``w_ls`` (``W_k = c u_k u_{k-1}^T`` with unit vectors, ``W_1 = c u_1 w_ls^T/|w_ls|``), with
    its sign flipped if needed; along ``theta + eps d`` the end-to-end predictor is
    ``eps^L (...)`` plus mixed terms, so the loss drops like ``eps^L`` when ``theta``'s product
    vanishes. Returns ``(fitted order of the drop, drops at eps)``: a negative drop (loss
    decrease) at every eps certifies that ``theta`` is not a local minimum.
    """
    names = sorted(params, key=lambda s: int(s[1:]))
    depth = len(names)
    w_ls = scipy.linalg.lstsq(np.asarray(X), np.asarray(y))[0]
    c = np.linalg.norm(w_ls) ** (1.0 / depth)
    rng = np.random.default_rng(0)
    us = [w_ls / np.linalg.norm(w_ls)]
    d = {}
    for k, name in enumerate(names):
        shape = np.asarray(params[name]).shape
        out = np.ones(1) if k == depth - 1 else rng.normal(size=shape[0])
        out /= np.linalg.norm(out)
        d[name] = c * np.outer(out, us[-1])
        us.append(out)
    base = float(loss_fn(params, X, y))
    drops = []
    for e in eps:
        p = {k: np.asarray(v) + e * d[k] for k, v in params.items()}
        drops.append(float(loss_fn(p, X, y)) - base)
    drops = np.array(drops)
    order = float(np.polyfit(np.log(eps), np.log(np.abs(drops)), 1)[0])
    return order, drops


def run_all(depths=DEPTHS, **kw) -> dict[int, Endpoints]:
    out = {}
    for L in depths:
        out[L] = e = run_depth(L, **kw)
        cls = e.classify()
        counts = {c: int((cls == c).sum()) for c in np.unique(cls)}
        logger.info(
            "depth %d: %d runs: %s; L* = %.6f, L(0) = %.6f",
            L,
            len(cls),
            counts,
            e.best,
            e.loss_at_zero,
        )
    return out


def main(out: Path = OUT, results: dict[int, Endpoints] | None = None) -> dict[int, Endpoints]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = results or run_all()
    fig, (axa, axb) = plt.subplots(1, 2, figsize=(15, 5.8))
    markers = {"gaussian": "o", "zero": "s", "two zero layers": "^"}
    colors = {2: "C0", 3: "C1", 4: "C2"}
    certs = {}
    for L, e in res.items():
        cls = e.classify()
        # x jittered by depth (x 0.6, 1, 1.6) so that the depths' points do not hide each other.
        gap = np.maximum(e.relative_gap, 1e-17) * {2: 0.6, 3: 1.0, 4: 1.6}.get(L, 1.0)
        moving = cls == "not stopped"
        for init, m in markers.items():
            sel = (e.init == init) & ~moving
            axa.scatter(
                gap[sel],
                e.min_eigenvalue[sel],
                marker=m,
                s=30,
                facecolors="none",
                edgecolors=colors[L],
                label=f"L = {L}, {init} ({int(sel.sum())})",
            )
        if moving.any():
            axa.scatter(
                gap[moving],
                e.min_eigenvalue[moving],
                marker="x",
                s=18,
                color="0.6",
                label=f"L = {L}, still moving ({int(moving.sum())})",
            )
        stuck = np.flatnonzero(cls == "degenerate critical point")
        if stuck.size:
            i = int(stuck[0])
            certs[L] = descent_certificate(
                {k: v[i] for k, v in e.params.items()}, e.X, e.y, eps=np.geomspace(1e-3, 1e-1, 12)
            )
    axa.set_xscale("log")
    axa.set_yscale("symlog", linthresh=1e-8)
    axa.set_ylim(-100, 1e-6)
    axa.axvline(GAP_TOL, color="k", ls=":", lw=1)
    axa.axhline(0.0, color="k", lw=0.6)
    axa.set_xlabel(
        r"relative loss gap $(L - L^\star)/(L(0) - L^\star)$ at the end "
        "(floor 1e-17; x jittered by depth)"
    )
    axa.set_ylabel(r"smallest Hessian eigenvalue (Lanczos), symlog")
    axa.set_title(
        "(a) where GD stopped: global minima (left of the dotted line) or saddles;\n"
        "no point right of the line has λmin > 0 (no spurious local minimum)",
        fontsize=10,
    )
    axa.legend(fontsize=7, ncol=2, loc="center")
    axa.grid(alpha=0.3)
    for L, (order, drops) in certs.items():
        eps = np.geomspace(1e-3, 1e-1, 12)
        axb.loglog(eps, -drops, "o-", color=colors[L], ms=3, label=f"L = {L}: slope {order:.2f}")
    axb.set_xlabel("ε")
    axb.set_ylabel(r"$L(\theta) - L(\theta + \varepsilon d)$")
    axb.set_title(
        "(b) degenerate critical points (λmin ≥ 0, e.g. all layers 0) are not minima:\n"
        "along a balanced factorization d of $w_{ls}$ the loss drops like $ε^L$",
        fontsize=10,
    )
    axb.legend(fontsize=8)
    axb.grid(alpha=0.3, which="both")
    n = sum(len(e.loss) for e in res.values())
    fig.suptitle(
        f"Deep linear networks (Kawaguchi; lecture notes lines 405-413): {n} GD runs, "
        f"d = m = {DIM}, L ∈ {list(res)}, lr = {LR}, {STEPS} steps",
        fontsize=11,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    logger.info("certificates (order, drops): %s; wrote %s", certs, out)
    return res


def cli(argv: list[str] | None = None) -> None:
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
