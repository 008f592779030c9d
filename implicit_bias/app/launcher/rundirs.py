"""A sweep point's run directory: written as ``run_job`` would, or skipped when complete.

Each point gets the library's run-directory contract (:func:`implicit_bias.app.rundir.save_run`)
plus Hydra's ``.hydra/{config,hydra,overrides}.yaml``; a point whose directory is complete
(``metrics.json``) is skipped only if that directory was made from the same config.
"""

import json
import os
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobRuntime, JobStatus, _save_config, filter_overrides
from omegaconf import OmegaConf

from implicit_bias.app.launcher.jobs import Job
from implicit_bias.app.rundir import COMPLETE_MARKER, save_run
from implicit_bias.errors import ConfigError
from implicit_bias.experiment import Experiment
from implicit_bias.result import Result

#: Keys of the task config that do not change results (ignored when checking a completed run).
_NOT_RESULTS = ("progress",)


def save_point(
    job: Job,
    run: Result,
    exp: Experiment,
    reference,
    wall: float,
    batch: dict[str, int],
    hydra_context,
    task_function,
) -> JobReturn:
    """Write one point of a finished batch (``run`` indexed to it), with Hydra's callbacks."""
    callbacks = hydra_context.callbacks
    HydraConfig.instance().set_config(job.config)
    callbacks.on_job_start(config=job.config, task_function=task_function)
    extra: dict[str, Any] = {}
    if reference is not None:
        extra["reference"] = reference(exp, run)
    extra["batch"] = batch
    save_hydra_files(job)
    metrics = save_run(
        job.out_dir,
        run,
        exp,
        wall,
        plots=bool(job.values["output"]["plots"]),
        save_data=bool(job.values["output"]["save_data"]),
        extra=extra,
        scalars=job.values,
    )
    ret = job_return(job, metrics)
    callbacks.on_job_end(config=job.config, job_return=ret)
    return ret


def skipped_return(job: Job) -> JobReturn:
    """The return of a point whose complete run directory is reused."""
    with open(job.out_dir / COMPLETE_MARKER) as f:
        return job_return(job, json.load(f))


def save_hydra_files(job: Job) -> None:
    """Hydra's ``.hydra/{config,hydra,overrides}.yaml``, as ``run_job`` writes them."""
    subdir = job.config.hydra.output_subdir
    if subdir is None:
        return
    out = job.out_dir / str(subdir)
    _save_config(job.task_cfg, "config.yaml", out)
    _save_config(job.hydra_cfg, "hydra.yaml", out)
    _save_config(job.config.hydra.overrides.task, "overrides.yaml", out)


def _comparable(cfg: Any) -> Any:
    c = OmegaConf.to_container(cfg, resolve=False) if not isinstance(cfg, dict) else cfg
    for k in _NOT_RESULTS:
        c.pop(k, None)
    return c


def check_same_config(job: Job) -> None:
    """A complete directory is skipped only if it holds a run of this job's config.

    Raises:
        ConfigError: naming ``hydra.sweep.dir`` and the conflicting run.
    """
    saved = job.out_dir / ".hydra" / "config.yaml"
    same = saved.is_file() and _comparable(OmegaConf.load(saved)) == _comparable(job.task_cfg)
    if not same:
        raise ConfigError(
            "hydra.sweep.dir",
            str(job.out_dir.parent),
            f"a directory whose completed runs match this sweep: {job.out_dir} holds a "
            f"different config than job #{job.idx} ({' '.join(filter_overrides(job.overrides))})"
            "; use a new hydra.sweep.dir, delete that run, or set "
            "hydra.launcher.skip_completed=false to overwrite it",
        )


def job_return(job: Job, value: Any, status: JobStatus = JobStatus.COMPLETED) -> JobReturn:
    """Hydra's ``JobReturn`` of a point."""
    ret = JobReturn(
        overrides=list(job.config.hydra.overrides.task),
        cfg=job.task_cfg,
        hydra_cfg=job.hydra_cfg,
        working_dir=os.getcwd(),
        task_name=JobRuntime.instance().get("name"),
        status=status,
    )
    ret.return_value = value
    return ret
