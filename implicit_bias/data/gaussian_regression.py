"""Gaussian linear regression, the generator of Marion & Chizat (2024)."""

from typing import ClassVar

import jax.numpy as jnp
import numpy as np
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

    **Prescribed spectrum** (``condition_number`` set, ``n >= d``): the training inputs are
    drawn so that their empirical covariance is exactly

    .. math:: \Sigma = X^\top X / n = V \operatorname{diag}(\lambda_1, \dots, \lambda_d)
        V^\top,\quad \lambda_i \propto \kappa^{-(i-1)/(d-1)},\ \frac1d\sum_i \lambda_i = 1,

    i.e. geometrically spaced eigenvalues of condition number :math:`\kappa` and mean 1 (the
    mean of the isotropic case), in a uniformly random orthonormal basis ``V``:
    :math:`X = \sqrt{n}\, Q \operatorname{diag}(\sqrt{\lambda}) V^\top` with ``Q`` the
    orthonormal factor of an ``n x d`` Gaussian matrix (uniform on the Stiefel manifold) and
    ``V`` that of a ``d x d`` one (Haar, signs fixed by ``diag(R) > 0``; Mezzadri 2007,
    *How to generate random matrices from the classical compact groups*). Test inputs are
    i.i.d. :math:`N(0, \Sigma)`. With ``condition_number = 1``, :math:`\Sigma = I` exactly.
    For experiments whose bounds depend on the spectrum of :math:`\Sigma` (e.g. the ratio
    :math:`\lambda_{\max} / \lambda_{\min}` of Marion & Chizat, 2024, Corollary 2).

    Attributes:
        n: number of training samples.
        d: input dimension.
        sigma: noise level.
        n_test: number of test samples (defaults to n).
        normalize: rescale so that ``||w*|| = 1``.
        condition_number: ``None`` (isotropic inputs, the default) or
            :math:`\kappa \ge 1`: the exact condition number of ``X^T X / n`` (needs
            ``n >= d``).
    """

    task: ClassVar[str] = "regression"

    n: int = 50
    d: int = 5
    sigma: float = 1.0
    n_test: int | None = None
    normalize: bool = True
    condition_number: float | None = None

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
            self.condition_number is None or self.condition_number >= 1,
            "data.condition_number",
            self.condition_number,
            "null or a float >= 1",
        )
        check(
            self.condition_number is None or self.n >= self.d,
            "data.condition_number",
            self.condition_number,
            f"null when n < d (n = {self.n}, d = {self.d}: X^T X / n is singular)",
        )

    def spectrum(self) -> np.ndarray:
        """Eigenvalues of ``X^T X / n`` with ``condition_number`` set (decreasing, mean 1)."""
        kappa = 1.0 if self.condition_number is None else float(self.condition_number)
        lam = kappa ** (-np.arange(self.d) / max(self.d - 1, 1))
        return lam * self.d / lam.sum()

    @property
    def input_dim(self) -> int:
        return self.d

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        n_test = self.n if self.n_test is None else self.n_test
        shapes = {
            "X": (self.n, self.d),
            "X_test": (n_test, self.d),
            "w_true": (self.d,),
            "eps": (self.n,),
            "eps_test": (n_test,),
        }
        if self.condition_number is not None:
            # An extra draw only here: the isotropic case keeps its draws for a given key.
            shapes["rotation"] = (self.d, self.d)
        z = normals(key, shapes, dtype)
        X, X_test, w_true = z["X"], z["X_test"], z["w_true"]
        if self.condition_number is not None:
            X, X_test = self._prescribed(X, X_test, z["rotation"])
        y = X @ w_true + self.sigma * z["eps"]
        y_test = X_test @ w_true + self.sigma * z["eps_test"]
        w_star = least_squares(X, y)
        if self.normalize:
            scale = jnp.linalg.norm(w_star)
            y, y_test, w_star = y / scale, y_test / scale, w_star / scale
        return Dataset(X, y, X_test, y_test, w_star)

    def _prescribed(self, Z, Z_test, G):
        """Inputs with ``X^T X / n = V diag(spectrum) V^T`` exactly (see the class docstring)."""
        root = jnp.sqrt(jnp.asarray(self.spectrum(), Z.dtype))
        Q, R = jnp.linalg.qr(Z)  # (n, d) with orthonormal columns
        Q = Q * jnp.where(jnp.diagonal(R) < 0, -1.0, 1.0).astype(Z.dtype)
        V, Rv = jnp.linalg.qr(G)
        V = V * jnp.where(jnp.diagonal(Rv) < 0, -1.0, 1.0).astype(Z.dtype)
        X = jnp.sqrt(jnp.asarray(self.n, Z.dtype)) * (Q * root) @ V.T
        return X, (Z_test * root) @ V.T
