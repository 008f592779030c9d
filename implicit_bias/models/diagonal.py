r"""Diagonal linear networks: beta = u*u - v*v (signed) or x = u*u (nonnegative)."""

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._types import Params
from ..errors import check
from ._base import AbstractLinearModel

PARAMETRIZATIONS = ("signed", "nonnegative")


class Diagonal(AbstractLinearModel):
    r"""Depth-two diagonal linear network, a linear predictor reparametrized coordinatewise.

    .. math::
        \text{signed:}\quad f(x) = \beta\cdot x,\ \beta = u\odot u - v\odot v;\qquad
        \text{nonnegative:}\quad f(x) = \beta\cdot x,\ \beta = u\odot u \ge 0,

    with ``u, v in R^d``. Gradient flow on ``(u, v)`` from ``u(0) = v(0) = alpha 1`` (``init=
    constant``, ``init_scale = alpha``: the convention is **u(0) = alpha**, so ``beta_i`` starts
    at scale ``alpha^2``) on the square loss ``L = mean((A beta - b)^2)`` has, with
    ``g = grad_beta L``, ``u' = -2 u g``, ``v' = 2 v g``, hence

    .. math::
        \beta(t) = 2\alpha^2 \sinh(-4 \textstyle\int_0^t g),\qquad
        x(t) = \alpha^2 \exp(-4 \textstyle\int_0^t g),

    i.e. the mirror flow of the hyperbolic entropy with scale ``2 alpha^2`` (signed) or of the
    entropy (nonnegative), run 4 times faster. Its limit minimizes the potential of
    Woodworth et al. (2020), Theorem 1, among interpolators (resp. the relative entropy to
    ``alpha^2 1``): basis pursuit as ``alpha -> 0``, the min-L2 interpolator as ``alpha -> inf``
    (signed). Exact references: :mod:`implicit_bias.theory.diagonal_networks`.

    The product ``u_i v_i`` is conserved by the flow (``(uv)' = -2ugv + 2uvg = 0``); it is
    recorded as ``uv_min``/``uv_max`` (signed network) to check integrator accuracy.

    Attributes:
        input_dim: d.
        parametrization: ``signed`` (``beta = u*u - v*v``, params ``u, v``) or
            ``nonnegative`` (``x = u*u``, param ``u``).

    References:
        Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry & Srebro (2020), "Kernel
        and rich regimes in overparametrized models", COLT; Vaskevicius, Kanade & Rebeschini
        (2019), "Implicit regularization for optimal sparse recovery", NeurIPS.
    """

    input_dim: int = 40
    parametrization: str = "signed"

    def __check_init__(self):
        check(self.input_dim >= 1, "model.input_dim", self.input_dim, "an integer >= 1")
        check(
            self.parametrization in PARAMETRIZATIONS,
            "model.parametrization",
            self.parametrization,
            f"one of {list(PARAMETRIZATIONS)}",
        )

    @property
    def signed(self) -> bool:
        return self.parametrization == "signed"

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        if self.signed:
            return {"u": (self.input_dim,), "v": (self.input_dim,)}
        return {"u": (self.input_dim,)}

    def spans_linear_predictors(self) -> bool:
        # u*u - v*v reaches every vector; u*u only the nonnegative ones.
        return self.signed

    def predictor(self, params: Params) -> Float[Array, " d"]:
        u = params["u"]
        if self.signed:
            v = params["v"]
            # (u - v)(u + v) = u^2 - v^2 without cancellation when |u| ~ |v| (small beta).
            return (u - v) * (u + v)
        return u * u

    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        return x @ self.predictor(params)

    def extra_metrics(self, params: Params) -> dict[str, Float[Array, ""]]:
        """``predictor_l1 = ||beta||_1`` and, when signed, the range of the invariant u*v."""
        out = {"predictor_l1": jnp.sum(jnp.abs(self.predictor(params)))}
        if self.signed:
            uv = params["u"] * params["v"]
            out["uv_min"] = jnp.min(uv)
            out["uv_max"] = jnp.max(uv)
        return out
