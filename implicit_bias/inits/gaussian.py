"""i.i.d. Gaussian initialization."""

from .._types import Params
from ._base import AbstractInit, gaussian_params, trainable_shapes


class Gaussian(AbstractInit):
    """Every trainable entry drawn i.i.d. from N(0, scale^2).

    This is the initialization of Marion & Chizat (2024), Fig. 1 (init scales 0.25 to 0.6).
    """

    def init_trainable(self, key, model, scale, dtype) -> Params:
        return gaussian_params(key, trainable_shapes(model), scale, dtype)
