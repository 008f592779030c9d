"""A data set read from an ``.npz`` file."""

import os
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from ..errors import ConfigError
from ._dataset import AbstractData, Dataset, least_squares

_REQUIRED = ("X", "y")
_OPTIONAL = ("X_test", "y_test", "w_star")


def load_npz(path: str) -> dict[str, np.ndarray]:
    """Load and validate the arrays of a data file.

    The file must hold ``X`` (n, d) and ``y`` (n,), optionally ``X_test`` (n_test, d),
    ``y_test`` (n_test,) and ``w_star`` (d,), all finite real numbers. Pickled objects are
    refused (``allow_pickle=False``).

    Raises:
        ConfigError: naming ``data.path`` or the offending array.
    """
    if not os.path.isfile(path):
        raise ConfigError("data.path", path, "an existing .npz file")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as e:  # object arrays need pickle
        raise ConfigError(
            "data.path", path, f"an .npz of numeric arrays; pickled objects are refused ({e})"
        ) from None
    except Exception as e:
        raise ConfigError("data.path", path, f"a readable .npz file ({type(e).__name__})") from None
    missing = [k for k in _REQUIRED if k not in arrays]
    if missing:
        raise ConfigError(
            "data.path",
            path,
            f"an .npz with keys {list(_REQUIRED)} (optional {list(_OPTIONAL)}); "
            f"missing {missing}, found {sorted(arrays)}",
        )
    for k, a in arrays.items():
        if k not in _REQUIRED + _OPTIONAL:
            continue
        if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
            raise ConfigError(f"data.path[{k}]", str(a.dtype), "real numeric arrays")
        if not np.all(np.isfinite(a)):
            raise ConfigError(f"data.path[{k}]", "non-finite entries", "finite values only")
    X, y = arrays["X"], arrays["y"]
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ConfigError(
            "data.path[X,y]", f"X{X.shape}, y{y.shape}", "X of shape (n, d) and y of shape (n,)"
        )
    if ("X_test" in arrays) != ("y_test" in arrays):
        raise ConfigError("data.path", path, "both X_test and y_test, or neither")
    if "X_test" in arrays:
        Xt, yt = arrays["X_test"], arrays["y_test"]
        if Xt.ndim != 2 or Xt.shape[1] != X.shape[1] or yt.shape != (Xt.shape[0],):
            raise ConfigError(
                "data.path[X_test,y_test]",
                f"X_test{Xt.shape}, y_test{yt.shape}",
                f"X_test of shape (n_test, {X.shape[1]}) and y_test of shape (n_test,)",
            )
    if "w_star" in arrays and arrays["w_star"].shape != (X.shape[1],):
        raise ConfigError("data.path[w_star]", arrays["w_star"].shape, f"shape ({X.shape[1]},)")
    return {k: arrays[k] for k in _REQUIRED + _OPTIONAL if k in arrays}


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
        a = {k: jnp.asarray(v, dtype) for k, v in self.arrays.items()}
        w_star = a.get("w_star")
        if w_star is None:
            w_star = least_squares(a["X"], a["y"])
        return Dataset(a["X"], a["y"], a.get("X_test"), a.get("y_test"), w_star)
