"""Structured (dataclass) schemas of the Hydra configs, registered with Hydra's ConfigStore.

Hydra composes ``conf/config.yaml``; each group option declares its schema in its defaults list
(``defaults: [/schema_model_deep_linear@_here_]``), derived automatically from the ``__init__`` of
the class it targets, so a wrong type or an unknown key fails at compose time with the key named.
The schemas are registered as top-level configs, not as options of their group: Hydra lists a
group's options to the user ("Available options in 'model'", ``--help``), and a schema is not
one.

Integer keys are typed ``Any`` in the schemas: OmegaConf refuses a float for an ``int`` field,
but researchers write ``steps=1e6``. The app converts integral floats to ``int`` and refuses
``1.5`` naming the key (:func:`implicit_bias.app.instantiate.integer_arguments`,
:meth:`implicit_bias.Scalars.make`).
Ranges and combinations are checked when the objects are built (the ``__check_init__`` of each
``eqx.Module``), right after composition and before any computation: errors are
:class:`~implicit_bias.errors.ConfigError` messages naming the key, the bad value and what is
allowed.

The options of the ``sweep`` group are the files of the repository's top-level ``sweeps/``
folder, registered here too (one copy of each file, see :mod:`implicit_bias.app.resources`).
"""

import dataclasses
import importlib
import inspect
import typing
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from implicit_bias.app.instantiate import ALLOWED_TARGET_PREFIX
from implicit_bias.app.resources import conf_dir, expose_launcher_plugin, sweeps_dir
from implicit_bias.checkpoint import EVERY_SECONDS as CHECKPOINT_EVERY_SECONDS
from implicit_bias.experiment import Experiment
from implicit_bias.scalars import DEFAULTS

GROUPS = ("model", "data", "init", "integrator", "loss", "reference")
_SIMPLE = (int, float, bool, str)
#: Model keys that may be ``null`` in a config, meaning "take it from the data".
NULLABLE_FROM_DATA = ("input_dim",)


def schema_for(target: str, with_target: bool = True) -> type:
    """A dataclass schema for the class at ``target``, derived from its ``__init__``.

    Each keyword argument becomes a typed field (float, bool, str, their ``| None`` versions;
    ``int`` and anything else are ``Any``, see the module docstring), with its default. Hydra
    then type-checks a config option against its own class at compose time, with no schema
    written twice, and the class's defaults are the config's.

    Args:
        target: ``module.Class``.
        with_target: include the ``_target_`` field (configs that are instantiated).
    """
    module_name, _, attr = target.rpartition(".")
    cls = getattr(importlib.import_module(module_name), attr)
    hints = typing.get_type_hints(cls.__init__) if cls.__init__ is not object.__init__ else {}
    fields: list[tuple] = [("_target_", str, field(default=target))] if with_target else []
    for name, param in inspect.signature(cls).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        tp = _omegaconf_type(hints.get(name, param.annotation))
        if name in NULLABLE_FROM_DATA and tp in _SIMPLE:
            tp = tp | None  # null: filled in from the data by build_experiment
        if tp in (int, int | None):
            tp = Any  # integral floats (1e6) are accepted and converted when instantiated
        default = MISSING if param.default is inspect.Parameter.empty else param.default
        if isinstance(default, (list, dict, tuple)):
            fields.append((name, Any, field(default_factory=lambda d=default: d)))
        else:
            fields.append((name, tp, field(default=default)))
    return make_dataclass(f"{attr}Conf", fields)


def _omegaconf_type(tp: Any) -> Any:
    if tp in _SIMPLE:
        return tp
    args = typing.get_args(tp)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and rest[0] in _SIMPLE:
            return rest[0] | None
    return Any


def _field_default(cls: type, name: str) -> Any:
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


# ----------------------------------------------------------------------------- top level
#: ``sharpness``, ``spectrum`` and ``record`` nodes: the fields and defaults of the library's
#: classes.
SharpnessConf = schema_for("implicit_bias.sharpness.SharpnessSpec", with_target=False)
SpectrumConf = schema_for("implicit_bias.sharpness.SpectrumSpec", with_target=False)
RecordConf = schema_for("implicit_bias.schedule.Schedule", with_target=False)


@dataclass
class OutputConf:
    """What a run directory holds besides metrics (``output.<key>``)."""

    plots: bool = True
    save_data: bool = True
    # A single run's checkpoint (discrete integrators): seconds between saves (null: none),
    # and the folder of the files, named by the config's hash (implicit_bias.app.cli).
    checkpoint_every: float | None = CHECKPOINT_EVERY_SECONDS
    checkpoint_dir: str = "outputs/checkpoints"


@dataclass
class Config:
    """Top-level keys; ``lr``, ``steps``, ``init_scale``, ``seed``, ``data_seed``, ``t1`` are
    swept. Their defaults, and those of ``dtype``, ``divergence_threshold`` and
    ``converge_tol``, are the library's (:data:`implicit_bias.scalars.DEFAULTS`,
    :class:`implicit_bias.Experiment`): one source for the CLI and the Python API."""

    defaults: list[Any] = field(default_factory=lambda: [])
    model: Any = MISSING
    data: Any = MISSING
    init: Any = MISSING
    integrator: Any = MISSING
    loss: Any = MISSING
    reference: Any = None
    sharpness: SharpnessConf = field(default_factory=SharpnessConf)  # type: ignore[valid-type]
    spectrum: SpectrumConf = field(default_factory=SpectrumConf)  # type: ignore[valid-type]
    record: RecordConf = field(default_factory=RecordConf)  # type: ignore[valid-type]
    output: OutputConf = field(default_factory=OutputConf)
    lr: float = DEFAULTS["lr"]
    # Integers typed Any: steps=1e6 is a million steps (checked by Scalars.make).
    steps: Any = DEFAULTS["steps"]
    init_scale: float = DEFAULTS["init_scale"]
    seed: Any = DEFAULTS["seed"]
    data_seed: Any = DEFAULTS["data_seed"]
    t1: float = DEFAULTS["t1"]
    dtype: str = _field_default(Experiment, "dtype")
    divergence_threshold: float = _field_default(Experiment, "divergence_threshold")
    converge_tol: float = _field_default(Experiment, "converge_tol")
    progress: bool | None = None
    # JAX's persistent compilation cache: auto (IMPLICIT_BIAS_COMPILATION_CACHE if set, else
    # the per-user folder), off, or a folder (implicit_bias.compilations).
    compilation_cache: str = "auto"
    # Packages besides implicit_bias whose classes a config may name (_target_): your own model,
    # loss, init, data (docs/extending.md). Empty: everything outside implicit_bias is refused.
    allowed_packages: list[str] = field(default_factory=list)
    # Batch the points of a multirun that differ only in traced scalars (see the launcher).
    experiment_name: str = "default"


def group_options(group: str, conf: Path | None = None) -> dict[str, Path]:
    """The options of a config group (the YAML files of ``conf/<group>/``; for ``sweep``, of
    ``sweeps/``)."""
    folder = sweeps_dir() if group == "sweep" else (conf or conf_dir()) / group
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def register_configs(conf: Path | None = None) -> None:
    """Register the top-level schema and one schema per group option with Hydra.

    For every ``conf/<group>/<name>.yaml`` whose ``_target_`` is a class of implicit_bias, the
    schema ``schema_<group>_<name>`` is derived from that class (see :func:`schema_for`) and
    registered as a top-level config (so that Hydra does not list it among the group's
    options); the YAML file lists it first in its defaults, ``/schema_<group>_<name>@_here_``.
    Every ``sweeps/<name>.yaml`` is stored as the
    option ``<name>`` of the group ``sweep`` (package ``_global_``, as its header says).
    """
    # Every composition with our configs needs the batched launcher and the grid sweeper.
    expose_launcher_plugin()
    cs = ConfigStore.instance()
    cs.store(name="schema_config", node=Config)
    for group in GROUPS:
        for name, path in group_options(group, conf).items():
            target = (OmegaConf.load(path) or {}).get("_target_")
            if isinstance(target, str) and target.startswith(ALLOWED_TARGET_PREFIX):
                cs.store(name=f"schema_{group}_{name}", node=schema_for(target))
    for name, path in group_options("sweep").items():
        cs.store(group="sweep", name=name, node=OmegaConf.load(path), package="_global_")
