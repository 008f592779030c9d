"""Reference steps: the limit a theorem predicts for a run, computed independently."""

from ._base import AbstractLimit as AbstractLimit
from .diagonal import DiagonalLimit as DiagonalLimit
from .early_stopping import EarlyStoppingRidge as EarlyStoppingRidge
from .max_margin import MaxMargin as MaxMargin
from .min_norm import MinNorm as MinNorm
from .nuclear_norm import NuclearNorm as NuclearNorm
from .vardi_shamir import VardiShamirLimit as VardiShamirLimit
