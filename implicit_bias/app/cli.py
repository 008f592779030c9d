"""The Hydra command line: compose, instantiate, run, save.

    python -m implicit_bias.run model=deep_linear lr=0.01       (or: implicit-bias ...)
    python -m implicit_bias.run -m init_scale=0.25,0.4 lr=0.01,0.05

``implicit_bias.run`` is a two-line module that calls :func:`main`; :func:`run_config` does
the same without Hydra's command line (a config from :func:`implicit_bias.app.compose`).

Every refusal of the user's input, ours or Hydra's, ends in one line on stderr,
``Error: <key>=<value> is invalid: <what is allowed>``, and exit status 2
(:func:`implicit_bias.app.messages.error_line`); ``HYDRA_FULL_ERROR=1`` shows Hydra's own
message and traceback instead.
"""

import logging
import os
import re
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # silence XLA's C++ logging

import hydra
from omegaconf import DictConfig

from implicit_bias.app.messages import error_line, format_number
from implicit_bias.app.resources import conf_dir
from implicit_bias.app.schema import register_configs
from implicit_bias.errors import ConfigError

logger = logging.getLogger("implicit_bias.run")


def _expose_launcher_plugin() -> None:
    """Let Hydra's plugin scan find our launcher and sweeper in an editable install.

    Hydra finds plugins by listing the folders of the ``hydra_plugins`` namespace package
    (``pkgutil.walk_packages``). A wheel installs ``hydra_plugins/implicit_bias_launcher`` into
    site-packages, where it is listed; an editable install (``pip install -e .``, what ``make``
    does) maps it with an import hook that such a listing does not see, so ``-m`` failed with
    "hydra/sweeper=grids not found" whenever the repository was not the current directory
    (the ``implicit-bias`` script, or any other folder). Its folder is added to the namespace's
    path, once.
    """
    import importlib.util

    try:
        import hydra_plugins

        spec = importlib.util.find_spec("hydra_plugins.implicit_bias_launcher")
    except ImportError:
        return
    if spec is None or not spec.submodule_search_locations:
        return
    folder = str(Path(next(iter(spec.submodule_search_locations))).parent)
    if folder not in list(hydra_plugins.__path__):
        hydra_plugins.__path__.append(folder)


register_configs()
_expose_launcher_plugin()


def quiet_jax_logs() -> None:
    """JAX's own INFO/WARNING chatter is not the user's business."""
    for name in ("jax", "jax._src", "absl", "jax._src.xla_bridge"):
        logging.getLogger(name).setLevel(logging.ERROR)


def configure_jax(cfg: DictConfig) -> None:
    import jax

    if cfg.dtype == "float64":
        jax.config.update("jax_enable_x64", True)


def run_config(cfg: DictConfig, out_dir: str | os.PathLike) -> dict:
    """Run the single experiment ``cfg`` describes and write its run directory.

    Usable without Hydra's CLI (e.g. with ``hydra.compose`` in a notebook).

    Returns:
        The content of ``metrics.json``.
    """
    configure_jax(cfg)
    from implicit_bias.app.build import build_experiment, build_reference, build_scalars
    from implicit_bias.app.rundir import save_run
    from implicit_bias.engine import run_batch

    exp = build_experiment(cfg)
    reference = build_reference(cfg)
    scalars = build_scalars(cfg)
    t0 = time.perf_counter()
    result = run_batch(exp, scalars, progress=cfg.progress)
    wall = time.perf_counter() - t0
    run = result[0]
    extra = {"reference": reference(exp, run)} if reference is not None else {}
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
    try:
        return run_config(cfg, out_dir)
    except ConfigError as e:
        # User error: one line, no traceback, and no half-made run directory.
        _discard_refused_run_dir(Path(out_dir))
        print(f"Error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


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
    finally:
        if user_full_error is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = user_full_error
