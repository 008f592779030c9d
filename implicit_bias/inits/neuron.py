"""Zero input weights, constant output weights: the small init of Vardi & Shamir (2021), Sec. 6."""

import jax.numpy as jnp

from .._types import Params
from ._base import AbstractInit, trainable_shapes


class Neuron(AbstractInit):
    r"""The first (input-side) trainable parameter zero, every other entry equal to ``scale``.

    For :class:`~implicit_bias.models.OneHiddenNeuron` (parameters ``w``, then ``v``) this is
    :math:`w(0) = 0,\ v(0) = \delta` with :math:`\delta` = ``init_scale``, the initialization of
    Vardi & Shamir (2021), Section 6 (small :math:`\delta`: the balancedness
    :math:`v^2 - \|w\|^2 = \delta^2` is small). For a model with a single parameter (e.g.
    :class:`~implicit_bias.models.ReLUNeuron`) it is the zero init. Unlike ``zero_first``
    the other layers are deterministic (constant), so the trajectory depends on ``delta`` only.
    """

    def init_trainable(self, key, model, scale, dtype) -> Params:
        del key
        shapes = trainable_shapes(model)
        first = next(iter(shapes))
        return {
            k: jnp.zeros(s, dtype) if k == first else jnp.full(s, scale, dtype)
            for k, s in shapes.items()
        }
