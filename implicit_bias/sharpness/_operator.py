r"""The abstract matrix-free symmetric operator that every spectral estimator takes.

An operator is a symmetric linear map :math:`A: \mathbb{R}^p \to \mathbb{R}^p` known only
through products :math:`v \mapsto A v` (never a :math:`p \times p` matrix). The estimators of
this package (:func:`~implicit_bias.sharpness.topk`, :func:`~implicit_bias.sharpness.trace`,
:func:`~implicit_bias.sharpness.slq`, ...) take any subclass: the Hessian
(:class:`~implicit_bias.sharpness.Hessian`), the generalized Gauss-Newton matrix
(:class:`~implicit_bias.sharpness.GaussNewton`), a diagonally preconditioned operator
(:class:`~implicit_bias.sharpness.Preconditioned`), a diagonal block for a parameter subset
(:class:`~implicit_bias.sharpness.Block`) or an explicit matrix
(:class:`~implicit_bias.sharpness.Dense`).

Operators are built *inside* the traced function that uses them (under ``jit``/``vmap``, one
per trajectory), as the engine builds its ``Problem``: they close over the point at which
they linearize, so they are not meant to cross a ``jit``/``vmap`` boundary themselves.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


class AbstractOperator(eqx.Module):
    """A symmetric linear operator on flat vectors of length :attr:`dim`.

    Subclasses implement :meth:`matvec` and the two properties; :meth:`matmat` (a ``vmap`` of
    :meth:`matvec`, i.e. one batched product that XLA runs as matrix-matrix work) and
    :meth:`as_dense` come for free.
    """

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Static dimension :math:`p` of the space the operator acts on."""

    @property
    @abc.abstractmethod
    def dtype(self) -> jnp.dtype:
        """Floating dtype of vectors and results (the dtype of the parameters)."""

    @abc.abstractmethod
    def matvec(self, v: Float[Array, " p"]) -> Float[Array, " p"]:
        """The product :math:`A v` of the operator with one flat vector."""

    def matmat(self, vs: Float[Array, "b p"]) -> Float[Array, "b p"]:
        """Products with ``b`` vectors stored as *rows*: row ``i`` of the result is ``A vs[i]``."""
        return jax.vmap(self.matvec)(vs)

    def as_dense(self) -> Float[Array, "p p"]:
        """The :math:`p \\times p` matrix (``p`` products; for tests and small operators)."""
        eye = jnp.eye(self.dim, dtype=self.dtype)
        return self.matmat(eye).T
