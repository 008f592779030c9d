"""Residual (square-layer) linear network f(x) = p^T W_L ... W_1 x with a fixed projection p."""

import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._random import normal
from .._types import Params
from ..errors import check
from ._base import AbstractLinearModel, row_chain


class ResidualLinear(AbstractLinearModel):
    r"""Linear network of square layers read out by a fixed unit vector.

    .. math:: f(x) = p^\top W_L \cdots W_1 x,\quad W_k \in \mathbb{R}^{d\times d},\ \|p\| = 1,

    with ``p`` drawn uniformly on the sphere from the seed and never trained. Initialized near
    the identity by the ``residual`` init (W_k = I + s / sqrt(L d) N(0, 1)), this is the
    residual parametrization of Marion & Chizat (2024), Section 5.

    Attributes:
        input_dim: d (also the width of every layer).
        depth: L.
    """

    input_dim: int = 5
    depth: int = 10
    frozen = ("p",)

    def __check_init__(self):
        check(self.input_dim >= 1, "model.input_dim", self.input_dim, "an integer >= 1")
        check(self.depth >= 1, "model.depth", self.depth, "an integer >= 1")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {f"W{k}": (self.input_dim, self.input_dim) for k in range(1, self.depth + 1)}
        shapes["p"] = (self.input_dim,)
        return shapes

    def init_frozen(self, key: PRNGKeyArray, dtype) -> Params:
        p = normal(key, (self.input_dim,), dtype)
        return {"p": p / jnp.linalg.norm(p)}

    def predictor(self, params: Params) -> Float[Array, " d"]:
        return row_chain(params["p"], [params[f"W{k}"] for k in range(1, self.depth + 1)])

    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        return x @ self.predictor(params)
