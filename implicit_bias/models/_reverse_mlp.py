r"""A reverse-mode-only forward pass of small bias-free MLPs, for the training gradient.

Why: a gradient step of the Marion & Chizat (2024) GELU network (L = 10, width 5, n = 50) is
about 35k multiply-adds per run, and vmapped over a batch of runs XLA:CPU runs the obvious
formulation (``h @ W.T`` on ``(n, m)`` activations) at a few GFLOP/s: every layer is a batched
``dot`` of 5 x 5 matrices, which XLA executes as one tiny GEMM call per batch member, and
autodiff of the activation adds a dozen small kernels per layer. Measured on a 2-core CPU,
batch 160 (``python benchmarks/engine.py --model mlp``): 4.9 ms per batched step, against
1.2 ms for this path.

What this does instead (3.2x faster at batch 16, 4.0x at 160, 4.7x at 480; same numbers to
rounding):

* activations are kept feature-major, ``(m, n)``, and a layer with at most ``_UNROLL`` inputs is
  the unrolled sum of rank-one products ``sum_i W[:, i] h[i, :]``: one elementwise XLA fusion
  vectorized over the samples, instead of a batched GEMM;
* each layer is a :func:`jax.custom_vjp` whose backward pass is written out: the weight
  gradient ``dz @ h^T`` (a contraction over the n samples, where a ``dot`` is efficient), the
  input gradient ``W^T dz`` unrolled like the forward, and the activation's derivative fused
  into ``dz``.

A ``custom_vjp`` function cannot be differentiated in forward mode, so this path is used only
for reverse-mode gradients (:meth:`implicit_bias.Problem.value_and_grad`, i.e. the integrators);
Hessian-vector products (forward-over-reverse) and everything else use the model's plain
``apply``. ``tests/test_engine.py`` checks that both paths give the same loss and gradient, and
the same GD trajectory.
"""

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

#: Layers with at most this many inputs are unrolled; wider ones use a ``dot``.
_UNROLL = 16


def dense(W: Float[Array, "j i"], h: Float[Array, "i n"]) -> Float[Array, "j n"]:
    """``W @ h``; for few inputs as an unrolled sum of broadcast products (one loop fusion)."""
    if W.shape[1] > _UNROLL:
        return W @ h
    out = W[:, :1] * h[:1, :]
    for i in range(1, W.shape[1]):
        out = out + W[:, i : i + 1] * h[i : i + 1, :]
    return out


def _slope(act: Callable, z: Array) -> Array:
    # The derivative of a pointwise activation, elementwise: one JVP with unit tangents.
    return jax.jvp(act, (z,), (jnp.ones_like(z),))[1]


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def layer(act: Callable, W: Float[Array, "j i"], h: Float[Array, "i n"]) -> Float[Array, "j n"]:
    """``act(W @ h)`` with a hand-written backward pass."""
    return act(dense(W, h))


def _layer_fwd(act, W, h):
    z = dense(W, h)
    return act(z), (W, h, z)


def _layer_bwd(act, res, g):
    W, h, z = res
    dz = g * _slope(act, z)
    return dz @ h.T, dense(W.T, dz)


layer.defvjp(_layer_fwd, _layer_bwd)


@jax.custom_vjp
def linear(W: Float[Array, "j i"], h: Float[Array, "i n"]) -> Float[Array, "j n"]:
    """``W @ h`` (the output layer) with a hand-written backward pass."""
    return dense(W, h)


def _linear_fwd(W, h):
    return dense(W, h), (W, h)


def _linear_bwd(res, g):
    W, h = res
    return g @ h.T, dense(W.T, g)


linear.defvjp(_linear_fwd, _linear_bwd)


def mlp_reverse(
    act: Callable, mats: list[Float[Array, "_ _"]], x: Float[Array, "n d"]
) -> Float[Array, " n"]:
    """``W_L act(W_{L-1} ... act(W_1 x))`` on the rows of ``x``; reverse-mode autodiff only.

    Args:
        act: pointwise activation (a hashable function).
        mats: ``W_1 ... W_L``, ``W_k`` of shape ``(m_k, m_{k-1})``, ``m_L = 1``.
        x: inputs, shape ``(n, d)``.

    Returns:
        Outputs, shape ``(n,)``.
    """
    h = x.T
    for W in mats[:-1]:
        h = layer(act, W, h)
    return linear(mats[-1], h)[0]
