"""The abstract loss."""

import abc
from typing import ClassVar

import equinox as eqx
from jaxtyping import Array, Float

from .._types import Params
from ..data._dataset import Dataset
from ..errors import check_finite_fields
from ..models._base import AbstractModel


class AbstractLoss(eqx.Module):
    """A training objective ``loss(model, params, data) -> scalar`` (mean over samples).

    Attributes:
        task: ``"regression"`` or ``"classification"`` (labels in {-1, +1}); checked against
            the data generator when an experiment is built.
    """

    def __check_init__(self):
        # Every float field (of every member) is finite: one check for the family.
        check_finite_fields(self, "loss")

    task: eqx.AbstractClassVar[str]

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

    #: Whether :meth:`of_outputs` is implemented (the Gauss-Newton matrix needs it).
    has_output_form: ClassVar[bool] = False

    def of_outputs(self, outputs: Float[Array, " n"], y: Float[Array, " n"]) -> Float[Array, ""]:
        """The loss as a function of the model's outputs on the samples alone (the
        ``output_loss`` of :class:`~implicit_bias.sharpness.GaussNewton`).

        Raises:
            NotImplementedError: for a loss without such a form (``has_output_form`` false).
        """
        raise NotImplementedError(f"{type(self).__name__} has no form as a function of outputs")

    @abc.abstractmethod
    def evaluate(
        self, model: AbstractModel, params: Params, X: Float[Array, "n d"], y: Float[Array, " n"]
    ) -> Float[Array, ""]:
        """Loss on the given samples (direct path, through the model's forward pass)."""
