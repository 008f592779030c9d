"""The jobs of a sweep: every point's config, composed as Hydra composes it, and grouped.

Composing a config costs tens of milliseconds, too much for sweeps of thousands of points, so
:func:`compose_all` composes one *template* per set of jobs whose overrides differ only in the
values of plain swept-scalar overrides (``lr=0.01``) and derives the others from it (checked
against Hydra's own composition for the second job of each template).
"""

import copy
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from implicit_bias.app.build import RUNTIME_KEYS, flatten, static_key
from implicit_bias.scalars import SWEPT_KEYS

log = logging.getLogger(__name__)

#: ``load(overrides) -> config``: Hydra's ``load_sweep_config`` for this sweep.
Loader = Callable[[list[str]], DictConfig]


@dataclass
class Job:
    """One point of the sweep, composed.

    Attributes:
        idx: the job number (``hydra.job.num``).
        overrides: its command-line overrides.
        config: the composed config, with the ``hydra`` node.
        task_cfg: without it, unresolved (as Hydra saves ``config.yaml``).
        hydra_cfg: the ``hydra`` node (as Hydra saves ``hydra.yaml``).
        values: the task config as plain containers, every interpolation resolved.
        static_key: :func:`implicit_bias.app.build.static_key` of the config.
        out_dir: the run directory.
    """

    idx: int
    overrides: list[str]
    config: DictConfig
    task_cfg: DictConfig
    hydra_cfg: DictConfig
    values: dict[str, Any]
    static_key: str
    out_dir: Path

    @property
    def resolved(self) -> DictConfig:
        """The resolved task config (built on demand: only group leaders need one)."""
        return OmegaConf.create(self.values)


def compose_all(load: Loader, job_overrides: Sequence[Sequence[str]], initial_job_idx: int):
    """Every job's config, as ``load`` (Hydra's ``load_sweep_config``) composes it, but faster.

    Jobs whose overrides differ only in the values of plain swept-scalar overrides share a
    *template*: the first is composed, the others are copies with those values set the way
    Hydra sets them (``OmegaConf.update``) and their own ``hydra.overrides.task`` and
    ``hydra.job.override_dirname``. The second job of each template is also composed by Hydra
    and compared; on any difference, that template is dropped and its jobs are composed by
    Hydra.
    """
    parser = OverridesParser.create()
    templates: dict[tuple[str, ...], dict[str, Any]] = {}
    jobs = []
    for i, overrides in enumerate(job_overrides):
        overrides = list(overrides)
        parsed = parser.parse_overrides(overrides)
        key = _template_key(parsed)
        entry = templates.get(key) if key is not None else None
        cfg = None
        if entry is not None and entry["ok"]:
            try:
                cfg = _from_template(entry["cfg"], overrides, parsed)
            except Exception:  # e.g. a bad value: let Hydra compose it and say why
                cfg = None
            if cfg is not None and not entry["verified"]:
                entry["verified"] = True
                full = load(overrides)
                if _container(full) != _container(cfg):
                    log.warning("fast composition differs from Hydra's; composing each job")
                    entry["ok"] = False
                    cfg = full
        if cfg is None:
            cfg = load(overrides)
            if key is not None and key not in templates:
                templates[key] = {"cfg": copy.deepcopy(cfg), "ok": True, "verified": False}
        jobs.append(finish(initial_job_idx + i, overrides, cfg))
    return jobs


def finish(idx: int, overrides: list[str], cfg: DictConfig) -> Job:
    """Job number, output directory and saved-config nodes, as Hydra's ``run_job``."""
    with open_dict(cfg):
        cfg.hydra.job.id = idx
        cfg.hydra.job.num = idx
    sweep = cfg.hydra.sweep
    if any("${hydra:" in str(sweep._get_node(k)._value()) for k in ("dir", "subdir")):
        HydraConfig.instance().set_config(cfg)  # the ${hydra:...} resolver reads it
    out_dir = Path(str(sweep.dir)) / str(sweep.subdir)
    with read_write(cfg.hydra.runtime), open_dict(cfg.hydra.runtime):
        cfg.hydra.runtime.output_dir = os.path.abspath(out_dir)
    HydraConfig.instance().set_config(cfg)
    # HydraConfig holds a fresh masked copy per set_config: no need to copy it again.
    hydra_cfg = HydraConfig.instance().cfg
    # What run_job saves as config.yaml (a deep copy less the hydra node; this is cheaper).
    task_cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    # Resolve now, while this job's HydraConfig is set (${hydra:...} interpolations).
    values = OmegaConf.to_container(task_cfg, resolve=True)
    return Job(idx, overrides, cfg, task_cfg, hydra_cfg, values, static_key(task_cfg), out_dir)


def group(jobs: list[Job]) -> list[list[Job]]:
    """Jobs grouped by static structure, in sweep order; float32 groups first.

    float32 groups run first because float64 needs ``jax_enable_x64``, a process-wide switch:
    float32 results must not depend on whether a float64 group ran before them.
    """
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.static_key, []).append(job)
    return sorted(groups.values(), key=lambda g: (g[0].values["dtype"] != "float32", g[0].idx))


def group_labels(values: list[dict]) -> list[str]:
    """Short names of the groups: the static keys that differ between them."""
    flats = [flatten(v) for v in values]
    for f in flats:
        for k in (*SWEPT_KEYS, *RUNTIME_KEYS):
            f.pop(k, None)
    keys = sorted({k for f in flats for k in f})
    differing = [k for k in keys if len({repr(f.get(k)) for f in flats}) > 1]
    if not differing:
        return [str(f.get("model._target_", "?")).rsplit(".", 1)[-1] for f in flats]
    return [" ".join(f"{k}={f.get(k)}" for k in differing) for f in flats]


def _fast(o) -> bool:
    """A plain ``key=value`` override of a swept scalar."""
    from hydra.core.override_parser.types import OverrideType, ValueType

    return (
        o.key_or_group in SWEPT_KEYS
        and o.package is None
        and o.type == OverrideType.CHANGE
        and o.value_type == ValueType.ELEMENT
        and isinstance(o.value(), (int, float, str))
    )


def _template_key(parsed) -> tuple[str, ...] | None:
    if any(o.is_hydra_override() for o in parsed):
        return None
    return tuple(f"{o.key_or_group}=*" if _fast(o) else str(o.input_line) for o in parsed)


def _from_template(template: DictConfig, overrides: list[str], parsed) -> DictConfig:
    from hydra._internal.config_loader_impl import get_overrides_dirname

    cfg = copy.deepcopy(template)
    for o in parsed:
        if _fast(o):
            OmegaConf.update(cfg, o.key_or_group, o.value(), merge=True)
    with read_write(cfg.hydra), open_dict(cfg.hydra):
        cfg.hydra.overrides.task = list(overrides)
        c = cfg.hydra.job.config.override_dirname
        cfg.hydra.job.override_dirname = get_overrides_dirname(
            overrides=parsed,
            exclude_keys=list(c.exclude_keys),
            item_sep=c.item_sep,
            kv_sep=c.kv_sep,
        )
    return cfg


def _container(cfg: DictConfig) -> Any:
    return OmegaConf.to_container(cfg, resolve=False)
