"""Any optax optimizer by name (Adam and friends), full batch."""

import functools
import inspect
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .._types import Params
from ..errors import ConfigError, check
from ._base import AbstractDiscreteIntegrator


@functools.cache
def optimizer_names() -> tuple[str, ...]:
    """The optax optimizers usable by name: the functions of ``optax`` with a
    ``learning_rate`` argument that return a gradient transformation (``adam``, ``adamw``,
    ``sgd``, ``rmsprop``, ``lion``, ...)."""
    names = []
    for name in dir(optax):
        fn = getattr(optax, name)
        if name.startswith("_") or not inspect.isfunction(fn):
            continue
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            continue
        if "learning_rate" in params:
            names.append(name)
    return tuple(sorted(names))


class OptaxState(eqx.Module):
    params: Params
    opt_state: optax.OptState


class Optax(AbstractDiscreteIntegrator):
    r"""The full-batch optax optimizer ``optax.<name>(learning_rate=lr, **options)``.

    For what the framework does not build in: ``integrator=optax integrator.name=adam
    integrator.options='{b1: 0.9, b2: 0.999}'``. The learning rate is the swept ``lr``
    (traced, no recompilation); ``options`` are static.

    **No stability line.** Adaptive methods are not governed by the sharpness: full-batch Adam
    trains at the edge of stability of the *preconditioned* Hessian
    :math:`P_t^{-1}\nabla^2 L`, whose top eigenvalue hovers at
    :math:`(2 + 2\beta_1)/((1 - \beta_1)\eta)` (38/lr for :math:`\beta_1 = 0.9`) while the raw
    sharpness does not equilibrate at any :math:`c/\eta` (Cohen et al. 2022, "Adaptive gradient
    methods at the edge of stability", Section 3). :meth:`stability_threshold` is therefore
    ``None`` (no ``2/lr`` line is drawn) for every optimizer of this class, ``sgd`` included
    (use ``integrator=gd`` for GD and its lines).

    Attributes:
        name: a function of :func:`optimizer_names` (``adam``, ``adamw``, ``rmsprop``, ...).
        options: keyword arguments of ``optax.<name>`` other than ``learning_rate``.

    Raises:
        ConfigError: for an unknown name or options ``optax.<name>`` refuses.
    """

    name: str = "adam"
    options: dict[str, Any] | None = None

    def __check_init__(self):
        names = optimizer_names()
        check(self.name in names, "integrator.name", self.name, f"one of optax's {list(names)}")
        check(
            "learning_rate" not in (self.options or {}),
            "integrator.options.learning_rate",
            (self.options or {}).get("learning_rate"),
            "absent (the learning rate is the top-level lr)",
        )
        try:
            opt = self._optimizer(0.1)
        except TypeError as e:
            raise ConfigError(
                "integrator.options", self.options, f"keyword arguments of optax.{self.name} ({e})"
            ) from None
        # One abstract step (no FLOPs): optimizers whose update needs more than the gradient
        # (optax.lbfgs wants the loss value and function) are refused here, not mid-run.
        p = {"w": jnp.zeros(2)}
        try:
            jax.eval_shape(lambda: opt.update(p, opt.init(p), p))
        except TypeError as e:
            raise ConfigError(
                "integrator.name",
                self.name,
                f"an optimizer whose update takes (gradient, state, params) only ({e})",
            ) from None

    def _optimizer(self, lr) -> optax.GradientTransformation:
        return getattr(optax, self.name)(learning_rate=lr, **(self.options or {}))

    def init(self, problem, params, lr, key):
        del problem, key
        return OptaxState(params, self._optimizer(lr).init(params))

    def step(self, problem, state, lr):
        loss, grads = problem.value_and_grad(state.params)
        updates, opt_state = self._optimizer(lr).update(grads, state.opt_state, state.params)
        return OptaxState(optax.apply_updates(state.params, updates), opt_state), loss

    def params(self, state):
        return state.params
