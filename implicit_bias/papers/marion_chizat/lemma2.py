r"""Lemma 1 and Lemma 2 of the paper, checked along recorded gradient-flow trajectories.

Lemma 1 (line 69; Arora et al., 2018): along the gradient flow of a deep linear network the
imbalances ``D_k = W_{k+1}^T W_{k+1} - W_k W_k^T`` (k = 1 ... L-1) are constant.

Lemma 2 (lines 72-83, proof lines 317-341) bounds, at every time and with a constant
``epsilon`` computed from the initialization (line 70; "only depends on the initialization,
and can be made arbitrarily small by scaling down the initialization", line 71):

1. rank one: ``||W_k||_F^2 - ||W_k||_2^2 <= epsilon`` (the squared singular values of
   ``W_k`` but the largest);
2. equal norms: ``| ||W_k||_2^2 - ||W_l||_2^2 | <= epsilon``;
3. alignment: ``<u_k, v_{k+1}>^2 >= 1 - 2 epsilon / (||W_{k+1}||_2^2 - epsilon)`` where
   ``||W_{k+1}||_2^2 > epsilon`` (``u_k``: top left singular vector of ``W_k``; ``v_{k+1}``:
   top right singular vector of ``W_{k+1}``).

The symbols of the statement were lost in extraction; the forms above are those the proof
establishes, derived here: (1) taking the operator norm and the trace of Lemma 1 gives
``||W_k||_F^2 - ||W_k||_2^2 <= ||W_{k+1}||_F^2 - ||W_{k+1}||_2^2 + ||D_k||_2 - tr D_k``,
which telescopes to ``W_L`` (a row vector, for which both norms agree: line 327); (2) by
recurrence over ``||W_k||_2^2 >= ||W_{k+1}||_2^2 - ||D_k||_2`` and its converse (lines
329-333); (3) ``s_k - ||D_k||_2 <= ||W_{k+1} u_k||^2 <= s_{k+1} c^2 + sigma_2(W_{k+1})^2
(1 - c^2)`` with ``sigma_2^2 <= epsilon`` by (1) and ``s_k >= s_{k+1} - ||D_k||_2`` (lines
335-341). All three hold with

    epsilon = sum_{k=1}^{L-1} (||D_k(0)||_2 + |tr D_k(0)|),

which dominates every remainder the proof sums. (The paper's own definition of ``epsilon``,
line 70, is lost; any admissible one is at least as large as what the proof needs, so the
checks below are the lemma's content.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["epsilon", "imbalances", "lemma2_checks", "structure"]


def imbalances(layers: list[np.ndarray]) -> list[np.ndarray]:
    """``D_k = W_{k+1}^T W_{k+1} - W_k W_k^T`` for batched layers (any leading axes)."""
    W = [np.asarray(w, np.float64) for w in layers]
    return [
        np.swapaxes(b, -1, -2) @ b - a @ np.swapaxes(a, -1, -2)
        for a, b in zip(W[:-1], W[1:], strict=True)
    ]


def epsilon(layers0: list[np.ndarray]) -> np.ndarray:
    """``epsilon = sum_k (||D_k||_2 + |tr D_k|)`` of the initial layers (leading axes kept)."""
    out = 0.0
    for D in imbalances(layers0):
        out = out + np.linalg.norm(D, 2, axis=(-2, -1)) + np.abs(np.trace(D, axis1=-2, axis2=-1))
    return np.asarray(out)


def structure(layers: list[np.ndarray]) -> dict[str, np.ndarray]:
    r"""Per-layer singular structure of batched layers (leading axes ``...``).

    Returns:
        ``s2`` = ``||W_k||_2^2`` (..., L), ``tail`` = ``||W_k||_F^2 - ||W_k||_2^2`` (..., L),
        ``align2`` = ``<u_k, v_{k+1}>^2`` (..., L-1).
    """
    s2, tail, us, vs = [], [], [], []
    for W in layers:
        W = np.asarray(W, np.float64)
        U, s, Vt = np.linalg.svd(W, full_matrices=False)
        s2.append(s[..., 0] ** 2)
        tail.append(np.sum(s[..., 1:] ** 2, axis=-1))
        us.append(U[..., :, 0])
        vs.append(Vt[..., 0, :])
    align2 = [np.sum(u * v, axis=-1) ** 2 for u, v in zip(us[:-1], vs[1:], strict=True)]
    return {
        "s2": np.stack(s2, -1),
        "tail": np.stack(tail, -1),
        "align2": np.stack(align2, -1) if align2 else np.ones((*s2[0].shape, 0)),
    }


def lemma2_checks(trajectory: list[np.ndarray], layers0: list[np.ndarray]) -> dict[str, np.ndarray]:
    r"""Lemmas 1 and 2 at every recorded time and layer of a batch of trajectories.

    Args:
        trajectory: ``W_1 ... W_L`` recorded along the flow, each of shape (b, r, m_k, m_{k-1})
            (``r`` record points).
        layers0: the initial layers, each (b, m_k, m_{k-1}).

    Returns:
        Arrays of shape (b,):

        * ``epsilon``;
        * ``lemma1_drift``: ``max_{t,k} ||D_k(t) - D_k(0)||_F / max_k ||D_k(0)||_F`` (0 in
          exact arithmetic; measures the integration error);
        * ``rank_one_ratio``, ``norms_ratio``, ``align_ratio``: the largest ratio, over every
          recorded time (and layer), of the left-hand side of statements 1, 2, 3 to its bound
          (``<= 1``: the statement holds; statement 3 only where ``s_{k+1} > epsilon``);
        * ``align_points``: the fraction of (time, layer) points where statement 3 is not
          vacuous (``2 epsilon / (s_{k+1} - epsilon) < 1``);
        * final-time structure: ``rank_one_defect`` = ``max_k tail_k / ||W_k||_F^2``,
          ``alignment`` = ``min_k |<u_k, v_{k+1}>|``, ``norm_spread`` = ``max_k s_k / min_k
          s_k``.
    """
    eps = epsilon(layers0)  # (b,)
    D0 = imbalances(layers0)
    Dt = imbalances(trajectory)
    scale = np.max(np.stack([np.linalg.norm(D, axis=(-2, -1)) for D in D0], -1), -1)
    drift = np.max(
        np.stack(
            [
                np.max(np.linalg.norm(Dtk - D0k[:, None], axis=(-2, -1)), axis=-1)
                for Dtk, D0k in zip(Dt, D0, strict=True)
            ],
            -1,
        ),
        -1,
    ) / np.maximum(scale, 1e-300)
    st = structure(trajectory)  # (b, r, L), (b, r, L-1)
    e = eps[:, None, None]
    rank_one = np.max(st["tail"] / e, axis=(1, 2))
    spread = np.max(st["s2"], -1) - np.min(st["s2"], -1)
    norms = np.max(spread / eps[:, None], axis=1)
    s_next = st["s2"][..., 1:]
    ok = s_next > e
    bound = np.where(ok, 2.0 * e / np.where(ok, s_next - e, 1.0), np.inf)
    ratio = np.where(ok, (1.0 - st["align2"]) / bound, 0.0)
    align_ratio = np.max(ratio, axis=(1, 2)) if ratio.size else np.zeros_like(eps)
    useful = np.mean(bound < 1.0, axis=(1, 2)) if ratio.size else np.zeros_like(eps)
    final = {k: v[:, -1] for k, v in st.items()}
    frob = final["s2"] + final["tail"]
    return {
        "epsilon": eps,
        "lemma1_drift": drift,
        "rank_one_ratio": rank_one,
        "norms_ratio": norms,
        "align_ratio": align_ratio,
        "align_points": useful,
        "rank_one_defect": np.max(final["tail"] / np.maximum(frob, 1e-300), -1),
        "alignment": np.sqrt(np.min(final["align2"], -1))
        if final["align2"].size
        else np.ones_like(eps),
        "norm_spread": np.max(final["s2"], -1) / np.maximum(np.min(final["s2"], -1), 1e-300),
    }
