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
