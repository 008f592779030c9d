"""Linear model f(x) = w . x: the depth-one base case."""

from jaxtyping import Array, Float

from .._types import Params
from ..errors import check
from ._base import AbstractLinearModel


class Linear(AbstractLinearModel):
    """Linear predictor ``f(x) = w . x`` with ``w`` in R^d.

    Attributes:
        input_dim: d.
    """

    input_dim: int = 5

    def __check_init__(self):
        check(self.input_dim >= 1, "model.input_dim", self.input_dim, "an integer >= 1")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"w": (self.input_dim,)}

    def spans_linear_predictors(self) -> bool:
        return True

    def predictor(self, params: Params) -> Float[Array, " d"]:
        return params["w"]

    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        return x @ params["w"]
