"""The Dataset container and the abstract data generator."""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..errors import check_finite_fields


class Dataset(eqx.Module):
    r"""A training set, optionally a test set, and (optionally) the reference regressor.

    For a model linear in x, the square loss depends on the data only through its second
    moments, :math:`\frac1n\|Xw - y\|^2 = w^\top \Sigma w - 2 w^\top b + c` with
    :math:`\Sigma = X^\top X / n`, :math:`b = X^\top y / n`, :math:`c = y^\top y / n`: a step
    costs O(d^2) instead of O(n d). Evaluated in that form, the loss cancels catastrophically
    near interpolation (float32: an absolute error ~1e-7 c, so losses below it come out
    negative). The moments are therefore kept *factored*, once per trajectory, from a thin QR
    decomposition :math:`X = QR` (:math:`Q` of shape (n, k) with orthonormal columns,
    :math:`k = \min(n, d)`):

    .. math:: \frac1n\|Xw - y\|^2 = \|\tilde R w - \tilde z\|^2 + r_0,\quad
        \tilde R = R/\sqrt n,\ \tilde z = Q^\top y/\sqrt n,\
        r_0 = \|y - Q Q^\top y\|^2 / n

    (Pythagoras: :math:`Xw - y = Q(Rw - Q^\top y) - (I - QQ^\top) y`, two orthogonal parts).
    Both terms are sums of squares, so the loss is never negative, and its rounding error is
    that of the residual :math:`Xw - y` itself (relative to the loss, down to the dtype's
    noise floor) at a cost of O(k d) per evaluation, k <= d. (:math:`\tilde R^\top \tilde R =
    \Sigma`, :math:`\tilde R^\top \tilde z = b`, :math:`\|\tilde z\|^2 + r_0 = c`: the same
    moments.)

    Attributes:
        X: training inputs, shape (n, d).
        y: training targets, shape (n,), or (n, K) for K outputs (multi-output regression,
            one-hot classes).
        X_test: test inputs, shape (n_test, d), or ``None``: no test set (and no test loss).
        y_test: test targets, shape (n_test,) or (n_test, k), or ``None`` (with ``X_test``).
        w_star: the optimal (least-squares) regressor, shape (d,), or ``None``.
        R, z, r0: the factored moments above (:math:`\tilde R`, :math:`\tilde z`, :math:`r_0`).
    """

    X: Float[Array, "n d"]
    y: Float[Array, "n ..."]
    X_test: Float[Array, "nt d"] | None
    y_test: Float[Array, "nt ..."] | None
    w_star: Float[Array, " d"] | None
    R: Float[Array, "m d"]
    z: Float[Array, "m ..."]
    r0: Float[Array, ""]

    def __init__(self, X, y, X_test=None, y_test=None, w_star=None):
        if (X_test is None) != (y_test is None):
            raise ValueError("a test set needs both X_test and y_test")
        self.X = X
        self.y = y
        self.X_test = X_test
        self.y_test = y_test
        self.w_star = w_star
        n = X.shape[0]
        q, r = jnp.linalg.qr(X, mode="reduced")
        z = q.T @ y  # (m,) or (m, k) for k outputs
        resid = y - q @ z
        scale = 1.0 / jnp.sqrt(jnp.asarray(n, r.dtype))
        self.R = r * scale
        self.z = z * scale
        self.r0 = jnp.vdot(resid, resid) / n  # sum of squares, whatever the number of outputs

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def dim(self) -> int:
        return self.X.shape[1]

    @property
    def has_test_set(self) -> bool:
        """Whether the data set has a test set (else there is no test loss)."""
        return self.X_test is not None


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

    def __check_init__(self):
        # Every float field (of every member) is finite: one check for the family.
        check_finite_fields(self, "data")

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
