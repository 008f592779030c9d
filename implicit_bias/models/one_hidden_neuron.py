r"""One hidden (leaky) ReLU neuron with a trained output weight, f(x) = v sigma(w . x)."""

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._types import Params
from ..errors import check
from ._activations import activation, check_activation
from ._base import AbstractModel


class OneHiddenNeuron(AbstractModel):
    r"""A width-one two-layer network :math:`f(x) = v\,\sigma(w \cdot x)`, :math:`w \in
    \mathbb{R}^d`, :math:`v \in \mathbb{R}`.

    Vardi & Shamir (2021), Section 6: with both layers trained, the only explicit property of the
    implicit bias that survives is *balancedness* (Du, Hu & Lee 2018): since
    :math:`\sigma'(z)\,z = \sigma(z)` for (leaky) ReLU (also at the kink, whatever the
    convention), the gradient flow of any loss of :math:`f` conserves

    .. math:: v^2 - \|w\|^2,

    recorded as the metric ``balancedness``. From ``w = 0, v = delta`` (``init=neuron``) it
    equals ``delta^2`` along the whole trajectory. The flow uses :math:`\sigma'(0) = 1`, as for
    :class:`~implicit_bias.models.ReLUNeuron`; at ``w = 0`` the gradient in ``w`` is
    :math:`-\frac2n v \sum_i y_i x_i \neq 0`.

    Attributes:
        input_dim: d.
        activation: ``relu`` or ``leaky_relu``.
        negative_slope: slope on ``z < 0`` of ``leaky_relu``, in (0, 1] (ignored for ``relu``).
    """

    input_dim: int = 3
    activation: str = "relu"
    negative_slope: float = 0.01

    def __check_init__(self):
        check(self.input_dim >= 1, "model.input_dim", self.input_dim, "an integer >= 1")
        check_activation(self.activation, self.negative_slope)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        # w first: the ``neuron`` init zeroes the input weights and sets the rest to the scale.
        return {"w": (self.input_dim,), "v": ()}

    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        return params["v"] * activation(self.activation, self.negative_slope)(x @ params["w"])

    def extra_metrics(self, params: Params) -> dict[str, Float[Array, ""]]:
        r"""``balancedness`` :math:`v^2 - \|w\|^2`, conserved by the gradient flow."""
        w, v = params["w"], params["v"]
        return {"balancedness": v**2 - jnp.dot(w, w)}
