"""The abstract loss."""

import abc

import equinox as eqx
from jaxtyping import Array, Float

from .._types import Params
from ..data._dataset import Dataset
from ..models._base import AbstractModel


class AbstractLoss(eqx.Module):
    """A training objective ``loss(model, params, data) -> scalar`` (mean over samples).

    Attributes:
        task: ``"regression"``, ``"classification"`` (labels in {-1, +1}) or ``"multiclass"``
            (one-hot targets); checked against the data generator when an experiment is built
            (see :attr:`tasks`).
    """

    task: eqx.AbstractClassVar[str]

    @property
    def tasks(self) -> tuple[str, ...]:
        """The data tasks this loss trains on (checked when an experiment is built): its own
        ``task`` (default); the square loss also trains on labels and one-hot classes."""
        return (self.task,)

    def __call__(self, model: AbstractModel, params: Params, data: Dataset) -> Float[Array, ""]:
        """Training loss."""
        return self.evaluate(model, params, data.X, data.y)

    def test(self, model: AbstractModel, params: Params, data: Dataset) -> Float[Array, ""]:
        """Loss on the test set."""
        return self.evaluate(model, params, data.X_test, data.y_test)

    @abc.abstractmethod
    def evaluate(
        self, model: AbstractModel, params: Params, X: Float[Array, "n d"], y: Float[Array, " n"]
    ) -> Float[Array, ""]:
        """Loss on the given samples (direct path, through the model's forward pass)."""
