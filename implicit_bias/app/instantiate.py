"""From a config node to an object: ``_target_`` plus keyword arguments.

Only classes of ``implicit_bias`` may be instantiated from a config (``_target_``); a bad value
raises :class:`~implicit_bias.errors.ConfigError` naming the key.
"""

import importlib
from typing import Any

from omegaconf import DictConfig, OmegaConf

from implicit_bias.errors import ConfigError

ALLOWED_TARGET_PREFIX = "implicit_bias."


def check_targets(node: Any, path: str = "") -> None:
    """Refuse any ``_target_`` outside the ``implicit_bias`` package.

    Args:
        node: a config (DictConfig) or plain container.

    Raises:
        ConfigError: naming the key and the target.
    """
    if isinstance(node, DictConfig):
        node = OmegaConf.to_container(node, resolve=False)
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{path}.{k}" if path else str(k)
            if k == "_target_":
                if not (isinstance(v, str) and v.startswith(ALLOWED_TARGET_PREFIX)):
                    raise ConfigError(key, v, "a class or function of the implicit_bias package")
            else:
                check_targets(v, key)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_targets(v, f"{path}[{i}]")


def instantiate(node: Any, key: str, **overrides) -> Any:
    """Build the object a config node describes (``_target_`` + keyword arguments).

    A deliberately small replacement for ``hydra.utils.instantiate``: only targets inside
    ``implicit_bias`` are imported, and our :class:`ConfigError` propagates unwrapped.
    """
    if isinstance(node, DictConfig):
        node = OmegaConf.to_container(node, resolve=True)
    if not isinstance(node, dict) or "_target_" not in node:
        raise ConfigError(key, node, "a config with a _target_")
    check_targets(node, key)
    kwargs = {k: v for k, v in node.items() if k != "_target_"}
    kwargs.update(overrides)
    module_name, _, attr = node["_target_"].rpartition(".")
    try:
        module = importlib.import_module(module_name)
        target = getattr(module, attr)
    except (ImportError, AttributeError):
        raise ConfigError(
            f"{key}._target_", node["_target_"], "an existing class of implicit_bias"
        ) from None
    try:
        return target(**kwargs)
    except TypeError as e:  # unknown or missing keyword
        raise ConfigError(key, kwargs, f"valid arguments of {node['_target_']} ({e})") from None
