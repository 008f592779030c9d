"""The small real data sets that ship with scikit-learn (no download)."""

import importlib
from collections.abc import Sequence

import equinox as eqx
import numpy as np
from jaxtyping import PRNGKeyArray

from ..errors import ConfigError, check
from ._dataset import TASKS, AbstractData, Dataset
from ._prepare import select_classes, split, standardize_and_project, targets_of
from .array import sample_arrays

#: ``data.name`` -> (loader in ``sklearn.datasets``, samples, features, classes or None).
DATASETS: dict[str, tuple[str, int, int, int | None]] = {
    "digits": ("load_digits", 1797, 64, 10),
    "iris": ("load_iris", 150, 4, 3),
    "wine": ("load_wine", 178, 13, 3),
    "breast_cancer": ("load_breast_cancer", 569, 30, 2),
    "diabetes": ("load_diabetes", 442, 10, None),
}

#: What to do when scikit-learn is missing.
INSTALL = "scikit-learn installed: pip install 'implicit_bias[datasets]' (or scikit-learn)"


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of a bundled scikit-learn data set, in float64 / int64.

    Raises:
        ConfigError: for an unknown name, or when scikit-learn is not installed.
    """
    check(name in DATASETS, "data.name", name, f"one of {list(DATASETS)}")
    try:
        datasets = importlib.import_module("sklearn.datasets")
    except ImportError:
        raise ConfigError("data", "sklearn", INSTALL) from None
    X, y = getattr(datasets, DATASETS[name][0])(return_X_y=True)
    return np.asarray(X, np.float64), np.asarray(y)


class SklearnData(AbstractData):
    r"""A real data set bundled with scikit-learn: ``digits`` (1797 8x8 images, 10 classes),
    ``iris`` (150 x 4, 3 classes), ``wine`` (178 x 13, 3 classes), ``breast_cancer`` (569 x 30,
    2 classes), ``diabetes`` (442 x 10, regression). Read from the files inside the package:
    nothing is downloaded.

    In order: a subset of ``classes``; a train/test split by ``test_fraction`` (stratified by
    class) with ``split_seed``; the first ``n`` training samples (of a permutation by the same
    seed); ``standardize`` (features, and regression targets, to mean 0 and std 1 on the
    training set); ``pca`` (projection on the top principal directions of the training set).
    See :mod:`implicit_bias.data._prepare`.

    Targets (:mod:`implicit_bias.data._prepare`): two classes as labels in {-1, +1}
    (``classification``: logistic, exponential, square loss), unless ``one_hot``; three or more
    one-hot (``multiclass``: cross-entropy, square loss on one-hot targets with
    ``model.output_dim = K``); ``diabetes`` real (``regression``).

    The data are prepared once, on the host, when the object is built: the seeds of a run
    (``seed``, ``data_seed``) do not change them; ``split_seed`` does (a static option).

    Attributes:
        name: one of :data:`DATASETS`.
        classes: the classes to keep (``None``: all), e.g. ``[3, 8]``: the i-th listed class
            becomes class i (so ``[3, 8]`` labels 3 as -1 and 8 as +1).
        one_hot: one-hot targets for two classes too (``multiclass``).
        n: training samples to keep (``None``: all).
        test_fraction: fraction of the samples held out as the test set (0: no test set; the
            test loss is then the training loss).
        split_seed: seed of the split and of the subset.
        standardize: standardize features (and regression targets) on the training set.
        pca: number of principal components to keep (``None``: the raw features).
        task: the task the data set is *used* for; ``None``: its own (above). ``regression``
            on a classification set trains on the targets above as real numbers.

    Raises:
        ConfigError: for a bad option, or when scikit-learn is not installed (naming the
            extra to install).
    """

    name: str = eqx.field(static=True)
    task: str = eqx.field(static=True)
    arrays: dict[str, np.ndarray] = eqx.field(repr=False)

    def __init__(
        self,
        name: str = "digits",
        classes: Sequence[int] | None = None,
        one_hot: bool = False,
        n: int | None = None,
        test_fraction: float = 0.0,
        split_seed: int = 0,
        standardize: bool = True,
        pca: int | None = None,
        task: str | None = None,
    ):
        check(task is None or task in TASKS, "data.task", task, f"null or one of {list(TASKS)}")
        check(
            0.0 <= test_fraction < 1.0,
            "data.test_fraction",
            test_fraction,
            "a float in [0, 1)",
        )
        X, y = load(name)
        self.name = name
        num_classes = DATASETS[name][3]
        if num_classes is None:
            check(
                classes is None and not one_hot,
                "data.classes" if classes is not None else "data.one_hot",
                classes if classes is not None else one_hot,
                f"null / false: {name} is a regression data set",
            )
            check(
                task in (None, "regression"),
                "data.task",
                task,
                f"null or regression: {name} is a regression data set",
            )
            arrays = split(X, y, None, test_fraction, split_seed, n, "data")
            own = "regression"
        else:
            X, labels, k = select_classes(X, y.astype(np.int64), classes, "data")
            targets, own = targets_of(labels, k, one_hot)
            arrays = split(X, targets, labels, test_fraction, split_seed, n, "data")
        self.task = own if task is None else task
        if self.task == "classification" and own != "classification":
            raise ConfigError(
                "data.task",
                task,
                f"{own} or regression for {name} with these options (classification needs "
                "two classes as {-1, +1} labels: data.classes=[a,b], data.one_hot=false)",
            )
        if self.task == "multiclass" and own != "multiclass":
            raise ConfigError(
                "data.task", task, f"{own} or regression for {name} (multiclass: one-hot targets)"
            )
        self.arrays = standardize_and_project(arrays, standardize, pca, own == "regression", "data")

    @property
    def input_dim(self) -> int:
        return int(self.arrays["X"].shape[1])

    @property
    def n(self) -> int:
        """Number of training samples."""
        return int(self.arrays["X"].shape[0])

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        del key
        # The least-squares regressor for scalar regression targets (dist_to_wstar of linear
        # models); none for labels, one-hot or multi-output targets.
        return sample_arrays(self.arrays, dtype, fit_w_star=self.task == "regression")
