"""Shared input validation for the reference solvers (private).

Every public reference converts its inputs to C-contiguous float64 arrays through these
helpers, so error messages have one format: the argument name, what was received and what
is allowed.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["ArrayLike", "as_array", "as_matrix", "as_scalar", "as_vector"]

#: Anything :func:`numpy.asarray` turns into a real array: ``numpy.typing.ArrayLike`` plus the
#: Python scalars, which a strict runtime checker (beartype) does not accept as ``complex``.
ArrayLike: TypeAlias = npt.ArrayLike | float | int


def as_array(
    name: str, value: object, *, ndim: int, shape: tuple[int | None, ...] | None = None
) -> np.ndarray:
    """Converts ``value`` to a finite float64 array with ``ndim`` dimensions.

    Args:
        name: argument name used in error messages.
        value: anything :func:`numpy.asarray` accepts.
        ndim: required number of dimensions.
        shape: optional required shape; ``None`` entries are free.

    Returns:
        A C-contiguous float64 copy of ``value``.

    Raises:
        ValueError: if ``value`` is not numeric, has the wrong number of dimensions or shape,
            is empty, or contains NaN/inf.
    """
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be a real numeric array, got {type(value).__name__}: {err}"
        ) from err
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape} ({arr.ndim}-D)")
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty, got shape {arr.shape}")
    if shape is not None:
        for axis, (got, want) in enumerate(zip(arr.shape, shape, strict=True)):
            if want is not None and got != want:
                raise ValueError(
                    f"{name} must have shape {_fmt_shape(shape)}, got {arr.shape} "
                    f"(axis {axis} differs)"
                )
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} must contain only finite values, got {int(np.sum(~np.isfinite(arr)))} NaN/inf"
        )
    return np.ascontiguousarray(arr)


def as_matrix(
    name: str, value: object, *, rows: int | None = None, cols: int | None = None
) -> np.ndarray:
    """Converts ``value`` to a finite float64 matrix, optionally of a given shape."""
    return as_array(name, value, ndim=2, shape=(rows, cols))


def as_vector(name: str, value: object, *, length: int | None = None) -> np.ndarray:
    """Converts ``value`` to a finite float64 vector, optionally of a given length."""
    return as_array(name, value, ndim=1, shape=(length,))


def as_scalar(
    name: str,
    value: object,
    *,
    positive: bool = False,
    nonnegative: bool = False,
) -> float:
    """Converts ``value`` to a finite Python float, optionally requiring a sign."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a real number, got {value!r}") from err
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got an array of shape {arr.shape}")
    x = float(arr)
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if positive and not x > 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    if nonnegative and not x >= 0:
        raise ValueError(f"{name} must be >= 0, got {x}")
    return x


def _fmt_shape(shape: tuple[int | None, ...]) -> str:
    return (
        "("
        + ", ".join("*" if s is None else str(s) for s in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )
