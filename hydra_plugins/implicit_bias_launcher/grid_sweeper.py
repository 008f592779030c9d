"""The ``grids`` sweeper: Hydra's basic sweeper over a union of grids (tied keys).

The grids and their expansion are :mod:`implicit_bias.app.launcher.grids`; this Hydra plugin
class (Hydra only loads plugins from the ``hydra_plugins`` namespace) hands the jobs to the
launcher, all in one call unless ``max_batch_size`` is set, so that the batched launcher can
batch across grids.
"""

import logging
import time
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.utils import JobReturn
from omegaconf import OmegaConf

from implicit_bias.app.launcher.grids import expand_grids, sweep_parser

log = logging.getLogger(__name__)


class GridSweeper(BasicSweeper):
    """Hydra's basic sweeper over a union of grids (see :mod:`implicit_bias.app.launcher.grids`).

    Args:
        max_batch_size: jobs per launcher call (``None``: all in one call).
        params: sweep values shared by every grid.
        grids: the grids.
    """

    def __init__(
        self,
        max_batch_size: int | None = None,
        params: dict[str, str] | None = None,
        grids: list[Any] | None = None,
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        if grids is not None and not isinstance(grids, list):
            grids = OmegaConf.to_container(grids, resolve=True)
        self.grids = [dict(g) for g in (grids or [])]

    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.launcher is not None
        assert self.hydra_context is not None
        from .batched_launcher import BatchedLauncher

        parser = sweep_parser(self.hydra_context.config_loader)
        jobs = expand_grids(parser, arguments, self.grids, self.params)
        log.info("Sweep of %d jobs (%d grids)", len(jobs), max(1, len(self.grids)))
        self.overrides = list(BasicSweeper.split_overrides_to_chunks(jobs, self.max_batch_size))
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        returns: list[list[JobReturn]] = []
        initial_job_idx = 0
        while not self.is_done():
            batch = self.get_job_batch()
            if not isinstance(self.launcher, BatchedLauncher):
                # The batched launcher composes (and so validates) every job before computing
                # anything; other launchers get Hydra's early check.
                tic = time.perf_counter()
                self.validate_batch_is_legal(batch)
                log.debug("validated %d jobs in %.2fs", len(batch), time.perf_counter() - tic)
            results = self.launcher.launch(batch, initial_job_idx=initial_job_idx)
            for r in results:
                _ = r.return_value  # raises the job's exception if it failed
            initial_job_idx += len(batch)
            returns.append(list(results))
        return returns
