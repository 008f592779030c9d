"""From a config node to an object: ``_target_`` plus keyword arguments.

Only classes of ``implicit_bias`` may be instantiated from a config (``_target_``), and those of
the packages a config lists in ``allowed_packages`` (``allowed_packages: [mypkg]``: your own
model, loss, init or data generator, see ``docs/extending.md``); a bad value
raises :class:`~implicit_bias.errors.ConfigError` naming the key. Integer arguments accept
integral floats (``model.width=1e2``; the schemas type them ``Any``, see
:mod:`implicit_bias.app.schema`) and refuse others naming the key.
"""

import functools
import importlib
import inspect
import math
import typing
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from implicit_bias.errors import MISSING, ConfigError, is_real_number

ALLOWED_TARGET_PREFIX = "implicit_bias."


def _top_package(target: Any) -> str:
    return target.split(".")[0] if isinstance(target, str) and target else str(target)


def target_allowed(target: Any, allowed_packages: Sequence[str] = ()) -> bool:
    """Whether ``target`` (``module.Class``) is in ``implicit_bias`` or in one of
    ``allowed_packages`` (a package and its sub-modules: ``mypkg`` allows ``mypkg.models.Net``)."""
    if not isinstance(target, str):
        return False
    packages = ("implicit_bias", *allowed_packages)
    return any(target.startswith(f"{p}.") for p in packages)


def check_targets(node: Any, path: str = "", allowed_packages: Sequence[str] = ()) -> None:
    """Refuse any ``_target_`` outside the ``implicit_bias`` package and ``allowed_packages``.

    Args:
        node: a config (DictConfig) or plain container.
        path: the key of ``node`` (for the messages).
        allowed_packages: further packages whose classes a config may name (the top-level
            ``allowed_packages`` key).

    Raises:
        ConfigError: naming the key and the target, and how to allow its package.
    """
    if isinstance(node, DictConfig):
        node = OmegaConf.to_container(node, resolve=False)
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{path}.{k}" if path else str(k)
            if k == "_target_":
                if not target_allowed(v, allowed_packages):
                    raise ConfigError(
                        key,
                        v,
                        "a class or function of the implicit_bias package, or of a package "
                        "listed in allowed_packages (to allow it: "
                        f"allowed_packages=[{_top_package(v)}])",
                    )
            else:
                check_targets(v, key, allowed_packages)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_targets(v, f"{path}[{i}]", allowed_packages)


def instantiate(node: Any, key: str, allowed_packages: Sequence[str] = (), **overrides) -> Any:
    """Build the object a config node describes (``_target_`` + keyword arguments).

    A deliberately small replacement for ``hydra.utils.instantiate``: only targets inside
    ``implicit_bias`` (and ``allowed_packages``) are imported, and our :class:`ConfigError`
    propagates unwrapped.
    """
    node = plain(node, key)
    if "_target_" not in node:
        raise ConfigError(key, node, "a config with a _target_")
    check_targets(node, key, allowed_packages)
    kwargs = {k: v for k, v in node.items() if k != "_target_"}
    kwargs.update(overrides)
    module_name, _, attr = node["_target_"].rpartition(".")
    try:
        module = importlib.import_module(module_name)
        target = getattr(module, attr)
    except (ImportError, AttributeError) as e:
        where = "implicit_bias" if node["_target_"].startswith("implicit_bias.") else "its package"
        raise ConfigError(
            f"{key}._target_",
            node["_target_"],
            f"an existing class of {where}"
            + ("" if where == "implicit_bias" else f" (importable: {e})"),
        ) from None
    kwargs = integer_arguments(target, kwargs, key)
    try:
        return target(**kwargs)
    except TypeError as e:  # unknown or missing keyword
        raise ConfigError(key, kwargs, f"valid arguments of {node['_target_']} ({e})") from None


def plain(node: Any, key: str) -> dict:
    """A config node as a plain dict, interpolations resolved.

    Raises:
        ConfigError: for a node that is not a mapping, or a mandatory value (``???``) not given
            (``data=file`` without ``data.path``), naming the key.
    """
    if isinstance(node, DictConfig):
        node = OmegaConf.to_container(node, resolve=True, throw_on_missing=False)
    if not isinstance(node, dict):
        raise ConfigError(key, node, "a mapping")
    for k, v in node.items():
        if v == "???":  # OmegaConf's mandatory value, still missing
            raise ConfigError(
                f"{key}.{k}", MISSING, f"it has no default (set it, e.g. {key}.{k}=...)"
            )
    return node


@functools.cache
def integer_parameters(cls: type) -> dict[str, bool]:
    """The keyword arguments of ``cls`` annotated ``int`` (value: whether ``None`` is allowed)."""
    init = cls.__init__
    try:
        hints = typing.get_type_hints(init) if init is not object.__init__ else {}
    except Exception:  # unresolvable annotations: nothing to convert
        hints = {}
    out = {}
    for name, param in inspect.signature(cls).parameters.items():
        tp = hints.get(name, param.annotation)
        if tp is int:
            out[name] = False
        elif set(typing.get_args(tp)) == {int, type(None)}:
            out[name] = True
    return out


def integer_arguments(cls: type, kwargs: dict[str, Any], key: str) -> dict[str, Any]:
    """``kwargs`` with the integer arguments of ``cls`` as ``int``: ``1e6`` (a float, as Hydra
    parses it) becomes ``1000000``.

    Raises:
        ConfigError: for a value that is not an integer (``1.5``, ``'abc'``, ``true``), naming
            ``<key>.<argument>``.
    """
    out = dict(kwargs)
    for name, nullable in integer_parameters(cls).items():
        if name in out:
            out[name] = to_integer(out[name], f"{key}.{name}", nullable)
    return out


def to_integer(value: Any, key: str, nullable: bool = False) -> int | None:
    """``value`` as an ``int`` if it is an integer or an integral float.

    Raises:
        ConfigError: naming ``key`` for anything else.
    """
    if value is None and nullable:
        return None
    if is_real_number(value) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise ConfigError(key, value, "an integer or null" if nullable else "an integer")
