"""implicit_bias: JAX-accelerated experiments on the implicit bias of gradient methods.

The library: a flat public API over the families (one file per member) and the engine. It
never imports the Hydra app (:mod:`implicit_bias.app`) or the paper reproductions
(:mod:`implicit_bias.papers`); see ``docs/architecture.md``.
"""

__version__ = "0.1.0"

from . import data as data
from . import inits as inits
from . import integrators as integrators
from . import losses as losses
from . import models as models
from . import sharpness as sharpness
from . import theory as theory
from .compilations import Compilations as Compilations
from .compilations import count_compilations as count_compilations
from .data import AbstractData as AbstractData
from .data import ArrayData as ArrayData
from .data import Dataset as Dataset
from .data import FileData as FileData
from .data import GaussianRegression as GaussianRegression
from .data import MatrixCompletion as MatrixCompletion
from .data import MatrixSensing as MatrixSensing
from .data import PlantedRegression as PlantedRegression
from .data import ReluCounterexample as ReluCounterexample
from .data import Separable as Separable
from .data import SklearnData as SklearnData
from .data import SparseRegression as SparseRegression
from .engine import run_batch as run_batch
from .engine import run_trajectory as run_trajectory
from .engine import train as train
from .errors import ConfigError as ConfigError
from .experiment import Experiment as Experiment
from .experiment import SharpnessSpec as SharpnessSpec
from .experiment import SpectrumSpec as SpectrumSpec
from .inits import AbstractInit as AbstractInit
from .inits import Balanced as Balanced
from .inits import Constant as Constant
from .inits import FanIn as FanIn
from .inits import Gaussian as Gaussian
from .inits import Identity as Identity
from .inits import Neuron as Neuron
from .inits import Residual as Residual
from .inits import Zero as Zero
from .inits import ZeroFirst as ZeroFirst
from .integrators import GD as GD
from .integrators import SAM as SAM
from .integrators import SGD as SGD
from .integrators import AbstractContinuousIntegrator as AbstractContinuousIntegrator
from .integrators import AbstractDiscreteIntegrator as AbstractDiscreteIntegrator
from .integrators import AbstractIntegrator as AbstractIntegrator
from .integrators import GradientFlow as GradientFlow
from .integrators import LabelNoiseSGD as LabelNoiseSGD
from .integrators import MirrorDescent as MirrorDescent
from .integrators import OneSAM as OneSAM
from .integrators import Optax as Optax
from .losses import AbstractLoss as AbstractLoss
from .losses import CrossEntropy as CrossEntropy
from .losses import Exponential as Exponential
from .losses import Logistic as Logistic
from .losses import Square as Square
from .models import MLP as MLP
from .models import AbstractLinearModel as AbstractLinearModel
from .models import AbstractModel as AbstractModel
from .models import AbstractReverseModeModel as AbstractReverseModeModel
from .models import DeepLinear as DeepLinear
from .models import Diagonal as Diagonal
from .models import Linear as Linear
from .models import MatrixFactorization as MatrixFactorization
from .models import OneHiddenNeuron as OneHiddenNeuron
from .models import ReLUNeuron as ReLUNeuron
from .models import ResidualLinear as ResidualLinear
from .options import make_experiment as make_experiment
from .problem import Problem as Problem
from .result import STATUS_NAMES as STATUS_NAMES
from .result import Result as Result
from .scalars import Scalars as Scalars
from .schedule import Schedule as Schedule
from .sharpness import AboveThreshold as AboveThreshold
from .sharpness import AbstractOperator as AbstractOperator
from .sharpness import Block as Block
from .sharpness import Dense as Dense
from .sharpness import Eigenpairs as Eigenpairs
from .sharpness import GaussNewton as GaussNewton
from .sharpness import Hessian as Hessian
from .sharpness import Preconditioned as Preconditioned
from .sharpness import SharpnessResult as SharpnessResult
from .sharpness import SpectralDensity as SpectralDensity
from .sharpness import TraceEstimate as TraceEstimate
from .sharpness import bottomk as bottomk
from .sharpness import eigenpairs as eigenpairs
from .sharpness import eigenvalues_above as eigenvalues_above
from .sharpness import exact as exact
from .sharpness import lanczos as lanczos
from .sharpness import power_iteration as power_iteration
from .sharpness import slq as slq
from .sharpness import topk as topk
from .sharpness import trace as trace
from .theory import *  # noqa: F403  (the exact solvers, each listed in theory.__all__)
from .theory.checks import AbstractCheck as AbstractCheck
from .theory.checks import DiagonalLimitCheck as DiagonalLimitCheck
from .theory.checks import EarlyStoppingRidgeCheck as EarlyStoppingRidgeCheck
from .theory.checks import MaxMarginCheck as MaxMarginCheck
from .theory.checks import MinNormCheck as MinNormCheck
from .theory.checks import NuclearNormCheck as NuclearNormCheck
from .theory.checks import ReluNeuronCheck as ReluNeuronCheck
