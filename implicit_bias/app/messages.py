"""What the user reads: one line for every refusal, and numbers that may be NaN or infinite.

* :func:`error_line`: the one-line message of a refusal, whoever raised it. Our
  :class:`~implicit_bias.errors.ConfigError` is already one line (``key=value is invalid:
  allowed``); Hydra's and OmegaConf's refusals (unknown option, wrong type, unknown key, a
  launcher option refused while Hydra instantiates the launcher, an override that does not
  parse) are rewritten into the same format, without Hydra's search path or the names of our
  schema classes.
* :func:`format_number`: a metric for a log line or a table, whatever it is (a float, NaN,
  infinity, ``None`` for "not measured", a numpy scalar).
"""

import dataclasses
import math
from typing import Any

from implicit_bias.errors import ConfigError, is_real_number

GRAMMAR_URL = "https://hydra.cc/docs/advanced/override_grammar/basic/"


def format_number(x: Any, spec: str = ".4g") -> str:
    """``x`` for a report: ``format(x, spec)`` for a finite number, ``nan``, ``inf``,
    ``-inf``, ``n/a`` for ``None``, ``str(x)`` for anything else. Never raises."""
    if x is None:
        return "n/a"
    if hasattr(x, "item") and getattr(x, "ndim", 1) == 0:
        x = x.item()  # a numpy or JAX scalar
    if isinstance(x, bool) or not is_real_number(x):
        return str(x)
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(x, spec)


def _first_line(x: object) -> str:
    lines = str(x).strip().splitlines()
    return lines[0].strip() if lines else ""


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _value(text: str) -> Any:
    """A value as written on the command line, read back as Hydra reads plain values."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "null": None}.get(text, text)


def _allowed_type(msg: str) -> str:
    if "converted to Float" in msg:
        return "a float"
    if "converted to Integer" in msg:
        return "an integer"
    if "is not a valid bool" in msg:
        return "true or false"
    if "is not Optional" in msg or "cannot be assigned None" in msg:
        return "a value (not null)"
    return _first_line(msg)


def _keys_of(object_type: Any) -> list[str]:
    if object_type is None or not dataclasses.is_dataclass(object_type):
        return []
    hidden = ("_target_", "defaults")
    return [f.name for f in dataclasses.fields(object_type) if f.name not in hidden]


def error_line(exc: BaseException) -> str:
    """The one-line message (without ``Error: ``) for a refusal of the user's input.

    Args:
        exc: a :class:`ConfigError`, or an exception of Hydra or OmegaConf (possibly wrapping
            a ``ConfigError``, e.g. a launcher option refused while Hydra instantiates the
            launcher).
    """
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

    for e in _chain(exc):
        if isinstance(e, ConfigError):
            return str(e)
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and exc.options:
        group, _, name = exc.missing_cfg_file.rpartition("/")
        options = [o for o in exc.options if not o.startswith("schema_")]
        return str(ConfigError(group, name, f"one of {options}"))
    if isinstance(exc, OverrideParseException):
        lines = str(exc).strip().splitlines()
        reason = lines[1].strip() if len(lines) > 1 else lines[0]
        if ": " in reason and "while evaluating" in reason:
            reason = reason.split(": ", 1)[1]  # "ValueError while evaluating 'choice()': ..."
        return (
            f"the override {exc.override!r} does not parse: {reason} (the syntax is key=value, "
            f"{GRAMMAR_URL})"
        )
    cause = exc.__cause__
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and cause.full_key:
        # An unknown key: "Could not override 'model.depthh'. To append ... +model.depthh=3".
        key = str(cause.full_key)
        text = str(exc)
        marker = f"+{key}="
        value = _value(text.split(marker, 1)[1].split()[0]) if marker in text else None
        parent = key.rpartition(".")[0]
        keys = _keys_of(cause.object_type)
        allowed = f"a key of {parent or 'the config'}"
        if keys:
            allowed += f" (one of {keys})"
        return str(ConfigError(key, value, allowed))
    if isinstance(cause, ValidationError) and cause.full_key:
        key, value, allowed = str(cause.full_key), getattr(cause, "value", None), cause.msg
        if value is None:  # as written on the command line
            return f"{key}=null is invalid: {_allowed_type(allowed)}"
        return str(ConfigError(key, value, _allowed_type(allowed)))
    line = _first_line(exc)
    if cause is not None and _first_line(cause) and _first_line(cause) not in line:
        line = f"{line.rstrip('.:')}: {_first_line(cause)}"
    return line or type(exc).__name__
