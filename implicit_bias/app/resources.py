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


def expose_launcher_plugin() -> None:
    """Let Hydra's plugin scan find our launcher and sweeper in an editable install.

    Hydra finds plugins by listing the folders of the ``hydra_plugins`` namespace package
    (``pkgutil.walk_packages``). A wheel installs ``hydra_plugins/implicit_bias_launcher`` into
    site-packages, where it is listed; an editable install (``pip install -e .``, what ``make``
    does) maps it with an import hook that such a listing does not see, so ``-m`` failed with
    "hydra/sweeper=grids not found" whenever the repository was not the current directory
    (the ``implicit-bias`` script, or any other folder). Its folder is added to the namespace's
    path, once.
    """
    import importlib.util

    try:
        import hydra_plugins

        spec = importlib.util.find_spec("hydra_plugins.implicit_bias_launcher")
    except ImportError:
        return
    if spec is None or not spec.submodule_search_locations:
        return
    folder = str(Path(next(iter(spec.submodule_search_locations))).parent)
    if folder not in list(hydra_plugins.__path__):
        hydra_plugins.__path__.append(folder)
