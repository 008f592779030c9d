"""Progress of a running batch, shown from the host between program calls.

The engine's compiled program holds no host callback (which would keep it out of JAX's
persistent compilation cache): the host loop of :func:`implicit_bias.run_batch` calls the
program a few tenths of a second at a time and advances the bar between calls.
"""

import sys

from tqdm.auto import tqdm


class ProgressBar:
    """Context manager showing the progress of a batch.

    Quiet when disabled, and by default when stderr is not a TTY (CI, files, SLURM logs).

    Args:
        total: the amount of work (steps of the batch's longest run).
        enabled: ``True``/``False``, or ``None`` for "only on a TTY".
        desc: label.
    """

    def __init__(self, total: int, enabled: bool | None = None, desc: str = ""):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.enabled = bool(enabled)
        self.bar = tqdm(total=int(total), desc=desc, disable=not self.enabled, leave=False)

    def update_to(self, done: int) -> None:
        """Show ``done`` units of work as done."""
        self.bar.update(int(done) - self.bar.n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()
        return False
