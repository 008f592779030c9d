"""The abstract reference step: the limit theory predicts, compared with what a run found."""

import abc
from typing import Any

import equinox as eqx

from implicit_bias.errors import check_finite_fields
from implicit_bias.experiment import Experiment
from implicit_bias.result import Result


class AbstractCheck(eqx.Module):
    """Computes, on the host and independently of the engine (numpy/scipy), the solution a
    theorem predicts for *this run's own data and initialization*, and its distance to what
    the run found.

    Called by ``run.py`` after training; the returned dict is stored under ``"reference"`` in
    ``metrics.json``. Implementations live in ``implicit_bias/limits/`` (one file each) and use
    the exact solvers of :mod:`implicit_bias.theory`.
    """

    def __check_init__(self):
        # Every float field (of every member) is finite: one check for the family.
        check_finite_fields(self, "reference")

    @abc.abstractmethod
    def __call__(self, exp: Experiment, run: Result) -> dict[str, Any]:
        """Compare one run (``run`` indexed, no batch axis) with the predicted limit.

        Returns:
            JSON-serializable scalars; by convention at least ``name`` and ``distance``
            (and ``relative_distance`` where meaningful).
        """
