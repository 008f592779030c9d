"""User-facing errors.

A :class:`ConfigError` is raised for bad user input (a config value, a data file). Its message is
one line that names the key, the bad value and what is allowed; the CLI prints it without a
traceback.
"""

import dataclasses
import math
import numbers


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: The ``value`` of a :class:`ConfigError` for a key that was not given at all.
MISSING = _Missing()


class ConfigError(ValueError):
    """Bad user input: names the key, the bad value and what is allowed.

    The message is ``<key>=<value!r> is invalid: <allowed>``, or ``<key> is missing:
    <allowed>`` when ``value`` is :data:`MISSING`.
    """

    def __init__(self, key: str, value: object, allowed: str):
        self.key = key
        self.value = value
        self.allowed = allowed
        if value is MISSING:
            super().__init__(f"{key} is missing: {allowed}")
        else:
            super().__init__(f"{key}={value!r} is invalid: {allowed}")


def check(condition: bool, key: str, value: object, allowed: str) -> None:
    """Raise :class:`ConfigError` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(key, value, allowed)


def is_real_number(x: object) -> bool:
    """A real number that is not a bool (``int``, ``float``, numpy scalars)."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def is_finite(x: object) -> bool:
    """A real number (not a bool) that is neither NaN nor infinite."""
    return is_real_number(x) and math.isfinite(x)


def check_finite_fields(module: object, prefix: str) -> None:
    """Every float field of a config object (a dataclass, e.g. an ``eqx.Module``) is finite.

    Called by the ``__check_init__`` of each family's abstract base class, so that every float
    a config or the Python API sets (``integrator.rtol``, ``data.sigma``, ...) is refused when
    it is NaN or infinite, naming the key, before anything is computed. A member's own range
    checks run first (``rtol > 0`` already refuses NaN, whose comparisons are all false).

    Args:
        module: the object.
        prefix: the config group it belongs to (``model``, ``data``, ...).

    Raises:
        ConfigError: ``<prefix>.<field>=<value> is invalid: a finite number``.
    """
    for f in dataclasses.fields(module):
        value = getattr(module, f.name, None)
        if is_real_number(value) and not isinstance(value, numbers.Integral):
            check(math.isfinite(value), f"{prefix}.{f.name}", value, "a finite number")


class Interrupted(KeyboardInterrupt):
    """A batch stopped by an interrupt (``KeyboardInterrupt``: Ctrl-C, SIGINT, or a signal the
    caller turns into one), raised by :func:`implicit_bias.run_batch` within about one program
    call (:data:`implicit_bias.engine.CHUNK_SECONDS`) of the interrupt, or at once while the
    program is still compiling.

    A subclass of ``KeyboardInterrupt``, so code that does not know it sees the usual interrupt.

    Attributes:
        position: the step (gradient flow: measurement slot) every run of the batch had
            reached; ``0`` when nothing ran yet.
        end: the step the batch was running to.
        checkpoint: the file the batch was saved to (resume by running it again with the same
            :class:`~implicit_bias.checkpoint.Checkpoint`), or ``None``.
        phase: ``"compiling"`` (the first program call had not returned: compiling, or loading
            from the cache; nothing to keep), ``"running"`` or ``"finished"``.
        result: the batch's :class:`~implicit_bias.Result` when it had finished before the
            interrupt was seen (phase ``"finished"``), so that the caller can keep it; else
            ``None``.
    """

    def __init__(self, position: int, end: int, checkpoint=None, phase="running", result=None):
        super().__init__(f"interrupted at {position} of {end} ({phase})")
        self.position = position
        self.end = end
        self.checkpoint = checkpoint
        self.phase = phase
        self.result = result
