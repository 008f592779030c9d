r"""The generalized Gauss-Newton (GGN) matrix as a matrix-free operator.

For a loss that is a function of the model outputs, :math:`L(\theta) = \ell(f(\theta))` with
:math:`f: \mathbb{R}^p \to \mathbb{R}^q` (all outputs on the training set, flattened), the
chain rule splits the Hessian into

.. math::

    \nabla^2 L = J^\top H_\ell J + \sum_j \partial_j \ell \, \nabla^2 f_j,
    \qquad J = \partial f / \partial \theta \in \mathbb{R}^{q \times p},
    \quad H_\ell = \nabla^2 \ell(f(\theta)) \in \mathbb{R}^{q \times q},

and the **generalized Gauss-Newton matrix** is the first term :math:`G = J^\top H_\ell J`
(Schraudolph, 2002; Martens, 2020, *New insights and perspectives on the natural gradient
method*, JMLR 21, §8). It is positive semi-definite whenever :math:`\ell` is convex in the
outputs (square loss, logistic loss, softmax cross-entropy), equals the Hessian where the
residual term vanishes (square loss at an interpolating point), and governs the edge of
stability of cross-entropy training (Cohen et al., 2021, App. on the Gauss-Newton matrix).

Products: :math:`G v = J^\top (H_\ell (J v))` is one JVP of :math:`f`, one Hessian-vector
product of :math:`\ell` in output space (forward-over-reverse, exact for any twice
differentiable :math:`\ell`) and one VJP, obtained by transposing the stored linearization of
:math:`f` (``jax.linear_transpose``), so the forward pass runs once at construction.
"""

from collections.abc import Callable
from typing import Any, final

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, Int, PyTree

from ._operator import AbstractOperator

#: ``output_fn(params) -> outputs``: the model's outputs on the whole training set, any shape.
OutputFn = Callable[[Any], Float[Array, "..."]]
#: ``output_loss(outputs) -> scalar``: the loss as a function of the outputs alone.
OutputLoss = Callable[[Float[Array, "..."]], Float[Array, ""]]


@final
class GaussNewton(AbstractOperator):
    r"""The GGN matrix :math:`J^\top H_\ell J` of ``output_loss(output_fn(params))``.

    Args:
        output_fn: ``output_fn(params) -> outputs`` (e.g. ``lambda p: model.apply(p, X)``, shape
            ``(n,)`` for a scalar-output model or ``(n, c)`` for ``c`` logits).
        params: any pytree of float arrays, :math:`p` entries; their dtype is the operator's.
        output_loss: ``output_loss(outputs) -> scalar`` with the *same* outputs shape, e.g.
            :func:`square_output_loss`, :func:`logistic_output_loss` or
            :func:`cross_entropy_output_loss` (closures over the labels). Its output Hessian
            :math:`H_\ell` is taken by autodiff, so any twice differentiable loss works; it
            must be convex in the outputs for :math:`G` to be PSD.

    Attributes:
        point: ``(p,)`` flattened parameters; ``unravel`` maps flat vectors back to the pytree.

    Cost per product: one JVP and one VJP of the model (about one gradient evaluation) plus an
    output-space Hessian-vector product (:math:`O(q)` for the losses here).
    """

    point: Float[Array, " p"]
    unravel: Callable[[Array], PyTree]
    _jvp: Callable[[Array], Array]
    _vjp: Callable[[Array], tuple[Array]]
    _out_hvp: Callable[[Array], Array]

    def __init__(self, output_fn: OutputFn, params: PyTree, output_loss: OutputLoss):
        flat, unravel = ravel_pytree(params)
        self.point, self.unravel = flat, unravel
        outputs, self._jvp = jax.linearize(lambda q: output_fn(unravel(q)), flat)
        self._vjp = jax.linear_transpose(self._jvp, flat)
        self._out_hvp = jax.linearize(jax.grad(output_loss), outputs)[1]

    @property
    def dim(self) -> int:
        return self.point.shape[0]

    @property
    def dtype(self) -> jnp.dtype:
        return self.point.dtype

    def matvec(self, v: Float[Array, " p"]) -> Float[Array, " p"]:
        return self._vjp(self._out_hvp(self._jvp(v.astype(self.dtype))))[0]


def square_output_loss(y: Float[Array, " n"]) -> OutputLoss:
    r"""The square loss :math:`\frac1n \sum_i (f_i - y_i)^2` (no 1/2, as :class:`Square`).

    Its output Hessian is :math:`H_\ell = \frac{2}{n} I`, so :math:`G = \frac2n J^\top J`.
    """
    return lambda out: jnp.mean((out - y) ** 2)


def logistic_output_loss(y: Float[Array, " n"]) -> OutputLoss:
    r"""The logistic loss :math:`\frac1n \sum_i \log(1 + e^{-y_i f_i})`, labels :math:`\pm 1`.

    Output Hessian :math:`H_\ell = \frac1n \operatorname{diag}(\sigma(m_i)\sigma(-m_i))` with
    margins :math:`m_i = y_i f_i` (as :class:`~implicit_bias.losses.Logistic`).
    """
    return lambda out: jnp.mean(jnp.logaddexp(0.0, -y * out))


def cross_entropy_output_loss(labels: Int[Array, " n"]) -> OutputLoss:
    r"""Softmax cross-entropy :math:`\frac1n \sum_i (\log \sum_c e^{f_{ic}} - f_{i y_i})`.

    Outputs are logits of shape ``(n, c)`` and ``labels`` integer classes in ``[0, c)``. The
    output Hessian is block diagonal with blocks
    :math:`\frac1n(\operatorname{diag}(\pi_i) - \pi_i \pi_i^\top)`, :math:`\pi_i` the softmax
    of row :math:`i` (Martens, 2020, §9.2).
    """

    def loss(out: Float[Array, "n c"]) -> Float[Array, ""]:
        picked = jnp.take_along_axis(out, labels[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(out, axis=1) - picked)

    return loss
