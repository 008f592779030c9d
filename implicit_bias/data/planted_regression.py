"""Planted linear regression with an optional fixed design: least squares for n < d and
early stopping vs ridge."""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._random import normals
from ..errors import check
from ._dataset import AbstractData, Dataset, least_squares

TARGETS = ("min_norm", "planted")


def planted_design(
    key: PRNGKeyArray, n: int, n_test: int, d: int, dtype
) -> tuple[Float[Array, "n d"], Float[Array, "nt d"], Float[Array, " d"]]:
    """``X, X_test`` with i.i.d. N(0, 1) entries and a unit-norm ``beta0`` (uniform on the
    sphere). Drawn in float32 and cast (:mod:`implicit_bias._random`): a float64 run sees the
    data of the float32 run of the same seed."""
    z = normals(key, {"X": (n, d), "X_test": (n_test, d), "g": (d,)}, dtype)
    return z["X"], z["X_test"], z["g"] / jnp.linalg.norm(z["g"])


class PlantedRegression(AbstractData):
    r"""Noisy or noise-free linear regression around a planted unit vector.

    .. math:: X_{ij} \sim N(0, 1),\quad \beta_0 \sim \mathrm{Unif}(S^{d-1}),\quad
        y = X\beta_0 + \sigma\varepsilon,\ \varepsilon \sim N(0, I_n).

    Unlike :class:`~implicit_bias.data.GaussianRegression` nothing is rescaled, so that
    ``beta0`` is the true parameter of the noise model (the estimation risk
    :math:`E\|\hat\beta - \beta_0\|^2` of Ali, Kolter & Tibshirani 2019 refers to it).

    With ``design_seed`` set, ``X``, ``X_test`` and ``beta0`` are drawn from that seed and are
    the same for every run, while the noise comes from the run's own data key: a sweep over
    ``seed`` is then a Monte-Carlo sample of the noise at a fixed design (the fixed-design risk
    of AKT 2019). With ``design_seed = None`` everything is drawn from the run's key.

    ``w_star`` (the reference regressor the engine tracks as ``dist_to_wstar``) is either the
    minimum-norm least-squares solution ``X^+ y`` (``target = "min_norm"``: the limit of GD
    from zero; with ``sigma = 0`` and ``n < d`` it is the row-space projection of ``beta0``) or
    ``beta0`` itself (``target = "planted"``: ``d * dist_to_wstar`` is then the squared
    estimation error).

    Attributes:
        n: number of training samples (``n < d`` for the underdetermined case).
        d: input dimension.
        sigma: noise standard deviation (0: noise-free).
        n_test: number of test samples (defaults to n).
        design_seed: seed of a fixed design and ``beta0``, or ``None``.
        target: ``min_norm`` or ``planted`` (what ``w_star`` is).
    """

    task: ClassVar[str] = "regression"

    n: int = 20
    d: int = 50
    sigma: float = 0.0
    n_test: int | None = None
    design_seed: int | None = None
    target: str = "min_norm"

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
        check(
            self.design_seed is None or self.design_seed >= 0,
            "data.design_seed",
            self.design_seed,
            "null or an integer >= 0",
        )
        check(self.target in TARGETS, "data.target", self.target, f"one of {list(TARGETS)}")

    @property
    def input_dim(self) -> int:
        return self.d

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        n_test = self.n if self.n_test is None else self.n_test
        k_design, k_noise = jax.random.split(key)
        if self.design_seed is not None:
            # A static seed: the design is a constant of the compiled program.
            k_design = jax.random.key(self.design_seed)
        X, X_test, beta0 = planted_design(k_design, self.n, n_test, self.d, dtype)
        eps = normals(k_noise, {"train": (self.n,), "test": (n_test,)}, dtype)
        y = X @ beta0 + self.sigma * eps["train"]
        y_test = X_test @ beta0 + self.sigma * eps["test"]
        w_star = least_squares(X, y) if self.target == "min_norm" else beta0
        return Dataset(X, y, X_test, y_test, w_star)
