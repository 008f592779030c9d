"""Configs of the plugins, registered with Hydra's ConfigStore.

``hydra/launcher: batched`` is the default launcher of ``conf/config.yaml``; sweep files select
``hydra/sweeper: grids``. Hydra imports this module when it scans ``hydra_plugins``.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class SubmititConf:
    """Run each batch as a submitit job (``hydra.launcher.submitit.<key>=...``).

    Attributes:
        executor: ``slurm`` (``submitit.AutoExecutor(cluster="slurm")``), ``local``
            (``submitit.LocalExecutor``: one subprocess per batch) or ``null`` (in-process).
        partition, timeout_min, gpus_per_node, cpus_per_task, mem_gb, additional_parameters:
            passed to the executor (SLURM's ``--partition``, ``--time``, ...; ``null``: unset).
    """

    executor: str | None = None
    partition: str | None = None
    # Counts are typed Any so that 1e3 composes; the launcher checks they are integers.
    timeout_min: Any = None
    gpus_per_node: Any = None
    cpus_per_task: Any = None
    mem_gb: Any = None
    additional_parameters: dict[str, Any] | None = None


@dataclass
class BatchedLauncherConf:
    """Options of the batched launcher (``hydra.launcher.<key>=...``).

    Attributes:
        max_batch_size: most points per compiled batch (``null``: a whole equal-horizon run of
            a group). Each batch is written as soon as it finishes.
        skip_completed: skip points whose run directory is complete (``metrics.json``) and
            was made from the same config; redo missing or incomplete ones.
        pad_to: batch sizes compiled: ``pow2`` (next power of two), ``max`` (one size per
            group), ``none`` (exact sizes).
        collect: write ``sweep.nc`` (:func:`implicit_bias.collect`) at the end.
        submitit: run each batch as a submitit job (SLURM or local), see :class:`SubmititConf`.
        workers: CPU worker processes per batch (:mod:`implicit_bias.app.workers`; ``null`` or 1:
            in the launcher's process). Pays off for groups whose steps outweigh compilation.
    """

    _target_: str = "hydra_plugins.implicit_bias_launcher.batched_launcher.BatchedLauncher"
    # Integers typed Any so that 1e3 composes; LauncherOptions.make checks them, naming the key.
    max_batch_size: Any = None
    workers: Any = None
    skip_completed: bool = True
    pad_to: str = "pow2"
    collect: bool = True
    submitit: SubmititConf = field(default_factory=SubmititConf)


@dataclass
class GridSweeperConf:
    """Options of the grid sweeper (``hydra.sweeper.<key>``).

    Attributes:
        grids: a list of grids; each maps keys to Hydra sweep values (``0.1,0.2``,
            ``range(20)``, ``linspace(0.25,0.6,10)``, ``logspace(-2,-0.3,25)``, or a YAML
            list). The sweep is the union of their cartesian products, combined with the
            command line (which wins on a shared key).
        params: like Hydra's basic sweeper: sweep values shared by every grid.
        max_batch_size: like Hydra's basic sweeper: jobs per launcher call (``null``: all).
    """

    _target_: str = "hydra_plugins.implicit_bias_launcher.grid_sweeper.GridSweeper"
    grids: list[Any] = field(default_factory=list)
    params: dict[str, str] | None = None
    max_batch_size: int | None = None


ConfigStore.instance().store(
    group="hydra/launcher", name="batched", node=BatchedLauncherConf, provider="implicit_bias"
)
ConfigStore.instance().store(
    group="hydra/sweeper", name="grids", node=GridSweeperConf, provider="implicit_bias"
)
