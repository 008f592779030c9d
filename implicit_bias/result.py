"""The outputs of a batch of trajectories."""

import equinox as eqx
import jax
import numpy as np
from jaxtyping import Array, Int

from ._types import Params
from .data._dataset import Dataset
from .scalars import Scalars
from .status import CONVERGED as CONVERGED
from .status import DIVERGED as DIVERGED
from .status import MAX_STEPS as MAX_STEPS
from .status import STATUS_NAMES


class Result(eqx.Module):
    """Outputs of a batch of trajectories (leading axis: the batch).

    Attributes:
        scalars: the traced scalars of each run.
        times: record points, shape (b, r): steps (discrete) or times (gradient flow).
        records: metric name -> values at the record points, shape (b, r) (or (b, r, ...)
            for vector records such as ``predictor`` with ``record.params``).
        initial: metric name -> value at initialization, shape (b,).
        final: metric name -> value at the end, shape (b,). Includes ``sharpness``,
            ``sharpness_error_bound``, ``min_eigenvalue`` when sharpness is measured.
        status: 0 converged, 1 diverged, 2 max_steps; shape (b,).
        reached: steps taken (discrete) or final time (flow); for a diverged run, the step at
            which it diverged. Shape (b,).
        params: final parameters (trainable and frozen), each with a leading batch axis.
        initial_params: parameters at initialization.
        data: the data set of each run.
    """

    scalars: Scalars
    times: Array
    records: dict[str, Array]
    initial: dict[str, Array]
    final: dict[str, Array]
    status: Int[Array, " b"]
    reached: Array
    params: Params
    initial_params: Params
    data: Dataset

    @property
    def batch_size(self) -> int:
        return int(self.status.shape[0])

    def status_names(self) -> list[str] | str:
        """Status names: a list for a batch, a string for one run (``result[i]``)."""
        status = np.asarray(self.status)
        if status.ndim == 0:
            return STATUS_NAMES[int(status)]
        return [STATUS_NAMES[int(s)] for s in status]

    def __getitem__(self, i) -> "Result":
        """The i-th run (or a sub-batch), as a Result with a leading axis kept for slices.

        Indexes like a Python sequence: an integer in ``[-b, b)`` (negative from the end),
        a slice, or an integer array/list or boolean mask over the batch.

        Raises:
            IndexError: for an index out of range (JAX would silently clamp it to the last,
                or first, run).
            TypeError: for an index of another kind.
        """
        if np.ndim(self.status) == 0:
            raise TypeError("a single run (result[i]) cannot be indexed again")
        b = self.batch_size
        if isinstance(i, slice):
            index = i
        elif isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            if not -b <= i < b:
                raise IndexError(f"run index {i} is out of range for a batch of {b} runs")
            index = int(i) % b
        else:
            try:
                index = np.asarray(i)
            except Exception:
                raise TypeError(
                    f"runs are indexed by an int, a slice or an array, not {i!r}"
                ) from None
            if index.dtype == bool:
                if index.shape != (b,):
                    raise IndexError(f"a boolean mask over {b} runs needs shape ({b},)")
                index = np.flatnonzero(index)
            elif not np.issubdtype(index.dtype, np.integer) or index.ndim != 1:
                raise TypeError(f"runs are indexed by an int, a slice or an array, not {i!r}")
            bad = index[(index < -b) | (index >= b)]
            if bad.size:
                raise IndexError(f"run index {int(bad[0])} is out of range for {b} runs")
            index = index % b
        return jax.tree.map(lambda a: a[index], self)
