r"""The three-sample data set of Vardi & Shamir (2021), Theorem 4.1."""

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from ..errors import check
from ._dataset import AbstractData, Dataset


class ReluCounterexample(AbstractData):
    r"""Three points in :math:`\mathbb{R}^3` on which no function of ``w`` explains the limit.

    .. math::
        x_1 = (3, -1, 0),\ x_2 = (4, 2, 0),\ x_3 = (0, \gamma, \gamma),\qquad
        y = (16, 18, 0).

    Vardi & Shamir (2021), "Implicit regularization in ReLU networks with the square loss"
    (COLT), Theorem 4.1 / Figure 1. For a single ReLU neuron :math:`\sigma(w\cdot x)` the
    zero-loss set is the half-line :math:`\{(5, -1, t) : t \le 1\}` (rows 1-2 fix
    :math:`w_1, w_2`; row 3 needs :math:`\gamma(w_2 + w_3) \le 0`), the same for every
    :math:`\gamma > 0`, yet the gradient flow from ``w = 0`` stops at a :math:`w_3` that depends
    on :math:`\gamma` (it freezes when :math:`x_3\cdot w` crosses 0). The exact two-phase solution
    is :func:`implicit_bias.theory.relu_counterexample_limit` (gradient descent:
    :func:`implicit_bias.theory.relu_counterexample_gd`).

    :math:`\gamma = 0` is the paper's base case (Theorem 4.1, first bullet): :math:`x_3 = 0`,
    every point :math:`(5, -1, t)` interpolates, and the flow from 0 ends at the minimum-norm
    one, :math:`w^\star = (5, -1, 0)`.

    The data set comes from a third-party reimplementation: the paper's matrix did not survive
    the text extraction. ``docs/relu_neurons.md`` lists every statement of the paper text about
    it and how this data set satisfies each.

    The test set is the training set and there is no linear regressor (``w_star = None``). The
    data are deterministic: the key is ignored. ``gamma`` is static (changing it recompiles);
    it is swept with Hydra's multirun (``sweeps/vardi_shamir_gamma.yaml``).

    Attributes:
        gamma: :math:`\gamma \ge 0` (``X`` is invertible iff :math:`\gamma > 0`,
            :math:`\det X = 10\gamma`).
    """

    task: ClassVar[str] = "regression"

    gamma: float = 1.0

    def __check_init__(self):
        check(self.gamma >= 0, "data.gamma", self.gamma, "a float >= 0")

    @property
    def input_dim(self) -> int:
        return 3

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        del key  # deterministic
        X = jnp.array([[3.0, -1.0, 0.0], [4.0, 2.0, 0.0], [0.0, self.gamma, self.gamma]], dtype)
        y = jnp.array([16.0, 18.0, 0.0], dtype)
        return Dataset(X, y, w_star=None)
