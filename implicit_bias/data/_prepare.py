r"""What every fixed data set goes through before training (a data file, a scikit-learn set):
labels to targets, a subset of classes, a train/test split, a subset of n samples,
standardization and PCA, all on the host in float64 numpy, once per experiment.

Targets by task (:data:`~implicit_bias.data._dataset.TASKS`):

* ``regression``: real targets, shape (n,) or (n, k) (multi-output);
* ``classification``: two classes as labels in {-1, +1}, shape (n,) (the margin losses);
* ``multiclass``: K >= 2 classes one-hot, shape (n, K), entries in {0, 1} (softmax
  cross-entropy, or the square loss on one-hot targets as in Cohen et al. 2021).
"""

import logging
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError, check

logger = logging.getLogger(__name__)


def class_labels(y: np.ndarray, key: str) -> np.ndarray:
    """The class index of each label of a classification data set, as integers.

    Accepted labels: {-1, +1} (-1 is class 0), or the integers 0 ... K-1 (integer or integral
    float arrays).

    Raises:
        ConfigError: naming ``key``, for labels that are neither.
    """
    values = np.unique(y)
    if y.ndim != 1:
        raise ConfigError(key, f"labels of shape {y.shape}", "one label per sample, shape (n,)")
    if set(values.tolist()) <= {-1.0, 1.0}:
        return (y > 0).astype(np.int64)
    if np.all(values == np.round(values)) and values.min() >= 0:
        return np.round(y).astype(np.int64)
    shown = values[:5].tolist()
    raise ConfigError(
        key,
        f"labels {shown}{' ...' if len(values) > 5 else ''}",
        "class labels in {-1, +1} or integers 0 ... K-1",
    )


def infer_task(y: np.ndarray, key: str) -> str:
    """The task of a data file's targets, when not declared: ``classification`` for labels
    in {-1, +1} or {0, 1}, ``multiclass`` for an *integer* array with values 0 ... K-1 (K >= 3),
    ``regression`` otherwise (floats, several columns). The inference is logged.
    """
    if y.ndim == 1:
        values = set(np.unique(y).tolist())
        if values <= {-1.0, 1.0} or values <= {0.0, 1.0}:
            task = "classification"
        elif np.issubdtype(y.dtype, np.integer) and values == set(range(len(values))):
            task = "multiclass"
        else:
            task = "regression"
    else:
        task = "regression"
    logger.info("%s: task inferred from the targets: %s (set data.task to override)", key, task)
    return task


def select_classes(
    X: np.ndarray, labels: np.ndarray, classes: Sequence[int] | None, key: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Keep the samples of ``classes`` (in that order: the i-th listed class becomes class i).

    Returns:
        ``(X, labels, K)`` with labels in 0 ... K-1.

    Raises:
        ConfigError: for a class absent from the data, a repeated one, or fewer than 2.
    """
    present = np.unique(labels)
    if classes is None:
        # Relabel 0 ... K-1 in sorted order (a file may skip a class index).
        index = {c: i for i, c in enumerate(present.tolist())}
        return X, np.array([index[c] for c in labels.tolist()], np.int64), len(present)
    classes = [int(c) for c in classes]
    check(
        len(classes) >= 2 and len(set(classes)) == len(classes),
        f"{key}.classes",
        classes,
        "at least two distinct classes",
    )
    missing = [c for c in classes if c not in present]
    check(not missing, f"{key}.classes", classes, f"classes of the data set, {present.tolist()}")
    index = {c: i for i, c in enumerate(classes)}
    keep = np.isin(labels, classes)
    return X[keep], np.array([index[c] for c in labels[keep].tolist()], np.int64), len(classes)


def targets_of(labels: np.ndarray, num_classes: int, one_hot: bool) -> tuple[np.ndarray, str]:
    """Class indices as targets: {-1, +1} for two classes (unless ``one_hot``), else one-hot.

    Returns:
        ``(targets, task)``.
    """
    if num_classes == 2 and not one_hot:
        return np.where(labels == 1, 1.0, -1.0), "classification"
    return np.eye(num_classes)[labels], "multiclass"


def split(
    X: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray | None,
    test_fraction: float,
    seed: int,
    n: int | None,
    key: str,
) -> dict[str, np.ndarray]:
    """A train/test split by fraction (stratified by class when ``labels`` are given), then the
    first ``n`` training samples of a seeded permutation.

    Plain numpy (``numpy.random.default_rng(seed)``), not scikit-learn: data files must split
    without the optional ``datasets`` extra.

    Raises:
        ConfigError: for an empty training or test set, or ``n`` above the training set.
    """
    rng = np.random.default_rng(seed)
    total = X.shape[0]
    if test_fraction > 0:
        if labels is None:
            perm = rng.permutation(total)
            n_test = round(test_fraction * total)
            test, train = perm[:n_test], perm[n_test:]
        else:
            # Stratified: the same fraction of every class in the test set (rounded per class).
            test_parts, train_parts = [], []
            for c in np.unique(labels):
                idx = rng.permutation(np.flatnonzero(labels == c))
                k = round(test_fraction * idx.size)
                test_parts.append(idx[:k])
                train_parts.append(idx[k:])
            test, train = np.concatenate(test_parts), np.concatenate(train_parts)
            test, train = rng.permutation(test), rng.permutation(train)
        check(
            train.size >= 1 and test.size >= 1,
            f"{key}.test_fraction",
            test_fraction,
            f"a fraction leaving both sets non-empty ({total} samples)",
        )
    else:
        train, test = rng.permutation(total), None
    if n is not None:
        check(
            1 <= n <= train.size,
            f"{key}.n",
            n,
            f"null or an integer in [1, {train.size}] (the training samples available)",
        )
        train = train[:n]
    out = {"X": X[train], "y": y[train]}
    if test is not None:
        out["X_test"], out["y_test"] = X[test], y[test]
    return out


def standardize_and_project(
    arrays: dict[str, np.ndarray], standardize: bool, pca: int | None, regression: bool, key: str
) -> dict[str, np.ndarray]:
    """Standardize features (and regression targets) and project on the top ``pca`` principal
    directions, every statistic fitted on the training set only (no test-set leakage).

    Constant features are centered and left unscaled. PCA is the SVD of the (standardized,
    centered) training inputs; components are signed so that each has a positive largest
    entry (deterministic).

    Raises:
        ConfigError: for ``pca`` outside [1, min(n, d)].
    """
    out = dict(arrays)
    X = out["X"]
    if standardize:
        mu, sd = X.mean(axis=0), X.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        out["X"] = (X - mu) / sd
        if "X_test" in out:
            out["X_test"] = (out["X_test"] - mu) / sd
        if regression:
            ym, ys = out["y"].mean(axis=0), out["y"].std(axis=0)
            ys = np.where(ys > 0, ys, 1.0)
            out["y"] = (out["y"] - ym) / ys
            if "y_test" in out:
                out["y_test"] = (out["y_test"] - ym) / ys
    if pca is not None:
        n, d = out["X"].shape
        check(
            1 <= pca <= min(n, d),
            f"{key}.pca",
            pca,
            f"null or an integer in [1, {min(n, d)}] (min(n, d) of the training inputs)",
        )
        mu = out["X"].mean(axis=0)
        _, _, vt = np.linalg.svd(out["X"] - mu, full_matrices=False)
        comps = vt[:pca]
        comps *= np.sign(comps[np.arange(pca), np.argmax(np.abs(comps), axis=1)])[:, None]
        out["X"] = (out["X"] - mu) @ comps.T
        if "X_test" in out:
            out["X_test"] = (out["X_test"] - mu) @ comps.T
    return out
