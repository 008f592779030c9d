"""The ``batched`` launcher: a multirun as one compiled, vmapped program per group.

This is Hydra's plugin class (Hydra only loads plugins from the ``hydra_plugins`` namespace);
the work is :class:`implicit_bias.app.launcher.sweep.BatchedSweep` (composition, planning,
executors, run directories: one module each in :mod:`implicit_bias.app.launcher`).
"""

from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from implicit_bias.app.launcher.sweep import BatchedSweep, LauncherOptions


class BatchedLauncher(Launcher):
    """Runs a multirun's points as batched programs (:mod:`implicit_bias.app.launcher.sweep`).

    Args:
        max_batch_size, workers, skip_completed, pad_to, collect, submitit: see
            :class:`~implicit_bias.app.launcher.sweep.LauncherOptions`.

    Raises:
        ConfigError: for a bad option, naming it (the command line prints it as one line).
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
        self.options = LauncherOptions.make(
            max_batch_size=max_batch_size,
            workers=workers,
            skip_completed=skip_completed,
            pad_to=pad_to,
            collect=collect,
            submitit=submitit,
        )
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        assert self.config is not None and self.hydra_context is not None
        sweep = BatchedSweep(self.options, self.config, self.hydra_context, self.task_function)
        return sweep.launch(job_overrides, initial_job_idx)
