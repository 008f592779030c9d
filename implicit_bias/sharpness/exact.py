r"""Dense Hessian eigendecomposition: the ground truth for small models and tests.

Forms :math:`H = \nabla^2 L(\theta) \in \mathbb{R}^{p \times p}` with ``jax.hessian``
(forward-over-reverse, i.e. ``p`` HVPs at once), symmetrizes it (autodiff rounding makes it
asymmetric at the :math:`\epsilon \|H\|` level) and calls ``jnp.linalg.eigh``. Cost
:math:`O(p^3)` time and :math:`O(p^2)` memory: fine up to a few thousand parameters.
"""

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import PRNGKeyArray, PyTree

from ._hvp import LossFn
from ._result import SharpnessResult


def exact(loss_fn: LossFn, params: PyTree, key: PRNGKeyArray | None = None) -> SharpnessResult:
    """Extreme Hessian eigenvalues from the dense Hessian.

    Args:
        loss_fn: ``loss_fn(params) -> scalar``.
        params: any pytree of float arrays; the dtype of the result follows them.
        key: unused; accepted so that every estimator has the ``(loss_fn, params, key)``
            signature.

    Returns:
        :class:`SharpnessResult` with the largest and smallest eigenvalues, ``error_bound = 0``
        (up to the rounding of ``eigh``, ~ eps * ||H||), ``converged = True``,
        ``num_hvps = p`` and ``vector`` the unit top eigenvector.
    """
    del key
    flat, unravel = ravel_pytree(params)
    hess = jax.hessian(lambda x: loss_fn(unravel(x)))(flat)
    hess = 0.5 * (hess + hess.T)
    evals, evecs = jnp.linalg.eigh(hess)
    return SharpnessResult(
        eigenvalue=evals[-1],
        min_eigenvalue=evals[0],
        error_bound=jnp.zeros((), flat.dtype),
        converged=jnp.asarray(True),
        num_hvps=jnp.asarray(flat.shape[0], jnp.int32),
        vector=evecs[:, -1],
    )
