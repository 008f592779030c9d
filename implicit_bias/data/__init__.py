"""Data generators: one file each, all subclasses of :class:`AbstractData`."""

from ._dataset import AbstractData as AbstractData
from ._dataset import Dataset as Dataset
from .file import FileData as FileData
from .gaussian_regression import GaussianRegression as GaussianRegression
