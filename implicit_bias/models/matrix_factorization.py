r"""Matrix factorization: a d x d matrix X(params), linear in a flattened measurement matrix.

Two parameterizations of the end-to-end matrix, selected by ``kind``:

* ``symmetric``: :math:`X = U U^\top` with :math:`U \in \mathbb{R}^{d\times d}` (Gunasekar,
  Woodworth, Bhojanapalli, Neyshabur & Srebro 2017, *Implicit regularization in matrix
  factorization*, NeurIPS). X is PSD by construction.
* ``deep``: :math:`X = W_N W_{N-1} \cdots W_1` with :math:`W_k \in \mathbb{R}^{d\times d}`
  (Arora, Cohen, Hu & Luo 2019, *Implicit regularization in deep matrix factorization*,
  NeurIPS; Razin & Cohen 2020, *Implicit regularization in deep learning may not be
  explainable by norms*, NeurIPS).

A sample x is the row-major flattening vec(A) of a measurement matrix A (a Gaussian matrix for
sensing, a one-hot e_j e_k^T for completion), and the model predicts

.. math:: f(x) = \langle A, X\rangle = \operatorname{vec}(A) \cdot \operatorname{vec}(X),

so it is *linear in x* with predictor vec(X): the square loss then goes through the data
moments and a step costs O(d^4) whatever the number of measurements.
"""

import itertools

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._types import Params
from ..errors import check
from ._base import AbstractLinearModel, chain_product

KINDS = ("symmetric", "deep")


def effective_rank(singular_values: Float[Array, " k"]) -> Float[Array, ""]:
    r"""Effective rank of Roy & Vetterli (2007), *The effective rank: a measure of effective
    dimensionality* (EUSIPCO): the exponential of the entropy of the normalized singular values,

    .. math:: \operatorname{erank}(X) = \exp\Big(-\sum_i p_i \log p_i\Big),\quad
        p_i = \sigma_i / \|\sigma\|_1,

    with :math:`0 \log 0 = 0`. It lies in [1, rank X], equals k for k equal nonzero singular
    values, and is continuous in X (unlike the rank). The zero matrix gets 0 (its rank).

    Args:
        singular_values: the singular values, shape (k,), nonnegative.

    Returns:
        The effective rank, a scalar.
    """
    total = jnp.sum(singular_values)
    p = singular_values / jnp.where(total > 0, total, 1.0)
    # p log p with 0 log 0 = 0; the inner where keeps log away from 0 (and its gradient finite).
    plogp = jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)
    return jnp.where(total > 0, jnp.exp(-jnp.sum(plogp)), 0.0)


class MatrixFactorization(AbstractLinearModel):
    r"""End-to-end matrix :math:`X = U U^\top` (``symmetric``) or :math:`W_N \cdots W_1`
    (``deep``), all factors d x d, read out as :math:`f(x) = \operatorname{vec}(X)\cdot x`.

    With a small initialization (``init=identity``: :math:`U(0) = \alpha I`, or
    :math:`W_k(0) = \alpha I`), gradient flow on the square loss of

    * matrix sensing (``data=matrix_sensing``) with the symmetric model is conjectured by
      Gunasekar et al. (2017) to converge, as :math:`\alpha \to 0`, to the minimum-trace
      (= nuclear-norm) PSD matrix consistent with the measurements (proved for commuting
      measurements; ``reference=nuclear_norm`` compares with it);
    * matrix completion (``data=matrix_completion``) with the deep model finds low-rank
      solutions, lower (effective) rank as the depth N grows (Arora et al. 2019), and on
      Razin & Cohen's (2020) 2 x 2 problem drives every norm to infinity while the effective
      rank falls to 1 (``+experiment=razin_cohen``).

    Attributes:
        kind: ``symmetric`` (parameter ``U``) or ``deep`` (parameters ``W1 ... WN``, input
            side first: :math:`X = W_N \cdots W_1`).
        dim: d, the side of the square matrix X (the inputs have dimension d^2). ``None``
            (what the YAML gives for data without a ``d`` field) is rejected, naming
            ``model.dim``.
        depth: N, the number of factors of the ``deep`` model; must be 2 for ``symmetric``
            (:math:`U U^\top` is a depth-2 product).
    """

    kind: str = "symmetric"
    dim: int | None = 5
    depth: int = 2

    def __check_init__(self):
        check(self.kind in KINDS, "model.kind", self.kind, f"one of {list(KINDS)}")
        check(
            self.dim is not None and self.dim >= 1,
            "model.dim",
            self.dim,
            "an integer >= 1, the side d of X (set model.dim=<d> for data without a d field)",
        )
        check(self.depth >= 1, "model.depth", self.depth, "an integer >= 1")
        if self.kind == "symmetric":
            check(
                self.depth == 2,
                "model.depth",
                self.depth,
                "2 for model.kind=symmetric (X = U U^T); use model.kind=deep for other depths",
            )

    @property
    def input_dim(self) -> int:
        """d^2: a sample is a flattened d x d measurement matrix (checked against the data)."""
        return self.dim * self.dim

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        d = self.dim
        if self.kind == "symmetric":
            return {"U": (d, d)}
        return {f"W{k}": (d, d) for k in range(1, self.depth + 1)}

    def matrix(self, params: Params) -> Float[Array, "d d"]:
        r"""The end-to-end matrix :math:`U U^\top` or :math:`W_N \cdots W_1`."""
        if self.kind == "symmetric":
            u = params["U"]
            return u @ u.T
        return chain_product([params[k] for k in self.param_shapes()])

    def predictor(self, params: Params) -> Float[Array, " d2"]:
        """vec(X), row-major (``X.reshape(-1)``), so that ``f(vec(A)) = <A, X>``."""
        return self.matrix(params).reshape(-1)

    def apply(self, params: Params, x: Float[Array, "n d2"]) -> Float[Array, " n"]:
        return x @ self.predictor(params)

    def extra_metrics(self, params: Params) -> dict[str, Float[Array, "..."]]:
        r"""Spectral summaries of X recorded along training.

        Returns:
            ``nuclear_norm`` :math:`\|X\|_* = \sum_i \sigma_i`, ``frobenius_norm``, ``trace``
            (equal to the nuclear norm for the PSD symmetric model), ``effective_rank``
            (:func:`effective_rank`), ``singular_values`` (a vector of d values, descending)
            and, for the deep model with N >= 2, ``balancedness_defect``
            :math:`\max_k \|W_{k+1}^\top W_{k+1} - W_k W_k^\top\|_F` (conserved by gradient
            flow; 0 for the identity initialization).
        """
        x = self.matrix(params)
        s = jnp.linalg.svd(x, compute_uv=False)
        out = {
            "nuclear_norm": jnp.sum(s),
            "frobenius_norm": jnp.sqrt(jnp.sum(x * x)),
            "trace": jnp.trace(x),
            "effective_rank": effective_rank(s),
            "singular_values": s,
        }
        if self.kind == "deep" and self.depth >= 2:
            mats = [params[k] for k in self.param_shapes()]
            defects = [jnp.linalg.norm(b.T @ b - a @ a.T) for a, b in itertools.pairwise(mats)]
            out["balancedness_defect"] = jnp.max(jnp.stack(defects))
        return out
