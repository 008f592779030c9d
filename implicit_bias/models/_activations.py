r"""Pointwise activations by name; (leaky) ReLU with :math:`\sigma'(0) = 1`, the project's one
convention.

Every model of the project that uses a ReLU takes it from here:
:class:`~implicit_bias.models.ReLUNeuron`, :class:`~implicit_bias.models.OneHiddenNeuron` and
:class:`~implicit_bias.models.MLP` (``activation=relu``, in its plain forward pass and in the
reverse-mode-only one of :mod:`~implicit_bias.models._reverse_mlp`, which differentiates the
activation with a JVP and so goes through the same rule). ``tests/test_relu_neurons.py``
checks that every model's gradient at the kink uses it.

Why 1: Vardi & Shamir (2021), "Implicit regularization in ReLU networks with the square loss"
(COLT), take :math:`\mathrm{relu}'(0) = 1` (paper text line 46: "This convention is required
for analyzing gradient flow with w(0) = 0, since if relu'(0) = 0 then w would stay at 0
indefinitely"); their Theorems 4.1 and 6.2 need it. JAX's :func:`jax.nn.relu` has derivative 0
at 0, under which a gradient flow started from ``w = 0`` never moves (every sample is exactly at
the kink, so the gradient vanishes): the single-neuron example of their Theorem 4.1 would be a
fixed point, and an MLP started from ``W1 = 0`` (``init=zero_first``) would never train.
The functions here have the same values as :func:`jax.nn.relu` / :func:`jax.nn.leaky_relu` but a
:func:`jax.custom_jvp` that fixes the one-sided derivative at the kink:

.. math:: \sigma_s(z) = \max(z, s z),\qquad
    \sigma_s'(z) = \begin{cases} 1 & z \ge 0 \\ s & z < 0 \end{cases}

(``s = 0``: ReLU). The convention matters only on the measure-zero set ``{w . x_i = 0}``; a
trajectory that merely *crosses* it is the same under any convention. Any positive value would
do for the theorems (line 46: "our results hold for every positive value"); 1 makes
:math:`\sigma'` the right derivative.

The derivative is piecewise constant, so second derivatives (Hessian-vector products, sharpness)
are those of the active linear pieces: the Dirac mass at the kink is dropped, as in every
automatic-differentiation framework.

The smooth activations of :class:`~implicit_bias.models.MLP` are JAX's own (:func:`activation`
lists them with their formulas).
"""

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..errors import check

#: Names accepted by :func:`activation` (the MLP's ``model.activation`` config key).
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "gelu", "gelu_tanh", "elu", "softplus", "identity")
#: The piecewise-linear ones: the activations of the single-neuron models (Vardi & Shamir 2021).
PIECEWISE_LINEAR = ("relu", "leaky_relu")


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def leaky_relu(z: Float[Array, "*shape"], negative_slope: float) -> Float[Array, "*shape"]:
    r"""Leaky ReLU :math:`\max(z, s z)` (``0 <= s <= 1``) with derivative 1 at ``z = 0``.

    Args:
        z: pre-activations, any shape.
        negative_slope: ``s``, the slope on ``z < 0`` (a static Python float).

    Returns:
        :math:`\sigma_s(z)`, same shape as ``z``.
    """
    return jnp.where(z >= 0, z, negative_slope * z)


@leaky_relu.defjvp
def _leaky_relu_jvp(negative_slope, primals, tangents):
    (z,), (dz,) = primals, tangents
    # sigma'(z) = 1 on z >= 0 (the kink included), s on z < 0. Linear in dz, so reverse mode
    # (transposition) and forward-over-reverse Hessian-vector products work.
    slope = jnp.where(z >= 0, jnp.ones_like(z), jnp.full_like(z, negative_slope))
    return leaky_relu(z, negative_slope), slope * dz


def relu(z: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
    r"""ReLU :math:`\max(z, 0)` with :math:`\mathrm{relu}'(0) = 1` (Vardi & Shamir 2021).

    Args:
        z: pre-activations, any shape.

    Returns:
        :math:`\max(z, 0)`, same shape as ``z``.
    """
    return leaky_relu(z, 0.0)


def _identity(z: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
    return z


def _gelu(z: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
    return jax.nn.gelu(z, approximate=False)


def _gelu_tanh(z: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
    return jax.nn.gelu(z, approximate=True)


#: The smooth activations, as module-level functions (hashable, the same object at every call:
#: the reverse-mode MLP passes the activation as a static argument of a ``custom_vjp``).
_SMOOTH: dict[str, Callable] = {
    "tanh": jnp.tanh,
    "gelu": _gelu,
    "gelu_tanh": _gelu_tanh,
    "elu": jax.nn.elu,
    "softplus": jax.nn.softplus,
    "identity": _identity,
}


def activation(
    name: str, negative_slope: float = 0.01
) -> Callable[[Float[Array, "*shape"]], Float[Array, "*shape"]]:
    r"""The pointwise activation called ``name`` (one of :data:`ACTIVATIONS`).

    * ``relu``: :math:`\max(z, 0)`, derivative 1 at 0 (:func:`relu`);
    * ``leaky_relu``: :math:`\max(z, s z)` with ``s = negative_slope``, derivative 1 at 0
      (:func:`leaky_relu`);
    * ``tanh``;
    * ``gelu``: exact, :math:`z\,\Phi(z)` (torch.nn.GELU()'s default; Hendrycks & Gimpel 2016);
    * ``gelu_tanh``: :math:`\tfrac12 z(1 + \tanh(\sqrt{2/\pi}(z + 0.044715 z^3)))`, the tanh
      approximation (jax.nn.gelu's default, hence Marion & Chizat's Fig. 7 network);
    * ``elu``: :math:`z` for :math:`z > 0`, :math:`e^z - 1` otherwise (Clevert et al. 2016,
      alpha = 1);
    * ``softplus``: :math:`\log(1 + e^z)`;
    * ``identity``: :math:`z` (a deep linear network).

    Args:
        name: one of :data:`ACTIVATIONS`.
        negative_slope: slope on ``z < 0`` of ``leaky_relu`` (ignored otherwise).

    Returns:
        An elementwise function.

    Raises:
        KeyError: for an unknown name (models validate the name first).
    """
    if name == "relu":
        return relu
    if name == "leaky_relu":
        return partial(leaky_relu, negative_slope=float(negative_slope))
    return _SMOOTH[name]


def check_activation(
    name: str, negative_slope: float, allowed: tuple[str, ...] = PIECEWISE_LINEAR
) -> None:
    """Validate the ``model.activation`` / ``model.negative_slope`` config keys.

    Args:
        name: the activation's name.
        negative_slope: the slope of ``leaky_relu``.
        allowed: the names the model accepts (default: the piecewise-linear ones).

    Raises:
        ConfigError: naming the key.
    """
    check(name in allowed, "model.activation", name, f"one of {list(allowed)}")
    if name == "leaky_relu":
        # s in (0, 1]: strictly increasing (Vardi & Shamir's Theorem 3.1 needs it), and
        # where(z >= 0, z, s z) = max(z, s z).
        check(
            0 < negative_slope <= 1,
            "model.negative_slope",
            negative_slope,
            "a float in (0, 1] for leaky_relu",
        )
