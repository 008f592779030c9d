r"""Matrix sensing: linear measurements of a planted low-rank matrix."""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..errors import check
from ._dataset import AbstractData, Dataset


def _measurements(
    key: PRNGKeyArray, n: int, d: int, symmetric: bool, dtype
) -> Float[Array, "n d d"]:
    g = jax.random.normal(key, (n, d, d), dtype)
    # (G + G^T)/2: diagonal entries N(0, 1), off-diagonal N(0, 1/2), so that
    # E <A, Z>^2 = ||Z||_F^2 for every symmetric Z (an isotropic ensemble on symmetric matrices).
    return 0.5 * (g + jnp.swapaxes(g, 1, 2)) if symmetric else g


class MatrixSensing(AbstractData):
    r"""Gaussian measurements :math:`b_i = \langle A_i, X^\star\rangle` of a rank-r matrix.

    ``symmetric`` (default, the setting of Gunasekar et al. 2017): :math:`X^\star = V V^\top`
    PSD with :math:`V \in \mathbb{R}^{d\times r}`, :math:`V_{jk} \sim N(0, 1)`, and symmetric
    Gaussian measurements :math:`A_i = (G_i + G_i^\top)/2`, :math:`(G_i)_{jk} \sim N(0, 1)`.
    Otherwise :math:`X^\star = U V^\top` and :math:`A_i = G_i`. Either way
    :math:`E\langle A, Z\rangle^2 = \|Z\|_F^2` on the matrices Z of the model class.

    A sample is :math:`x_i = \operatorname{vec}(A_i)` (row-major, shape (d^2,)),
    :math:`y_i = b_i`, and ``w_star`` :math:`= \operatorname{vec}(X^\star)`. With fewer than
    d(d+1)/2 (symmetric) or d^2 measurements the system is underdetermined and the model's
    implicit bias picks the solution; the minimum-trace PSD solution equals X* only above a
    recovery threshold of order r d measurements. The test set is ``n_test`` fresh
    measurements of the same X*.

    Attributes:
        d: side of the square matrix (inputs have dimension d^2).
        rank: r, the rank of X*.
        n: number of measurements.
        n_test: number of test measurements (defaults to n).
        symmetric: symmetric measurements and PSD X* (for the symmetric model).
        normalize: rescale X* to :math:`\|X^\star\|_F = 1`, i.e. :math:`E b^2 = 1`.
    """

    task: ClassVar[str] = "regression"

    d: int = 5
    rank: int = 1
    n: int = 10
    n_test: int | None = None
    symmetric: bool = True
    normalize: bool = True

    def __check_init__(self):
        check(self.d >= 1, "data.d", self.d, "an integer >= 1")
        check(1 <= self.rank <= self.d, "data.rank", self.rank, f"an integer in [1, d={self.d}]")
        check(self.n >= 1, "data.n", self.n, "an integer >= 1")
        check(
            self.n_test is None or self.n_test >= 1,
            "data.n_test",
            self.n_test,
            "null or an integer >= 1",
        )

    @property
    def input_dim(self) -> int:
        return self.d * self.d

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        d, r = self.d, self.rank
        n_test = self.n if self.n_test is None else self.n_test
        ku, kv, ka, kat = jax.random.split(key, 4)
        v = jax.random.normal(kv, (d, r), dtype)
        u = v if self.symmetric else jax.random.normal(ku, (d, r), dtype)
        x_star = u @ v.T
        if self.normalize:
            x_star = x_star / jnp.linalg.norm(x_star)
        w_star = x_star.reshape(-1)
        X = _measurements(ka, self.n, d, self.symmetric, dtype).reshape(self.n, d * d)
        X_test = _measurements(kat, n_test, d, self.symmetric, dtype).reshape(n_test, d * d)
        return Dataset(X, X @ w_star, X_test, X_test @ w_star, w_star)
