"""Compose a config as the command line does, from Python (a notebook, a figure script, a test)."""

from collections.abc import Sequence

from omegaconf import DictConfig

from implicit_bias.app.resources import conf_dir
from implicit_bias.app.schema import register_configs


def compose(overrides: Sequence[str] = (), config_name: str = "config", **kwargs) -> DictConfig:
    """The config ``python -m implicit_bias.run <overrides>`` would run.

    Args:
        overrides: command-line overrides, e.g. ``["+experiment=min_norm", "lr=0.1"]``.
        config_name: the primary config.
        **kwargs: passed to :func:`hydra.compose` (e.g. ``return_hydra_config=True``).

    Raises:
        hydra.errors.ConfigCompositionException: for unknown keys or options and wrong types.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_configs()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return hydra_compose(config_name, overrides=list(overrides), **kwargs)
