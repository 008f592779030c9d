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
        worker processes (names ending in ``[worker i]``), which compile in parallel, count as
        the busiest worker's total."""
        own, workers = 0.0, {}
        for name, sec in zip(self.names, self.seconds, strict=True):
            if name.endswith("]") and "[worker " in name:
                tag = name.rsplit("[worker ", 1)[1]
                workers[tag] = workers.get(tag, 0.0) + sec
            else:
                own += sec
        return own + max(workers.values(), default=0.0)


_LOCK = threading.Lock()
#: The collectors of the ``count_compilations`` blocks now open.
_ACTIVE: list[tuple[str | None, Compilations]] = []


def record_compilations(names: list[str], seconds: list[float]) -> None:
    """Report compilations that happened elsewhere (in worker processes,
    :mod:`implicit_bias.workers`) to every open :func:`count_compilations` block."""
    with _LOCK:
        for match, found in _ACTIVE:
            for name, sec in zip(names, seconds, strict=True):
                if match is None or match in name:
                    found.names.append(name)
                    found.seconds.append(float(sec))


@contextlib.contextmanager
def count_compilations(match: str | None = None) -> Iterator[Compilations]:
    """Record the XLA compilations that happen inside the ``with`` block.

    Args:
        match: count only functions whose name contains this substring (e.g. ``"_simulate"``
            for the engine's trajectory programs, leaving out the tiny programs JAX compiles
            for eager array operations). ``None`` counts every compilation.

    Yields:
        A :class:`Compilations`, filled while the block runs (read it after the block).
    """
    found = Compilations()

    def listener(event: str, duration: float, **kwargs) -> None:
        if event != BACKEND_COMPILE_EVENT:
            return
        name = str(kwargs.get("fun_name", ""))
        if match is None or match in name:
            with _LOCK:
                found.names.append(name)
                found.seconds.append(float(duration))

    jax.monitoring.register_event_duration_secs_listener(listener)
    entry = (match, found)
    with _LOCK:
        _ACTIVE.append(entry)
    try:
        yield found
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
        with _LOCK:
            # By identity: two collectors with the same content compare equal (dataclass eq).
            _ACTIVE[:] = [e for e in _ACTIVE if e is not entry]
