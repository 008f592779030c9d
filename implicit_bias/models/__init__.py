"""Models: one file each, all subclasses of :class:`AbstractModel`."""

from ._base import AbstractModel as AbstractModel
from .deep_linear import DeepLinear as DeepLinear
from .linear import Linear as Linear
from .mlp import MLP as MLP
from .residual_linear import ResidualLinear as ResidualLinear
