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

SIGINT or SIGTERM mid-sweep, at any phase (composing, compiling, running a batch, writing):
the batch being run stops within about a second (:mod:`implicit_bias.engine`), the points
already written stay on disk (``metrics.json`` is written last and atomically, so a point is
either complete or redone), a batch that had finished is still written (for up to
:data:`WRITE_AFTER_SIGNAL` seconds, each point whole), the launcher logs one line with what is
done and the command that resumes, and the process exits with status ``128 + signal`` (130,
143; :mod:`implicit_bias.app.interrupts`). Re-running that command resumes.
"""

import contextlib
import dataclasses
import json
import logging
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
from implicit_bias.app.files import OutputError, exclusive_lock, is_write_error
from implicit_bias.app.instantiate import to_integer
from implicit_bias.app.interrupts import deferred, exit_interrupted, signals_as_interrupt
from implicit_bias.app.jaxsetup import configure_jax, quiet_jax_logs
from implicit_bias.app.launcher import executors, jobs, rundirs
from implicit_bias.app.launcher.plan import PAD_POLICIES, plan_group
from implicit_bias.app.rundir import is_complete
from implicit_bias.compilations import count_compilations
from implicit_bias.errors import ConfigError
from implicit_bias.result import STATUS_NAMES

log = logging.getLogger("hydra_plugins.implicit_bias_launcher.batched_launcher")

#: Per-group log of the launcher (one JSON object per line), in the sweep directory.
LAUNCHER_LOG = "launcher.jsonl"
#: The sweep directory's lock: one sweep writes into a directory at a time.
LOCK_FILE = ".sweep.lock"
#: Seconds after SIGINT/SIGTERM during which the points of a finished batch are still written
#: (the interrupt tests require an exit within 5 s).
WRITE_AFTER_SIGNAL = 2.0


def _waiting(sweep_dir: Path, holder: str) -> None:
    """Say, once, that another sweep holds the directory and that this one waits for it."""
    msg = (
        f"another sweep is writing to {sweep_dir} ({holder}; lock file {sweep_dir / LOCK_FILE}):"
        " waiting for it to finish, then its completed points are skipped"
    )
    log.warning(msg)
    print(msg, file=sys.stderr, flush=True)


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
        #: The signals received while launching (``signals_as_interrupt``).
        self._received = None

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int):
        """Run the jobs; returns one ``JobReturn`` per job, in order."""
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        with contextlib.ExitStack() as stack:
            try:
                sweep_dir.mkdir(parents=True, exist_ok=True)
                wait = lambda holder: _waiting(sweep_dir, holder)  # noqa: E731
                stack.enter_context(exclusive_lock(sweep_dir / LOCK_FILE, wait))
            except OSError as e:
                if not is_write_error(e):
                    raise
                print(f"Error: {OutputError(sweep_dir, e)}", file=sys.stderr)
                raise SystemExit(1) from None
            return self._launch_locked(job_overrides, initial_job_idx, sweep_dir)

    def _launch_locked(self, job_overrides, initial_job_idx: int, sweep_dir: Path):
        orig_hydra_cfg = HydraConfig.instance().cfg
        handler = _file_handler(sweep_dir / "launcher.log")
        logging.getLogger().addHandler(handler)
        todo: list[jobs.Job] = []
        try:
            log.info("Launching %d jobs, batched, in %s", len(job_overrides), sweep_dir)
            log.info(
                "if interrupted, this resumes it (completed points are skipped): %s", self.resume
            )
            tic = time.perf_counter()
            load = lambda o: self.hydra_context.config_loader.load_sweep_config(  # noqa: E731
                self.config, list(o)
            )
            todo.extend(jobs.compose_all(load, job_overrides, initial_job_idx))
            log.info("composed %d configs in %.1fs", len(todo), time.perf_counter() - tic)
            try:
                returns = self._launch(todo, sweep_dir)
            except ConfigError as e:
                # User error: one line, no traceback (as implicit_bias.run does).
                print(f"Error: {e}", file=sys.stderr)
                raise SystemExit(2) from None
            except OutputError as e:
                # Full disk, read-only folder: one line; the points written so far are complete,
                # the one being written has no metrics.json and is redone on resume.
                done = sum(1 for job in todo if is_complete(job.out_dir))
                print(
                    f"Error: {e}; {done} of {len(todo)} points are complete in {sweep_dir}, "
                    f"the others are redone by: {self.resume}",
                    file=sys.stderr,
                )
                raise SystemExit(1) from None
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
            self._received = received
            try:
                for gi, (exp, reference, members) in enumerate(built):
                    try:
                        self._run_group(
                            gi, len(built), labels[gi], exp, reference, members, sweep_dir, returns
                        )
                    except OutputError:
                        raise  # the disk, not the group: the next groups would fail the same
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
                # The signal may surface as another exception (one raised inside a compiled
                # extension comes out as another error): decide on the signal itself.
                if not received:
                    raise
                interrupted = received.signum
        if interrupted is not None:
            done = sum(1 for job in all_jobs if is_complete(job.out_dir))
            exit_interrupted(
                interrupted,
                f"{done} of {len(all_jobs)} points are complete in {sweep_dir}; "
                f"to do the rest, run: {self.resume}",
                log,
            )
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
        # Before any array of the group is created.
        configure_jax(first["dtype"], first.get("compilation_cache", "auto"))
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
                    # After a signal, the finished batch's points are still written for up to
                    # WRITE_AFTER_SIGNAL seconds; each point is written whole (signals
                    # deferred), the rest are redone on resume.
                    received = self._received
                    if received and time.monotonic() - received.first_at > WRITE_AFTER_SIGNAL:
                        raise KeyboardInterrupt
                    with deferred():
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
                if self._received:
                    raise KeyboardInterrupt
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
        try:
            with open(sweep_dir / LAUNCHER_LOG, "a") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as e:
            if is_write_error(e):
                raise OutputError(sweep_dir / LAUNCHER_LOG, e) from e
            raise


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
    except OSError as e:
        if not is_write_error(e):
            raise
        log.error("%s; the runs are on disk (run implicit_bias.app.collect again)", e)
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
