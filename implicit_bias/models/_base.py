"""The abstract model interface."""

import abc
from typing import ClassVar

import equinox as eqx
from jaxtyping import Array, Float, PRNGKeyArray

from .._types import Params
from ..errors import check_finite_fields


class AbstractModel(eqx.Module):
    """A parametric predictor ``f(params, x)``.

    Subclasses are ``eqx.Module`` dataclasses holding only static structure (sizes, depth,
    activation); the parameters live outside, in an ordered ``dict`` (see ``param_shapes``), so
    that one compiled program serves every seed and init scale.

    Two sub-interfaces declare what the engine may exploit: :class:`AbstractLinearModel`
    (``f(params, x) = predictor(params) . x``) and :class:`AbstractReverseModeModel` (a faster
    forward pass for training gradients).

    Attributes:
        input_dim: d, the dimension of one input (checked against the data's when an
            experiment is built). A field or a property of each model.
        frozen: names of parameters drawn at init but never trained (e.g. a fixed projection).
    """

    input_dim: eqx.AbstractVar[int]
    frozen: ClassVar[tuple[str, ...]] = ()

    def __check_init__(self):
        # Every float field (of every member) is finite: one check for the family.
        check_finite_fields(self, "model")

    @abc.abstractmethod
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Ordered mapping from parameter name to shape, input side first."""

    @abc.abstractmethod
    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, "n ..."]:
        """Predictions on a batch of inputs: shape (n,) for one output, (n, k) for k outputs
        (matching the targets' shape, checked when an experiment is built)."""

    def init_frozen(self, key: PRNGKeyArray, dtype) -> Params:
        """Draw the frozen (never trained) parameters. Default: none."""
        del key, dtype
        return {}

    def extra_metrics(self, params: Params) -> dict[str, Float[Array, ""]]:
        """Model-specific scalars recorded along training (e.g. balancedness). Default: none."""
        del params
        return {}

    @property
    def num_params(self) -> int:
        """Number of trainable scalars."""
        n = 0
        for name, shape in self.param_shapes().items():
            if name not in self.frozen:
                size = 1
                for s in shape:
                    size *= s
                n += size
        return n


class AbstractLinearModel(AbstractModel):
    r"""A model linear in its input: :math:`f(\theta, x) = w(\theta)\cdot x`.

    The square loss of such a model depends on the data only through its second moments
    (:class:`~implicit_bias.data.Dataset`), which makes a training step cost independent of the
    number of samples; the engine also records the end-to-end vector ``w`` (``predictor``) and
    its distance to the data's reference regressor.
    """

    def spans_linear_predictors(self) -> bool:
        """Whether every vector ``w`` is ``predictor(params)`` for some parameters (then the
        model's smallest training loss is that of the best linear predictor, which the run's
        status compares the final loss with: :meth:`implicit_bias.problem.Problem.optimal_loss`).
        Default ``False`` (not claimed)."""
        return False

    @abc.abstractmethod
    def predictor(self, params: Params) -> Float[Array, " d"]:
        """The end-to-end vector ``w`` with ``f(x) = w . x``, shape (d,)."""

    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        """``x @ predictor(params)``, shape (n,)."""
        return x @ self.predictor(params)


class AbstractReverseModeModel(AbstractModel):
    """A model with a second forward pass that only reverse-mode autodiff goes through.

    The integrators' training gradient uses :meth:`apply_for_grad` (e.g. ``jax.custom_vjp``
    layers, several times faster on CPU for narrow networks); everything that differentiates in
    forward mode (Hessian-vector products) and every metric uses :meth:`apply`. Both give the
    same values to rounding (tested).
    """

    @abc.abstractmethod
    def apply_for_grad(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, "n ..."]:
        """:meth:`apply`, for reverse-mode gradients only; same shape."""


def split_frozen(model: AbstractModel, params: Params) -> tuple[Params, Params]:
    """Split ``params`` into (trainable, frozen) dicts."""
    trainable = {k: v for k, v in params.items() if k not in model.frozen}
    frozen = {k: v for k, v in params.items() if k in model.frozen}
    return trainable, frozen


def merge(model: AbstractModel, trainable: Params, frozen: Params) -> Params:
    """Inverse of :func:`split_frozen`, in the model's parameter order."""
    both = {**trainable, **frozen}
    return {k: both[k] for k in model.param_shapes() if k in both}


def chain_product(mats: list[Array]) -> Array:
    """``mats[-1] @ ... @ mats[0]`` (layers listed input side first)."""
    out = mats[0]
    for m in mats[1:]:
        out = m @ out
    return out


def row_chain(v: Float[Array, " m"], mats: list[Array]) -> Float[Array, " d"]:
    """``v^T mats[-1] ... mats[0]`` as a chain of vector-matrix products.

    For a scalar-output network this is L O(m^2) products instead of L O(m^3) ones; batched
    with vmap on CPU it is also what XLA runs fastest (measured 40x faster than the matrix
    chain for the Marion & Chizat model: benchmarks/engine.py).
    """
    for m in reversed(mats):
        v = v @ m
    return v
