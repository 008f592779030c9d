"""Interrupts during a sweep: SIGTERM handled like SIGINT, and the signals received recorded."""

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[list[int]]:
    """SIGTERM raises KeyboardInterrupt like SIGINT does; yields the signals received.

    A no-op outside the main thread (Python only delivers signals there).
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, handler)
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
