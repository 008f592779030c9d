"""The result type shared by every sharpness estimator."""

from typing import final

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int


@final
class SharpnessResult(eqx.Module):
    r"""Estimate of the extreme eigenvalues of the Hessian of a loss.

    Every field is a JAX array (scalars except ``vector``), so a ``SharpnessResult`` can be
    returned from ``jax.jit`` / ``jax.vmap``: batching ``B`` runs gives fields of shape ``(B,)``
    and ``vector`` of shape ``(B, p)``.

    Attributes:
        eigenvalue: estimate of :math:`\lambda_{\max}(\nabla^2 L)`, the largest *algebraic*
            eigenvalue (the sharpness). :func:`~implicit_bias.sharpness.power_iteration` is the
            exception: it returns the Rayleigh quotient of the dominant-*magnitude* direction,
            which is negative when :math:`|\lambda_{\min}| > \lambda_{\max}`.
        min_eigenvalue: estimate of :math:`\lambda_{\min}(\nabla^2 L)` (most negative).
        error_bound: bound on :math:`|\text{eigenvalue} - \lambda_{\max}|`: ``0`` for
            :func:`~implicit_bias.sharpness.exact`, the residual norm
            :math:`\|H y - \theta y\|` of the returned Ritz / Rayleigh pair for the iterative
            methods (see their docstrings for when it is rigorous).
        converged: ``error_bound <= tol * max(1, |eigenvalue|)``.
        num_hvps: number of Hessian-vector products spent (``p`` for the dense ``exact``).
        vector: unit-norm estimate of the top eigenvector in the flat
            (``jax.flatten_util.ravel_pytree``) parameter layout; pass it as ``v0`` at the next
            step to warm-start.
    """

    eigenvalue: Float[Array, ""]
    min_eigenvalue: Float[Array, ""]
    error_bound: Float[Array, ""]
    converged: Bool[Array, ""]
    num_hvps: Int[Array, ""]
    vector: Float[Array, " p"]


def is_converged(
    error_bound: Float[Array, ""], eigenvalue: Float[Array, ""], tol: float
) -> Bool[Array, ""]:
    """The shared convergence test ``error_bound <= tol * max(1, |eigenvalue|)``.

    The ``max(1, .)`` makes the test absolute for tiny Hessians (e.g. at the saddle near a
    zero init, where the sharpness itself is ~0), relative otherwise.
    """
    return error_bound <= tol * jnp.maximum(1.0, jnp.abs(eigenvalue))
