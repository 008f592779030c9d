"""A data set read from an ``.npz`` file."""

import os
from typing import ClassVar

import equinox as eqx
import numpy as np
from jaxtyping import PRNGKeyArray

from ..errors import ConfigError
from ._dataset import AbstractData, Dataset
from .array import OPTIONAL, REQUIRED, check_arrays, sample_arrays

#: What ``data.path`` accepts, for the messages.
_ACCEPTED = "an .npz file (numpy.savez) with arrays X and y"


def _what_it_is(path: str) -> str | None:
    """What a file that is not an .npz archive is, from its first bytes (``None``: a zip
    archive, which np.load reads as an .npz)."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return None
    if not head:
        return "an empty file"
    if head.startswith(b"\x93NUMPY"):
        return "a single-array .npy file (numpy.save), not an .npz archive of named arrays"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file, not a zip archive"
    if head.startswith(b"\x80") or head.startswith(b"\x1f\x8b"):
        kind = "a Python pickle" if head.startswith(b"\x80") else "a gzip file"
        return f"{kind}, not a zip archive"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "a binary file that is not a zip archive"
    first = text.splitlines()[0] if text.splitlines() else ""
    if "," in first or "\t" in first or ";" in first:
        return "a CSV (text) file; CSV is not read (save the arrays with numpy.savez)"
    return "a text file, not a zip archive"


def load_npz(path: str) -> dict[str, np.ndarray]:
    """Load and validate the arrays of a data file.

    The file must be an ``.npz`` archive (``numpy.savez``) holding ``X`` (n, d) and ``y``
    (n,), optionally ``X_test`` (n_test, d), ``y_test`` (n_test,) and ``w_star`` (d,), all
    finite real numbers (:func:`~implicit_bias.data.array.check_arrays`). Pickled objects are
    refused (``allow_pickle=False``). A file of another kind (a CSV, an ``.npy``, any file that
    is not a zip archive) is refused saying what it is.

    Raises:
        ConfigError: naming ``data.path`` or the offending array.
    """
    if not os.path.isfile(path):
        raise ConfigError("data.path", path, f"an existing {_ACCEPTED[3:]}")
    try:
        kind = _what_it_is(path)
    except OSError as e:
        raise ConfigError("data.path", path, f"a readable file ({e.strerror})") from None
    if kind is not None:
        raise ConfigError("data.path", path, f"{_ACCEPTED}; this is {kind}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as e:  # object arrays need pickle
        raise ConfigError(
            "data.path", path, f"an .npz of numeric arrays; pickled objects are refused ({e})"
        ) from None
    except Exception as e:  # a damaged archive
        raise ConfigError(
            "data.path", path, f"{_ACCEPTED}; this zip archive cannot be read ({e})"
        ) from None
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise ConfigError(
            "data.path",
            path,
            f"an .npz with keys {list(REQUIRED)} (optional {list(OPTIONAL)}); "
            f"missing {missing}, found {sorted(arrays)}",
        )
    return check_arrays(arrays, lambda k: f"data.path[{k}]")


class FileData(AbstractData):
    """Fixed data from an ``.npz`` file (see :func:`load_npz` for the format).

    The seed does not change the data. ``w_star`` defaults to the least-squares regressor.

    Attributes:
        path: the file.
    """

    task: ClassVar[str] = "regression"

    path: str = eqx.field(static=True)
    arrays: dict[str, np.ndarray] = eqx.field(repr=False)

    def __init__(self, path: str):
        self.path = str(path)
        # Loaded once on the host; as array leaves they are inputs of the compiled program, so
        # another file of the same shapes does not recompile.
        self.arrays = load_npz(self.path)

    @property
    def input_dim(self) -> int:
        return int(self.arrays["X"].shape[1])

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        del key
        return sample_arrays(self.arrays, dtype)
