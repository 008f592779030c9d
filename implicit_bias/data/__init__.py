"""Data generators: one file each, all subclasses of :class:`AbstractData`."""

from ._dataset import AbstractData as AbstractData
from ._dataset import Dataset as Dataset
from .array import ArrayData as ArrayData
from .file import FileData as FileData
from .gaussian_regression import GaussianRegression as GaussianRegression
from .matrix_completion import MatrixCompletion as MatrixCompletion
from .matrix_sensing import MatrixSensing as MatrixSensing
from .planted_regression import PlantedRegression as PlantedRegression
from .relu_counterexample import ReluCounterexample as ReluCounterexample
from .separable import Separable as Separable
from .sklearn import SklearnData as SklearnData
from .sparse_regression import SparseRegression as SparseRegression
