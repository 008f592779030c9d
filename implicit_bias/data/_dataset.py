"""The Dataset container and the abstract data generator."""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray


class Dataset(eqx.Module):
    r"""A training set, a test set and (optionally) the reference regressor.

    The moments are precomputed once per trajectory: for a model linear in x, the square loss

    .. math:: \frac1n\|Xw - y\|^2 = w^\top \Sigma w - 2 w^\top b + c,\quad
        \Sigma = X^\top X / n,\ b = X^\top y / n,\ c = y^\top y / n

    costs O(d^2) instead of O(n d).

    Attributes:
        X: training inputs, shape (n, d).
        y: training targets, shape (n,), or (n, k) for k outputs (multi-output regression,
            one-hot classes).
        X_test: test inputs, shape (n_test, d).
        y_test: test targets, shape (n_test,) or (n_test, k).
        w_star: the optimal (least-squares) regressor, shape (d,), or ``None``.
        Sigma, Xty, yty: the moments above.
    """

    X: Float[Array, "n d"]
    y: Float[Array, "n ..."]
    X_test: Float[Array, "nt d"]
    y_test: Float[Array, "nt ..."]
    w_star: Float[Array, " d"] | None
    Sigma: Float[Array, "d d"]
    Xty: Float[Array, "d ..."]
    yty: Float[Array, ""]

    def __init__(self, X, y, X_test=None, y_test=None, w_star=None):
        self.X = X
        self.y = y
        self.X_test = X if X_test is None else X_test
        self.y_test = y if y_test is None else y_test
        self.w_star = w_star
        n = X.shape[0]
        self.Sigma = X.T @ X / n
        self.Xty = X.T @ y / n
        self.yty = jnp.vdot(y, y) / n  # sum of squares, whatever the number of outputs

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def dim(self) -> int:
        return self.X.shape[1]


#: The tasks a data set (and a loss) can be for: real targets (n,) or (n, k); two classes as
#: labels in {-1, +1} (n,); K >= 2 classes one-hot (n, K).
TASKS = ("regression", "classification", "multiclass")


class AbstractData(eqx.Module):
    """A data generator: ``sample(key, dtype)`` draws a :class:`Dataset`.

    ``sample`` is pure and traceable so that data drawn from a seed live inside the compiled,
    vmapped program (each repetition of a sweep gets its own data set at no host cost).

    Attributes:
        task: ``"regression"``, ``"classification"`` (labels in {-1, +1}) or
            ``"multiclass"`` (one-hot targets, (n, K)); the loss must train on it (its
            ``tasks``, checked when an :class:`~implicit_bias.Experiment` is built).
            A class attribute, a field or a property of each generator.
        input_dim: d, the dimension of one input (a property of each generator).
    """

    task: eqx.AbstractVar[str]

    @abc.abstractmethod
    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        """Draw a data set."""

    @property
    @abc.abstractmethod
    def input_dim(self) -> int:
        """Dimension d of the inputs."""


def least_squares(X: Float[Array, "n d"], y: Float[Array, " n"]) -> Float[Array, " d"]:
    """Minimum-norm least-squares solution X^+ y (the unique regressor when n >= d)."""
    return jnp.linalg.pinv(X) @ y
