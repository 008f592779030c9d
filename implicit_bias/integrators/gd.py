"""Full-batch gradient descent through optax."""

import equinox as eqx
import optax

from ..errors import check
from ._base import AbstractDiscreteIntegrator


class GDState(eqx.Module):
    params: dict
    opt_state: optax.OptState


class GD(AbstractDiscreteIntegrator):
    r"""Full-batch gradient descent, optionally with (heavy-ball or Nesterov) momentum.

    .. math:: \theta_{t+1} = \theta_t - \eta \nabla L(\theta_t)

    (with momentum: ``optax.sgd(lr, momentum, nesterov)``). Stable on a quadratic iff
    ``eta < 2 / sharpness``: the edge-of-stability line ``2/lr`` of Cohen et al. (2021).

    Attributes:
        momentum: heavy-ball coefficient in [0, 1); 0 is plain GD.
        nesterov: use Nesterov momentum.
    """

    momentum: float = 0.0
    nesterov: bool = False

    def __check_init__(self):
        check(0.0 <= self.momentum < 1.0, "integrator.momentum", self.momentum, "a float in [0, 1)")

    def _optimizer(self, lr) -> optax.GradientTransformation:
        return optax.sgd(lr, momentum=self.momentum or None, nesterov=self.nesterov)

    def init(self, problem, params, lr, key):
        del problem, key
        return GDState(params, self._optimizer(lr).init(params))

    def step(self, problem, state, lr):
        loss, grads = problem.value_and_grad(state.params)
        updates, opt_state = self._optimizer(lr).update(grads, state.opt_state, state.params)
        return GDState(optax.apply_updates(state.params, updates), opt_state), loss

    def params(self, state):
        return state.params
