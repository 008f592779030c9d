"""A data set given as arrays in memory: ``ib.ArrayData(X, y)`` (or ``data=(X, y)``)."""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from ..errors import ConfigError, check
from ._dataset import TASKS, AbstractData, Dataset, least_squares

#: Arrays of a data set given as arrays (in memory or in a file), required and optional.
REQUIRED = ("X", "y")
OPTIONAL = ("X_test", "y_test", "w_star")


def check_arrays(arrays: dict[str, Any], name: Callable[[str], str]) -> dict[str, np.ndarray]:
    """Validate the arrays of a data set: what a data file and in-memory arrays must satisfy.

    ``X`` (n, d) and ``y`` (n,) or (n, k) (k outputs), optionally ``X_test`` (n_test, d) with
    ``y_test`` (n_test,) or (n_test, k), and ``w_star`` (d,); all real numbers, all finite;
    ``n >= 1``, ``d >= 1``.

    Args:
        arrays: name -> array-like; names other than the five above are ignored.
        name: how an array is named in a message, e.g. ``lambda k: f"data.path[{k}]"``.

    Returns:
        The five (or fewer) arrays as numpy arrays.

    Raises:
        ConfigError: naming the offending array, its value (dtype, shape) and what is allowed.
    """
    out: dict[str, np.ndarray] = {}
    for k in REQUIRED + OPTIONAL:
        if k not in arrays or arrays[k] is None:
            continue
        try:
            a = np.asarray(arrays[k])
        except Exception as e:  # ragged lists and the like
            raise ConfigError(name(k), type(arrays[k]).__name__, f"an array ({e})") from None
        if a.dtype == bool or not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
            raise ConfigError(name(k), str(a.dtype), "real numbers (an integer or float array)")
        if not np.all(np.isfinite(a)):
            raise ConfigError(name(k), "non-finite entries", "finite values only")
        out[k] = a
    missing = [k for k in REQUIRED if k not in out]
    if missing:
        raise ConfigError(name(missing[0]), None, "an array (X and y are required)")
    X, y = out["X"], out["y"]
    bad_y = y.ndim not in (1, 2) or y.shape[:1] != X.shape[:1] or 0 in y.shape
    if X.ndim != 2 or bad_y or X.shape[0] < 1 or X.shape[1] < 1:
        raise ConfigError(
            name("X,y"),
            f"X{X.shape}, y{y.shape}",
            "X of shape (n, d) and y of shape (n,) or (n, k), n >= 1, d >= 1",
        )
    if ("X_test" in out) != ("y_test" in out):
        given = "X_test" if "X_test" in out else "y_test"
        raise ConfigError(name(given), "without its pair", "both X_test and y_test, or neither")
    if "X_test" in out:
        Xt, yt = out["X_test"], out["y_test"]
        if Xt.ndim != 2 or Xt.shape[1] != X.shape[1] or yt.shape != Xt.shape[:1] + y.shape[1:]:
            k = "" if y.ndim == 1 else f" {y.shape[1]}"
            raise ConfigError(
                name("X_test,y_test"),
                f"X_test{Xt.shape}, y_test{yt.shape}",
                f"X_test of shape (n_test, {X.shape[1]}) and y_test of shape (n_test,{k})",
            )
    if "w_star" in out and out["w_star"].shape != (X.shape[1],):
        raise ConfigError(name("w_star"), out["w_star"].shape, f"shape ({X.shape[1]},)")
    return out


def sample_arrays(arrays: dict[str, Any], dtype, fit_w_star: bool = True) -> Dataset:
    """The :class:`Dataset` of fixed arrays (validated by :func:`check_arrays`; traced inside
    the compiled program), in ``dtype``.

    Without a given ``w_star``, it is the minimum-norm least-squares regressor when
    ``fit_w_star`` and the targets are one column (none for (n, k) targets); without
    ``X_test``, the data set has no test set (and a run no test loss).
    """
    a = {k: jnp.asarray(v, dtype) for k, v in arrays.items()}
    w_star = a.get("w_star")
    if w_star is None and fit_w_star and a["y"].ndim == 1:
        w_star = least_squares(a["X"], a["y"])
    return Dataset(a["X"], a["y"], a.get("X_test"), a.get("y_test"), w_star)


class ArrayData(AbstractData):
    """Fixed data given as arrays: the Python API's way to train on one's own data.

    ``ib.train(..., data=ib.ArrayData(X, y))``; ``data=(X, y)`` (or ``(X, y, X_test,
    y_test)``, or an :class:`~implicit_bias.data.Dataset`) is converted to it. Validated as a
    data file is (:func:`check_arrays`): shapes, real and finite values. The seed does not
    change the data; ``w_star`` defaults to the least-squares regressor.

    Args:
        X: training inputs, (n, d).
        y: training targets, (n,); labels in {-1, +1} for ``task="classification"``.
        X_test, y_test: a test set (optional, both or neither): without one, runs report no
            test loss.
        w_star: the reference regressor (d,) (default: the least-squares one).
        task: ``"regression"`` or ``"classification"``.

    Raises:
        ConfigError: naming the offending array (``data.X``, ...) or ``data.task``.
    """

    task: str
    arrays: dict[str, np.ndarray] = eqx.field(repr=False)

    def __init__(self, X, y, X_test=None, y_test=None, w_star=None, task: str = "regression"):
        given = dict(X=X, y=y, X_test=X_test, y_test=y_test, w_star=w_star)
        # Host arrays: inputs of the compiled program, so other data of the same shapes do not
        # recompile.
        self.arrays = check_arrays(given, lambda k: f"data.{k}")
        self.task = task

    def __check_init__(self):
        check(self.task in TASKS, "data.task", self.task, f"one of {list(TASKS)}")
        if self.task == "classification":
            for k in ("y", "y_test"):
                if k in self.arrays:
                    labels = np.unique(self.arrays[k])
                    check(
                        set(labels.tolist()) <= {-1.0, 1.0},
                        f"data.{k}",
                        f"labels {labels[:5].tolist()}",
                        "labels in {-1, +1} for classification",
                    )

    @property
    def input_dim(self) -> int:
        return int(self.arrays["X"].shape[1])

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        del key
        return sample_arrays(self.arrays, dtype)
