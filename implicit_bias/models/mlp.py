r"""Fully connected network: per-layer widths, optional biases, a pointwise activation, a
parametrization (standard, NTK, mean-field) and one or several outputs."""

import math
from collections.abc import Sequence

import equinox as eqx
from jaxtyping import Array, Float

from .._types import Params
from ..errors import check
from ._activations import ACTIVATIONS, activation, check_activation
from ._base import AbstractReverseModeModel
from ._reverse_mlp import mlp_reverse

#: Names of ``model.parametrization``.
PARAMETRIZATIONS = ("standard", "ntk", "mean_field")


def _as_widths(width: int | Sequence[int]) -> int | tuple[int, ...]:
    # A list from a config (or a tuple) becomes a tuple: the model is static structure, hashed
    # by the compiled program's cache.
    if isinstance(width, Sequence) and not isinstance(width, str):
        return tuple(width)
    return width


class MLP(AbstractReverseModeModel):
    r"""Fully connected network with ``L = depth`` layers,

    .. math::
        h_0 = x,\quad h_l = \sigma(s_l W_l h_{l-1} + b_l)\ (1 \le l < L),\quad
        f(x) = s_L W_L h_{L-1} + b_L,

    with :math:`W_l` of shape ``(m_l, m_{l-1})``, ``m_0 = input_dim``, ``m_L = output_dim``, the
    hidden widths ``m_1 ... m_{L-1}`` given by ``width``, and the biases :math:`b_l` present
    only with ``bias=True`` (parameters ``W1, b1, ..., WL, bL``, input side first).

    **Parametrization** (the layer multipliers :math:`s_l`; the entries of :math:`W_l, b_l` are
    drawn by the init, e.g. ``init=gaussian``: i.i.d. N(0, init_scale^2)):

    * ``standard``: :math:`s_l = 1`. With ``init=fan_in`` (N(0, init_scale^2 / m_{l-1})) this is
      the usual network of deep-learning libraries (LeCun normal init at ``init_scale = 1``).
    * ``ntk``: :math:`s_l = 1/\sqrt{m_{l-1}}` for every layer, with ``init=gaussian`` and
      ``init_scale = 1``: the NTK parametrization of Jacot, Gabriel & Hongler (2018), eq. (1)
      (bias multiplier :math:`\beta = 1`). Same function at init as ``standard`` with the fan-in
      init; gradient descent then moves the layer-l weights ``m_{l-1}`` times slower for the
      same lr.
    * ``mean_field``: :math:`s_l = 1/\sqrt{m_{l-1}}` for the hidden layers and
      :math:`s_L = 1/m_{L-1}` for the output layer: for a two-layer network
      :math:`f(x) = \frac1m \sum_j a_j \sigma(w_j\cdot x/\sqrt d)`, the mean-field scaling of
      Mei, Montanari & Nguyen (2018) and Chizat & Bach (2018). For deeper networks it is only
      the output-layer part of a maximal-update parametrization (Yang & Hu 2021), without its
      per-layer learning rates.

    **Outputs.** ``output_dim = 1``: predictions of shape (n,), for scalar targets. ``k > 1``:
    shape (n, k), for (n, k) targets (multi-output regression, one-hot classes).

    ``relu`` and ``leaky_relu`` have derivative 1 at 0, the project's one convention
    (:mod:`implicit_bias.models._activations`), in the plain forward pass and in the
    reverse-mode one alike. With JAX's ``relu'(0) = 0`` an MLP started from ``W1 = 0``
    (``init=zero_first``) has an exactly zero gradient and never moves.

    Training gradients go through :func:`~implicit_bias.models._reverse_mlp.mlp_reverse`, a
    reverse-mode-only forward pass (about 4x faster on CPU for narrow networks); the plain
    :meth:`apply` serves everything else (metrics, Hessian-vector products). With the defaults
    (width 5, depth 10, ``activation="gelu_tanh"``) this is the network of Marion & Chizat
    (2024), Fig. 7.

    Attributes:
        input_dim: d.
        width: the hidden width m (an integer: every hidden layer) or the list of the
            ``depth - 1`` hidden widths (e.g. ``[256, 256]`` with ``depth = 3``).
        depth: L, the number of weight matrices (1: a linear model).
        output_dim: k, the number of outputs.
        bias: add a trainable bias to every layer.
        activation: one of :data:`~implicit_bias.models._activations.ACTIVATIONS`: ``relu``,
            ``leaky_relu``, ``tanh``, ``gelu`` (exact), ``gelu_tanh`` (tanh approximation),
            ``elu``, ``softplus``, ``identity``.
        negative_slope: the slope of ``leaky_relu`` on z < 0, in (0, 1].
        parametrization: ``standard``, ``ntk`` or ``mean_field``.

    Raises:
        ConfigError: for a bad size, name, or a ``width`` list whose length is not
            ``depth - 1``.
    """

    input_dim: int = 5
    width: int | tuple[int, ...] = eqx.field(default=5, converter=_as_widths)
    depth: int = 10
    output_dim: int = 1
    bias: bool = False
    activation: str = "gelu"
    negative_slope: float = 0.01
    parametrization: str = "standard"

    def __check_init__(self):
        check(self.input_dim >= 1, "model.input_dim", self.input_dim, "an integer >= 1")
        check(self.depth >= 1, "model.depth", self.depth, "an integer >= 1")
        check(self.output_dim >= 1, "model.output_dim", self.output_dim, "an integer >= 1")
        if isinstance(self.width, tuple):
            check(
                all(isinstance(m, int) and m >= 1 for m in self.width),
                "model.width",
                list(self.width),
                "an integer >= 1 or a list of integers >= 1",
            )
            check(
                len(self.width) == self.depth - 1,
                "model.depth",
                self.depth,
                f"len(model.width) + 1 = {len(self.width) + 1} for model.width="
                f"{list(self.width)} (one width per hidden layer)",
            )
        else:
            check(self.width >= 1, "model.width", self.width, "an integer >= 1")
        check_activation(self.activation, self.negative_slope, ACTIVATIONS)
        check(
            self.parametrization in PARAMETRIZATIONS,
            "model.parametrization",
            self.parametrization,
            f"one of {list(PARAMETRIZATIONS)}",
        )

    @property
    def sizes(self) -> tuple[int, ...]:
        """``(m_0, m_1, ..., m_L)``: input dimension, hidden widths, output dimension."""
        hidden = self.width if isinstance(self.width, tuple) else (self.width,) * (self.depth - 1)
        return (self.input_dim, *hidden, self.output_dim)

    @property
    def multipliers(self) -> tuple[float, ...]:
        r"""The layer multipliers :math:`s_1, \ldots, s_L` of the parametrization."""
        fan_in = self.sizes[:-1]
        if self.parametrization == "standard":
            return (1.0,) * self.depth
        s = [1.0 / math.sqrt(m) for m in fan_in]
        if self.parametrization == "mean_field":
            s[-1] = 1.0 / fan_in[-1]
        return tuple(s)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        sizes = self.sizes
        shapes: dict[str, tuple[int, ...]] = {}
        for i in range(1, self.depth + 1):
            shapes[f"W{i}"] = (sizes[i], sizes[i - 1])
            if self.bias:
                shapes[f"b{i}"] = (sizes[i],)
        return shapes

    def _layers(self, params: Params) -> list[tuple[Array, Array | None]]:
        return [
            (params[f"W{i}"], params[f"b{i}"] if self.bias else None)
            for i in range(1, self.depth + 1)
        ]

    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, "n ..."]:
        """Predictions, shape (n,) for ``output_dim = 1`` and (n, k) otherwise."""
        act = activation(self.activation, self.negative_slope)
        layers = self._layers(params)
        h = x
        for i, ((W, b), s) in enumerate(zip(layers, self.multipliers, strict=True)):
            z = h @ W.T
            if s != 1.0:  # standard: no multiplication, bit-for-bit the bias-free network
                z = s * z
            if b is not None:
                z = z + b
            h = z if i == self.depth - 1 else act(z)
        return h[:, 0] if self.output_dim == 1 else h

    def apply_for_grad(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, "n ..."]:
        out = mlp_reverse(
            activation(self.activation, self.negative_slope),
            self._layers(params),
            self.multipliers,
            x,
        )
        return out[0] if self.output_dim == 1 else out.T
