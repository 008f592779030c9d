"""The Hydra command line: compose, instantiate, run, save.

    python -m implicit_bias.run model=deep_linear lr=0.01       (or: implicit-bias ...)
    python -m implicit_bias.run -m init_scale=0.25,0.4 lr=0.01,0.05

``implicit_bias.run`` is a two-line module that calls :func:`main`; :func:`run_config` does
the same without Hydra's command line (a config from :func:`implicit_bias.app.compose`).

Every refusal of the user's input, ours or Hydra's, ends in one line on stderr,
``Error: <key>=<value> is invalid: <what is allowed>``, and exit status 2
(:func:`implicit_bias.app.messages.error_line`); ``HYDRA_FULL_ERROR=1`` shows Hydra's own
message and traceback instead.

A single run of a discrete integrator checkpoints its batch every ``output.checkpoint_every``
seconds to ``<output.checkpoint_dir>/<config hash>.npz`` (:func:`checkpoint_path`), and when
interrupted; running the same command again resumes from it, bit-identical to an
uninterrupted run; the file is deleted when the run directory is written. SIGINT or SIGTERM
stop the run within seconds at any phase (compiling included) with one line saying what was
kept and how to resume, and exit status 130 or 143 (:mod:`implicit_bias.app.interrupts`).
"""

import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # silence XLA's C++ logging

import hydra
from omegaconf import DictConfig

from implicit_bias.app.files import OutputError, is_write_error
from implicit_bias.app.interrupts import deferred, exit_interrupted, signals_as_interrupt
from implicit_bias.app.jaxsetup import configure_jax, quiet_jax_logs
from implicit_bias.app.messages import error_line, format_number
from implicit_bias.app.resources import conf_dir
from implicit_bias.app.schema import register_configs
from implicit_bias.errors import ConfigError, Interrupted

logger = logging.getLogger("implicit_bias.run")


register_configs()  # also exposes the launcher plugin to Hydra


#: Top-level keys that do not change a run's numbers: left out of its checkpoint's name.
_NOT_IN_CHECKPOINT_NAME = ("progress", "output", "compilation_cache")


def checkpoint_path(cfg: DictConfig) -> Path:
    """Where the single run ``cfg`` checkpoints: ``<output.checkpoint_dir>/<hash>.npz``, the
    hash of the resolved config without the keys that do not change its numbers (progress,
    output, compilation cache), so that the same command finds its checkpoint again. The
    engine also checks that a checkpoint belongs to the batch it runs
    (:mod:`implicit_bias.checkpoint`)."""
    from omegaconf import OmegaConf

    content = OmegaConf.to_container(cfg, resolve=True)
    content = {k: v for k, v in content.items() if k not in _NOT_IN_CHECKPOINT_NAME}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode())
    return Path(str(cfg.output.checkpoint_dir)) / f"{digest.hexdigest()[:20]}.npz"


def run_config(cfg: DictConfig, out_dir: str | os.PathLike) -> dict:
    """Run the single experiment ``cfg`` describes and write its run directory.

    Usable without Hydra's CLI (e.g. with ``hydra.compose`` in a notebook). A discrete run
    resumes from, and saves, its checkpoint (:func:`checkpoint_path`; ``output.checkpoint_every
    = null`` turns checkpoints off).

    Returns:
        The content of ``metrics.json``.

    Raises:
        Interrupted: the run was interrupted (:func:`implicit_bias.run_batch`); if it had
            finished, its run directory is written before this is raised.
    """
    configure_jax(cfg.dtype, cfg.get("compilation_cache", "auto"))
    from implicit_bias.app.build import build_experiment, build_reference, build_scalars
    from implicit_bias.app.rundir import save_run
    from implicit_bias.checkpoint import Checkpoint
    from implicit_bias.engine import run_batch

    exp = build_experiment(cfg)
    reference = build_reference(cfg)
    scalars = build_scalars(cfg)
    every = cfg.output.checkpoint_every
    checkpoint = None
    if every is not None and not exp.integrator.continuous:
        # Gradient flow solves in one program call: nothing to checkpoint between calls.
        checkpoint = Checkpoint(checkpoint_path(cfg), float(every))
    t0 = time.perf_counter()
    late = None
    try:
        result = run_batch(exp, scalars, progress=cfg.progress, checkpoint=checkpoint)
    except Interrupted as e:
        if e.result is None:
            raise
        result, late = e.result, e  # it finished: write it, then stop
    wall = time.perf_counter() - t0
    run = result[0]
    extra = {"reference": reference(exp, run)} if reference is not None else {}
    with deferred():  # a run directory is never cut in the middle
        metrics = save_run(
            out_dir,
            run,
            exp,
            wall,
            plots=cfg.output.plots,
            save_data=cfg.output.save_data,
            extra=extra,
            scalars=cfg,
        )
    logger.info("%s -> %s", summary_line(metrics), out_dir)
    if late is not None:
        raise late
    return metrics


def summary_line(metrics: dict) -> str:
    """The one-line summary of a finished run (``metrics.json``); NaN, infinity and
    unmeasured values (``null``) are written as such."""
    return (
        f"{metrics['model']}: status={metrics['status']} "
        f"train_loss={format_number(metrics['final_train_loss'])} "
        f"sharpness={format_number(metrics.get('final_sharpness'))} "
        f"dist_to_wstar={format_number(metrics.get('final_dist_to_wstar'))} "
        f"({format_number(metrics['wall_seconds'], '.2f')}s)"
    )


def _discard_refused_run_dir(out_dir: Path) -> None:
    """Remove the directory Hydra made for a run that was refused before computing anything.

    Hydra creates ``outputs/<date>/<time>/`` with ``.hydra/`` and ``run.log`` before calling
    the task; a refused run has nothing else in it. Anything else there (a directory the user
    named, holding other files) is left alone. The date folder goes too if it is left empty.
    """
    try:
        if not out_dir.is_dir() or {p.name for p in out_dir.iterdir()} - {".hydra", "run.log"}:
            return
        shutil.rmtree(out_dir / ".hydra", ignore_errors=True)
        (out_dir / "run.log").unlink(missing_ok=True)
        out_dir.rmdir()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", out_dir.parent.name):
            out_dir.parent.rmdir()  # only if empty (OSError otherwise)
    except OSError:
        pass


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _hydra_main(cfg: DictConfig) -> dict | None:
    quiet_jax_logs()
    from hydra.core.hydra_config import HydraConfig

    out_dir = HydraConfig.get().runtime.output_dir
    with signals_as_interrupt() as received:
        try:
            metrics = run_config(cfg, out_dir)
        except KeyboardInterrupt as e:  # Interrupted included
            _exit_interrupted(received.signum, e, Path(out_dir))
        except ConfigError as e:
            # User error: one line, no traceback, and no half-made run directory.
            _discard_refused_run_dir(Path(out_dir))
            print(f"Error: {e}", file=sys.stderr)
            raise SystemExit(2) from None
        except OutputError as e:
            # Full disk, read-only folder: one line; the run directory has no metrics.json, so
            # nothing takes it as complete.
            print(f"Error: {e}; the run directory {out_dir} is incomplete", file=sys.stderr)
            raise SystemExit(1) from None
        if received:  # while the run directory was written: it is complete
            _exit_interrupted(received.signum, None, Path(out_dir))
    return metrics


def _resume_command() -> str:
    """The command line of this process, as a user would type it again."""
    return shlex.join(["python", "-m", "implicit_bias.run", *sys.argv[1:]])


def _exit_interrupted(signum: int | None, exc: BaseException | None, out_dir: Path):
    """The one line of an interrupted single run, then exit ``128 + signal``."""
    again = _resume_command()
    if exc is None or (isinstance(exc, Interrupted) and exc.phase == "finished"):
        exit_interrupted(signum, f"the run had finished; its run directory {out_dir} is complete")
    _discard_refused_run_dir(out_dir)  # only .hydra/ and run.log: nothing was computed
    if isinstance(exc, Interrupted) and exc.checkpoint is not None:
        exit_interrupted(
            signum,
            f"stopped at step {exc.position} of {exc.end}, saved to {exc.checkpoint}; "
            f"to resume, run the same command: {again}",
        )
    if isinstance(exc, Interrupted) and exc.phase == "running":
        exit_interrupted(
            signum,
            f"stopped at step {exc.position} of {exc.end}, nothing saved; to start again: {again}",
        )
    if isinstance(exc, Interrupted):
        exit_interrupted(
            signum, f"stopped while compiling the program: nothing to keep; to start again: {again}"
        )
    exit_interrupted(signum, f"stopped, nothing saved; to start again: {again}")


def main() -> None:
    """``python -m implicit_bias.run`` / ``implicit-bias``: Hydra's main, with every refusal of
    the user's input (ours, Hydra's, OmegaConf's) printed as one line, exit status 2.

    Hydra prints its own errors over several lines (its config search path, our schema
    classes' names) and exits with 1; with ``HYDRA_FULL_ERROR=1`` set here it raises them
    instead, and they are rewritten by :func:`~implicit_bias.app.messages.error_line`. A user
    who sets ``HYDRA_FULL_ERROR=1`` gets Hydra's full message and traceback.
    """
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    user_full_error = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        _hydra_main()
    except (ConfigError, HydraException, OmegaConfBaseException) as e:
        if user_full_error == "1":
            raise
        print(f"Error: {error_line(e)}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as e:
        # Hydra's own writes (the run or sweep directory, .hydra/, multirun.yaml) on a full
        # disk or in a read-only folder: one line, exit status 1.
        if user_full_error == "1" or not is_write_error(e):
            raise
        print(f"Error: {OutputError(e.filename or '.', e)}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        if user_full_error is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = user_full_error
