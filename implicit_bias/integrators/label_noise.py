r"""Label-noise (S)GD: every step trains on freshly perturbed regression targets."""

import equinox as eqx
import jax
import optax
from jaxtyping import PRNGKeyArray

from .._types import Params
from ..errors import check
from ._base import AbstractDiscreteIntegrator


class LabelNoiseState(eqx.Module):
    params: Params
    key: PRNGKeyArray


class LabelNoiseSGD(AbstractDiscreteIntegrator):
    r"""(Stochastic) gradient descent on targets perturbed afresh at every step,

    .. math::
        \theta_{t+1} = \theta_t - \eta\,\nabla_\theta \frac{1}{|B_t|}\sum_{i\in B_t}
        \ell\big(f_\theta(x_i),\ y_i + \sigma\xi_{t,i}\big),\qquad \xi_{t,i}\sim N(0, 1)
        \text{ i.i.d.},

    with :math:`B_t` a minibatch drawn without replacement (``batch_size``) or every sample
    (``batch_size = null``, label-noise GD). This is the algorithm of Blanc, Gupta, Valiant &
    Valiant (2020), eq. (1), HaoChen, Wei, Lee & Ma (2021) and Damian, Ma & Lee (2021),
    Section 2: near a manifold of interpolating minima the noise drives the iterates along it
    towards small :math:`\mathrm{tr}\,\nabla^2 L` (Damian et al., Theorem 2.3: an
    :math:`(\epsilon, \gamma)`-stationary point of the trace-regularized loss), on a time scale
    :math:`\sim 1/(\eta\sigma^2)` steps; GD from the same point stays where it lands. For the
    square loss the noise only adds :math:`-\frac{2\sigma}{|B|}\sum_i \xi_{t,i}\nabla f(x_i)`
    to the gradient. The noise is drawn from the run's own PRNG stream (independent of data
    and init).

    **Why the noise std is a static option, not a swept scalar.** A swept scalar is a field of
    :class:`~implicit_bias.Scalars` that the engine hands to the integrator; today the engine
    hands a discrete integrator only ``lr`` (``init(problem, params, lr, key)``,
    ``step(problem, state, lr)``). Sweeping ``sigma`` without recompiling would need a new
    field of ``Scalars``, of the config schema, of the launcher's grouping key and of the
    engine's integrator calls. Changing ``noise_std`` recompiles (a few seconds for the
    presets), and a sweep over it runs as one compiled group per value; every other swept
    scalar (lr, seeds, init scale) still batches.

    The stability threshold drawn is GD's ``2/lr`` (the noise does not change the Hessian of
    the square loss at an interpolating minimum, where the residuals vanish).

    Attributes:
        noise_std: :math:`\sigma \ge 0`, the std of the Gaussian target noise (0: (S)GD).
        batch_size: samples per step, or ``None`` for every sample (label-noise GD).

    Raises:
        ConfigError: for a negative ``noise_std``, a bad ``batch_size``, or a classification
            loss (targets in {-1, +1} are not perturbed by Gaussian noise).
    """

    noise_std: float = 0.1
    batch_size: int | None = None

    def __check_init__(self):
        check(self.noise_std >= 0, "integrator.noise_std", self.noise_std, "a float >= 0")
        check(
            self.batch_size is None or self.batch_size >= 1,
            "integrator.batch_size",
            self.batch_size,
            "null (every sample) or an integer >= 1",
        )

    def init(self, problem, params, lr, key):
        del lr
        if self.batch_size is not None:
            check(
                self.batch_size <= problem.data.n,
                "integrator.batch_size",
                self.batch_size,
                f"at most the number of samples n={problem.data.n}",
            )
        check(
            problem.loss_obj.task == "regression",
            "integrator",
            "label_noise",
            f"a regression loss (Gaussian label noise on real targets); the loss is "
            f"{type(problem.loss_obj).__name__.lower()}",
        )
        return LabelNoiseState(params, key)

    def step(self, problem, state, lr):
        key, k_batch, k_noise = jax.random.split(state.key, 3)
        y = problem.data.y
        if self.batch_size is None:
            idx = None
        else:
            idx = jax.random.choice(k_batch, problem.data.n, (self.batch_size,), replace=False)
            y = y[idx]
        noisy = y + self.noise_std * jax.random.normal(k_noise, y.shape, y.dtype)
        loss, grads = problem.batch_value_and_grad(state.params, idx, noisy)
        params = optax.apply_updates(state.params, jax.tree.map(lambda g: -lr * g, grads))
        return LabelNoiseState(params, key), loss

    def params(self, state):
        return state.params

    def stability_threshold(self, lr, initial_sharpness=None):
        """``2 / lr``, GD's."""
        del initial_sharpness
        return 2.0 / lr
