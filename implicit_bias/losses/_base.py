"""The abstract loss."""

import abc

import equinox as eqx
from jaxtyping import Array, Float

from .._types import Params
from ..data._dataset import Dataset
from ..errors import check_finite_fields
from ..models._base import AbstractModel


class AbstractLoss(eqx.Module):
    """A training objective ``loss(model, params, data) -> scalar`` (mean over samples).

    Attributes:
        task: ``"regression"``, ``"classification"`` (labels in {-1, +1}) or ``"multiclass"``
            (one-hot targets); checked against the data generator when an experiment is built
            (see :attr:`tasks`).
    """

    def __check_init__(self):
        # Every float field (of every member) is finite: one check for the family.
        check_finite_fields(self, "loss")

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
        """Loss on the test set.

        Raises:
            ValueError: if the data set has no test set (there is then no test loss).
        """
        if not data.has_test_set:
            raise ValueError("the data set has no test set, so there is no test loss")
        return self.evaluate(model, params, data.X_test, data.y_test)

    @abc.abstractmethod
    def evaluate(
        self, model: AbstractModel, params: Params, X: Float[Array, "n d"], y: Float[Array, " n"]
    ) -> Float[Array, ""]:
        """Loss on the given samples (direct path, through the model's forward pass)."""
