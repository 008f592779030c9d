r"""A single (leaky) ReLU neuron f(x) = sigma(w . x), Vardi & Shamir (2021)."""

from jaxtyping import Array, Float

from .._types import Params
from ..errors import check
from ._activations import activation, check_activation
from ._base import AbstractModel


class ReLUNeuron(AbstractModel):
    r"""Single neuron without bias, :math:`f(x) = \sigma(w \cdot x)`, :math:`w \in \mathbb{R}^d`.

    The model of Vardi & Shamir (2021), "Implicit regularization in ReLU networks with the
    square loss" (COLT), Sections 3-5. With :math:`\sigma` = ReLU and the square loss
    :math:`L(w) = \frac1n\sum_i (\sigma(w\cdot x_i) - y_i)^2` the gradient flow is

    .. math:: \dot w = -\frac2n \sum_i (\sigma(w\cdot x_i) - y_i)\,\sigma'(w\cdot x_i)\, x_i,

    with the paper's convention :math:`\sigma'(0) = 1` (see
    :mod:`implicit_bias.models._activations`; with JAX's ``relu'(0) = 0`` a flow from ``w = 0``
    never moves). Every gradient lies in the span of the *active* inputs, which is why the
    limit from ``w = 0`` depends on the order in which samples switch off (Theorem 4.1), and
    why for a strictly monotone activation it is the zero-loss point closest to ``w(0)``
    (Theorem 3.1).

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
        return {"w": (self.input_dim,)}

    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        return activation(self.activation, self.negative_slope)(x @ params["w"])
