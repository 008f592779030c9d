"""The batched launcher: a multirun as one compiled, vmapped program per group.

Hydra's basic launcher runs the jobs of a multirun one after the other, each a separate
``run_batch`` call. Most points of a sweep differ only in traced scalars
(:data:`implicit_bias.build.SWEPT_KEYS`: seed, data_seed, init_scale, lr, steps, t1), which the
engine batches with ``jax.vmap`` at no recompilation. This launcher

1. composes every job's config as Hydra does (``load_sweep_config``), and validates them all
   (bad values stop the sweep before anything is computed);
2. skips the points whose run directory is already complete (``skip_completed``), after
   checking that it was made from the same config;
3. groups the points by :func:`implicit_bias.build.static_key` (same structure, so one
   compiled program; the group's first config gives the :class:`~implicit_bias.Experiment`);
4. cuts each group into chunks of equal ``steps`` (``t1``), padded to a few bucket sizes
   (:mod:`.plan`), runs each chunk with :func:`implicit_bias.run_batch`, and writes each point
   of the chunk, as soon as the chunk finishes, to its own directory
   ``hydra.sweep.dir/hydra.sweep.subdir`` with :func:`implicit_bias.outputs.save_run` and
   Hydra's ``.hydra/{config,overrides,hydra}.yaml``;
5. writes ``sweep.nc`` (:func:`implicit_bias.collect`) and returns one ``JobReturn`` per job
   (status COMPLETED, return value the metrics dict). A group that fails at run time (out of
   memory, ...) is logged and its points FAILED; the other groups still run, and Hydra's
   sweeper then raises the first failure, as with the basic launcher.

A point's outputs do not depend on how the sweep was cut: it runs with points of the same
horizon only, so on the same record grid as when run alone. ``metrics.json`` notes the batch
under ``batch`` (size, padded size). Per group, the launcher logs the number of points, compile
and run time and the number of compilations, and appends them to ``launcher.jsonl`` in the
sweep directory.

SIGINT or SIGTERM mid-sweep: the chunks already written stay on disk (``metrics.json`` is
written last and atomically, so a point is either complete or redone), the launcher logs what
is left, and the process exits with status ``128 + signal``. Re-running the same command resumes.
"""

import contextlib
import copy
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import (
    JobReturn,
    JobRuntime,
    JobStatus,
    _save_config,
    configure_log,
    filter_overrides,
    setup_globals,
)
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from .plan import PAD_POLICIES, Chunk, plan_group

log = logging.getLogger(__name__)

#: Per-group log of the launcher (one JSON object per line), in the sweep directory.
LAUNCHER_LOG = "launcher.jsonl"
#: Keys of the task config that do not change results (ignored when checking a completed run).
_NOT_RESULTS = ("progress",)


@dataclass
class _Job:
    """One point of the sweep, composed."""

    idx: int
    overrides: list[str]
    config: DictConfig  # with the hydra node
    task_cfg: DictConfig  # without it, unresolved (as Hydra saves it)
    hydra_cfg: DictConfig
    values: dict[str, Any]  # task config as plain containers, every interpolation resolved
    static_key: str  # implicit_bias.build.static_key of the config
    out_dir: Path

    @property
    def resolved(self) -> DictConfig:
        """The resolved task config (built on demand: only group leaders need one)."""
        return OmegaConf.create(self.values)

    def scalars(self) -> dict[str, Any]:
        from implicit_bias.build import SWEPT_KEYS

        return {k: self.values[k] for k in SWEPT_KEYS}


class BatchedLauncher(Launcher):
    """Runs a multirun's points as batched programs (see the module docstring).

    Args:
        max_batch_size: most points per batch (``None``: no limit).
        skip_completed: skip points whose directory holds a complete run of the same config.
        pad_to: bucket sizes: ``pow2``, ``max`` or ``none`` (:func:`.plan.plan_group`).
        collect: write ``sweep.nc`` at the end.
        submitit: ``{executor: slurm | local | null, ...}``: run each batch as a submitit job
            (``null``: in this process). The other keys (``partition``, ``timeout_min``,
            ``gpus_per_node``, ``cpus_per_task``, ``mem_gb``, ``additional_parameters``) are
            passed to the executor (see :func:`_executor`).
        workers: CPU worker processes per in-process batch (:mod:`implicit_bias.workers`).
    """

    def __init__(
        self,
        max_batch_size: int | None = None,
        workers: int | None = None,
        skip_completed: bool = True,
        pad_to: str = "pow2",
        collect: bool = True,
        submitit: Any = None,
    ) -> None:
        super().__init__()
        if pad_to not in PAD_POLICIES:
            raise ValueError(f"hydra.launcher.pad_to={pad_to!r} is invalid: one of {PAD_POLICIES}")
        if max_batch_size is not None and int(max_batch_size) < 1:
            raise ValueError(
                f"hydra.launcher.max_batch_size={max_batch_size!r} is invalid: null or an int >= 1"
            )
        self.max_batch_size = None if max_batch_size is None else int(max_batch_size)
        if workers is not None and int(workers) < 1:
            raise ValueError(f"hydra.launcher.workers={workers!r} is invalid: null or an int >= 1")
        self.workers = None if workers is None else int(workers)
        self.skip_completed = bool(skip_completed)
        self.pad_to = pad_to
        self.collect = bool(collect)
        self.submitit = _submitit_options(submitit)
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    # ------------------------------------------------------------------------------- launch
    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        """Run the jobs; see the module docstring."""
        from implicit_bias.errors import ConfigError

        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        orig_hydra_cfg = HydraConfig.instance().cfg
        handler = _file_handler(sweep_dir / "launcher.log")
        logging.getLogger().addHandler(handler)
        try:
            log.info("Launching %d jobs, batched, in %s", len(job_overrides), sweep_dir)
            tic = time.perf_counter()
            jobs = self._compose_all(job_overrides, initial_job_idx)
            log.info("composed %d configs in %.1fs", len(jobs), time.perf_counter() - tic)
            try:
                returns = self._launch(jobs, sweep_dir)
            except ConfigError as e:
                # User error: one line, no traceback (as implicit_bias.run does).
                print(f"Error: {e}", file=sys.stderr)
                raise SystemExit(2) from None
        finally:
            HydraConfig.instance().cfg = orig_hydra_cfg
            logging.getLogger().removeHandler(handler)
            handler.close()
        return returns

    def _launch(self, jobs: list[_Job], sweep_dir: Path) -> list[JobReturn]:
        from implicit_bias.build import build_experiment, build_reference
        from implicit_bias.outputs import is_complete

        _quiet_jax_logs()
        returns: dict[int, JobReturn] = {}
        todo: list[_Job] = []
        for job in jobs:
            if self.skip_completed and is_complete(job.out_dir):
                _check_same_config(job)
                returns[job.idx] = self._skipped_return(job)
            else:
                todo.append(job)
        if returns:
            log.info("skipping %d completed points (skip_completed)", len(returns))

        groups = _group(todo)
        # Build (and so validate) every group before computing anything.
        built = []
        for members in groups:
            first = members[0].resolved
            exp = build_experiment(first)
            _scalars(members, "float32")  # validates the values of every point
            built.append((exp, build_reference(first), members))
        labels = _group_labels([members[0].values for members in groups])

        interrupted = None
        with _signals_as_interrupt() as received:
            try:
                for gi, (exp, reference, members) in enumerate(built):
                    try:
                        self._run_group(
                            gi, len(built), labels[gi], exp, reference, members, sweep_dir, returns
                        )
                    except Exception as e:
                        if received:
                            raise
                        # As Hydra's basic launcher: a failed job does not stop the others;
                        # the sweeper raises the first failure once all have run.
                        log.exception("group %d/%d (%s) failed", gi + 1, len(built), labels[gi])
                        for job in members:
                            if job.idx not in returns:
                                returns[job.idx] = _job_return(job, e, JobStatus.FAILED)
            except BaseException:
                # The signal may surface as another exception: raised inside a JAX host
                # callback (the progress bar), KeyboardInterrupt comes out as a runtime error.
                if not received:
                    raise
                interrupted = received[0]
        if interrupted is not None:
            done = sum(1 for job in jobs if is_complete(job.out_dir))
            log.error(
                "interrupted (%s): %d of %d points are complete in %s; re-run the same command "
                "to do the rest",
                signal.Signals(interrupted).name,
                done,
                len(jobs),
                sweep_dir,
            )
            raise SystemExit(128 + int(interrupted))
        if self.collect:
            self._collect(sweep_dir)
        return [returns[job.idx] for job in jobs]

    # ------------------------------------------------------------------------------ compose
    def _compose_all(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int):
        """Every job's config, as ``load_sweep_config`` composes it, but faster.

        Composing a config costs tens of milliseconds, too much for sweeps of thousands of
        points. Jobs whose overrides differ only in the values of plain swept-scalar overrides
        (``lr=0.01``) share a *template*: the first is composed, the others are copies with
        those values set the way Hydra sets them (``OmegaConf.update``) and their own
        ``hydra.overrides.task`` and ``hydra.job.override_dirname``. The second job of each
        template is also composed by Hydra and compared; on any difference, that template is
        dropped and its jobs are composed by Hydra.
        """
        from hydra.core.override_parser.overrides_parser import OverridesParser

        from implicit_bias.build import SWEPT_KEYS

        parser = OverridesParser.create()
        templates: dict[tuple[str, ...], dict[str, Any]] = {}
        jobs = []
        for i, overrides in enumerate(job_overrides):
            overrides = list(overrides)
            parsed = parser.parse_overrides(overrides)
            key = _template_key(parsed, SWEPT_KEYS)
            entry = templates.get(key) if key is not None else None
            cfg = None
            if entry is not None and entry["ok"]:
                try:
                    cfg = _from_template(entry["cfg"], overrides, parsed, SWEPT_KEYS)
                except Exception:  # e.g. a bad value: let Hydra compose it and say why
                    cfg = None
                if cfg is not None and not entry["verified"]:
                    entry["verified"] = True
                    full = self._load(overrides)
                    if _container(full) != _container(cfg):
                        log.warning("fast composition differs from Hydra's; composing each job")
                        entry["ok"] = False
                        cfg = full
            if cfg is None:
                cfg = self._load(overrides)
                if key is not None and key not in templates:
                    templates[key] = {"cfg": copy.deepcopy(cfg), "ok": True, "verified": False}
            jobs.append(self._finish(initial_job_idx + i, overrides, cfg))
        return jobs

    def _load(self, overrides: list[str]) -> DictConfig:
        assert self.hydra_context is not None and self.config is not None
        return self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))

    def _finish(self, idx: int, overrides: list[str], cfg: DictConfig) -> _Job:
        """Job number, output directory and saved-config nodes, as Hydra's ``run_job``."""
        from implicit_bias.build import static_key

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
        key = static_key(task_cfg)
        return _Job(idx, overrides, cfg, task_cfg, hydra_cfg, values, key, out_dir)

    # -------------------------------------------------------------------------------- run
    def _run_group(
        self,
        gi: int,
        n_groups: int,
        label: str,
        exp,
        reference,
        members: list[_Job],
        sweep_dir: Path,
        returns: dict[int, JobReturn],
    ) -> None:
        import jax

        from implicit_bias.testing import count_compilations

        first = members[0].values
        if first["dtype"] == "float64":  # as implicit_bias.run.configure_jax
            jax.config.update("jax_enable_x64", True)
        continuous = exp.integrator.continuous
        by_idx = {m.idx: m for m in members}
        horizons = [float(m.values["t1" if continuous else "steps"]) for m in members]
        chunks = plan_group([m.idx for m in members], horizons, self.max_batch_size, self.pad_to)
        log.info(
            "group %d/%d (%s): %d points in %d batches of sizes %s",
            gi + 1,
            n_groups,
            label,
            len(members),
            len(chunks),
            sorted({c.size for c in chunks}),
        )
        run_seconds = 0.0
        pending = None
        if self.submitit["executor"] is not None:
            # Every batch of the group is submitted at once (they run in parallel on the
            # cluster); the results come back in order and are written here, as in-process.
            executor = _executor(self.submitit, sweep_dir)
            pending = [
                executor.submit(
                    run_chunk,
                    exp,
                    jax.device_get(_scalars([by_idx[i] for i in c.batch], first["dtype"])),
                    first["dtype"],
                )
                for c in chunks
            ]
            log.info("submitted %d submitit job(s) to %s", len(pending), sweep_dir / ".submitit")
        with count_compilations("_simulate") as compiles:
            for ci, chunk in enumerate(chunks):
                if pending is not None:
                    result, wall = pending[ci].result()
                else:
                    scalars = _scalars([by_idx[i] for i in chunk.batch], first["dtype"])
                    t0 = time.perf_counter()
                    result = _run_batch(exp, scalars, first["progress"], self.workers)
                    wall = time.perf_counter() - t0
                run_seconds += wall
                self._save_chunk(chunk, result, exp, reference, by_idx, wall, returns)
                log.info(
                    "  batch %d/%d: %d points (padded to %d), %s=%g: %.2fs; %s",
                    ci + 1,
                    len(chunks),
                    len(chunk.points),
                    chunk.size,
                    "t1" if continuous else "steps",
                    chunk.horizon,
                    wall,
                    _status_summary(result, len(chunk.points)),
                )
        record = {
            "group": label,
            "points": len(members),
            "batches": len(chunks),
            "batch_sizes": [c.size for c in chunks],
            "compilations": compiles.count,
            # Worker processes compile in parallel: the wall time is the busiest worker's.
            "compile_seconds": round(compiles.wall_seconds, 3),
            "run_seconds": round(run_seconds - compiles.wall_seconds, 3),
        }
        log.info(
            "group %d/%d done: %d points, %d compilation(s) (%.1fs compile), %.1fs run",
            gi + 1,
            n_groups,
            record["points"],
            record["compilations"],
            record["compile_seconds"],
            record["run_seconds"],
        )
        with open(sweep_dir / LAUNCHER_LOG, "a") as f:
            f.write(json.dumps(record) + "\n")

    def _save_chunk(
        self,
        chunk: Chunk,
        result,
        exp,
        reference,
        by_idx: dict[int, _Job],
        wall: float,
        returns: dict[int, JobReturn],
    ) -> None:
        from implicit_bias.outputs import save_run

        assert self.hydra_context is not None
        callbacks = self.hydra_context.callbacks
        for pos, idx in enumerate(chunk.points):
            job = by_idx[idx]
            HydraConfig.instance().set_config(job.config)
            callbacks.on_job_start(config=job.config, task_function=self.task_function)
            run = result[pos]
            extra: dict[str, Any] = {}
            if reference is not None:
                extra["reference"] = reference(exp, run)
            extra["batch"] = {"size": len(chunk.points), "padded_size": chunk.size}
            _save_hydra_files(job)
            metrics = save_run(
                job.out_dir,
                run,
                exp,
                wall,
                plots=bool(job.values["output"]["plots"]),
                save_data=bool(job.values["output"]["save_data"]),
                extra=extra,
            )
            ret = _job_return(job, metrics)
            returns[idx] = ret
            callbacks.on_job_end(config=job.config, job_return=ret)

    def _skipped_return(self, job: _Job) -> JobReturn:
        with open(job.out_dir / "metrics.json") as f:
            return _job_return(job, json.load(f))

    def _collect(self, sweep_dir: Path) -> None:
        from implicit_bias.sweep_results import collect

        try:
            ds = collect(sweep_dir)
            log.info("collected %s: %s", sweep_dir / "sweep.nc", dict(ds.sizes))
        except Exception:  # the runs are on disk; collecting again is always possible
            log.exception("collecting %s failed (run implicit_bias.collect again)", sweep_dir)


def _run_batch(exp, scalars, progress, workers=None):
    """:func:`implicit_bias.run_batch` (imported late: Hydra imports this module at start)."""
    from implicit_bias.engine import run_batch

    return run_batch(exp, scalars, progress=progress, workers=workers)


def run_chunk(exp, scalars, dtype: str):
    """A submitit job: one batch, computed as in-process; returns (result on host, seconds).

    A module-level function (picklable by reference). ``scalars`` arrive as numpy arrays and
    are made JAX arrays only after ``jax_enable_x64`` is set, so float64 values are not
    truncated in a fresh worker process.
    """
    import jax

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    _quiet_jax_logs()
    scalars = jax.tree.map(jax.numpy.asarray, scalars)
    t0 = time.perf_counter()
    result = _run_batch(exp, scalars, False)
    return jax.device_get(result), time.perf_counter() - t0


#: Executors of the ``submitit`` option, and the keys passed through to them.
SUBMITIT_EXECUTORS = ("slurm", "local", None)
SUBMITIT_KEYS = (
    "partition",
    "timeout_min",
    "gpus_per_node",
    "cpus_per_task",
    "mem_gb",
    "additional_parameters",
)


def _submitit_options(options: Any) -> dict[str, Any]:
    """The ``submitit`` option as a plain dict (``executor: None`` when not set)."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        options = OmegaConf.to_container(options, resolve=True)
    options = dict(options)
    options.setdefault("executor", None)
    if options["executor"] not in SUBMITIT_EXECUTORS:
        raise ValueError(
            f"hydra.launcher.submitit.executor={options['executor']!r} is invalid: one of "
            f"{list(SUBMITIT_EXECUTORS)}"
        )
    unknown = sorted(set(options) - {"executor", *SUBMITIT_KEYS})
    if unknown:
        raise ValueError(
            f"hydra.launcher.submitit={unknown!r} is invalid: keys among "
            f"{['executor', *SUBMITIT_KEYS]}"
        )
    return options


def _executor(options: dict[str, Any], sweep_dir: Path):
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


# ------------------------------------------------------------------------------- helpers
def _group(jobs: list[_Job]) -> list[list[_Job]]:
    """Jobs grouped by static structure, in sweep order; float32 groups first.

    float32 groups run first because float64 needs ``jax_enable_x64``, a process-wide switch:
    float32 results must not depend on whether a float64 group ran before them.
    """
    groups: dict[str, list[_Job]] = {}
    for job in jobs:
        groups.setdefault(job.static_key, []).append(job)
    return sorted(groups.values(), key=lambda g: (g[0].values["dtype"] != "float32", g[0].idx))


def _quiet_jax_logs() -> None:
    """As ``implicit_bias.run.quiet_jax_logs`` (not imported from there: importing the module
    ``implicit_bias.run`` rebinds the package attribute ``implicit_bias.run``, the engine's
    ``run`` function, to the module)."""
    for name in ("jax", "jax._src", "absl", "jax._src.xla_bridge"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _scalars(jobs: list[_Job], dtype: str):
    """:func:`implicit_bias.build.build_scalars` of the jobs, from their resolved values."""
    from implicit_bias.build import SWEPT_KEYS
    from implicit_bias.experiment import Scalars

    return Scalars.make(dtype=dtype, **{k: [j.values[k] for j in jobs] for k in SWEPT_KEYS})


def _fast(o, swept: Sequence[str]) -> bool:
    """A plain ``key=value`` override of a swept scalar."""
    from hydra.core.override_parser.types import OverrideType, ValueType

    return (
        o.key_or_group in swept
        and o.package is None
        and o.type == OverrideType.CHANGE
        and o.value_type == ValueType.ELEMENT
        and isinstance(o.value(), (int, float, str))
    )


def _template_key(parsed, swept: Sequence[str]) -> tuple[str, ...] | None:
    if any(o.is_hydra_override() for o in parsed):
        return None
    return tuple(f"{o.key_or_group}=*" if _fast(o, swept) else str(o.input_line) for o in parsed)


def _from_template(template: DictConfig, overrides: list[str], parsed, swept) -> DictConfig:
    from hydra._internal.config_loader_impl import get_overrides_dirname

    cfg = copy.deepcopy(template)
    for o in parsed:
        if _fast(o, swept):
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


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix.rstrip("."): d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}."))
    return out


def _group_labels(values: list[dict]) -> list[str]:
    """Short names of the groups: the static keys that differ between them."""
    from implicit_bias.build import SWEPT_KEYS

    flats = [_flat(v) for v in values]
    for f in flats:
        for k in (*SWEPT_KEYS, "progress"):
            f.pop(k, None)
    keys = sorted({k for f in flats for k in f})
    differing = [k for k in keys if len({repr(f.get(k)) for f in flats}) > 1]
    if not differing:
        return [str(f.get("model._target_", "?")).rsplit(".", 1)[-1] for f in flats]
    return [" ".join(f"{k}={f.get(k)}" for k in differing) for f in flats]


def _status_summary(result, n: int) -> str:
    import numpy as np

    from implicit_bias.engine import STATUS_NAMES

    status = np.asarray(result.status)[:n]
    counts = {name: int((status == s).sum()) for s, name in enumerate(STATUS_NAMES)}
    return ", ".join(f"{c} {name}" for name, c in counts.items() if c)


def _save_hydra_files(job: _Job) -> None:
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


def _check_same_config(job: _Job) -> None:
    """A complete directory is skipped only if it holds a run of this job's config."""
    from implicit_bias.errors import ConfigError

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


def _job_return(job: _Job, value: Any, status: JobStatus = JobStatus.COMPLETED) -> JobReturn:
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


def _file_handler(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    return handler


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[list[int]]:
    """SIGTERM raises KeyboardInterrupt like SIGINT does; yields the signals received."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, handler)
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
