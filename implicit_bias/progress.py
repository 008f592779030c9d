"""Progress bars fed from inside compiled programs, once per record point.

A compiled trajectory calls :func:`progress_tick` at every record point (a ``jax.debug``
callback between scan chunks, never per step). The callback is a module-level function so that
the compiled program does not depend on which bar is showing: the active bar is looked up at
call time, and a tick with no bar open costs one host call.
"""

import sys

import jax
import numpy as np
from tqdm.auto import tqdm

_ACTIVE: list["ProgressBar"] = []


def _tick(index) -> None:
    if _ACTIVE:
        _ACTIVE[-1].update_to(int(index) + 1)


def progress_tick(index, total: int) -> None:
    """Report, from traced code, that record point ``index`` (0-based) of ``total`` is done."""
    del total
    jax.debug.callback(_tick, index)


class ProgressBar:
    """Context manager showing progress of the running compiled program.

    Quiet when disabled, and by default when stderr is not a TTY (CI, files, SLURM logs).

    Args:
        total: number of record points.
        enabled: ``True``/``False``, or ``None`` for "only on a TTY".
        desc: label.
        scale: optional array mapping record index -> step count shown on the bar.
    """

    def __init__(self, total: int, enabled: bool | None = None, desc: str = "", scale=None):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.enabled = bool(enabled)
        self.scale = None if scale is None else np.asarray(scale)
        shown_total = int(self.scale[-1]) if self.scale is not None else total
        self.bar = tqdm(total=shown_total, desc=desc, disable=not self.enabled, leave=False)

    def update_to(self, done: int) -> None:
        value = int(self.scale[min(done, len(self.scale) - 1)]) if self.scale is not None else done
        self.bar.update(value - self.bar.n)

    def __enter__(self):
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc):
        _ACTIVE.remove(self)
        self.bar.close()
        return False
