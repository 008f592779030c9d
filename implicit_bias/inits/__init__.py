"""Initialization schemes: one file each, all subclasses of :class:`AbstractInit`."""

from ._base import AbstractInit as AbstractInit
from .balanced import Balanced as Balanced
from .constant import Constant as Constant
from .fan_in import FanIn as FanIn
from .gaussian import Gaussian as Gaussian
from .identity import Identity as Identity
from .neuron import Neuron as Neuron
from .residual import Residual as Residual
from .zero import Zero as Zero
from .zero_first import ZeroFirst as ZeroFirst
