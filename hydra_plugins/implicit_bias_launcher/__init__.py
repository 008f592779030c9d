"""Hydra plugins of implicit_bias: a launcher that runs a sweep as batched programs, and a sweeper
that takes a union of grids (tied keys).

* ``hydra/launcher: batched`` (:class:`~.batched_launcher.BatchedLauncher`): the points of a
  multirun that differ only in traced scalars run as one ``jit(vmap(...))`` program per group;
  each point still gets its own run directory.
* ``hydra/sweeper: grids`` (:class:`~.grid_sweeper.GridSweeper`): Hydra's basic sweeper over a
  list of grids, with ``linspace``/``logspace`` sweep functions.

See ``docs/sweeps.md``.
"""
