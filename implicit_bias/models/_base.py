"""The abstract model interface."""

import abc
from typing import ClassVar

import equinox as eqx
from jaxtyping import Array, Float, PRNGKeyArray

from .._types import Params


class AbstractModel(eqx.Module):
    """A parametric predictor ``f(params, x)``.

    Subclasses are ``eqx.Module`` dataclasses holding only static structure (sizes, depth,
    activation); the parameters live outside, in an ordered ``dict`` (see ``param_shapes``), so
    that one compiled program serves every seed and init scale.

    Attributes:
        linear_in_x: whether ``f(params, x) = predictor(params) . x``. The square loss of such a
            model depends on the data only through its second moments, which makes a training
            step cost independent of the number of samples.
        frozen: names of parameters drawn at init but never trained (e.g. a fixed projection).
    """

    linear_in_x: ClassVar[bool] = False
    frozen: ClassVar[tuple[str, ...]] = ()

    @abc.abstractmethod
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Ordered mapping from parameter name to shape, input side first."""

    @abc.abstractmethod
    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        """Predictions on a batch of inputs."""

    def apply_for_grad(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        """:meth:`apply` for reverse-mode gradients only (the integrators' training gradient).

        Same values as :meth:`apply`; a model may override it with a faster forward pass that
        only reverse-mode autodiff can go through (e.g. ``jax.custom_vjp`` layers). Everything
        that differentiates in forward mode (Hessian-vector products) uses :meth:`apply`.
        Default: :meth:`apply`.
        """
        return self.apply(params, x)

    def predictor(self, params: Params) -> Float[Array, " d"]:
        """End-to-end linear map ``w`` with ``f(x) = w . x`` (models linear in x only)."""
        raise NotImplementedError(f"{type(self).__name__} is not linear in x")

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
