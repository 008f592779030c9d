"""SIGINT and SIGTERM for the command line: stop within seconds at any phase, keep what
finished, exit ``128 + signal`` (130, 143) with one line, no traceback.

* :func:`signals_as_interrupt`: SIGTERM raises ``KeyboardInterrupt`` like SIGINT does, and the
  signals received are recorded. The engine runs its batches in a worker thread and waits in an
  interruptible wait (:mod:`implicit_bias.engine`), so the interrupt lands at once even while
  XLA compiles; the batch then stops after its current program call, saving its checkpoint.
* :func:`deferred`: while a result is being written, a signal is only recorded (writing a
  run directory or a sweep point is never cut in the middle); the caller checks
  :attr:`Received.signum` afterwards.
* :func:`exit_interrupted`: prints the one line, stops the CPU worker processes and leaves
  with ``os._exit``. Not ``sys.exit``: a program still compiling in the engine's worker thread
  cannot be stopped, and tearing down the interpreter under it crashed the process (exit 139,
  issue 17); everything worth keeping is on disk by then, and log handlers are flushed first.
"""

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import NoReturn


class Received:
    """The signals received inside :func:`signals_as_interrupt`.

    Attributes:
        signals: the signal numbers, in order.
        first_at: ``time.monotonic()`` of the first one (``None``: none yet).
        deferring: signals are only recorded, not raised (inside :func:`deferred`).
    """

    def __init__(self):
        self.signals: list[int] = []
        self.first_at: float | None = None
        self.deferring = 0

    def __bool__(self) -> bool:
        return bool(self.signals)

    @property
    def signum(self) -> int | None:
        """The first signal received, or ``None``."""
        return self.signals[0] if self.signals else None

    def record(self, signum: int) -> None:
        if not self.signals:
            self.first_at = time.monotonic()
        self.signals.append(signum)


#: The :class:`Received` of the innermost :func:`signals_as_interrupt` block now open.
_ACTIVE: list[Received] = []


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[Received]:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` (recorded in the yielded
    :class:`Received`) for the block; the previous handlers come back after it.

    Outside the main thread (where Python delivers no signals) only the recording object is
    yielded.
    """
    received = Received()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum, frame):
        received.record(signum)
        if not received.deferring:
            raise KeyboardInterrupt

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, handler)
    _ACTIVE.append(received)
    try:
        yield received
    finally:
        _ACTIVE.remove(received)
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Inside an open :func:`signals_as_interrupt` block, signals are recorded but not raised
    for the duration of this block (a no-op when none is open)."""
    if not _ACTIVE:
        yield
        return
    received = _ACTIVE[-1]
    received.deferring += 1
    try:
        yield
    finally:
        received.deferring -= 1


def signal_name(signum: int | None) -> str:
    return signal.Signals(signum if signum is not None else signal.SIGINT).name


def exit_interrupted(
    signum: int | None, message: str, log: logging.Logger | None = None
) -> NoReturn:
    """Say ``interrupted (<SIGNAL>): <message>`` once (an error of ``log``, whose handlers
    print it and write it to the log file; without ``log``, a line on stderr), stop the CPU
    worker processes, flush and leave at once with status ``128 + signum`` (SIGINT when
    ``None``)."""
    if threading.current_thread() is threading.main_thread():
        # A second Ctrl-C while leaving would raise in the middle of the exit.
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)
    signum = int(signum if signum is not None else signal.SIGINT)
    line = f"interrupted ({signal_name(signum)}): {message}"
    if log is not None:
        log.error(line)
    else:
        print(line, file=sys.stderr, flush=True)
    try:
        from implicit_bias.app import workers

        workers.shutdown(now=True)
    except Exception:  # exiting anyway: the workers' pipes close with this process
        pass
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    os._exit(128 + signum)
