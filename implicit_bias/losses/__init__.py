"""Losses: one file each, all subclasses of :class:`AbstractLoss`."""

from ._base import AbstractLoss as AbstractLoss
from .cross_entropy import CrossEntropy as CrossEntropy
from .exponential import Exponential as Exponential
from .logistic import Logistic as Logistic
from .square import Square as Square
