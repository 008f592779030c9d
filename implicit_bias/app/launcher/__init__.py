"""The batched launcher of multiruns, one concern per module.

* :mod:`.grids`: a sweep as a union of grids (tied keys), the ``grids`` sweeper's expansion.
* :mod:`.jobs`: every point's config, composed as Hydra composes it, and grouped by structure.
* :mod:`.plan`: which points run together, in which padded batch.
* :mod:`.executors`: where batches run (in process, CPU worker processes, submitit).
* :mod:`.rundirs`: each point's run directory and Hydra files; completed points skipped.
* :mod:`.signals`: SIGINT/SIGTERM during a sweep.
* :mod:`.sweep`: the launch itself (:class:`~.sweep.BatchedSweep`).

Hydra loads plugins only from the ``hydra_plugins`` namespace: the plugin classes
(``hydra_plugins/implicit_bias_launcher``) are thin wrappers around these modules.
"""
