"""Reference steps: the limit a theorem predicts for a run, computed independently."""

from implicit_bias.theory.checks._base import AbstractCheck as AbstractCheck
from implicit_bias.theory.checks.diagonal import DiagonalLimitCheck as DiagonalLimitCheck
from implicit_bias.theory.checks.early_stopping import (
    EarlyStoppingRidgeCheck as EarlyStoppingRidgeCheck,
)
from implicit_bias.theory.checks.max_margin import MaxMarginCheck as MaxMarginCheck
from implicit_bias.theory.checks.min_norm import MinNormCheck as MinNormCheck
from implicit_bias.theory.checks.nuclear_norm import NuclearNormCheck as NuclearNormCheck
from implicit_bias.theory.checks.relu_neuron import ReluNeuronCheck as ReluNeuronCheck
