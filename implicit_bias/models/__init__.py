"""Models: one file each, all subclasses of :class:`AbstractModel`."""

from ._base import AbstractLinearModel as AbstractLinearModel
from ._base import AbstractModel as AbstractModel
from ._base import AbstractReverseModeModel as AbstractReverseModeModel
from .deep_linear import DeepLinear as DeepLinear
from .diagonal import Diagonal as Diagonal
from .linear import Linear as Linear
from .matrix_factorization import MatrixFactorization as MatrixFactorization
from .mlp import MLP as MLP
from .one_hidden_neuron import OneHiddenNeuron as OneHiddenNeuron
from .relu_neuron import ReLUNeuron as ReLUNeuron
from .residual_linear import ResidualLinear as ResidualLinear
