"""Compressed sensing: Gaussian measurements of a planted k-sparse vector."""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from ..errors import check
from ._dataset import AbstractData, Dataset


class SparseRegression(AbstractData):
    r"""Underdetermined noiseless (optionally noisy) sparse linear regression.

    .. math::
        A_{ij} \sim N(0, 1)\ (A \in \mathbb{R}^{n\times d},\ n < d),\quad
        \beta^\star = \text{k-sparse},\quad b = A\beta^\star + \sigma\varepsilon.

    The support of ``beta*`` is uniform among the k-subsets of ``{1..d}``, its nonzero entries
    are ``N(0, 1)`` (their absolute values when ``nonnegative``, the target of the ``x = u*u``
    network), and ``beta*`` is rescaled to ``||beta*||_2 = 1``. The test set has its own
    Gaussian inputs and noise, same ``beta*``. ``w_star`` is the planted ``beta*``.

    This is the sparse-recovery setting of Woodworth et al. (2020) and Vaskevicius et al. (2019)
    at a size that runs in seconds on a CPU: with ``n = 20, d = 40, k = 3`` (``k/n = 0.15``,
    ``n/d = 0.5``) basis pursuit recovers ``beta*`` exactly with overwhelming probability
    (Donoho & Tanner 2009 phase transition), so the ``alpha -> 0`` limit of a diagonal network
    is ``beta*`` itself while the min-L2 interpolator is dense and far from it.

    Attributes:
        n: number of measurements (training samples).
        d: dimension.
        k: sparsity of ``beta*`` (``1 <= k <= d``).
        sigma: noise level (0: noiseless, ``b = A beta*``).
        nonnegative: draw ``beta* >= 0``.
        n_test: number of test samples (defaults to n).

    References:
        Woodworth et al. (2020), "Kernel and rich regimes in overparametrized models", COLT;
        Donoho & Tanner (2009), "Observed universality of phase transitions in high-dimensional
        geometry", Phil. Trans. R. Soc. A.
    """

    task: ClassVar[str] = "regression"

    n: int = 20
    d: int = 40
    k: int = 3
    sigma: float = 0.0
    nonnegative: bool = False
    n_test: int | None = None

    def __check_init__(self):
        check(self.n >= 1, "data.n", self.n, "an integer >= 1")
        check(self.d >= 1, "data.d", self.d, "an integer >= 1")
        check(1 <= self.k <= self.d, "data.k", self.k, f"an integer in [1, d={self.d}]")
        check(self.sigma >= 0, "data.sigma", self.sigma, "a float >= 0")
        check(
            self.n_test is None or self.n_test >= 1,
            "data.n_test",
            self.n_test,
            "null or an integer >= 1",
        )

    @property
    def input_dim(self) -> int:
        return self.d

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        n_test = self.n if self.n_test is None else self.n_test
        ka, kat, ks, kv, ke, ket = jax.random.split(key, 6)
        A = jax.random.normal(ka, (self.n, self.d), dtype)
        A_test = jax.random.normal(kat, (n_test, self.d), dtype)
        support = jax.random.permutation(ks, self.d)[: self.k]
        values = jax.random.normal(kv, (self.k,), dtype)
        if self.nonnegative:
            values = jnp.abs(values)
        beta = jnp.zeros(self.d, dtype).at[support].set(values)
        beta = beta / jnp.linalg.norm(beta)
        b = A @ beta + self.sigma * jax.random.normal(ke, (self.n,), dtype)
        b_test = A_test @ beta + self.sigma * jax.random.normal(ket, (n_test,), dtype)
        return Dataset(A, b, A_test, b_test, beta)
