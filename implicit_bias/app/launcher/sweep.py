"""A multirun as one compiled, vmapped program per group: what the batched launcher does.

Hydra's basic launcher runs the jobs of a multirun one after the other, each a separate
``run_batch`` call. Most points of a sweep differ only in traced scalars
(:data:`implicit_bias.scalars.SWEPT_KEYS`: seed, data_seed, init_scale, lr, steps, t1), which
the engine batches with ``jax.vmap`` at no recompilation. :class:`BatchedSweep`

1. composes every job's config as Hydra does (:func:`.jobs.compose_all`), and validates them
   all (bad values stop the sweep before anything is computed);
2. skips the points whose run directory is already complete (``skip_completed``), after
   checking that it was made from the same config (:mod:`.rundirs`);
3. groups the points by :func:`implicit_bias.app.build.static_key` (same structure, so one
   compiled program; the group's first config gives the :class:`~implicit_bias.Experiment`);
4. cuts each group into chunks of equal ``steps`` (``t1``), padded to a few bucket sizes
   (:mod:`.plan`), runs them (:mod:`.executors`: in this process, in CPU worker processes, or as
   submitit jobs), and writes each point of a chunk, as soon as the chunk finishes, to its own
   directory ``hydra.sweep.dir/hydra.sweep.subdir``;
5. writes ``sweep.nc`` (:func:`implicit_bias.app.collect`) and returns one ``JobReturn`` per job
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

import dataclasses
import json
import logging
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, configure_log, setup_globals
from omegaconf import DictConfig

from implicit_bias.app.build import build_experiment, build_reference, build_scalars
from implicit_bias.app.collect import collect
from implicit_bias.app.instantiate import to_integer
from implicit_bias.app.jaxsetup import configure_jax, quiet_jax_logs
from implicit_bias.app.launcher import executors, jobs, rundirs
from implicit_bias.app.launcher.plan import PAD_POLICIES, plan_group
from implicit_bias.app.launcher.signals import signals_as_interrupt
from implicit_bias.app.rundir import is_complete
from implicit_bias.compilations import count_compilations
from implicit_bias.errors import ConfigError
from implicit_bias.result import STATUS_NAMES

log = logging.getLogger("hydra_plugins.implicit_bias_launcher.batched_launcher")

#: Per-group log of the launcher (one JSON object per line), in the sweep directory.
LAUNCHER_LOG = "launcher.jsonl"


@dataclass(frozen=True)
class LauncherOptions:
    """Options of the batched launcher (``hydra.launcher.<key>``), validated.

    Attributes:
        max_batch_size: most points per batch (``None``: no limit).
        workers: CPU worker processes per in-process batch (:mod:`implicit_bias.app.workers`).
        skip_completed: skip points whose directory holds a complete run of the same config.
        pad_to: bucket sizes: ``pow2``, ``max`` or ``none`` (:func:`.plan.plan_group`).
        collect: write ``sweep.nc`` at the end.
        submitit: :func:`.executors.submitit_options`.
    """

    max_batch_size: int | None = None
    workers: int | None = None
    skip_completed: bool = True
    pad_to: str = "pow2"
    collect: bool = True
    submitit: Any = None

    @classmethod
    def make(cls, **options: Any) -> "LauncherOptions":
        """Validate the options (integer options accept integral floats, ``1e3``).

        Raises:
            ConfigError: naming the key (``hydra.launcher.<key>``), the bad value and what is
                allowed.
        """
        o = {**{f.name: f.default for f in dataclasses.fields(cls)}, **options}
        if o["pad_to"] not in PAD_POLICIES:
            raise ConfigError("hydra.launcher.pad_to", o["pad_to"], f"one of {list(PAD_POLICIES)}")
        for key in ("max_batch_size", "workers"):
            key_name = f"hydra.launcher.{key}"
            o[key] = to_integer(o[key], key_name, nullable=True)
            if o[key] is not None and o[key] < 1:
                raise ConfigError(key_name, o[key], "null or an integer >= 1")
        for key in ("skip_completed", "collect"):
            if not isinstance(o[key], bool):
                raise ConfigError(f"hydra.launcher.{key}", o[key], "true or false")
        o["submitit"] = executors.submitit_options(o["submitit"])
        return cls(**o)


class BatchedSweep:
    """One launch of the batched launcher (see the module docstring).

    Args:
        options: the launcher's options.
        config: the sweep's config (Hydra's, with the ``hydra`` node).
        hydra_context: Hydra's context (config loader, callbacks).
        task_function: the task (for Hydra's callbacks; the launcher never calls it).
    """

    def __init__(self, options: LauncherOptions, config: DictConfig, hydra_context, task_function):
        self.options = options
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function
        self.resume = resume_command(config)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int):
        """Run the jobs; returns one ``JobReturn`` per job, in order."""
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        orig_hydra_cfg = HydraConfig.instance().cfg
        handler = _file_handler(sweep_dir / "launcher.log")
        logging.getLogger().addHandler(handler)
        try:
            log.info("Launching %d jobs, batched, in %s", len(job_overrides), sweep_dir)
            log.info(
                "if interrupted, this resumes it (completed points are skipped): %s", self.resume
            )
            tic = time.perf_counter()
            load = lambda o: self.hydra_context.config_loader.load_sweep_config(  # noqa: E731
                self.config, list(o)
            )
            todo = jobs.compose_all(load, job_overrides, initial_job_idx)
            log.info("composed %d configs in %.1fs", len(todo), time.perf_counter() - tic)
            try:
                returns = self._launch(todo, sweep_dir)
            except ConfigError as e:
                # User error: one line, no traceback (as implicit_bias.run does).
                print(f"Error: {e}", file=sys.stderr)
                raise SystemExit(2) from None
        finally:
            HydraConfig.instance().cfg = orig_hydra_cfg
            logging.getLogger().removeHandler(handler)
            handler.close()
        return returns

    def _launch(self, all_jobs: list[jobs.Job], sweep_dir: Path) -> list[JobReturn]:
        quiet_jax_logs()
        returns: dict[int, JobReturn] = {}
        todo: list[jobs.Job] = []
        for job in all_jobs:
            if self.options.skip_completed and is_complete(job.out_dir):
                rundirs.check_same_config(job)
                returns[job.idx] = rundirs.skipped_return(job)
            else:
                todo.append(job)
        if returns:
            log.info("skipping %d completed points (skip_completed)", len(returns))

        groups = jobs.group(todo)
        # Build (and so validate) every group before computing anything.
        built = []
        for members in groups:
            first = members[0].resolved
            exp = build_experiment(first)
            build_scalars([m.values for m in members], "float32")  # validates every point
            built.append((exp, build_reference(first), members))
        labels = jobs.group_labels([members[0].values for members in groups])

        interrupted = None
        with signals_as_interrupt() as received:
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
                                returns[job.idx] = rundirs.job_return(job, e, JobStatus.FAILED)
            except BaseException:
                # The signal may surface as another exception: raised inside a JAX host
                # callback (the progress bar), KeyboardInterrupt comes out as a runtime error.
                if not received:
                    raise
                interrupted = received[0]
        if interrupted is not None:
            done = sum(1 for job in all_jobs if is_complete(job.out_dir))
            log.error(
                "interrupted (%s): %d of %d points are complete in %s; to do the rest, run: %s",
                signal.Signals(interrupted).name,
                done,
                len(all_jobs),
                sweep_dir,
                self.resume,
            )
            raise SystemExit(128 + int(interrupted))
        failed = [job for job in all_jobs if returns[job.idx].status == JobStatus.FAILED]
        if failed:
            log.error(
                "%d of %d points failed (above); to retry them, run: %s",
                len(failed),
                len(all_jobs),
                self.resume,
            )
        if self.options.collect:
            _collect(sweep_dir)
        return [returns[job.idx] for job in all_jobs]

    def _run_group(
        self,
        gi: int,
        n_groups: int,
        label: str,
        exp,
        reference,
        members: list[jobs.Job],
        sweep_dir: Path,
        returns: dict[int, JobReturn],
    ) -> None:
        first = members[0].values
        configure_jax(first["dtype"])  # before any array of the group is created
        continuous = exp.integrator.continuous
        by_idx = {m.idx: m for m in members}
        horizons = [float(m.values["t1" if continuous else "steps"]) for m in members]
        opts = self.options
        chunks = plan_group([m.idx for m in members], horizons, opts.max_batch_size, opts.pad_to)
        log.info(
            "group %d/%d (%s): %d points in %d batches of sizes %s",
            gi + 1,
            n_groups,
            label,
            len(members),
            len(chunks),
            sorted({c.size for c in chunks}),
        )
        batches = [
            build_scalars([by_idx[i].values for i in c.points], first["dtype"]).pad(c.size)
            for c in chunks
        ]
        run_seconds = 0.0
        with count_compilations("_simulate") as compiles:
            results = executors.run_chunks(
                exp,
                batches,
                dtype=first["dtype"],
                progress=first["progress"],
                workers=opts.workers,
                submitit=opts.submitit,
                sweep_dir=sweep_dir,
            )
            for ci, (chunk, (result, wall)) in enumerate(zip(chunks, results, strict=True)):
                run_seconds += wall
                batch = {"size": len(chunk.points), "padded_size": chunk.size}
                for pos, idx in enumerate(chunk.points):
                    returns[idx] = rundirs.save_point(
                        by_idx[idx],
                        result[pos],
                        exp,
                        reference,
                        wall,
                        batch,
                        self.hydra_context,
                        self.task_function,
                    )
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


def resume_command(config: DictConfig) -> str:
    """The command that resumes this sweep: the same overrides, with ``hydra.sweep.dir`` set to
    this sweep's directory (Hydra's default one has the date and time in it, so re-running the
    same command would start over elsewhere; sweep files set a fixed one). Completed points are
    skipped (``skip_completed``)."""
    import shlex

    overrides = config.hydra.overrides
    hydra_overrides = [
        str(o)
        for o in overrides.hydra
        if not str(o).startswith(("hydra.sweep.dir=", "hydra.mode=", "hydra.run.dir="))
    ]
    sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
    args = [*map(str, overrides.task), *hydra_overrides, f"hydra.sweep.dir={sweep_dir}"]
    return shlex.join(["python", "-m", "implicit_bias.run", "-m", *args])


def _collect(sweep_dir: Path) -> None:
    try:
        ds = collect(sweep_dir)
        log.info("collected %s: %s", sweep_dir / "sweep.nc", dict(ds.sizes))
    except Exception:  # the runs are on disk; collecting again is always possible
        log.exception("collecting %s failed (run implicit_bias.app.collect again)", sweep_dir)


def _status_summary(result, n: int) -> str:
    import numpy as np

    status = np.asarray(result.status)[:n]
    counts = {name: int((status == s).sum()) for s, name in enumerate(STATUS_NAMES)}
    return ", ".join(f"{c} {name}" for name, c in counts.items() if c)


def _file_handler(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    return handler
