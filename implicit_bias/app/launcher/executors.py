"""Where a sweep's batches run: in this process, in CPU worker processes, or as submitit jobs.

:func:`run_chunks` yields, in order, the result of every batch of a group: computed in this
process (optionally split over :mod:`implicit_bias.app.workers`), or submitted all at once to a
submitit executor (SLURM, or ``local`` subprocesses) and collected in order.
"""

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jax
from omegaconf import OmegaConf

from implicit_bias.app.instantiate import to_integer
from implicit_bias.app.jaxsetup import configure_jax, quiet_jax_logs
from implicit_bias.app.workers import run_batch
from implicit_bias.errors import ConfigError, Interrupted
from implicit_bias.experiment import Experiment
from implicit_bias.result import Result
from implicit_bias.scalars import Scalars

log = logging.getLogger(__name__)

#: Executors of the ``submitit`` option, and the keys passed through to them.
SUBMITIT_EXECUTORS = ("slurm", "local", None)
SUBMITIT_NAMES = "['slurm', 'local', null]"
SUBMITIT_KEYS = (
    "partition",
    "timeout_min",
    "gpus_per_node",
    "cpus_per_task",
    "mem_gb",
    "additional_parameters",
)
SUBMITIT_INTEGERS = ("timeout_min", "gpus_per_node", "cpus_per_task", "mem_gb")


def submitit_options(options: Any) -> dict[str, Any]:
    """The ``submitit`` launcher option as a plain dict (``executor: None`` when not set).

    Raises:
        ConfigError: naming the key, for an unknown executor or key, or a count that is not an
            integer.
    """
    if options is None:
        options = {}
    if not isinstance(options, dict):
        options = OmegaConf.to_container(options, resolve=True)
    options = dict(options)
    options.setdefault("executor", None)
    if options["executor"] not in SUBMITIT_EXECUTORS:
        raise ConfigError(
            "hydra.launcher.submitit.executor", options["executor"], f"one of {SUBMITIT_NAMES}"
        )
    unknown = sorted(set(options) - {"executor", *SUBMITIT_KEYS})
    if unknown:
        raise ConfigError(
            f"hydra.launcher.submitit.{unknown[0]}",
            options[unknown[0]],
            f"a key among {['executor', *SUBMITIT_KEYS]}",
        )
    for key in SUBMITIT_INTEGERS:
        options[key] = to_integer(options.get(key), f"hydra.launcher.submitit.{key}", True)
    return options


def submitit_executor(options: dict[str, Any], sweep_dir: Path):
    """A submitit executor writing its logs and pickles to ``<sweep dir>/.submitit``.

    ``slurm``: ``submitit.AutoExecutor(cluster="slurm")`` with the ``slurm_*`` parameters;
    ``local``: ``submitit.LocalExecutor`` (a subprocess per job; used by the tests).
    """
    import submitit

    folder = sweep_dir / ".submitit" / "%j"
    params = {k: options[k] for k in SUBMITIT_KEYS if options.get(k) is not None}
    if options["executor"] == "local":
        executor = submitit.LocalExecutor(folder=folder)
        local = {
            k: params[k] for k in ("timeout_min", "gpus_per_node", "cpus_per_task") if k in params
        }
        executor.update_parameters(**local)
        return executor
    executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
    slurm = {
        f"slurm_{k}" if k in ("partition", "additional_parameters") else k: v
        for k, v in params.items()
    }
    executor.update_parameters(**slurm)
    return executor


def run_chunk(exp: Experiment, scalars, dtype: str) -> tuple[Result, float]:
    """A submitit job: one batch, computed as in-process; returns (result on host, seconds).

    A module-level function (picklable by reference). ``scalars`` arrive as numpy arrays and
    are made JAX arrays only after ``jax_enable_x64`` is set, so float64 values are not
    truncated in a fresh worker process.
    """
    configure_jax(dtype)
    quiet_jax_logs()
    scalars = jax.tree.map(jax.numpy.asarray, scalars)
    t0 = time.perf_counter()
    result = run_batch(exp, scalars, progress=False)
    return jax.device_get(result), time.perf_counter() - t0


def run_chunks(
    exp: Experiment,
    batches: Sequence[Scalars],
    *,
    dtype: str,
    progress: bool | None,
    workers: int | None,
    submitit: dict[str, Any],
    sweep_dir: Path,
) -> Iterator[tuple[Result, float]]:
    """Run the batches of one group, yielding ``(result, seconds)`` for each, in order.

    Args:
        exp: the group's structure.
        batches: the scalars of each batch (padded to their compiled sizes).
        dtype: the group's dtype.
        progress: progress bar in this process.
        workers: CPU worker processes per in-process batch.
        submitit: :func:`submitit_options`; with an executor, every batch is submitted at once
            (they run in parallel on the cluster) and the results come back in order.
        sweep_dir: where submitit writes its folder.
    """
    if submitit["executor"] is not None:
        executor = submitit_executor(submitit, sweep_dir)
        pending = [executor.submit(run_chunk, exp, jax.device_get(s), dtype) for s in batches]
        log.info("submitted %d submitit job(s) to %s", len(pending), sweep_dir / ".submitit")
        for job in pending:
            yield job.result()
        return
    for scalars in batches:
        t0 = time.perf_counter()
        try:
            result = run_batch(exp, scalars, progress=progress, workers=workers)
        except Interrupted as e:
            if e.result is None:
                raise
            # The batch had finished when the interrupt came: hand it over to be written,
            # then stop.
            yield e.result, time.perf_counter() - t0
            raise
        yield result, time.perf_counter() - t0
