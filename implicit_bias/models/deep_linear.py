"""Deep linear network f(x) = W_L ... W_1 x."""

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._types import Params
from ..errors import check
from ._base import AbstractLinearModel, row_chain


def deep_linear_shapes(input_dim: int, width: int, depth: int) -> dict[str, tuple[int, ...]]:
    """Shapes ``W1 (m, d), W2..W_{L-1} (m, m), WL (1, m)``; ``WL (1, d)`` when ``L = 1``."""
    if depth == 1:
        return {"W1": (1, input_dim)}
    shapes = {"W1": (width, input_dim)}
    for k in range(2, depth):
        shapes[f"W{k}"] = (width, width)
    shapes[f"W{depth}"] = (1, width)
    return shapes


class DeepLinear(AbstractLinearModel):
    r"""Deep linear network with scalar output.

    .. math:: f(x) = W_L W_{L-1} \cdots W_1 x,\quad W_1 \in \mathbb{R}^{m\times d},\
        W_k \in \mathbb{R}^{m\times m},\ W_L \in \mathbb{R}^{1\times m}.

    The defaults (d = m = 5, L = 10) are the setting of Marion & Chizat (2024), *Deep linear
    networks for regression are implicitly regularized towards flat minima*, Fig. 1.

    Attributes:
        input_dim: d.
        width: m, the hidden width.
        depth: L, the number of weight matrices.
    """

    input_dim: int = 5
    width: int = 5
    depth: int = 10

    def __check_init__(self):
        check(self.input_dim >= 1, "model.input_dim", self.input_dim, "an integer >= 1")
        check(self.width >= 1, "model.width", self.width, "an integer >= 1")
        check(self.depth >= 1, "model.depth", self.depth, "an integer >= 1")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return deep_linear_shapes(self.input_dim, self.width, self.depth)

    def spans_linear_predictors(self) -> bool:
        # W_L ... W_1 with widths >= 1: w = c u^T for rank-one factors reaches every w.
        return True

    def predictor(self, params: Params) -> Float[Array, " d"]:
        mats = [params[k] for k in self.param_shapes()]
        return row_chain(mats[-1][0], mats[:-1])

    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        h = x
        for k in self.param_shapes():
            h = h @ params[k].T
        return h[:, 0]

    def extra_metrics(self, params: Params) -> dict[str, Float[Array, ""]]:
        """Balancedness defect max_k ||W_{k+1}^T W_{k+1} - W_k W_k^T||_F (conserved by the flow)."""
        mats = [params[k] for k in self.param_shapes()]
        if len(mats) < 2:
            return {}
        defects = [
            jnp.linalg.norm(b.T @ b - a @ a.T) for a, b in zip(mats[:-1], mats[1:], strict=True)
        ]
        return {"balancedness_defect": jnp.max(jnp.stack(defects))}
