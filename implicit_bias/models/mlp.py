"""Fully connected network with a pointwise activation between layers (no biases)."""

import jax
from jaxtyping import Array, Float

from .._types import Params
from ..errors import check
from ._activations import relu
from ._base import AbstractReverseModeModel
from ._reverse_mlp import mlp_reverse
from .deep_linear import deep_linear_shapes

_ACTIVATIONS = {
    # relu'(0) = 1, the project's one ReLU convention (Vardi & Shamir 2021; see _activations.py).
    # With JAX's relu'(0) = 0 an MLP started from W1 = 0 (init=zero_first) has an exactly zero
    # gradient and never moves: every hidden pre-activation sits on the kink.
    "relu": relu,
    # Exact (erf) GELU, z Phi(z): torch.nn.GELU()'s default.
    "gelu": lambda z: jax.nn.gelu(z, approximate=False),
    # The tanh approximation 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))): jax.nn.gelu's
    # default, hence the activation of Marion & Chizat's code for their Fig. 7 (mlp.py of
    # github.com/PierreMarion23/implicit-reg-sharpness calls jax.nn.gelu(h)).
    "gelu_tanh": lambda z: jax.nn.gelu(z, approximate=True),
    "tanh": jax.numpy.tanh,
    "identity": lambda z: z,
}


class MLP(AbstractReverseModeModel):
    r"""Bias-free MLP ``f(x) = W_L s(W_{L-1} \cdots s(W_1 x))`` with activation ``s``.

    Same shapes as :class:`DeepLinear`. With ``activation="gelu_tanh"``, L = 10 and width 5
    this is the non-linear network of Marion & Chizat (2024), Fig. 7.

    ``relu`` is :func:`implicit_bias.models._activations.relu`: JAX's values with the derivative
    convention :math:`\mathrm{relu}'(0) = 1` used by every model of the project (JAX's own
    ``jax.nn.relu`` has 0 there), in the plain forward pass and in the reverse-mode one alike.

    Training gradients go through :func:`~implicit_bias.models._reverse_mlp.mlp_reverse`, a
    reverse-mode-only forward pass about 4x faster on CPU for narrow networks; the plain
    :meth:`apply` serves everything else (metrics, Hessian-vector products).

    Attributes:
        input_dim: d.
        width: m.
        depth: L (number of weight matrices).
        activation: one of ``relu`` (derivative 1 at 0), ``gelu`` (exact), ``gelu_tanh`` (tanh
            approximation), ``tanh``, ``identity``.
    """

    input_dim: int = 5
    width: int = 5
    depth: int = 10
    activation: str = "gelu"

    def __check_init__(self):
        check(self.input_dim >= 1, "model.input_dim", self.input_dim, "an integer >= 1")
        check(self.width >= 1, "model.width", self.width, "an integer >= 1")
        check(self.depth >= 1, "model.depth", self.depth, "an integer >= 1")
        check(
            self.activation in _ACTIVATIONS,
            "model.activation",
            self.activation,
            f"one of {sorted(_ACTIVATIONS)}",
        )

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return deep_linear_shapes(self.input_dim, self.width, self.depth)

    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        act = _ACTIVATIONS[self.activation]
        names = list(self.param_shapes())
        h = x
        for k in names[:-1]:
            h = act(h @ params[k].T)
        return (h @ params[names[-1]].T)[:, 0]

    def apply_for_grad(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        return mlp_reverse(
            _ACTIVATIONS[self.activation], [params[k] for k in self.param_shapes()], x
        )
