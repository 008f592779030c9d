"""The Hydra command line: compose, instantiate, run, save.

    python -m implicit_bias.run model=deep_linear lr=0.01       (or: implicit-bias ...)
    python -m implicit_bias.run -m init_scale=0.25,0.4 lr=0.01,0.05

``implicit_bias.run`` is a two-line module that calls :func:`main`; :func:`run_config` does
the same without Hydra's command line (a config from :func:`implicit_bias.app.compose`).
"""

import logging
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # silence XLA's C++ logging

import hydra
from omegaconf import DictConfig

from implicit_bias.app.resources import conf_dir
from implicit_bias.app.schema import register_configs
from implicit_bias.errors import ConfigError

logger = logging.getLogger("implicit_bias.run")

register_configs()


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
    )
    logger.info(
        "%s: status=%s train_loss=%.4g sharpness=%s dist_to_wstar=%s (%.2fs) -> %s",
        metrics["model"],
        metrics["status"],
        metrics["final_train_loss"],
        _fmt(metrics["final_sharpness"]),
        _fmt(metrics["final_dist_to_wstar"]),
        wall,
        out_dir,
    )
    return metrics


def _fmt(x) -> str:
    return "n/a" if x is None else (f"{x:.4g}" if isinstance(x, float) else str(x))


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def main(cfg: DictConfig) -> dict | None:
    quiet_jax_logs()
    from hydra.core.hydra_config import HydraConfig

    out_dir = HydraConfig.get().runtime.output_dir
    try:
        return run_config(cfg, out_dir)
    except ConfigError as e:
        # User error: one line, no traceback.
        print(f"Error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
