"""Instrumentation for tests (and for the batched launcher's logs): counting XLA compilations.

A sweep group must compile **once**: the swept scalars are traced, so a second batch of the same
structure and batch size reuses the executable. :func:`count_compilations` makes that checkable::

    with count_compilations("_simulate") as compiles:
        run_batch(exp, seed=[0, 1])
        run_batch(exp, seed=[2, 3])
    assert compiles.count == 1

It listens to JAX's monitoring event ``/jax/core/compile/backend_compile_duration``, recorded
once per backend compilation (including persistent-cache hits, which still go through the
backend compile path), with the compiled function's name (``jit(_simulate_discrete)``). Unlike
parsing ``jax_log_compiles`` log lines, it does not depend on log formats or levels.
"""

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import jax

#: JAX's monitoring event for one backend (XLA) compilation; ``jax._src.dispatch`` names it.
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@dataclass
class Compilations:
    """The compilations seen inside a :func:`count_compilations` block.

    Attributes:
        names: the compiled functions' names, in order (e.g. ``jit(_simulate_discrete)``).
        seconds: the backend compile time of each, in seconds.
    """

    names: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    workers: list[int | None] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Number of compilations."""
        return len(self.names)

    @property
    def total_seconds(self) -> float:
        """Total backend compile time, in seconds."""
        return float(sum(self.seconds))

    @property
    def wall_seconds(self) -> float:
        """Compile time on the critical path: compilations in this process add up; those of
        worker processes (:mod:`implicit_bias.app.workers`), which compile in parallel, count as
        the busiest worker's total."""
        own, per_worker = 0.0, {}
        for sec, worker in zip(self.seconds, self.workers, strict=True):
            if worker is None:
                own += sec
            else:
                per_worker[worker] = per_worker.get(worker, 0.0) + sec
        return own + max(per_worker.values(), default=0.0)


_LOCK = threading.Lock()
#: The collectors of the ``count_compilations`` blocks now open, with their ``match``.
_ACTIVE: list[tuple[str | None, Compilations]] = []


def _record(name: str, seconds: float, worker: int | None) -> None:
    with _LOCK:
        for match, found in _ACTIVE:
            if match is None or match in name:
                found.names.append(name)
                found.seconds.append(float(seconds))
                found.workers.append(worker)


def _listener(event: str, duration: float, **kwargs) -> None:
    if event == BACKEND_COMPILE_EVENT:
        _record(str(kwargs.get("fun_name", "")), duration, None)


# One listener for the life of the process; it feeds whichever blocks are open.
jax.monitoring.register_event_duration_secs_listener(_listener)


def record_compilations(names: list[str], seconds: list[float], worker: int) -> None:
    """Report compilations that happened in worker process ``worker``
    (:mod:`implicit_bias.app.workers`) to every open :func:`count_compilations` block."""
    for name, sec in zip(names, seconds, strict=True):
        _record(name, sec, worker)


@contextlib.contextmanager
def count_compilations(match: str | None = None) -> Iterator[Compilations]:
    """Record the XLA compilations that happen inside the ``with`` block (in this process, or
    in worker processes that report them with :func:`record_compilations`).

    Args:
        match: count only functions whose name contains this substring (e.g. ``"_simulate"``
            for the engine's trajectory programs, leaving out the tiny programs JAX compiles
            for eager array operations). ``None`` counts every compilation.

    Yields:
        A :class:`Compilations`, filled while the block runs (read it after the block).
    """
    entry = (match, Compilations())
    with _LOCK:
        _ACTIVE.append(entry)
    try:
        yield entry[1]
    finally:
        with _LOCK:
            # By identity: two collectors with the same content compare equal (dataclass eq).
            _ACTIVE[:] = [e for e in _ACTIVE if e is not entry]
