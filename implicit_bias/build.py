"""From a composed config to the objects the engine runs."""

from typing import Any

from omegaconf import DictConfig, OmegaConf

from .config import check_targets, instantiate
from .errors import ConfigError
from .experiment import Experiment, Scalars, SharpnessSpec
from .schedule import Schedule

SWEPT_KEYS = ("seed", "data_seed", "init_scale", "lr", "steps", "t1")


def build_experiment(cfg: DictConfig) -> Experiment:
    """The static :class:`Experiment` a config describes.

    Raises:
        ConfigError: for any bad value or combination, naming the key.
    """
    check_targets(cfg)
    data = instantiate(cfg.data, "data")
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    from .config import NULLABLE_FROM_DATA

    for key in NULLABLE_FROM_DATA:
        if key in model_cfg and model_cfg[key] is None:
            model_cfg[key] = getattr(data, key)
    model = instantiate(model_cfg, "model")
    init = instantiate(cfg.init, "init")
    integrator = instantiate(cfg.integrator, "integrator")
    loss = instantiate(cfg.loss, "loss")
    sharp = _plain(cfg.sharpness, "sharpness")
    record = _plain(cfg.record, "record")
    return Experiment(
        model=model,
        data=data,
        init=init,
        integrator=integrator,
        loss=loss,
        sharpness=SharpnessSpec(**sharp),
        record=Schedule(**record),
        dtype=cfg.dtype,
        divergence_threshold=float(cfg.divergence_threshold),
        converge_tol=float(cfg.converge_tol),
    )


def build_scalars(cfgs: list[DictConfig] | DictConfig, dtype: str | None = None) -> Scalars:
    """The traced scalars of one config, or of a list of configs (one batch)."""
    if isinstance(cfgs, DictConfig):
        cfgs = [cfgs]
    values = {k: [c[k] for c in cfgs] for k in SWEPT_KEYS}
    return Scalars.make(dtype=dtype or cfgs[0].dtype, **values)


def static_key(cfg: DictConfig) -> str:
    """A key equal for two configs iff they differ only in swept (traced) scalars."""
    c: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)
    for k in (*SWEPT_KEYS, "hydra", "progress"):
        c.pop(k, None)
    return repr(sorted(_flatten(c).items()))


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _plain(node: Any, key: str) -> dict:
    if isinstance(node, DictConfig):
        node = OmegaConf.to_container(node, resolve=True)
    if not isinstance(node, dict):
        raise ConfigError(key, node, "a mapping")
    return node


def build_reference(cfg: DictConfig):
    """The reference step (an :class:`~implicit_bias.limits.AbstractLimit`), or ``None``."""
    node = cfg.get("reference")
    if node is None or (isinstance(node, DictConfig) and "_target_" not in node):
        return None
    return instantiate(node, "reference")
