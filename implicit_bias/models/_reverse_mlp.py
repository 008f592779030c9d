r"""A reverse-mode-only forward pass of MLPs, for the training gradient.

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
  bias gradient (a sum over the samples), the input gradient ``W^T dz`` unrolled like the
  forward, and the activation's derivative fused into ``dz``.

Wide layers (more than ``_UNROLL`` inputs) use a ``dot`` in both directions; there the gain is
only the fused backward pass (``benchmarks/scale.py`` measures both paths on a 64-256-256-10
network).

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


def _affine(scale: float, W: Array, b: Array | None, h: Array) -> Array:
    # scale * W @ h + b (b broadcast over the samples); scale 1 multiplies nothing.
    z = dense(W, h)
    if scale != 1.0:
        z = scale * z
    if b is not None:
        z = z + b[:, None]
    return z


def _affine_bwd(scale: float, W: Array, b: Array | None, h: Array, dz: Array):
    # Cotangents of (W, b, h) for z = scale * W @ h + b: the weight gradient contracts the n
    # samples (a dot), the input gradient is unrolled like the forward.
    if scale != 1.0:
        dz_s = scale * dz
    else:
        dz_s = dz
    db = None if b is None else jnp.sum(dz, axis=1)
    return dz_s @ h.T, db, dense(W.T, dz_s)


@partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def layer(
    act: Callable, scale: float, W: Float[Array, "j i"], b: Float[Array, " j"] | None, h
) -> Float[Array, "j n"]:
    """``act(scale * W @ h + b)`` (``b`` may be ``None``) with a hand-written backward pass."""
    return act(_affine(scale, W, b, h))


def _layer_fwd(act, scale, W, b, h):
    z = _affine(scale, W, b, h)
    return act(z), (W, b, h, z)


def _layer_bwd(act, scale, res, g):
    W, b, h, z = res
    return _affine_bwd(scale, W, b, h, g * _slope(act, z))


layer.defvjp(_layer_fwd, _layer_bwd)


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def linear(
    scale: float, W: Float[Array, "j i"], b: Float[Array, " j"] | None, h
) -> Float[Array, "j n"]:
    """``scale * W @ h + b`` (the output layer) with a hand-written backward pass."""
    return _affine(scale, W, b, h)


def _linear_fwd(scale, W, b, h):
    return _affine(scale, W, b, h), (W, b, h)


def _linear_bwd(scale, res, g):
    W, b, h = res
    return _affine_bwd(scale, W, b, h, g)


linear.defvjp(_linear_fwd, _linear_bwd)


def mlp_reverse(
    act: Callable,
    layers: list[tuple[Float[Array, "_ _"], Float[Array, " _"] | None]],
    scales: tuple[float, ...],
    x: Float[Array, "n d"],
) -> Float[Array, "k n"]:
    """``s_L W_L act(... act(s_1 W_1 x + b_1) ...) + b_L`` on the rows of ``x``, outputs
    feature-major; reverse-mode autodiff only.

    Args:
        act: pointwise activation (a hashable function).
        layers: ``(W_l, b_l)`` for l = 1 ... L, ``W_l`` of shape ``(m_l, m_{l-1})``, ``b_l`` of
            shape ``(m_l,)`` or ``None``.
        scales: the layer multipliers ``s_1 ... s_L`` (static floats).
        x: inputs, shape ``(n, d)``.

    Returns:
        Outputs, shape ``(m_L, n)``.
    """
    h = x.T
    for (W, b), s in zip(layers[:-1], scales[:-1], strict=True):
        h = layer(act, s, W, b, h)
    W, b = layers[-1]
    return linear(scales[-1], W, b, h)
