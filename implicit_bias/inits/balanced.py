"""Balanced factorization of a random end-to-end matrix with positive determinant."""

import jax
import jax.numpy as jnp

from .._types import Params
from ..errors import ConfigError
from ._base import AbstractInit, trainable_shapes


class Balanced(AbstractInit):
    r"""Square factors :math:`W_N \cdots W_1 = \alpha^N A` of a random matrix with
    :math:`\det A > 0`, balanced (:math:`W_{j+1}^\top W_{j+1} = W_j W_j^\top`).

    ``A`` has i.i.d. N(0, 1) entries, its first row negated if :math:`\det A < 0`; with the SVD
    :math:`A = U \Sigma V^\top` and :math:`R = \alpha \Sigma^{1/N}`: :math:`W_1 = R V^\top`,
    :math:`W_j = R` (1 < j < N), :math:`W_N = U R` (``alpha = init_scale``; each factor has
    singular values :math:`\alpha \sigma_i(A)^{1/N}`, as :math:`\alpha I` has :math:`\alpha`).

    A random version of :class:`~implicit_bias.inits.Identity` with the conditions of Razin &
    Cohen (2020)'s analysis of their 2 x 2 completion: :math:`\det X(0) > 0` and balanced
    factors, both kept by the gradient *flow* (balancedness is conserved, and with it the sign
    of :math:`\det X`). Gradient *descent* breaks balancedness by O(lr^2) per step; on that
    problem :math:`\det X \to 0^+` along the flow's path, so GD at the preset's lr = 0.05
    crosses to :math:`\det X < 0` and ends at a finite solution (measured from init_scale
    1e-3 and 0.3, every seed tried; docs/presets.md). A plain Gaussian draw with
    :math:`\det X(0) > 0` fares no better (its factors' determinants cross 0 at t ~ 0.7).

    Raises:
        ConfigError: if the trainable parameters are not square matrices of one size.
    """

    def init_trainable(self, key, model, scale, dtype) -> Params:
        shapes = trainable_shapes(model)
        sizes = {s for s in shapes.values()}
        if len(sizes) != 1 or len(next(iter(sizes))) != 2 or len(set(next(iter(sizes)))) != 1:
            raise ConfigError(
                "init",
                "balanced",
                f"square weight matrices of one size; {type(model).__name__} has "
                f"{dict(shapes)} (use model=matrix_factorization model.kind=deep)",
            )
        names = list(shapes)
        d = shapes[names[0]][0]
        A = jax.random.normal(key, (d, d), dtype)
        A = A.at[0].set(jnp.where(jnp.linalg.det(A) < 0, -A[0], A[0]))
        U, s, Vt = jnp.linalg.svd(A)
        root = scale * s ** (1.0 / len(names))
        if len(names) == 1:
            return {names[0]: scale * A}
        out = {name: jnp.diag(root) for name in names}
        out[names[0]] = root[:, None] * Vt
        out[names[-1]] = U * root[None, :]
        return out
