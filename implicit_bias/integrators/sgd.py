"""Minibatch stochastic gradient descent through optax."""

import equinox as eqx
import jax
import optax
from jaxtyping import PRNGKeyArray

from ..errors import check
from ._base import AbstractDiscreteIntegrator
from .gd import momentum_threshold


class SGDState(eqx.Module):
    params: dict
    opt_state: optax.OptState
    key: PRNGKeyArray


class SGD(AbstractDiscreteIntegrator):
    r"""Minibatch SGD: at each step a batch B of ``batch_size`` samples is drawn without
    replacement, from the trajectory's own PRNG stream (independent of data and init),

    .. math:: \theta_{t+1} = \theta_t - \eta \nabla \frac{1}{|B|}\sum_{i\in B} \ell_i(\theta_t).

    The returned loss (for divergence checks) is the minibatch loss.

    Attributes:
        batch_size: samples per step (must not exceed n).
        momentum: heavy-ball coefficient in [0, 1).
    """

    batch_size: int = 8
    momentum: float = 0.0

    def __check_init__(self):
        check(self.batch_size >= 1, "integrator.batch_size", self.batch_size, "an integer >= 1")
        check(0.0 <= self.momentum < 1.0, "integrator.momentum", self.momentum, "a float in [0, 1)")

    def _optimizer(self, lr):
        return optax.sgd(lr, momentum=self.momentum or None)

    def init(self, problem, params, lr, key):
        check(
            self.batch_size <= problem.data.n,
            "integrator.batch_size",
            self.batch_size,
            f"at most the number of samples n={problem.data.n}",
        )
        return SGDState(params, self._optimizer(lr).init(params), key)

    def step(self, problem, state, lr):
        key, sub = jax.random.split(state.key)
        idx = jax.random.choice(sub, problem.data.n, (self.batch_size,), replace=False)
        loss, grads = problem.batch_value_and_grad(state.params, idx)
        updates, opt_state = self._optimizer(lr).update(grads, state.opt_state, state.params)
        return SGDState(optax.apply_updates(state.params, updates), opt_state, key), loss

    def params(self, state):
        return state.params

    def stability_threshold(self, lr, initial_sharpness=None):
        """The full-batch GD threshold with the same momentum, ``2(1 + beta) / lr``
        (:func:`~implicit_bias.integrators.gd.momentum_threshold`): the line SGD's sharpness is
        compared with (Cohen et al. 2021, Appendix; minibatch noise keeps SGD below it)."""
        del initial_sharpness
        return momentum_threshold(lr, self.momentum, False)
