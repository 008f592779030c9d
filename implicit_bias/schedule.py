"""Where along a trajectory metrics are recorded."""

import equinox as eqx
import numpy as np

from .errors import check


class Schedule(eqx.Module):
    """Record points along a trajectory of ``steps`` steps (or up to time ``t1``).

    Either every ``every`` steps (discrete integrators only), or ``num`` points spaced
    ``linear``-ly or ``log``-arithmically. The number of points depends only on ``num`` (or on
    ``steps // every``), never on the traced scalars, so a schedule never causes a recompile
    when lr, init scale or seed change. Step 0 (t = 0) and the last step are always recorded.

    Attributes:
        num: number of recorded intervals (the record has ``num + 1`` points).
        spacing: ``linear`` or ``log``.
        every: record every ``every`` steps (overrides ``num``/``spacing``).
        log_min: first nonzero record point of a continuous log schedule, as a fraction of t1.
        params: also record the parameters (``param_<name>``) and, for models linear in x,
            the ``predictor`` at every record point.
    """

    num: int = 100
    spacing: str = "linear"
    every: int | None = None
    log_min: float = 1e-4
    params: bool = False

    def __check_init__(self):
        check(self.num >= 1, "record.num", self.num, "an integer >= 1")
        check(self.spacing in ("linear", "log"), "record.spacing", self.spacing, "linear or log")
        check(
            self.every is None or self.every >= 1, "record.every", self.every, "null or an int >= 1"
        )
        check(0 < self.log_min < 1, "record.log_min", self.log_min, "a float in (0, 1)")

    def steps(self, total: int) -> np.ndarray:
        """Integer record steps ``0 = r_0 <= r_1 <= ... <= r_R = total``.

        Repeated entries are kept (zero-length segments are free) so that R depends only on
        the schedule, not on ``total``.
        """
        total = int(total)
        if self.every is not None:
            pts = np.arange(0, total + 1, self.every, dtype=np.int64)
            if pts[-1] != total:
                pts = np.append(pts, total)
            return pts
        if self.spacing == "log" and total >= 1:
            # Log-spaced from step 1: the natural grid for ||w(t)|| ~ log t.
            pts = np.round(np.logspace(0.0, np.log10(total), self.num))
            return np.concatenate([[0], pts]).astype(np.int64)
        return np.round(self.fractions() * total).astype(np.int64)

    def fractions(self) -> np.ndarray:
        """Record points as fractions of the horizon, in [0, 1], starting at 0 and ending at 1."""
        if self.spacing == "linear":
            return np.linspace(0.0, 1.0, self.num + 1)
        # log: 0, then num points from log_min to 1 of the horizon.
        return np.concatenate([[0.0], np.logspace(np.log10(self.log_min), 0.0, self.num)])
