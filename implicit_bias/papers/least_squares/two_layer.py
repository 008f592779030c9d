r"""Two-layer linear networks with d' > 1 outputs, GD and SGD: the slides' Lemma 4, Lemma 5 and
Theorem 2 (Yao's slides, "2-Layer Linear Networks", lines 176-254).

The library's models have scalar outputs (targets of shape (n,)); multi-output targets are
issue 14. Until then this module is a small, self-contained JAX implementation in the slides'
own notation and convention (lines 180-196):

.. math:: L(W_1, W_2) = \tfrac12\|W_2 W_1 X - Y\|_F^2,\quad X\in\mathbb{R}^{d\times n},\
    Y\in\mathbb{R}^{d'\times n},\ W_1\in\mathbb{R}^{N\times d},\ W_2\in\mathbb{R}^{d'\times N},

with the gradients of lines 194-196, :math:`\nabla_{W_1} = W_2^\top E X^\top`,
:math:`\nabla_{W_2} = E X^\top W_1^\top`, :math:`E = W_2W_1X - Y` (checked against
``jax.grad`` by the tests). SGD takes a minibatch of columns :math:`\bar X_t` per step (line
217). The runs are batched over seeds with ``jax.vmap`` and looped with ``lax.scan``.

* **Lemma 4** (lines 208-221): the rows of :math:`W_1` never gain a component in
  :math:`\mathrm{Null}(X^\top)`: :math:`(W_1(t) - W_1(0))P = 0` with :math:`P` the projector on
  :math:`\mathrm{Null}(X^\top)`, for GD and for SGD with any minibatch.
* **Theorem 2** (lines 244-252): rows of :math:`W_1(0)` in :math:`\mathrm{Col}(X)` and
  :math:`W_2 \ne 0` give the minimum-norm solution :math:`A^\ast_{\min} = YX^\top(XX^\top)^+`
  (line 188) if GD converges; from a generic :math:`W_1(0)` the limit keeps
  :math:`W_2(\infty)W_1(0)P \neq 0`.
* **Lemma 5** (lines 225-240): "if :math:`W_2 \ne 0`, every stationary point w.r.t.
  :math:`W_1` is a global minimum". Its proof uses :math:`\mathrm{Col}(W_2\otimes X^\top) =
  \mathrm{Col}(X^\top)`, true for :math:`d' = 1`; for :math:`d' > 1` it needs :math:`W_2` of
  full row rank :math:`d'`. :func:`stationary_in_w1` minimizes over :math:`W_1` exactly and
  the figure shows a rank-deficient :math:`W_2 \ne 0` whose stationary point is not global.

    python -m implicit_bias.papers.least_squares figures two_layer  # ~20 s
"""

from __future__ import annotations

import dataclasses
import logging
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "two_layer_multioutput.png"


@dataclasses.dataclass(frozen=True)
class Problem:
    """``X`` (d, n), ``Y`` (d', n) and the hidden width N (slides' notation)."""

    X: np.ndarray
    Y: np.ndarray
    width: int

    @property
    def null_projector(self) -> np.ndarray:
        """Projector on Null(X^T) (in R^d), from an SVD with rank cut ``d eps s_max``."""
        U, s, _ = np.linalg.svd(self.X, full_matrices=True)
        rank = int(np.sum(s > max(self.X.shape) * np.finfo(float).eps * s[0]))
        Un = U[:, rank:]
        return Un @ Un.T

    @property
    def min_norm(self) -> np.ndarray:
        """``A*_min = Y X^T (X X^T)^+`` (slides line 188), via scipy's pseudo-inverse."""
        return self.Y @ self.X.T @ scipy.linalg.pinv(self.X @ self.X.T)


def make_problem(n=8, d=20, d_out=3, width=12, seed=0) -> Problem:
    """Gaussian X (columns ~ N(0, I/d)) and Y (entries ~ N(0, 1)); N, d >= n >= d' (line 182)."""
    rng = np.random.default_rng(seed)
    return Problem(rng.normal(size=(d, n)) / np.sqrt(d), rng.normal(size=(d_out, n)), width)


def loss(W1, W2, X, Y):
    """``1/2 ||W2 W1 X - Y||_F^2`` (slides line 180)."""
    return 0.5 * jnp.sum((W2 @ W1 @ X - Y) ** 2)


def grads(W1, W2, X, Y):
    """The slides' gradients (lines 194-196): ``W2^T E X^T`` and ``E X^T W1^T``."""
    E = W2 @ W1 @ X - Y
    return W2.T @ E @ X.T, E @ X.T @ W1.T


def init(problem: Problem, key, scale: float, row_space: bool):
    """``W1(0)``, ``W2(0)`` with N(0, scale^2) entries; ``row_space``: the rows of ``W1(0)``
    projected on Col(X) (no component in Null(X^T), Theorem 2's assumption)."""
    k1, k2 = jax.random.split(key)
    d = problem.X.shape[0]
    W1 = scale * jax.random.normal(k1, (problem.width, d), jnp.float64)
    if row_space:
        W1 = W1 @ (jnp.eye(d) - jnp.asarray(problem.null_projector))
    W2 = scale * jax.random.normal(k2, (problem.Y.shape[0], problem.width), jnp.float64)
    return W1, W2


@partial(jax.jit, static_argnames=("steps", "every", "batch"))
def train(W1, W2, X, Y, key, lr, steps: int, every: int, batch: int | None):
    """GD (``batch=None``) or SGD with ``batch`` columns per step, drawn without replacement.

    Returns the parameters at every ``every``-th step (``steps // every + 1`` records, the
    initial point included) and the full-batch loss there.
    """
    n = X.shape[1]

    def step(carry, k):
        W1, W2 = carry
        if batch is None:
            Xb, Yb = X, Y
        else:
            idx = jax.random.choice(k, n, (batch,), replace=False)
            Xb, Yb = X[:, idx], Y[:, idx]
        g1, g2 = grads(W1, W2, Xb, Yb)
        return (W1 - lr * g1, W2 - lr * g2), None

    def block(carry, k):
        carry, _ = jax.lax.scan(step, carry, jax.random.split(k, every))
        return carry, (carry[0], carry[1], loss(*carry, X, Y))

    (_, _), (w1s, w2s, losses) = jax.lax.scan(
        block, (W1, W2), jax.random.split(key, steps // every)
    )
    w1s = jnp.concatenate([W1[None], w1s])
    w2s = jnp.concatenate([W2[None], w2s])
    return w1s, w2s, jnp.concatenate([loss(W1, W2, X, Y)[None], losses])


@dataclasses.dataclass(frozen=True)
class Runs:
    """Records of a batch of runs (leading axis: seeds)."""

    steps: np.ndarray
    W1: np.ndarray  # (b, r, N, d)
    W2: np.ndarray  # (b, r, d', N)
    loss: np.ndarray  # (b, r)

    @property
    def A(self) -> np.ndarray:
        return np.einsum("brij,brjk->brik", self.W2, self.W1)


def run(problem: Problem, seeds, lr, steps, every, batch=None, row_space=True, scale=0.5) -> Runs:
    """GD/SGD from ``init(problem, key(seed), scale, row_space)`` for each seed (vmapped)."""
    jax.config.update("jax_enable_x64", True)
    X, Y = jnp.asarray(problem.X), jnp.asarray(problem.Y)

    def one(seed):
        key = jax.random.key(seed)
        W1, W2 = init(problem, jax.random.fold_in(key, 0), scale, row_space)
        return train(W1, W2, X, Y, jax.random.fold_in(key, 1), lr, steps, every, batch)

    w1, w2, losses = jax.vmap(one)(jnp.asarray(seeds))
    return Runs(np.arange(0, steps + 1, every), np.asarray(w1), np.asarray(w2), np.asarray(losses))


def null_drift(problem: Problem, runs: Runs) -> np.ndarray:
    """``max over records of ||(W1(t) - W1(0)) P||_F`` per run (Lemma 4: 0)."""
    P = problem.null_projector
    delta = runs.W1 - runs.W1[:, :1]
    return np.linalg.norm(delta @ P, axis=(2, 3)).max(axis=1)


def stationary_in_w1(problem: Problem, W2: np.ndarray) -> tuple[np.ndarray, float]:
    """The minimum-norm minimizer of the loss over ``W1`` at fixed ``W2`` (a stationary point in
    W1: the loss is a convex quadratic in W1), by ``scipy.linalg.lstsq`` on
    ``(X^T kron W2) vec(W1) = vec(Y)`` (column-major vec), and its loss."""
    X, Y = problem.X, problem.Y
    D = np.kron(X.T, W2)  # vec(W2 W1 X) = (X^T kron W2) vec(W1)
    v, *_ = scipy.linalg.lstsq(D, Y.reshape(-1, order="F"))
    W1 = v.reshape(problem.width, X.shape[0], order="F")
    return W1, float(0.5 * np.sum((W2 @ W1 @ X - Y) ** 2))


def global_min_loss(problem: Problem) -> float:
    """``1/2 ||A*_min X - Y||^2``: 0 when X has full column rank (interpolation)."""
    return float(0.5 * np.sum((problem.min_norm @ problem.X - problem.Y) ** 2))


def main(out: Path = OUT) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prob = make_problem()
    a_min = prob.min_norm
    seeds = np.arange(4)
    lr, steps, every = 0.05, 15000, 50
    cases = {
        "GD, W1(0) rows in Col(X)": dict(batch=None, row_space=True),
        "SGD batch 1, W1(0) rows in Col(X)": dict(batch=1, row_space=True),
        "SGD batch 3, W1(0) rows in Col(X)": dict(batch=3, row_space=True),
        "GD, generic W1(0)": dict(batch=None, row_space=False),
    }
    results = {name: run(prob, seeds, lr, steps, every, **kw) for name, kw in cases.items()}
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    axes = axes.ravel()
    measured = {}
    for c, (name, r) in zip(("C0", "C1", "C2", "C3"), results.items(), strict=True):
        dist = np.linalg.norm(r.A - a_min, axis=(2, 3))
        drift = np.linalg.norm((r.W1 - r.W1[:, :1]) @ prob.null_projector, axis=(2, 3))
        for i in range(len(seeds)):
            kw = dict(color=c, lw=1, label=name if i == 0 else None)
            axes[0].semilogy(r.steps, r.loss[i], **kw)
            axes[1].semilogy(r.steps, dist[i], **kw)
            axes[2].semilogy(r.steps[1:], np.maximum(drift[i, 1:], 1e-18), **kw)
        measured[name] = {
            "final_loss": float(r.loss[:, -1].max()),
            "distance_to_min_norm": float(dist[:, -1].max()),
            "null_drift": float(drift.max()),
        }
    for ax, title in zip(
        axes[:3],
        (
            r"(a) loss $\frac{1}{2}\|W_2W_1X - Y\|^2$ (d' = 3 outputs, 4 seeds each)",
            r"(b) $\|W_2W_1 - A^\ast_{\min}\|_F$, $A^\ast_{\min} = YX^\top(XX^\top)^+$",
            r"(c) Lemma 4: $\|(W_1(t) - W_1(0))P_{\mathrm{Null}(X^\top)}\|_F$",
        ),
        strict=True,
    ):
        ax.set_xlabel("step")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[2].set_ylim(1e-18, 1e-8)
    # (d) Lemma 5: stationary points in W1 for W2 of each rank.
    rng = np.random.default_rng(5)
    ranks, losses = [], []
    for rank in (1, 2, 3):
        for _ in range(5):
            W2 = rng.normal(size=(3, rank)) @ rng.normal(size=(rank, prob.width))
            _, val = stationary_in_w1(prob, W2)
            ranks.append(rank + rng.uniform(-0.12, 0.12))
            losses.append(val)
    axes[3].plot(ranks, np.maximum(losses, 1e-18), "ko", mfc="none")
    axes[3].set_yscale("log")
    axes[3].axhline(
        max(global_min_loss(prob), 1e-18),
        color="C3",
        ls="--",
        label="global min (0; drawn at 1e-18)",
    )
    axes[3].set_xticks([1, 2, 3])
    axes[3].set_xlabel("rank of $W_2 \\neq 0$ (d' = 3)")
    axes[3].set_ylabel("loss at the minimizer over $W_1$")
    axes[3].set_title(
        "(d) Lemma 5 needs rank $W_2$ = d': a stationary\npoint in $W_1$ with "
        "rank-deficient $W_2 \\neq 0$ is not global",
        fontsize=10,
    )
    axes[3].legend(fontsize=8)
    axes[3].grid(alpha=0.3)
    fig.suptitle(
        f"Yao's slides, two-layer linear networks W2 W1 (d = {prob.X.shape[0]}, "
        f"n = {prob.X.shape[1]}, N = {prob.width}, d' = {prob.Y.shape[0]}), lr = {lr}",
        fontsize=11,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    logger.info("measured: %s; wrote %s", measured, out)
    return measured


def cli(argv: list[str] | None = None) -> None:
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
