"""The batch plan of a sweep: which points run together, in which padded batch.

Points of a sweep group share one compiled program; what remains to choose is how to cut the
group into batches (*chunks*):

* **Equal horizon.** The engine runs a batch up to its largest ``steps`` (``t1`` for gradient
  flow) and records every run on that batch's record grid, so a short run batched with a long
  one costs the long run's compute and gets a different time grid than when run alone. Chunks
  therefore hold points of one horizon only, which also makes each point's outputs independent
  of how the sweep was cut (and of which points a resumed sweep still has to do).
* **Bounded size.** At most ``max_batch_size`` points per chunk (memory; and each chunk is
  written to disk as soon as it finishes, so an interrupted sweep keeps what finished).
* **Few compilations.** A new batch size is a new program. Chunks are padded
  (:meth:`implicit_bias.Scalars.pad`: the copies are computed and dropped) to a bucket size
  ``pad_to``:

  - ``pow2``: the next power of two (capped at ``max_batch_size``): at most ``1 + log2 B``
    programs per group, and never more than 2x the compute;
  - ``max``: the group's largest chunk: exactly one program per group;
  - ``none``: no padding: one program per distinct chunk size.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

PAD_POLICIES = ("pow2", "max", "none")


@dataclass(frozen=True)
class Chunk:
    """One batch of a group.

    Attributes:
        points: indices (into the sweep's job list) of the points computed and saved.
        size: the batch size compiled and run, ``>= len(points)``.
        horizon: the common ``steps`` (or ``t1``) of the points.
    """

    points: tuple[int, ...]
    size: int
    horizon: int | float


def _next_pow2(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(n)))


def plan_group(
    points: Sequence[int],
    horizons: Sequence[int | float],
    max_batch_size: int | None = None,
    pad_to: str = "pow2",
) -> list[Chunk]:
    """Cut a group into chunks of equal horizon, shortest horizon first.

    Args:
        points: the job indices of the group's points.
        horizons: their ``steps`` (or ``t1``), same length.
        max_batch_size: largest number of points per chunk (``None``: no limit).
        pad_to: ``pow2``, ``max`` or ``none`` (see the module docstring).

    Returns:
        The chunks, in the order they should run. Within a chunk, points keep their sweep order.

    Raises:
        ValueError: for a bad ``max_batch_size`` or ``pad_to``.
    """
    if pad_to not in PAD_POLICIES:
        raise ValueError(f"hydra.launcher.pad_to={pad_to!r} is invalid: one of {PAD_POLICIES}")
    if max_batch_size is not None and max_batch_size < 1:
        raise ValueError(
            f"hydra.launcher.max_batch_size={max_batch_size!r} is invalid: null or an int >= 1"
        )
    if len(points) != len(horizons):
        raise ValueError("points and horizons must have the same length")
    order = sorted(range(len(points)), key=lambda i: (horizons[i], points[i]))
    runs: list[tuple[float, list[int]]] = []
    for i in order:
        if runs and runs[-1][0] == horizons[i]:
            runs[-1][1].append(points[i])
        else:
            runs.append((horizons[i], [points[i]]))
    pieces: list[tuple[float, tuple[int, ...]]] = []
    for horizon, members in runs:
        step = max_batch_size or len(members)
        pieces += [(horizon, tuple(members[k : k + step])) for k in range(0, len(members), step)]
    largest = max((len(p) for _, p in pieces), default=0)
    chunks = []
    for horizon, piece in pieces:
        n = len(piece)
        if pad_to == "pow2":
            size = min(_next_pow2(n), max_batch_size or _next_pow2(n))
        elif pad_to == "max":
            size = largest
        else:
            size = n
        chunks.append(Chunk(points=piece, size=max(size, n), horizon=horizon))
    return chunks
