"""implicit_bias: JAX-accelerated experiments on the implicit bias of gradient methods.

A flat public API; the families live in sub-packages with one file per member.
"""

__version__ = "0.1.0"

from . import data as data
from . import inits as inits
from . import integrators as integrators
from . import losses as losses
from . import models as models
from . import sharpness as sharpness
from .data import Dataset as Dataset
from .data import FileData as FileData
from .data import GaussianRegression as GaussianRegression
from .engine import Result as Result
from .engine import run as run
from .engine import run_batch as run_batch
from .engine import run_trajectory as run_trajectory
from .errors import ConfigError as ConfigError
from .experiment import Experiment as Experiment
from .experiment import Scalars as Scalars
from .experiment import SharpnessSpec as SharpnessSpec
from .inits import Constant as Constant
from .inits import Gaussian as Gaussian
from .inits import Residual as Residual
from .inits import Zero as Zero
from .inits import ZeroFirst as ZeroFirst
from .integrators import GD as GD
from .integrators import SGD as SGD
from .integrators import GradientFlow as GradientFlow
from .losses import Exponential as Exponential
from .losses import Logistic as Logistic
from .losses import Square as Square
from .models import MLP as MLP
from .models import DeepLinear as DeepLinear
from .models import Linear as Linear
from .models import ResidualLinear as ResidualLinear
from .problem import Problem as Problem
from .schedule import Schedule as Schedule
from .sweep_results import collect as collect
from .sweep_results import load_sweep as load_sweep
