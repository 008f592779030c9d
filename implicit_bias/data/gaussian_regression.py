"""Gaussian linear regression, the generator of Marion & Chizat (2024)."""

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from .._random import normals
from ..errors import check
from ._dataset import AbstractData, Dataset, least_squares


class GaussianRegression(AbstractData):
    r"""Noisy linear regression with isotropic Gaussian inputs.

    .. math:: X_{ij} \sim N(0, 1),\ w_{true} \sim N(0, I_d),\ y = X w_{true} + \sigma\varepsilon.

    The optimal regressor is the least-squares solution ``w* = X^+ y`` (minimum-norm when
    n < d). Following Marion & Chizat (2024), ``y``, ``y_test`` and ``w*`` are then divided
    by ``||w*||`` so that ``||w*|| = 1``. The test set is drawn from the same distribution with
    its own noise and the same ``w_true``.

    Attributes:
        n: number of training samples.
        d: input dimension.
        sigma: noise level.
        n_test: number of test samples (defaults to n).
        normalize: rescale so that ``||w*|| = 1``.
    """

    task: ClassVar[str] = "regression"

    n: int = 50
    d: int = 5
    sigma: float = 1.0
    n_test: int | None = None
    normalize: bool = True

    def __check_init__(self):
        check(self.n >= 1, "data.n", self.n, "an integer >= 1")
        check(self.d >= 1, "data.d", self.d, "an integer >= 1")
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
        z = normals(
            key,
            {
                "X": (self.n, self.d),
                "X_test": (n_test, self.d),
                "w_true": (self.d,),
                "eps": (self.n,),
                "eps_test": (n_test,),
            },
            dtype,
        )
        X, X_test, w_true = z["X"], z["X_test"], z["w_true"]
        y = X @ w_true + self.sigma * z["eps"]
        y_test = X_test @ w_true + self.sigma * z["eps_test"]
        w_star = least_squares(X, y)
        if self.normalize:
            scale = jnp.linalg.norm(w_star)
            y, y_test, w_star = y / scale, y_test / scale, w_star / scale
        return Dataset(X, y, X_test, y_test, w_star)
