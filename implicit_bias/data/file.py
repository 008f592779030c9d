"""A data set read from a file: an ``.npz`` archive or a ``.csv`` table with a header row."""

import csv
import logging
import os
from collections.abc import Sequence

import equinox as eqx
import numpy as np
from jaxtyping import PRNGKeyArray

from ..errors import ConfigError, check
from ._dataset import TASKS, AbstractData, Dataset
from ._prepare import (
    class_labels,
    infer_task,
    select_classes,
    split,
    standardize_and_project,
    targets_of,
)
from .array import OPTIONAL, REQUIRED, check_arrays, sample_arrays

logger = logging.getLogger(__name__)

#: What ``data.path`` accepts, for the messages.
_ACCEPTED = "an .npz file (numpy.savez) with arrays X and y, or a .csv with a header row"


def _what_it_is(path: str) -> str:
    """What a data file is, from its first bytes: ``"npz"`` (a zip archive, which np.load
    reads as an .npz), ``"csv"`` (text with a comma in its first line), or a description of
    what else it is."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
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
    if "," in first:
        return "csv"
    if "\t" in first or ";" in first:
        return "a text file separated by tabs or semicolons (a .csv is separated by commas)"
    return "a text file, not a zip archive nor a comma-separated table"


def load_npz(path: str) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` archive (``numpy.savez``): ``X`` (n, d) and ``y`` (n,) or (n,
    k), optionally ``X_test``, ``y_test`` and ``w_star`` (d,). Pickled objects are refused
    (``allow_pickle=False``).

    Raises:
        ConfigError: naming ``data.path``.
    """
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
    return arrays


def _number(cell: str) -> int | float | None:
    try:
        return int(cell)
    except ValueError:
        pass
    try:
        return float(cell)
    except ValueError:
        return None


def load_csv(path: str, target: Sequence[str] | None) -> dict[str, np.ndarray]:
    """``X`` and ``y`` of a comma-separated table whose first row names the columns.

    ``target`` names the target column(s) (``None``: the column named ``y``); every other
    column is a feature. One target column gives ``y`` of shape (n,), several (n, k). A column
    of integers only is read as integers (class labels can then be inferred), any other as
    floats.

    Raises:
        ConfigError: for a missing header, a row of another length than the header, a cell that
            is not a number, or target columns that are not in the header.
    """
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    header = [c.strip() for c in rows[0]]
    if all(_number(c) is not None for c in header):
        raise ConfigError(
            "data.path", path, "a .csv whose first row names the columns; its first row is numbers"
        )
    dup = sorted({c for c in header if header.count(c) > 1})
    check(not dup, "data.path", path, f"a .csv with distinct column names; repeated: {dup}")
    if target is None:
        check(
            "y" in header,
            "data.target",
            None,
            f"the target column(s) of the .csv, e.g. data.target=[{header[-1]}] (no column "
            f"named y; columns {header})",
        )
        names = ["y"]
    else:
        names = [target] if isinstance(target, str) else [str(t) for t in target]
        unknown = [t for t in names if t not in header]
        check(
            bool(names) and not unknown and len(set(names)) == len(names),
            "data.target",
            list(names),
            f"distinct columns of the .csv header, {header}",
        )
    features = [c for c in header if c not in names]
    check(bool(features), "data.target", names, "target columns leaving at least one feature")
    cols: list[list] = [[] for _ in header]
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ConfigError(
                "data.path",
                path,
                f"rows of {len(header)} values, as in the header; line {i} has {len(row)}",
            )
        for j, cell in enumerate(row):
            v = _number(cell.strip())
            if v is None:
                raise ConfigError(
                    f"data.path[{header[j]}]", cell.strip(), f"a number (line {i} of {path})"
                )
            cols[j].append(v)
    check(len(rows) > 1, "data.path", path, "a .csv with at least one row of data")

    def column(name: str) -> np.ndarray:
        values = cols[header.index(name)]
        integral = all(isinstance(v, int) for v in values)
        return np.asarray(values, np.int64 if integral else np.float64)

    X = np.stack([column(c).astype(np.float64) for c in features], axis=1)
    y = column(names[0]) if len(names) == 1 else np.stack([column(c) for c in names], axis=1)
    return {"X": X, "y": y}


def read_file(path: str, target: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The validated arrays of a data file (``.npz`` or ``.csv``, told apart by content).

    Raises:
        ConfigError: naming ``data.path`` (what the file is, when it is neither), the offending
            array or column, or ``data.target``.
    """
    if not os.path.isfile(path):
        raise ConfigError("data.path", path, f"an existing {_ACCEPTED[3:]}")
    try:
        kind = _what_it_is(path)
    except OSError as e:
        raise ConfigError("data.path", path, f"a readable file ({e.strerror})") from None
    if kind == "npz":
        check(
            target is None,
            "data.target",
            target,
            "null for an .npz (its targets are the array y)",
        )
        arrays = load_npz(path)
    elif kind == "csv":
        arrays = load_csv(path, target)
    else:
        raise ConfigError("data.path", path, f"{_ACCEPTED}; this is {kind}")
    return check_arrays(arrays, lambda k: f"data.path[{k}]")


class FileData(AbstractData):
    r"""Fixed data from a file: an ``.npz`` archive (arrays ``X`` (n, d), ``y`` (n,) or (n, k),
    optionally ``X_test``, ``y_test``, ``w_star``) or a ``.csv`` whose header row names the
    columns (``target`` the target column(s), every other column a feature).

    **Task.** Declared (``task``), or inferred from the targets and logged
    (:func:`~implicit_bias.data._prepare.infer_task`): labels in {-1, +1} or {0, 1} are two
    classes (``classification``: targets -1 / +1, for the margin losses), integer labels 0 ...
    K-1 (K >= 3) are ``multiclass`` (one-hot targets (n, K): cross-entropy, or the square loss
    with ``model.output_dim=K``), anything else, and several target columns, ``regression``.
    Declared ``classification`` takes two classes of any of these labels, ``multiclass`` one-hot
    encodes them (two classes too).

    **Options**, in order (:mod:`~implicit_bias.data._prepare`, as for scikit-learn data sets):
    a subset of ``classes``; a train/test split by ``test_fraction`` (stratified by class) with
    ``split_seed`` (a file with its own test set takes ``test_fraction=0``); the first ``n``
    training samples of a permutation by ``split_seed``; ``standardize`` (features, and
    regression targets, to mean 0 and std 1 on the training set). With no option set the file's
    arrays are used as they are.

    The seed does not change the data. ``w_star``: the file's own (dropped when
    ``standardize`` changes the coordinates), else the least-squares regressor for scalar
    regression targets, else none.

    Attributes:
        path: the file.
        task: the task the data are used for (declared, else inferred).

    Raises:
        ConfigError: for a bad file (one line saying what is wrong) or a bad option.
    """

    path: str = eqx.field(static=True)
    task: str = eqx.field(static=True)
    arrays: dict[str, np.ndarray] = eqx.field(repr=False)

    def __init__(
        self,
        path: str,
        task: str | None = None,
        target: Sequence[str] | None = None,
        classes: Sequence[int] | None = None,
        one_hot: bool = False,
        n: int | None = None,
        test_fraction: float = 0.0,
        split_seed: int = 0,
        standardize: bool = False,
    ):
        self.path = str(path)
        check(task is None or task in TASKS, "data.task", task, f"null or one of {list(TASKS)}")
        check(0.0 <= test_fraction < 1.0, "data.test_fraction", test_fraction, "a float in [0, 1)")
        # Loaded once on the host; as array leaves they are inputs of the compiled program, so
        # another file of the same shapes does not recompile.
        raw = read_file(self.path, target)
        has_test = "X_test" in raw
        check(
            not (has_test and test_fraction > 0),
            "data.test_fraction",
            test_fraction,
            "0 for a file with its own test set (X_test, y_test)",
        )
        y = raw["y"]
        self.task = infer_task(y, "data.path") if task is None else task
        labelled = self.task in ("classification", "multiclass")
        if not labelled:
            check(
                classes is None and not one_hot,
                "data.classes" if classes is not None else "data.one_hot",
                classes if classes is not None else one_hot,
                "null / false for regression data (set data.task for class labels)",
            )
            X_all, y_all, labels = raw["X"], y.astype(np.float64), None
            if has_test:
                X_all = np.concatenate([X_all, raw["X_test"]])
                y_all = np.concatenate([y_all, raw["y_test"].astype(np.float64)])
        else:
            X_all, y_lab = raw["X"], y
            if has_test:
                X_all = np.concatenate([X_all, raw["X_test"]])
                y_lab = np.concatenate([y_lab, raw["y_test"]])
            index = class_labels(y_lab, "data.path[y]")
            in_train = np.arange(X_all.shape[0]) < raw["X"].shape[0]
            kept = np.isin(index, classes) if classes is not None else np.ones(index.size, bool)
            X_all, labels, k = select_classes(X_all, index, classes, "data")
            in_train = in_train[kept]
            check(
                k >= 2,
                "data.path[y]",
                "labels of one class",
                "at least two classes for classification (data.task=regression for real targets)",
            )
            if task == "classification" and (k != 2 or one_hot):  # declared
                raise ConfigError(
                    "data.task",
                    self.task,
                    f"multiclass or regression for {k} classes"
                    + (" with one_hot" if k == 2 else "")
                    + " (classification: two classes as {-1, +1}; data.classes=[a,b] keeps two)",
                )
            y_all, own = targets_of(labels, k, one_hot or task == "multiclass")
            if task is None and own != self.task:  # e.g. two of K classes kept
                logger.info("data: %d classes kept: task %s", k, own)
                self.task = own
        n_train = raw["X"].shape[0] if labels is None else int(in_train.sum())
        if has_test or (test_fraction == 0 and n is None):
            # No split: the training rows in the file's order (select_classes keeps it), the
            # file's test set if any.
            arrays = {"X": X_all[:n_train], "y": y_all[:n_train]}
            if n is not None:
                arrays = split(arrays["X"], arrays["y"], None, 0.0, split_seed, n, "data")
            if has_test:
                arrays["X_test"], arrays["y_test"] = X_all[n_train:], y_all[n_train:]
        else:
            arrays = split(X_all, y_all, labels, test_fraction, split_seed, n, "data")
        arrays = standardize_and_project(arrays, standardize, None, not labelled, "data")
        if "w_star" in raw and not standardize and not labelled:
            arrays["w_star"] = raw["w_star"]
        self.arrays = arrays

    @property
    def input_dim(self) -> int:
        return int(self.arrays["X"].shape[1])

    @property
    def n(self) -> int:
        """Number of training samples."""
        return int(self.arrays["X"].shape[0])

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        del key
        # The least-squares regressor (dist_to_wstar) for scalar regression targets only.
        return sample_arrays(self.arrays, dtype, fit_w_star=self.task == "regression")
