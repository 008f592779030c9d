"""The abstract initialization scheme."""

import abc

import equinox as eqx
import jax
from jaxtyping import Array, Float, PRNGKeyArray

from .._random import normals
from .._types import Params
from ..errors import check_finite_fields
from ..models._base import AbstractModel


class AbstractInit(eqx.Module):
    """An initialization scheme: ``init(key, model, scale, dtype) -> params``.

    ``scale`` is a traced scalar (it is swept), so a scheme must use it arithmetically only.
    Frozen parameters are drawn by the model itself (``model.init_frozen``).
    """

    def __check_init__(self):
        # Every float field (of every member) is finite: one check for the family.
        check_finite_fields(self, "init")

    @abc.abstractmethod
    def init_trainable(
        self, key: PRNGKeyArray, model: AbstractModel, scale: Float[Array, ""], dtype
    ) -> Params:
        """Initial values of the trainable parameters."""

    def __call__(
        self, key: PRNGKeyArray, model: AbstractModel, scale: Float[Array, ""], dtype
    ) -> Params:
        k_train, k_frozen = jax.random.split(key)
        params = self.init_trainable(k_train, model, scale, dtype)
        params.update(model.init_frozen(k_frozen, dtype))
        return {k: params[k] for k in model.param_shapes()}


def trainable_shapes(model: AbstractModel) -> dict[str, tuple[int, ...]]:
    return {k: s for k, s in model.param_shapes().items() if k not in model.frozen}


def gaussian_params(key, shapes: dict[str, tuple[int, ...]], scale, dtype) -> Params:
    """Entries i.i.d. N(0, scale^2), one array per shape."""
    return {name: scale * z for name, z in normals(key, shapes, dtype).items()}
