"""Where the app finds its configs: ``conf/`` (the config groups) and ``sweeps/`` (the sweep group).

The repository keeps one copy of each at its top level. A wheel carries them as package data,
installed as ``implicit_bias/conf`` and ``implicit_bias/sweeps`` (see ``setup.py``); a source
checkout (editable install, or ``PYTHONPATH``) reads the top-level folders directly.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # implicit_bias/


def _find(name: str) -> Path:
    installed = _PACKAGE / name  # inside an installed wheel
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name  # a source checkout: the repository's top level


def conf_dir() -> Path:
    """The folder of ``config.yaml`` and the config groups (``model/``, ``data/``, ...)."""
    return _find("conf")


def sweeps_dir() -> Path:
    """The folder of the sweep files, the options of the config group ``sweep``."""
    return _find("sweeps")
