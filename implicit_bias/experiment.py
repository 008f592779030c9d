"""An experiment's static structure: everything whose change recompiles."""

import equinox as eqx
import jax
import jax.numpy as jnp

from .data._dataset import AbstractData
from .errors import ConfigError, check, is_finite
from .inits._base import AbstractInit
from .integrators._base import AbstractIntegrator
from .losses._base import AbstractLoss
from .losses.square import Square
from .models._base import AbstractModel
from .schedule import Schedule
from .sharpness import SharpnessSpec, SpectrumSpec

DTYPES = ("float32", "float64")
#: Most trainable parameters ``sharpness=exact`` accepts: it forms the dense p x p Hessian
#: (p Hessian-vector products) and diagonalizes it (O(p^3)) at every measurement; at p = 2000
#: that is already seconds per measurement on a CPU, and memory grows as p^2 per run.
EXACT_MAX_PARAMS = 2000


class Experiment(eqx.Module):
    """Everything about a trajectory that is *structure*: changing any field recompiles.

    The swept scalars (seed, init scale, lr, steps, t1) are not here; they are passed as
    :class:`Scalars`, traced, so that one compiled program serves a whole sweep group.

    Attributes:
        model, data, init, integrator, loss: the components.
        sharpness: how sharpness is measured.
        spectrum: which further parts of the Hessian spectrum are recorded (top-k / bottom-k
            eigenvalues, trace, spectral density); the default records none.
        record: where metrics are recorded.
        dtype: ``float32`` or ``float64``.
        divergence_threshold: a trajectory whose training loss exceeds this (or is not finite)
            is frozen and recorded as diverged.
        converge_tol: the relative gradient tolerance of ``converged``: a final gradient norm
            at most ``converge_tol * max(initial gradient norm, initial loss)``
            (:mod:`implicit_bias.status`).
    """

    model: AbstractModel
    data: AbstractData
    init: AbstractInit
    integrator: AbstractIntegrator
    loss: AbstractLoss = Square()
    sharpness: SharpnessSpec = SharpnessSpec()
    spectrum: SpectrumSpec = SpectrumSpec()
    record: Schedule = Schedule()
    dtype: str = "float32"
    divergence_threshold: float = 1e10
    converge_tol: float = 1e-4

    def __check_init__(self):
        check(self.dtype in DTYPES, "dtype", self.dtype, f"one of {list(DTYPES)}")
        for key in ("divergence_threshold", "converge_tol"):
            value = getattr(self, key)
            check(is_finite(value) and value > 0, key, value, "a finite float > 0")
        if self.model.input_dim != self.data.input_dim:
            raise ConfigError(
                "model.input_dim",
                self.model.input_dim,
                f"equal to the data dimension {self.data.input_dim} ({type(self.data).__name__})",
            )
        data_task = self.data.task
        if data_task not in self.loss.tasks:
            raise ConfigError(
                "loss",
                type(self.loss).__name__.lower(),
                f"a {data_task} loss for {type(self.data).__name__} data "
                f"(this loss is for {' or '.join(self.loss.tasks)})",
            )
        if self.record.every is not None and self.integrator.continuous:
            raise ConfigError(
                "record.every", self.record.every, "null for gradient flow (use record.num)"
            )
        p = self.model.num_params
        if self.sharpness.method == "exact" and p > EXACT_MAX_PARAMS:
            # Before anything compiles: the dense Hessian would run for minutes without a word.
            raise ConfigError(
                "sharpness",
                "exact",
                f"a model with at most {EXACT_MAX_PARAMS} trainable parameters (a dense p x p "
                f"Hessian at every measurement); {type(self.model).__name__} has {p}: use "
                "sharpness=lanczos (the default; same top eigenvalue, from Hessian-vector "
                "products)",
            )
        self._check_spectrum(p)
        # Trace the init abstractly (no FLOPs, no compilation) so that an init that does not
        # fit the model (init=residual on non-square matrices) is a config error when the
        # experiment is built, before a sweep computes anything, not inside a running batch.
        # The dtype as JAX has it now: a float64 experiment is often built (and checked) before
        # the launcher turns jax_enable_x64 on for its group, and a shape check needs no
        # float64 (asking for it would print JAX's "float64 is not available" warning).
        dtype = jax.dtypes.canonicalize_dtype(jnp.dtype(self.dtype))
        params = jax.eval_shape(
            lambda key: self.init(key, self.model, jnp.ones((), dtype), dtype),
            jax.random.key(0),
        )
        # Likewise the model's outputs against the targets: (n,) for one output, (n, k) for k
        # (a one-output model on one-hot targets would broadcast silently in the loss).
        data = jax.eval_shape(lambda key: self.data.sample(key, dtype), jax.random.key(0))
        out = jax.eval_shape(self.model.apply, params, data.X)
        if out.shape != data.y.shape:
            k = data.y.shape[1:]
            raise ConfigError(
                "model",
                f"{type(self.model).__name__} with outputs of shape {out.shape}",
                f"outputs of the targets' shape {data.y.shape} ("
                + (f"{k[0]} outputs: model=mlp model.output_dim={k[0]}" if k else "one output")
                + ")",
            )

    def _check_spectrum(self, p: int) -> None:
        spec = self.spectrum
        if spec.k_top + spec.k_bottom > p:
            raise ConfigError(
                "spectrum.k_top",
                spec.k_top,
                f"with spectrum.k_bottom={spec.k_bottom}, at most the {p} trainable parameters "
                f"of {type(self.model).__name__}",
            )
        if spec.threshold_c is not None and self.integrator.continuous:
            raise ConfigError(
                "spectrum.threshold_c",
                spec.threshold_c,
                "null for gradient flow (the threshold is threshold_c / lr)",
            )
        if spec.enabled and spec.operator == "gauss_newton" and not self.loss.has_output_form:
            raise ConfigError(
                "spectrum.operator",
                spec.operator,
                f"hessian for the loss {type(self.loss).__name__} (it has no form as a "
                "function of the model's outputs, which the Gauss-Newton matrix needs)",
            )

    @property
    def jnp_dtype(self):
        return jnp.dtype(self.dtype)
