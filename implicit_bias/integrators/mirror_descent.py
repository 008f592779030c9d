r"""Mirror descent with a separable potential: entropy, hyperbolic entropy or Euclidean."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._types import Params
from ..errors import check
from ..problem import Problem
from ._base import AbstractDiscreteIntegrator

POTENTIALS = ("entropy", "hyperbolic_entropy", "euclidean")


class MirrorDescentState(eqx.Module):
    """State of mirror descent.

    Attributes:
        params: the primal iterate ``x_k = grad psi^*(z_k)``.
        dual: the mirror (dual) iterate ``z_k = grad psi(x_k)``. Kept in the state rather than
            recomputed from ``x_k`` so that an entry of ``x`` underflowing to 0 (entropy) or a
            lossy ``arcsinh``/``sinh`` round trip never feeds back into the iteration: the
            dual iterates are then exactly ``z_0 - lr * (sum of gradients)`` up to the rounding
            of the sums, the property the Bregman-projection limit rests on.
    """

    params: Params
    dual: Params


class MirrorDescent(AbstractDiscreteIntegrator):
    r"""Mirror descent (Nemirovski & Yudin 1983; Beck & Teboulle 2003) with a separable
    potential :math:`\psi`, written as a pure ``init``/``step`` pair in the spirit of optax:

    .. math:: \nabla\psi(x_{k+1}) = \nabla\psi(x_k) - \eta\,\nabla L(x_k).

    Potentials (applied coordinatewise to every trainable parameter, typically the ``w`` of
    the ``linear`` model):

    * ``entropy``: :math:`\psi(x) = \sum_i x_i\log x_i - x_i` on :math:`x > 0`,
      :math:`\nabla\psi = \log`, i.e. the exponentiated-gradient update
      :math:`x \leftarrow x \odot \exp(-\eta\nabla L(x))` (Kivinen & Warmuth 1997). Needs an
      initialization ``x_0 > 0`` (``init=constant``, ``init_scale > 0``); zero entries stay
      zero, and a negative entry makes the run non-finite (recorded as diverged).
    * ``hyperbolic_entropy`` with scale :math:`\beta` (``beta_scale``):
      :math:`\psi(w) = \sum_i w_i\,\mathrm{arcsinh}(w_i/\beta) - \sqrt{w_i^2 + \beta^2}`,
      :math:`\nabla\psi(w) = \mathrm{arcsinh}(w/\beta)`, so
      :math:`w \leftarrow \beta\sinh(\mathrm{arcsinh}(w/\beta) - \eta\nabla L(w))`
      (Ghai, Hazan & Singer 2020; Woodworth et al. 2020). Interpolates between the entropy
      on both signs (:math:`\beta \to 0`) and :math:`\|w\|^2 / (2\beta)` (:math:`\beta\to\infty`).
    * ``euclidean``: :math:`\psi(x) = \|x\|^2 / 2`: plain gradient descent.

    **Link with diagonal networks.** Gradient flow on ``u`` with ``x = u*u`` from
    ``u(0) = alpha 1`` satisfies :math:`\tfrac{d}{dt}\log x = -4\nabla L(x)`: it is the mirror
    *flow* of the entropy run 4 times faster, so ``k`` mirror-descent steps of size ``lr`` from
    ``x_0 = alpha^2 1`` follow the u-flow at time ``k lr / 4``, with an O(lr) error (Euler
    discretization of the mirror flow in the dual variable). Likewise ``beta = u*u - v*v`` from
    ``u(0) = v(0) = alpha 1`` satisfies
    :math:`\tfrac{d}{dt}\mathrm{arcsinh}(\beta / (2\alpha^2)) = -4\nabla L(\beta)`: the mirror
    flow of the hyperbolic entropy with ``beta_scale = 2 alpha^2`` from ``w_0 = 0``, again at
    4 times the speed. Since the dual iterates stay in ``z_0 + range(A^T)`` for a linear model
    on data ``A``, mirror descent with *any* convergent step size ends exactly at the same
    Bregman projection as the flow (:mod:`implicit_bias.theory.diagonal_networks`).

    ``beta_scale`` is a static field: changing it recompiles (it is not a swept scalar).

    Attributes:
        potential: ``entropy``, ``hyperbolic_entropy`` or ``euclidean``.
        beta_scale: the scale :math:`\beta > 0` of the hyperbolic entropy (ignored otherwise).

    References:
        Nemirovski & Yudin (1983), *Problem complexity and method efficiency in optimization*;
        Beck & Teboulle (2003), "Mirror descent and nonlinear projected subgradient methods
        for convex optimization", Oper. Res. Lett.; Kivinen & Warmuth (1997), "Exponentiated
        gradient versus gradient descent for linear predictors", Inf. Comput.; Ghai, Hazan &
        Singer (2020), "Exponentiated gradient meets gradient descent", ALT; Woodworth et al.
        (2020), "Kernel and rich regimes in overparametrized models", COLT.
    """

    potential: str = "entropy"
    beta_scale: float = 1.0

    def __check_init__(self):
        check(
            self.potential in POTENTIALS,
            "integrator.potential",
            self.potential,
            f"one of {list(POTENTIALS)}",
        )
        check(self.beta_scale > 0, "integrator.beta_scale", self.beta_scale, "a float > 0")

    def mirror_map(self, x: Float[Array, "*s"]) -> Float[Array, "*s"]:
        r"""``grad psi(x)``: primal to dual."""
        if self.potential == "entropy":
            return jnp.log(x)
        if self.potential == "hyperbolic_entropy":
            return jnp.arcsinh(x / self.beta_scale)
        return x

    def inverse_mirror_map(self, z: Float[Array, "*s"]) -> Float[Array, "*s"]:
        r"""``grad psi^*(z) = (grad psi)^{-1}(z)``: dual to primal."""
        if self.potential == "entropy":
            return jnp.exp(z)
        if self.potential == "hyperbolic_entropy":
            return self.beta_scale * jnp.sinh(z)
        return z

    def init(
        self, problem: Problem, params: Params, lr: Float[Array, ""], key: PRNGKeyArray
    ) -> MirrorDescentState:
        del problem, lr, key
        return MirrorDescentState(params, jax.tree.map(self.mirror_map, params))

    def step(
        self, problem: Problem, state: MirrorDescentState, lr: Float[Array, ""]
    ) -> tuple[MirrorDescentState, Float[Array, ""]]:
        loss, grads = problem.value_and_grad(state.params)
        dual = jax.tree.map(lambda z, g: z - lr * g, state.dual, grads)
        return MirrorDescentState(jax.tree.map(self.inverse_mirror_map, dual), dual), loss

    def params(self, state: MirrorDescentState) -> Params:
        return state.params

    def stability_threshold(self, lr, initial_sharpness=None):
        """``2/lr`` for the Euclidean potential (plain GD); ``None`` otherwise: the stability
        of mirror descent is about the Hessian preconditioned by the inverse Hessian of the
        potential, not the sharpness."""
        del initial_sharpness
        return 2.0 / lr if self.potential == "euclidean" else None
