r"""1-SAM: sharpness-aware minimization with a per-example ascent step."""

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .._types import Params
from .sam import AbstractSharpnessAware


class OneSAMState(eqx.Module):
    params: Params
    opt_state: optax.OptState


class OneSAM(AbstractSharpnessAware):
    r"""1-SAM (Andriushchenko & Flammarion 2022, "Towards understanding sharpness-aware
    minimization", ICML, Sec. 2 and 4): the adversarial step is taken for each training example
    separately, at its own loss :math:`\ell_i`, and the descent direction averages the
    per-example gradients at the perturbed points,

    .. math::
        \theta_{t+1} = \theta_t - \frac{\eta}{n}\sum_{i=1}^{n}\nabla\ell_i\big(\theta_t +
        \rho\,\delta_i(\theta_t)\big),\qquad
        \delta_i = \frac{\nabla\ell_i(\theta_t)}{\|\nabla\ell_i(\theta_t)\|}
        \ \ (\texttt{normalize=True}),\qquad
        \delta_i = \nabla\ell_i(\theta_t)\ \ (\texttt{normalize=False}),

    where :math:`L = \frac1n\sum_i\ell_i` is the training loss (every loss of the library is a
    mean over samples, :class:`~implicit_bias.losses.AbstractLoss`). Full-batch SAM
    (:class:`~implicit_bias.integrators.SAM`, "n-SAM") perturbs once, along
    :math:`\nabla L`; with ``n = 1`` the two coincide. The paper's diagonal-network analysis
    and its experiments use the unnormalized step (``normalize=False``, their eq. (2)): for
    :math:`\beta = u\odot v` (equivalently :math:`u^2 - v^2`) 1-SAM's implicit regularizer is
    that of gradient flow from a smaller effective initialization, shrunk by a factor
    :math:`\exp(-c\rho\int\!\sum_i r_i^2 x_i^2)`, while n-SAM's factor involves the full-batch
    residual only, :math:`(\sum_i r_i x_i)^2 / n`, which vanishes much faster: 1-SAM is biased
    towards sparse interpolators far more strongly (their Theorem 2 and Fig. 3;
    ``+experiment=sam_diagonal``).

    **Cost and shapes.** One step evaluates ``2n`` per-example gradients (``problem.
    batch_value_and_grad`` on one-sample batches, under ``jax.vmap`` over the n samples): the
    per-example gradients, a pytree like the parameters with a leading axis of length n,
    live in memory at once. The loss returned (for divergence checks) is the mean of the
    per-example losses at :math:`\theta_t`, the full-batch training loss.

    The outer step is ``optax.sgd`` (optionally heavy-ball ``momentum``) on the averaged
    perturbed gradient; ``rho = 0`` is gradient descent. No threshold of the sharpness alone
    decides its stability (:meth:`stability_threshold` is ``None``): the per-example ascent
    steps depend on each sample's gradient.

    Attributes:
        rho: the radius :math:`\rho \ge 0` of the per-example adversarial steps (static:
            changing it recompiles).
        normalize: normalize each per-example gradient (1-SAM) or not (unnormalized 1-SAM,
            the paper's variant on diagonal networks).
        momentum: heavy-ball coefficient of the outer step, in [0, 1).
    """

    def _optimizer(self, lr) -> optax.GradientTransformation:
        return optax.sgd(lr, momentum=self.momentum or None)

    def init(self, problem, params, lr, key):
        del problem, key
        return OneSAMState(params, self._optimizer(lr).init(params))

    def perturbed_gradient(self, problem, params: Params) -> tuple[jax.Array, Params]:
        """The training loss at ``params`` and the 1-SAM direction
        :math:`\\frac1n\\sum_i\\nabla\\ell_i(\\theta + \\rho\\delta_i)`."""
        tiny = jnp.finfo(jax.tree.leaves(params)[0].dtype).tiny

        def one(i):
            idx = i[None]
            loss_i, g = problem.batch_value_and_grad(params, idx)
            scale = self.rho
            if self.normalize:
                # Finite at g = 0 (an interpolated sample): no step, as in sam.py.
                scale = scale / jnp.maximum(optax.tree.norm(g), tiny)
            adv = jax.tree.map(lambda p, gi: p + scale * gi, params, g)
            _, g_adv = problem.batch_value_and_grad(adv, idx)
            return loss_i, g_adv

        losses, grads = jax.vmap(one)(jnp.arange(problem.data.n))
        return jnp.mean(losses), jax.tree.map(lambda g: jnp.mean(g, axis=0), grads)

    def step(self, problem, state, lr):
        loss, grads = self.perturbed_gradient(problem, state.params)
        updates, opt_state = self._optimizer(lr).update(grads, state.opt_state, state.params)
        return OneSAMState(optax.apply_updates(state.params, updates), opt_state), loss

    def params(self, state):
        return state.params
