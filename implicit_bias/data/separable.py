"""Linearly separable binary classification through the origin (labels in {-1, +1})."""

import math
from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._random import normal
from ..errors import ConfigError, check, check_finite_fields
from ._dataset import AbstractData, Dataset

LAYOUTS = ("soudry", "gaussian")

#: The four support vectors of Soudry et al. (2018), Fig. 1: x1, x2 (label +1) and -x1, -x2
#: (label -1). The homogeneous hard-margin SVM is w_hat = (1/2, 1/2) (margin sqrt(2)).
SOUDRY_SUPPORT = ((0.5, 1.5), (1.5, 0.5))


def soudry_points(
    key: PRNGKeyArray, n_pos: int, n_neg: int, extra_gap: float, dtype
) -> tuple[Float[Array, "n 2"], Float[Array, " n"]]:
    r"""The data of Soudry et al. (2018), Fig. 1: four support vectors and random extra points.

    The extra points are ``y x = sqrt(2) (1 + delta) u + b v`` with ``u = (1, 1)/sqrt(2)``,
    ``v = (1, -1)/sqrt(2)``, ``delta ~ extra_gap + U(0, 1)``, ``b ~ N(0, 1)``: every extra
    point has functional margin ``y w_hat . x = 1 + delta >= 1 + extra_gap`` for
    ``w_hat = (1/2, 1/2)``, so it is never a support vector and the SVM solution stays
    ``w_hat`` (the paper does not say how its 12 extra points were drawn; this is our choice).
    """
    s = jnp.asarray(SOUDRY_SUPPORT, dtype)
    u = jnp.asarray([1.0, 1.0], dtype) / math.sqrt(2.0)
    v = jnp.asarray([1.0, -1.0], dtype) / math.sqrt(2.0)
    n_extra = n_pos + n_neg
    kd, kb = jax.random.split(key)
    # Drawn in float32 and cast (see implicit_bias._random): same data in both precisions.
    delta = extra_gap + jax.random.uniform(kd, (n_extra,), "float32").astype(dtype)
    b = normal(kb, (n_extra,), dtype)
    signed = math.sqrt(2.0) * (1.0 + delta)[:, None] * u + b[:, None] * v  # y x
    labels_extra = jnp.concatenate([jnp.ones(n_pos, dtype), -jnp.ones(n_neg, dtype)])
    X = jnp.concatenate([s, -s, labels_extra[:, None] * signed])
    y = jnp.concatenate([jnp.ones(2, dtype), -jnp.ones(2, dtype), labels_extra])
    return X, y


def truncated_gaussian_cloud(
    key: PRNGKeyArray,
    num: int,
    d: int,
    label: float,
    shift: float,
    offset: float,
    std: float,
    margin: float,
    dtype,
) -> Float[Array, "num d"]:
    r"""``num`` draws of ``N(mu, std^2 I_d)`` conditioned on ``label * x_1 >= margin``,
    with ``mu = label * shift * e_1 + offset * e_2``.

    Exact (no rejection): the coordinates are independent, so ``x_1`` is a truncated normal
    and the others are unconstrained normals. Drawn in float32 and cast (see
    :mod:`implicit_bias._random`); the truncation is re-applied in ``dtype`` so that the
    margin holds exactly in the working precision.
    """
    k1, k2 = jax.random.split(key)
    mean_1 = label * shift
    bound = (label * margin - mean_1) / std
    if label > 0:
        z1 = jax.random.truncated_normal(k1, bound, jnp.inf, (num,), "float32").astype(dtype)
        z1 = jnp.maximum(z1, bound)
    else:
        z1 = jax.random.truncated_normal(k1, -jnp.inf, bound, (num,), "float32").astype(dtype)
        z1 = jnp.minimum(z1, bound)
    rest = normal(k2, (num, d - 1), dtype)
    mean_rest = jnp.zeros(d - 1, dtype).at[0].set(offset)
    return jnp.concatenate([(mean_1 + std * z1)[:, None], mean_rest + std * rest], axis=1)


class Separable(AbstractData):
    r"""Binary classification data separable by a hyperplane through the origin.

    Two layouts:

    * ``soudry``: the synthetic data of Soudry, Hoffer, Nacson, Gunasekar & Srebro (2018),
      *The implicit bias of gradient descent on separable data*, Fig. 1 (d = 2): support
      vectors ``x1 = (0.5, 1.5)``, ``x2 = (1.5, 0.5)`` (label +1) and ``-x1, -x2`` (label -1),
      for which the homogeneous hard-margin SVM is ``w_hat = (1/2, 1/2)``, direction
      ``(1, 1)/sqrt(2)`` and margin ``sqrt(2)``; plus ``n_pos``/``n_neg`` random extra
      points (6 and 6 in the paper) off the margin (see :func:`soudry_points`).
    * ``gaussian``: two isotropic Gaussian clouds of different means and sizes,
      class ``c`` drawn from :math:`N(\mu_c, s_c^2 I_d)` conditioned on the half-space
      :math:`c\, x_1 \ge` ``margin`` (:func:`truncated_gaussian_cloud`), with
      :math:`\mu_+ = ` ``shift_pos`` :math:`e_1 +` ``offset_pos`` :math:`e_2` and
      :math:`\mu_- = -` ``shift_neg`` :math:`e_1 +` ``offset_neg`` :math:`e_2`. The planted
      direction :math:`e_1` separates the classes through the origin with geometric margin
      at least ``margin`` by construction, so the max-margin direction exists; it differs
      from :math:`e_1` and from :math:`\mu_+ - \mu_-` because of the asymmetry.

    The first ``n_pos`` (after the support vectors for ``soudry``) points have label +1, the
    rest -1. ``w_star`` is ``None`` (there is no regressor; the reference is the hard-margin
    SVM, :func:`implicit_bias.theory.hard_margin_svm`). The test set is an independent
    draw of the same layout.

    Attributes:
        layout: ``soudry`` or ``gaussian``.
        d: input dimension (2 for ``soudry``; at least 2 for ``gaussian``).
        n_pos, n_neg: points per class (for ``soudry``: extra points besides the support
            vectors).
        extra_gap: ``soudry`` only: the extra points have functional margin at least
            ``1 + extra_gap`` w.r.t. ``w_hat``; GD's transient from them decays like
            ``t^{-extra_gap}``.
        margin: ``gaussian`` only: planted geometric margin along ``e_1``.
        shift_pos, shift_neg: ``gaussian`` only: distances of the class means from the
            hyperplane ``x_1 = 0`` (must exceed ``margin``).
        offset_pos, offset_neg: ``gaussian`` only: mean coordinates along ``e_2``.
        std_pos, std_neg: ``gaussian`` only: standard deviations of the clouds.
    """

    task: ClassVar[str] = "classification"

    layout: str = "gaussian"
    d: int = 2
    n_pos: int = 20
    n_neg: int = 10
    extra_gap: float = 0.5
    margin: float = 0.25
    shift_pos: float = 2.0
    shift_neg: float = 1.0
    offset_pos: float = 1.5
    offset_neg: float = -0.5
    std_pos: float = 1.0
    std_neg: float = 0.5

    def __check_init__(self):
        # Finite floats first (the base class checks them too, but after this method): the
        # comparisons below must not blame shift_pos for an infinite margin.
        check_finite_fields(self, "data")
        check(self.layout in LAYOUTS, "data.layout", self.layout, f"one of {list(LAYOUTS)}")
        check(self.n_pos >= 0, "data.n_pos", self.n_pos, "an integer >= 0")
        check(self.n_neg >= 0, "data.n_neg", self.n_neg, "an integer >= 0")
        if self.layout == "soudry":
            if self.d != 2:
                raise ConfigError("data.d", self.d, "2 for data.layout=soudry")
            check(self.extra_gap > 0, "data.extra_gap", self.extra_gap, "a float > 0")
            return
        check(self.d >= 2, "data.d", self.d, "an integer >= 2 for data.layout=gaussian")
        check(self.n_pos >= 1, "data.n_pos", self.n_pos, "an integer >= 1")
        check(self.n_neg >= 1, "data.n_neg", self.n_neg, "an integer >= 1")
        check(self.margin > 0, "data.margin", self.margin, "a float > 0")
        check(self.std_pos > 0, "data.std_pos", self.std_pos, "a float > 0")
        check(self.std_neg > 0, "data.std_neg", self.std_neg, "a float > 0")
        # Means beyond the margin keep the truncation bound negative (well-conditioned
        # truncated normals, most of each cloud kept).
        check(
            self.shift_pos > self.margin,
            "data.shift_pos",
            self.shift_pos,
            f"a float > data.margin = {self.margin}",
        )
        check(
            self.shift_neg > self.margin,
            "data.shift_neg",
            self.shift_neg,
            f"a float > data.margin = {self.margin}",
        )

    @property
    def input_dim(self) -> int:
        return self.d

    @property
    def n(self) -> int:
        """Number of training points."""
        return self.n_pos + self.n_neg + (4 if self.layout == "soudry" else 0)

    def _draw(self, key: PRNGKeyArray, dtype) -> tuple[Float[Array, "n d"], Float[Array, " n"]]:
        if self.layout == "soudry":
            return soudry_points(key, self.n_pos, self.n_neg, self.extra_gap, dtype)
        kp, kn = jax.random.split(key)
        pos = truncated_gaussian_cloud(
            kp,
            self.n_pos,
            self.d,
            1.0,
            self.shift_pos,
            self.offset_pos,
            self.std_pos,
            self.margin,
            dtype,
        )
        neg = truncated_gaussian_cloud(
            kn,
            self.n_neg,
            self.d,
            -1.0,
            self.shift_neg,
            self.offset_neg,
            self.std_neg,
            self.margin,
            dtype,
        )
        y = jnp.concatenate([jnp.ones(self.n_pos, dtype), -jnp.ones(self.n_neg, dtype)])
        return jnp.concatenate([pos, neg]), y

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        k_train, k_test = jax.random.split(key)
        X, y = self._draw(k_train, dtype)
        X_test, y_test = self._draw(k_test, dtype)
        return Dataset(X, y, X_test, y_test, None)
