"""From a composed config to the objects the engine runs."""

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from implicit_bias.app.instantiate import check_targets, instantiate, integer_arguments, plain
from implicit_bias.errors import ConfigError
from implicit_bias.experiment import Experiment, SharpnessSpec, SpectrumSpec
from implicit_bias.scalars import SWEPT_KEYS, Scalars
from implicit_bias.schedule import Schedule

#: Top-level keys that change how a run is executed, never its structure or results (left out of
#: :func:`static_key`, of group labels and of the completed-run check).
RUNTIME_KEYS = ("progress", "compilation_cache")


def build_experiment(cfg: DictConfig) -> Experiment:
    """The static :class:`Experiment` a config describes.

    Raises:
        ConfigError: for any bad value or combination, naming the key.
    """
    allowed = allowed_packages(cfg)
    check_targets(cfg, allowed_packages=allowed)
    check_keys(cfg)
    data = instantiate(cfg.data, "data", allowed)
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    if model_cfg.get("input_dim", 0) is None:  # null: the data's dimension
        model_cfg["input_dim"] = data.input_dim
    model = instantiate(model_cfg, "model", allowed)
    init = instantiate(cfg.init, "init", allowed)
    integrator = instantiate(cfg.integrator, "integrator", allowed)
    loss = instantiate(cfg.loss, "loss", allowed)
    sharp = integer_arguments(SharpnessSpec, plain(cfg.sharpness, "sharpness"), "sharpness")
    spectrum = integer_arguments(SpectrumSpec, plain(cfg.spectrum, "spectrum"), "spectrum")
    record = integer_arguments(Schedule, plain(cfg.record, "record"), "record")
    return Experiment(
        model=model,
        data=data,
        init=init,
        integrator=integrator,
        loss=loss,
        sharpness=SharpnessSpec(**sharp),
        spectrum=SpectrumSpec(**spectrum),
        record=Schedule(**record),
        dtype=cfg.dtype,
        divergence_threshold=float(cfg.divergence_threshold),
        converge_tol=float(cfg.converge_tol),
    )


def allowed_packages(cfg: Mapping) -> tuple[str, ...]:
    """The packages besides implicit_bias whose classes the config may name (``_target_``):
    the top-level ``allowed_packages`` (default none).

    Raises:
        ConfigError: for a value that is not a list of package names.
    """
    value = cfg.get("allowed_packages") or []
    value = OmegaConf.to_container(value) if not isinstance(value, list | tuple) else value
    ok = isinstance(value, list | tuple) and all(
        isinstance(p, str) and p.isidentifier() for p in value
    )
    if not ok:
        raise ConfigError(
            "allowed_packages", value, "a list of top-level package names, e.g. [mypkg]"
        )
    return tuple(value)


def check_keys(cfg: Mapping) -> None:
    """Refuse a top-level key nothing reads (``+lrr=0.1``: Hydra appends it, and it would be
    silently ignored).

    Raises:
        ConfigError: naming the key and listing the known ones.
    """
    from implicit_bias.app.schema import Config

    known = [f.name for f in dataclasses.fields(Config) if f.name != "defaults"]
    for key in cfg:
        if key not in known and key != "hydra":
            raise ConfigError(key, cfg[key], f"a key of the config (one of {known})")


def build_scalars(cfgs: Mapping | Sequence[Mapping], dtype: str | None = None) -> Scalars:
    """The traced scalars of one config, or of a sequence of configs (one batch, in order).

    Args:
        cfgs: configs (``DictConfig``) or their resolved values (plain dicts).
        dtype: of the float scalars (default: the first config's ``dtype``).

    Raises:
        ConfigError: for a bad value, naming the key.
    """
    if isinstance(cfgs, Mapping):
        cfgs = [cfgs]
    values = {k: [c[k] for c in cfgs] for k in SWEPT_KEYS}
    return Scalars.make(dtype=dtype or cfgs[0]["dtype"], **values)


def static_key(cfg: DictConfig) -> str:
    """A key equal for two configs iff they differ only in swept (traced) scalars."""
    c: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)
    for k in (*SWEPT_KEYS, "hydra", *RUNTIME_KEYS):
        c.pop(k, None)
    return repr(sorted(flatten(c).items()))


def flatten(d: Mapping, prefix: str = "") -> dict[str, Any]:
    """A nested mapping as ``{"a.b.c": leaf}`` (lists are leaves)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def build_reference(cfg: DictConfig):
    """The reference step (an :class:`~implicit_bias.theory.checks.AbstractCheck`), or ``None``."""
    node = cfg.get("reference")
    if node is None or (isinstance(node, DictConfig) and "_target_" not in node):
        return None
    return instantiate(node, "reference", allowed_packages(cfg))
