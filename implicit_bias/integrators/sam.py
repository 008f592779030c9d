r"""Sharpness-aware minimization (SAM) through ``optax.contrib.sam``."""

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .._types import Params
from ..errors import check
from ._base import AbstractDiscreteIntegrator
from .gd import momentum_threshold


class SAMState(eqx.Module):
    params: Params
    opt_state: optax.OptState


def _normalize(eps: float) -> optax.GradientTransformation:
    # g / ||g|| (global norm over every parameter), as optax.contrib.normalize, but finite at
    # g = 0: float32 gradients underflow to exact zeros at a minimum of a diagonal network,
    # where g / ||g|| would be NaN and the run recorded as diverged.
    def update(updates, state, params=None):
        del params
        norm = optax.tree.norm(updates)
        return jax.tree.map(lambda g: g / jnp.maximum(norm, eps), updates), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


class AbstractSharpnessAware(AbstractDiscreteIntegrator):
    """The fields and checks shared by full-batch SAM and 1-SAM (:class:`SAM`,
    :class:`~implicit_bias.integrators.OneSAM`): the adversarial radius, whether the
    adversarial gradient is normalized, and the outer step's heavy-ball momentum."""

    rho: float = 0.05
    normalize: bool = True
    momentum: float = 0.0

    def __check_init__(self):
        check(self.rho >= 0, "integrator.rho", self.rho, "a float >= 0")
        check(0.0 <= self.momentum < 1.0, "integrator.momentum", self.momentum, "a float in [0, 1)")


class SAM(AbstractSharpnessAware):
    r"""Sharpness-aware minimization (Foret et al. 2021), full batch:

    .. math::
        \theta_{t+1} = \theta_t - \eta\,\nabla L\Big(\theta_t + \rho\,
        \frac{\nabla L(\theta_t)}{\|\nabla L(\theta_t)\|}\Big)

    (Foret et al., eq. (3)-(4), the first-order solution of the inner maximization over the
    ball of radius :math:`\rho`); with ``normalize=False``, the unnormalized variant
    :math:`\theta_t - \eta\nabla L(\theta_t + \rho\nabla L(\theta_t))` ("USAM",
    Andriushchenko & Flammarion 2022, eq. (2)). Built as ``optax.contrib.sam`` in opaque mode
    (one engine step = one SAM step, two gradient evaluations) with an outer ``optax.sgd``
    (optionally heavy-ball momentum) and the adversarial step ``normalize -> sgd(rho)``; the
    norm is the global one over all trainable parameters. ``rho = 0`` is gradient descent.

    On a diagonal linear network, full-batch SAM ("n-SAM") from the same initialization ends
    in a flatter region than GD, but not at a sparser interpolator; the sparsity bias of
    Andriushchenko & Flammarion (2022) is 1-SAM's, an ascent step per training example
    (:class:`~implicit_bias.integrators.OneSAM`; measured in ``+experiment=sam_diagonal``).

    **Stability.** Unnormalized SAM on a quadratic with curvature :math:`\lambda` multiplies
    the error by :math:`1 - \eta\lambda(1 + \rho\lambda)`: stable iff
    :math:`\lambda(1 + \rho\lambda) < 2/\eta` (with heavy-ball momentum, :math:`2(1+\beta)/\eta`),
    i.e. :math:`\lambda < (\sqrt{1 + 4\rho c} - 1)/(2\rho)` with :math:`c` that threshold
    (:meth:`stability_threshold`). Normalized SAM has no threshold of the sharpness alone: its
    edge depends on the gradient norm (Long & Bartlett 2024, "Sharpness-aware minimization and
    the edge of stability", JMLR): ``None``, no line is drawn.

    Attributes:
        rho: the radius :math:`\rho \ge 0` of the adversarial step (static: changing it
            recompiles).
        normalize: normalize the adversarial gradient (SAM) or not (USAM).
        momentum: heavy-ball coefficient of the outer step, in [0, 1).
    """

    def _optimizer(self, lr, dtype) -> optax.GradientTransformationExtraArgs:
        outer = optax.sgd(lr, momentum=self.momentum or None)
        adv = optax.sgd(self.rho)
        if self.normalize:
            adv = optax.chain(_normalize(float(jnp.finfo(dtype).tiny)), adv)
        return optax.contrib.sam(outer, adv, sync_period=2, opaque_mode=True)

    def init(self, problem, params, lr, key):
        del problem, key
        return SAMState(params, self._optimizer(lr, lr.dtype).init(params))

    def step(self, problem, state, lr):
        loss, grads = problem.value_and_grad(state.params)

        def grad_fn(p, i):
            del i
            return problem.grad(p)

        updates, opt_state = self._optimizer(lr, lr.dtype).update(
            grads, state.opt_state, state.params, grad_fn=grad_fn
        )
        return SAMState(optax.apply_updates(state.params, updates), opt_state), loss

    def params(self, state):
        return state.params

    def stability_threshold(self, lr, initial_sharpness=None):
        """``None`` for SAM; for USAM the root of ``lambda (1 + rho lambda) = 2(1 + beta) / lr``."""
        del initial_sharpness
        if self.normalize:
            return None
        c = momentum_threshold(lr, self.momentum, False)
        if self.rho == 0:
            return c
        return ((1.0 + 4.0 * self.rho * c) ** 0.5 - 1.0) / (2.0 * self.rho)
