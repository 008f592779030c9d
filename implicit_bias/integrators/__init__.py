"""Integrators: one file each. Discrete ones step with a learning rate; continuous ones
integrate an ODE up to a time t1."""

from ._base import AbstractContinuousIntegrator as AbstractContinuousIntegrator
from ._base import AbstractDiscreteIntegrator as AbstractDiscreteIntegrator
from ._base import AbstractIntegrator as AbstractIntegrator
from ._base import FlowSolution as FlowSolution
from ._base import Termination as Termination
from .gd import GD as GD
from .gradient_flow import GradientFlow as GradientFlow
from .label_noise import LabelNoiseSGD as LabelNoiseSGD
from .mirror_descent import MirrorDescent as MirrorDescent
from .one_sam import OneSAM as OneSAM
from .optimizer import Optax as Optax
from .sam import SAM as SAM
from .sgd import SGD as SGD
