r"""Hessian-vector products on flattened parameters, and helpers shared by the estimators.

The Hessian is never formed: :math:`H v = \frac{d}{d\varepsilon} \nabla L(\theta + \varepsilon
v)\big|_{\varepsilon=0}` is one forward-mode JVP of the reverse-mode gradient
("forward-over-reverse"), which costs a small constant times one gradient evaluation and is
the most efficient HVP in JAX (see the JAX autodiff cookbook; Pearlmutter, 1994, *Fast exact
multiplication by the Hessian*).

Parameters are arbitrary pytrees; everything here works on the flat vector of
``jax.flatten_util.ravel_pytree(params)``, whose dtype (the promoted dtype of the leaves) sets
the dtype of every estimate.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, PRNGKeyArray, PyTree

#: ``loss_fn(params) -> scalar``.
LossFn = Callable[[Any], Float[Array, ""]]


def _flat_grad(loss_fn: LossFn, params: PyTree) -> tuple[Array, Callable[[Array], Array]]:
    flat, unravel = ravel_pytree(params)

    def grad_flat(x: Array) -> Array:
        # ravel the gradient as well: it has the structure of ``params``.
        return ravel_pytree(jax.grad(lambda q: loss_fn(unravel(q)))(x))[0]

    return flat, grad_flat


def hvp(loss_fn: LossFn, params: PyTree, v_flat: Float[Array, " p"]) -> Float[Array, " p"]:
    r"""Hessian-vector product :math:`\nabla^2 L(\theta)\, v` by forward-over-reverse autodiff.

    Args:
        loss_fn: ``loss_fn(params) -> scalar``.
        params: any pytree of float arrays; :math:`p` is its total number of entries.
        v_flat: ``(p,)`` direction in the ``ravel_pytree(params)`` layout.

    Returns:
        ``(p,)`` flat :math:`H v`, with the dtype of the raveled params.
    """
    flat, grad_flat = _flat_grad(loss_fn, params)
    return jax.jvp(grad_flat, (flat,), (v_flat.astype(flat.dtype),))[1]


def hvp_operator(loss_fn: LossFn, params: PyTree) -> tuple[Array, Callable[[Array], Array]]:
    """The flat params and a linear map ``v -> H v`` for repeated products.

    ``jax.linearize`` evaluates the gradient (the primal of the JVP) once and stores its
    linearization, so each of the ``k`` products of an iterative method costs only the tangent
    pass instead of re-running forward and backward every time (a plain ``jax.jvp`` in a
    ``lax.scan`` body recomputes the primal at every step). Memory: the residuals of one
    gradient evaluation, like a backward pass.
    """
    flat, grad_flat = _flat_grad(loss_fn, params)
    _, matvec = jax.linearize(grad_flat, flat)
    return flat, matvec


def random_unit(key: PRNGKeyArray | Array, like: Array) -> Array:
    """A uniformly random unit vector with the shape and dtype of ``like``.

    ``key`` is a PRNG key, or an already drawn standard normal vector of that shape.
    """
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        r = jax.random.normal(key, like.shape, like.dtype)
    else:
        r = key.astype(like.dtype)
    return r / jnp.linalg.norm(r)


def start_vector(key: PRNGKeyArray | Array, flat: Array, v0: PyTree | None) -> Array:
    """Unit start vector: ``v0`` normalized, or random when ``v0`` is ``None`` / ~0 / not finite.

    ``v0`` may be flat ``(p,)`` (e.g. the ``vector`` of a previous :class:`SharpnessResult`) or
    a pytree with the structure of ``params``. The fallback is decided with ``jnp.where``
    rather than Python control flow, so a zero warm-start buffer (the natural initial value of
    a ``lax.scan`` carry) works under ``jit``/``vmap``.
    """
    r = random_unit(key, flat)
    if v0 is None:
        return r
    v = v0 if isinstance(v0, jax.Array) and v0.ndim == 1 else ravel_pytree(v0)[0]
    v = v.astype(flat.dtype)
    if v.shape != flat.shape:
        raise ValueError(f"v0 has {v.shape[0]} entries but params have {flat.shape[0]}")
    norm = jnp.linalg.norm(v)
    # sqrt(tiny) instead of 0: a subnormal norm loses most of the direction's digits.
    ok = jnp.isfinite(norm) & (norm > jnp.sqrt(jnp.finfo(flat.dtype).tiny))
    return jnp.where(ok, v / jnp.where(ok, norm, 1.0), r)
