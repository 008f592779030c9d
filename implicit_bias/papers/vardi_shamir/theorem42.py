r"""Vardi & Shamir (2021), Theorem 4.2 and Lemma 4.1: a function R that explains every limit is
*constant* (not: "no R exists").

Paper text: Theorem 4.2 at lines 79-80 ("Let R be such that for every input where gradient
flow converges to w(inf) with L(w(inf)) = 0, we have w(inf) in argmin R over the zero-loss
set. Then R is constant"), its argument at lines 81-84, Lemma 4.1 at lines 85-89 and its proof
(Appendix B) at lines 347-372. The statement is about every R at once: a constant R explains
every limit trivially, so the theorem says that the only regularizer consistent with gradient
flow on a single ReLU neuron is the trivial one.

The argument, as run here:

1. **Two data sets, two limits** (line 83). The limits :math:`w_0 = (5,-1,0)` (``gamma = 0``)
   and :math:`w_\gamma = (5,-1,w_3(\gamma))` are zero-loss points for *both* data sets, and
   each data set's flow selects its own. So ``R(w_0) <= R(w_gamma)`` (data set 0) and
   ``R(w_gamma) <= R(w_0)`` (data set gamma): ``R(w_0) = R(w_gamma)``. Any candidate R with
   ``R(w_0) != R(w_gamma)`` ranks the pair inconsistently; panel (a) shows the usual candidates.
2. **Rotations and scalings** (lines 81-84). Input :math:`(X Q^\top, s y)` with a rotation Q and
   ``s > 0`` has the limit :math:`s Q w(\infty)` (the flow commutes with both), so
   ``R(w) = R(u)`` whenever :math:`u - w \perp w` and :math:`\|u - w\| = \rho\|w\|` with
   :math:`\rho \in C = \{|w_3(\gamma)|/\sqrt{26} : \gamma > 0\} = (0, 0.04525)` (continuous and
   increasing in gamma, Theorem 4.1).
3. **Lemma 4.1**: such moves connect any two nonzero points, so R is constant on
   :math:`\mathbb{R}^d\setminus\{0\}`. :func:`lemma41_chain` builds the connecting chain
   explicitly (a move by angle :math:`\varphi = \arctan\rho` multiplies the radius by
   :math:`\sec\varphi` or, reversed, by :math:`\cos\varphi`); panel (b) draws one, and the
   tests check every move and realize moves by actual gammas (``brentq`` on the closed form).

    python -m implicit_bias.papers.vardi_shamir figures theorem42  # vardi_shamir_theorem42.png
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import scipy.optimize

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser
from implicit_bias.theory.relu_neuron import (
    MIN_NORM_ZERO_LOSS,
    relu_counterexample_large_gamma,
    relu_counterexample_limit,
)

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "vardi_shamir_theorem42.png"
#: Candidate regularizers of panel (a) (each is refuted by one pair of data sets).
CANDIDATES = {
    r"$\|w\|_2$": lambda w: np.linalg.norm(w, axis=-1),
    r"$\|w\|_1$": lambda w: np.abs(w).sum(axis=-1),
    r"$\|w\|_\infty$": lambda w: np.abs(w).max(axis=-1),
    r"$\|w\|_2^2 + w_3$": lambda w: (w**2).sum(axis=-1) + w[..., 2],
}


def rho(gamma: float) -> float:
    """``||w_gamma(inf) - w_0(inf)|| / ||w_0(inf)||`` (``w_gamma - w_0`` is orthogonal to
    ``w_0``)."""
    w = relu_counterexample_limit(gamma).w_limit
    return float(np.linalg.norm(w - MIN_NORM_ZERO_LOSS) / np.linalg.norm(MIN_NORM_ZERO_LOSS))


def rho_sup() -> float:
    """``sup C = lim_{gamma -> inf} rho(gamma)`` (the constrained-flow limit)."""
    return abs(relu_counterexample_large_gamma()) / float(np.linalg.norm(MIN_NORM_ZERO_LOSS))


def gamma_for_rho(target: float, lo: float = 1e-3, hi: float = 1e4) -> float:
    """The gamma whose pair realizes ``rho = target`` (``brentq``; rho is increasing)."""
    return float(scipy.optimize.brentq(lambda g: rho(g) - target, lo, hi, xtol=1e-12))


@dataclasses.dataclass(frozen=True)
class Move:
    """One legal move of Lemma 4.1: ``(w, u)`` with ``u - w`` orthogonal to ``w`` and
    ``||u - w|| = rho ||w||`` (``ascent``: from ``w`` to ``u``; otherwise from ``u`` to ``w``)."""

    start: np.ndarray
    end: np.ndarray
    ascent: bool

    @property
    def pair(self) -> tuple[np.ndarray, np.ndarray]:
        """``(w, u)`` in the lemma's orientation."""
        return (self.start, self.end) if self.ascent else (self.end, self.start)

    @property
    def rho(self) -> float:
        w, u = self.pair
        return float(np.linalg.norm(u - w) / np.linalg.norm(w))

    @property
    def orthogonality(self) -> float:
        """``|<u - w, w>| / ||w||^2`` (0 for a legal move)."""
        w, u = self.pair
        return float(abs((u - w) @ w) / (w @ w))


def _rotate(w: np.ndarray, e1: np.ndarray, e2: np.ndarray, phi: float) -> np.ndarray:
    """Rotate ``w`` (in span(e1, e2)) by ``phi`` in that plane."""
    a, b = w @ e1, w @ e2
    c, s = np.cos(phi), np.sin(phi)
    return (c * a - s * b) * e1 + (s * a + c * b) * e2


def lemma41_chain(w: np.ndarray, w_end: np.ndarray, rho_max: float) -> list[Move]:
    """A chain of legal moves (each with ``rho <= rho_max``) from ``w`` to ``w_end`` (both != 0).

    In the plane of ``w`` and ``w_end``: a move by angle ``phi`` with ``tan(phi) <= rho_max``
    maps ``w`` to ``R_phi w / cos(phi)`` (ascent: radius times ``sec phi``) or to
    ``cos(phi) R_phi w`` (descent). First pairs of ascents (or descents) with opposite angles
    change the radius at a fixed direction, then pairs (ascent, descent) with equal angles turn
    the direction at a fixed radius: the constructive content of Lemma 4.1 (R radial, then
    constant along radii; Appendix B, lines 347-372).
    """
    w, w_end = np.asarray(w, float), np.asarray(w_end, float)
    e1 = w / np.linalg.norm(w)
    rest = w_end - (w_end @ e1) * e1
    if np.linalg.norm(rest) < 1e-12 * np.linalg.norm(w_end):  # parallel: any other plane
        rest = np.eye(len(w))[int(np.argmin(np.abs(e1)))]
        rest = rest - (rest @ e1) * e1
    e2 = rest / np.linalg.norm(rest)
    phi_max = float(np.arctan(rho_max))
    moves: list[Move] = []
    cur = w.copy()

    def move(phi: float, ascent: bool) -> None:
        nonlocal cur
        nxt = _rotate(cur, e1, e2, phi) * (1 / np.cos(phi) if ascent else np.cos(phi))
        moves.append(Move(cur, nxt, ascent))
        cur = nxt

    lam = float(np.log(np.linalg.norm(w_end) / np.linalg.norm(w)))
    theta = float(np.arctan2(w_end @ e2, w_end @ e1))
    n_rad = int(np.ceil(abs(lam) / (2 * np.log(1 / np.cos(phi_max))))) if lam else 0
    n_ang = int(np.ceil(abs(theta) / (2 * phi_max))) if theta else 0
    phi_rad = float(np.arccos(np.exp(-abs(lam) / (2 * n_rad)))) if n_rad else 0.0
    phi_ang = theta / (2 * n_ang) if n_ang else 0.0
    # Interleave the two kinds of pairs evenly (the path is a spiral, not an L).
    kinds = sorted(
        [((i + 0.5) / n_rad, "rad") for i in range(n_rad)]
        + [((i + 0.5) / n_ang, "ang") for i in range(n_ang)]
    )
    for _, kind in kinds:
        if kind == "rad":
            move(phi_rad, lam > 0)
            move(-phi_rad, lam > 0)
        else:
            move(phi_ang, True)
            move(phi_ang, False)
    return moves


def main(out: Path = OUT) -> list[Move]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gammas = (0.5, 1.0, 2.0, 5.0, 50.0)
    limits = {g: relu_counterexample_limit(g).w_limit for g in gammas}
    t = np.linspace(-0.35, 1.0, 400)
    line = np.stack([5 + 0 * t, -1 + 0 * t, t], axis=1)
    fig, (axa, axb) = plt.subplots(1, 2, figsize=(14, 5.4))
    for k, (name, R) in enumerate(CANDIDATES.items()):
        vals = R(line) - R(MIN_NORM_ZERO_LOSS)
        axa.plot(t, vals, color=f"C{k}", lw=1.5, label=f"R = {name}")
        for w in limits.values():
            axa.plot(w[2], R(w) - R(MIN_NORM_ZERO_LOSS), "o", color=f"C{k}", ms=4)
    axa.axvspan(1.0, 1.05, color="0.8")
    axa.axvline(0, color="k", lw=0.8)
    for g, w in limits.items():
        axa.axvline(w[2], color="0.6", lw=0.6, ls=":")
        axa.text(w[2], 0.55, f"γ={g:g}", rotation=90, fontsize=7, ha="right", va="bottom")
    axa.set_xlim(-0.35, 1.05)
    axa.set_ylim(-0.3, 1.2)
    axa.set_xlabel("$t$ on the zero-loss line $(5, -1, t)$ (γ > 0: $t \\leq 1$; γ = 0: all $t$)")
    axa.set_ylabel(r"$R(5,-1,t) - R(w^\star)$")
    axa.set_title(
        "(a) data set γ = 0 selects t = 0, data set γ selects $t = w_3(γ)$ (o): R must take one\n"
        "value at both. $\\|w\\|_\\infty$ passes this pair; a rotated pair refutes it (Lemma 4.1)",
        fontsize=10,
    )
    axa.legend(fontsize=8, loc="upper left")
    axa.grid(alpha=0.3)
    rmax = rho(50.0)
    w_a = np.array([1.0, 0.0, 0.0])
    w_b = 2.0 * np.array([np.cos(1.0), np.sin(1.0), 0.0])
    chain = lemma41_chain(w_a, w_b, rmax)
    pts = np.array([chain[0].start] + [m.end for m in chain])
    from matplotlib.collections import LineCollection

    segs = LineCollection(np.stack([pts[:-1, :2], pts[1:, :2]], axis=1), cmap="plasma", lw=1.2)
    segs.set_array(np.arange(len(chain)))
    sc = axb.add_collection(segs)
    axb.plot(*w_a[:2], "ks", ms=6)
    axb.plot(*w_b[:2], "k*", ms=10)
    for r in (1.0, 2.0):
        th = np.linspace(0, 1.2, 100)
        axb.plot(r * np.cos(th), r * np.sin(th), "k:", lw=0.6)
    axb.set_aspect("equal")
    axb.set_xlabel("$w_1$")
    axb.set_ylabel("$w_2$")
    fig.colorbar(sc, ax=axb, label="move")
    axb.set_title(
        f"(b) Lemma 4.1: {len(chain)} legal moves (ρ ≤ {rmax:.4f} = ρ(γ = 50)) from ■ (|w| = 1) "
        "to ★ (|w| = 2):\n"
        "R(w) = R(u) along every move, so R is constant on $R^3 \\setminus \\{0\\}$",
        fontsize=10,
    )
    fig.suptitle(
        "Vardi & Shamir (2021), Theorem 4.2: an R whose argmin over the zero-loss set is always "
        "the flow's limit must be constant",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    logger.info(
        "sup C = %.6f (gamma -> inf), rho(50) = %.6f; chain of %d moves, max |<u-w,w>|/|w|^2 "
        "= %.1e, max rho = %.6f; wrote %s",
        rho_sup(),
        rmax,
        len(chain),
        max(m.orthogonality for m in chain),
        max(m.rho for m in chain),
        out,
    )
    return chain


def cli(argv: list[str] | None = None) -> None:
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
