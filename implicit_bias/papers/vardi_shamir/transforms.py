r"""How the limit transforms under rotations and scalings of the data (Theorem 4.2's argument,
Lemma 6.2, Theorem 6.2, Corollary 6.3), run by the engine.

Paper text: single neuron, "by rotating X, the trajectory is rotated accordingly" and the
scaled inputs of Theorem 4.2's proof (lines 81-84); Lemma 6.2 (lines 145-152; proof in
Appendix C.2, lines 377-383, whose formulas were lost in extraction); Corollary 6.3 (lines
154-155; proof lines 384-387).

* **Single neuron** from ``w = 0``: input :math:`(X Q^\top, s y)` has the limit
  :math:`s Q w(\infty)`. (The flow of ``s Q w(t)`` is the flow of the new input: the loss is
  :math:`s^2` times the old one at :math:`w/s` rotated back, and the time is unchanged.)
* **One hidden neuron** from ``w = 0, v = delta``: input :math:`(X Q^\top, y)` has the limit
  :math:`(Q w, v)` (Lemma 6.2 (1)); input :math:`(X, c\,y)` from ``v = sqrt(c) delta`` has the
  limit :math:`\sqrt c\,(w, v)` (the loss is 2-homogeneous in ``(w, v)``: ``L_c(sqrt(c) theta)
  = c^2 L(theta)``, so ``sqrt(c) theta(c t)`` is the new flow); as ``delta -> 0`` both inits
  tend to the same point, so the paper's limit point (``delta -> 0``) scales by ``sqrt(c)`` and
  the effective neuron ``u = v w`` by ``c`` (Lemma 6.2 (2); the exact form of the scaling in the
  paper did not survive extraction: scaling the inputs, ``(a X, b y)``, reduces to this one with
  ``c = b / a`` up to time, so every reading of it is covered).
* **Corollary 6.3**: with the two limits ``u1 = (5, -1, 0)`` (``gamma = 0``) and
  ``u2 = (5, -1, u3(gamma))`` (``u2 - u1`` orthogonal to ``u1``), any ``a != 0`` and ``b`` with
  ``b - a`` orthogonal to ``a`` and ``||b - a|| = rho ||a||``, ``rho = |u3| / sqrt 26``, are the
  limits of the rotated and scaled inputs ``(X_0 Q^T, s y)`` and ``(X_gamma Q^T, s y)``
  (``Q u1 / |u1| = a / |a|``, ``Q e3 = -(b - a)/|b - a|``, ``s = |a| / |u1|``), and each is a
  zero-loss point of both inputs: ``R'(a) = R'(b)`` for any ``R'`` that explains the limits.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from implicit_bias.papers.vardi_shamir import experiments as E
from implicit_bias.theory.relu_neuron import relu_counterexample_data, relu_counterexample_limit


@dataclasses.dataclass(frozen=True)
class TransformCheck:
    """Engine limits of a transformed input against the transformed base limit.

    Attributes:
        name: what was transformed.
        error: ``||engine - predicted||`` (max over the runs).
        reached: every run reached zero loss (:func:`~.experiments.reached_zero_loss`).
    """

    name: str
    error: float
    reached: bool


def single_neuron(gamma: float = 2.0, scale: float = 3.0, seed: int = 0) -> TransformCheck:
    """``(X Q^T, s y)`` -> ``s Q w(inf)`` by gradient flow (base limit: the closed form)."""
    Q = E.random_rotation(np.random.default_rng(seed))
    run = E.neuron_flow(E.transformed(gamma, Q, scale))
    predicted = scale * Q @ relu_counterexample_limit(gamma).w_limit
    return TransformCheck(
        f"single neuron, gamma = {gamma:g}: (X Q^T, {scale:g} y) -> {scale:g} Q w(inf)",
        float(np.linalg.norm(run.w_final[0] - predicted)),
        bool(run.reached.all()),
    )


def hidden_neuron(
    gamma: float = 1.0, c: float = 4.0, delta: float = 1e-3, seed: int = 1
) -> tuple[TransformCheck, TransformCheck]:
    """Lemma 6.2 (1) and (2): rotation and label scaling of the one-hidden-neuron input."""
    Q = E.random_rotation(np.random.default_rng(seed))
    base = E.hidden_neuron_flow(E.counterexample(gamma), [delta])
    rot = E.hidden_neuron_flow(E.transformed(gamma, Q, 1.0), [delta])
    scaled = E.hidden_neuron_flow(E.transformed(gamma, np.eye(3), c), [np.sqrt(c) * delta])
    w, v = base.w_final[0], base.v_final[0]
    e_rot = max(np.linalg.norm(rot.w_final[0] - Q @ w), abs(rot.v_final[0] - v))
    e_sc = max(
        np.linalg.norm(scaled.w_final[0] - np.sqrt(c) * w), abs(scaled.v_final[0] - np.sqrt(c) * v)
    )
    return (
        TransformCheck(
            f"Lemma 6.2 (1), gamma = {gamma:g}: (X Q^T, y) -> (Q w, v)",
            float(e_rot),
            bool(base.reached.all() and rot.reached.all()),
        ),
        TransformCheck(
            f"Lemma 6.2 (2), gamma = {gamma:g}: (X, {c:g} y) from v = sqrt({c:g}) delta -> "
            f"sqrt({c:g}) (w, v)",
            float(e_sc),
            bool(scaled.reached.all()),
        ),
    )


@dataclasses.dataclass(frozen=True)
class Corollary63:
    """Corollary 6.3 on one random pair ``(a, b)``.

    Attributes:
        a, b: the targets (``b - a`` orthogonal to ``a``, ``||b - a|| = rho ||a||``).
        u_a, u_b: the effective limits ``v w`` of the two constructed inputs (finite delta).
        predicted_a, predicted_b: ``s Q`` times the base inputs' effective limits at the same
            delta (exact transformation).
        cross_loss: the largest loss of either limit on either input (both are zero-loss
            points of both).
        reached: every run reached zero loss.
        rho: ``||b - a|| / ||a||``; orthogonality: ``|<b - a, a>| / ||a||^2``.
    """

    a: np.ndarray
    b: np.ndarray
    u_a: np.ndarray
    u_b: np.ndarray
    predicted_a: np.ndarray
    predicted_b: np.ndarray
    cross_loss: float
    reached: bool
    rho: float
    orthogonality: float

    @property
    def transform_error(self) -> float:
        return float(
            max(
                np.linalg.norm(self.u_a - self.predicted_a),
                np.linalg.norm(self.u_b - self.predicted_b),
            )
        )

    @property
    def distance_to_targets(self) -> float:
        """``max(||u_a - a||, ||u_b - b||)``: the finite-delta error of the limit (-> 0 as delta
        -> 0; ``u_a = a`` exactly since the gamma = 0 limit is ``(5, -1, 0)`` for every delta)."""
        return float(max(np.linalg.norm(self.u_a - self.a), np.linalg.norm(self.u_b - self.b)))


def corollary_6_3(gamma: float = 1.0, delta: float = 1e-4, seed: int = 2) -> Corollary63:
    """Build random targets ``a, b`` and the inputs whose limits they are; run all four flows."""
    rng = np.random.default_rng(seed)
    base0 = E.hidden_neuron_flow(E.counterexample(0.0), [delta])
    base = E.hidden_neuron_flow(E.counterexample(gamma), [delta])
    u1 = base0.v_final[0] * base0.w_final[0]
    u2 = base.v_final[0] * base.w_final[0]
    rho = float(np.linalg.norm(u2 - u1) / np.linalg.norm(u1))
    a = rng.normal(size=3)
    e = rng.normal(size=3)
    e -= (e @ a) / (a @ a) * a
    e /= np.linalg.norm(e)
    b = a + rho * np.linalg.norm(a) * e
    # Q takes u1's direction to a's and (u2 - u1)'s, i.e. -e3, to e.
    Q = E.rotation_taking(u1 / np.linalg.norm(u1), a / np.linalg.norm(a), np.array([0, 0, -1.0]), e)
    s = float(np.linalg.norm(a) / np.linalg.norm(u1))
    in0, in_g = E.transformed(0.0, Q, s), E.transformed(gamma, Q, s)
    r0 = E.hidden_neuron_flow(in0, [np.sqrt(s) * delta])
    rg = E.hidden_neuron_flow(in_g, [np.sqrt(s) * delta])
    u_a, u_b = r0.v_final[0] * r0.w_final[0], rg.v_final[0] * rg.w_final[0]
    losses = []
    for data in (in0, in_g):
        X, y = np.asarray(data.X), np.asarray(data.y)
        losses += [np.mean((np.maximum(X @ u, 0) - y) ** 2) for u in (u_a, u_b)]
    return Corollary63(
        a=a,
        b=b,
        u_a=u_a,
        u_b=u_b,
        predicted_a=s * Q @ u1,
        predicted_b=s * Q @ u2,
        cross_loss=float(max(losses)),
        reached=bool(all(r.reached.all() for r in (base0, base, r0, rg))),
        rho=float(np.linalg.norm(b - a) / np.linalg.norm(a)),
        orthogonality=float(abs((b - a) @ a) / (a @ a)),
    )


def both_zero_loss(gamma: float) -> float:
    """Largest loss of the two single-neuron limits (gamma = 0 and gamma) on either data set."""
    out = 0.0
    limits = [relu_counterexample_limit(g).w_limit for g in (0.0, gamma)]
    for g in (0.0, gamma):
        X, y = relu_counterexample_data(g)
        for w in limits:
            out = max(out, float(np.mean((np.maximum(X @ w, 0) - y) ** 2)))
    return out
