r"""Full-batch gradient descent through optax, with heavy-ball or Nesterov momentum."""

import equinox as eqx
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .._types import Params
from ..errors import check
from ..sharpness import sharpness
from ._base import AbstractDiscreteIntegrator

#: Names of ``integrator.lr_unit``.
LR_UNITS = ("absolute", "edge")
#: Lanczos iterations of the initial sharpness behind ``lr_unit=edge`` (25 is the engine's
#: default budget; 40 gives the top eigenvalue of the test problems to ~1e-7 relative).
EDGE_LANCZOS_ITERS = 40


def momentum_threshold(lr, momentum: float, nesterov: bool):
    r"""The linear-stability threshold of the sharpness for GD with (heavy-ball or Nesterov)
    momentum, in the form of ``optax.sgd``.

    On a quadratic with curvature :math:`\lambda`, heavy ball
    (:math:`m_t = g_t + \beta m_{t-1}`, :math:`\theta_{t+1} = \theta_t - \eta m_t`) is a linear
    recursion with characteristic polynomial :math:`z^2 - (1 + \beta - \eta\lambda) z + \beta`;
    its roots stay in the unit disk iff :math:`\eta\lambda < 2(1 + \beta)` (Jury's criterion
    at :math:`z = -1`: :math:`1 + (1 + \beta - \eta\lambda) + \beta > 0`). Nesterov
    (:math:`\theta_{t+1} = \theta_t - \eta(g_t + \beta m_t)`) has
    :math:`z^2 - (1 + \beta - \eta\lambda(1 + \beta)) z + \beta(1 - \eta\lambda)`, stable iff
    :math:`\eta\lambda < 2(1 + \beta)/(1 + 2\beta)`. These are the thresholds of Cohen et al.
    (2021), Appendix B ("2 + 2 beta over eta" and "(2 + 2 beta) / ((1 + 2 beta) eta)");
    ``tests/test_integrators.py`` checks both against the spectral radius of optax's own
    update. ``momentum = 0``: ``2 / lr``.

    Args:
        lr: step size(s) :math:`\eta`.
        momentum: :math:`\beta \in [0, 1)`.
        nesterov: Nesterov's variant.

    Returns:
        The threshold, same shape as ``lr``.
    """
    beta = momentum
    factor = 2.0 * (1.0 + beta) / (1.0 + 2.0 * beta) if nesterov else 2.0 * (1.0 + beta)
    return factor / lr


class GDState(eqx.Module):
    """State of :class:`GD`.

    Attributes:
        params: the trainable parameters.
        opt_state: optax's state (the momentum buffer).
        lr_scale: the factor from the given ``lr`` to the step taken: 1, or the critical step
            at initialization for ``lr_unit=edge``.
    """

    params: Params
    opt_state: optax.OptState
    lr_scale: Float[Array, ""]


class GD(AbstractDiscreteIntegrator):
    r"""Full-batch gradient descent, optionally with (heavy-ball or Nesterov) momentum.

    .. math:: \theta_{t+1} = \theta_t - \eta \nabla L(\theta_t)

    (with momentum: ``optax.sgd(lr, momentum, nesterov)``). Stable on a quadratic iff the
    sharpness is below ``2 / lr`` (the edge of stability of Cohen et al. 2021), ``2(1 + beta)
    / lr`` with heavy-ball momentum, ``2(1 + beta) / ((1 + 2 beta) lr)`` with Nesterov's
    (:func:`momentum_threshold`, :meth:`stability_threshold`).

    **lr in units of the edge** (``lr_unit=edge``): the given ``lr`` is a multiple of the
    run's critical step at initialization, :math:`\eta = \mathrm{lr}\cdot c/\lambda_0`, where
    :math:`\lambda_0` is the sharpness at the run's initialization (Lanczos,
    :data:`EDGE_LANCZOS_ITERS` iterations) and :math:`c` the threshold factor above (2 for
    plain GD). ``lr = 1`` is the edge; the catapult phase of Lewkowycz et al. (2020) is
    ``1 < lr < ~2`` for plain GD (their :math:`\eta_{crit} = 2/\lambda_0` and
    :math:`\eta_{max} \approx 4/\lambda_0`, Section 2). Each run of a batch gets its own
    :math:`\lambda_0` (it depends on the seed), so one lr grid in these units serves every
    seed. The sharpness then has its threshold at :math:`\lambda_0 / \mathrm{lr}`.
    :math:`\lambda_0` must be positive (otherwise the step is not finite and the run is
    recorded as diverged).

    Attributes:
        momentum: heavy-ball coefficient in [0, 1); 0 is plain GD.
        nesterov: use Nesterov momentum.
        lr_unit: ``absolute`` (the lr is the step) or ``edge`` (the lr is in units of the
            critical step at initialization).
    """

    momentum: float = 0.0
    nesterov: bool = False
    lr_unit: str = "absolute"

    def __check_init__(self):
        check(0.0 <= self.momentum < 1.0, "integrator.momentum", self.momentum, "a float in [0, 1)")
        check(
            self.lr_unit in LR_UNITS, "integrator.lr_unit", self.lr_unit, f"one of {list(LR_UNITS)}"
        )

    def _optimizer(self, lr) -> optax.GradientTransformation:
        return optax.sgd(lr, momentum=self.momentum or None, nesterov=self.nesterov)

    def _factor(self) -> float:
        return momentum_threshold(1.0, self.momentum, self.nesterov)

    def init(self, problem, params, lr, key):
        if self.lr_unit == "edge":
            lam0 = sharpness(problem.loss, params, key, num_iters=EDGE_LANCZOS_ITERS).eigenvalue
            # lam0 <= 0: no edge; a non-finite step makes the run diverge, visibly.
            scale = jnp.where(lam0 > 0, self._factor() / lam0, jnp.nan).astype(lr.dtype)
        else:
            scale = jnp.ones((), lr.dtype)
        return GDState(params, self._optimizer(lr * scale).init(params), scale)

    def step(self, problem, state, lr):
        loss, grads = problem.value_and_grad(state.params)
        opt = self._optimizer(lr * state.lr_scale)
        updates, opt_state = opt.update(grads, state.opt_state, state.params)
        return GDState(optax.apply_updates(state.params, updates), opt_state, state.lr_scale), loss

    def params(self, state):
        return state.params

    def stability_threshold(self, lr, initial_sharpness=None):
        """``2/lr``, or the momentum threshold (:func:`momentum_threshold`); with
        ``lr_unit=edge``, ``initial_sharpness / lr`` (``None`` without it)."""
        if self.lr_unit == "edge":
            return None if initial_sharpness is None else initial_sharpness / lr
        return momentum_threshold(lr, self.momentum, self.nesterov)
