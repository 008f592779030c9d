"""Fan-in scaled Gaussian initialization (LeCun normal), biases at zero."""

import math

import jax.numpy as jnp

from .._random import normals
from .._types import Params
from ._base import AbstractInit, trainable_shapes


class FanIn(AbstractInit):
    r"""Each weight matrix ``W`` of shape ``(fan_out, fan_in)`` drawn i.i.d. from
    :math:`N(0, \text{scale}^2 / \text{fan\_in})`; 1-D parameters (biases) zero.

    At ``init_scale = 1`` this is LeCun normal (LeCun et al. 1998, "Efficient BackProp",
    Section 4.6): the pre-activations of every layer have unit variance for unit-variance
    inputs whatever the widths, the usual initialization of a standard-parametrized network
    (``model=mlp model.parametrization=standard``). ``init_scale = sqrt(2)`` is He et al.'s
    (2015) for ReLU. (PyTorch's default ``nn.Linear`` init is uniform with variance
    ``1 / (3 fan_in)``, i.e. ``init_scale = 1/sqrt(3)`` in distribution variance, and uniform
    biases; here biases start at zero.)

    Parameters with more than two axes use the product of all but the first as fan-in;
    scalars and vectors (biases, a diagonal network's ``u, v``) start at zero.
    """

    def init_trainable(self, key, model, scale, dtype) -> Params:
        shapes = trainable_shapes(model)
        z = normals(key, shapes, dtype)
        out = {}
        for name, shape in shapes.items():
            if len(shape) >= 2:
                out[name] = (scale / math.sqrt(math.prod(shape[1:]))) * z[name]
            else:
                out[name] = jnp.zeros(shape, dtype)
        return out
