r"""Library components that hold fixed draws: one data set, one init, one projection.

The engine draws data, init and the residual network's projection from each run's seeds. The
paper's protocol fixes some of them per figure (one data set for Figs 1-5 and 7, one
projection vector per residual figure) and the two single-trajectory figures replay the
authors' own init. These three classes hold such draws as arrays (leaves of the
:class:`~implicit_bias.Experiment`, hence inputs of the compiled program: another draw of the
same shapes does not recompile) and hand them to the engine through the library's interfaces
(:class:`~implicit_bias.AbstractData`, :class:`~implicit_bias.AbstractInit`,
:class:`~implicit_bias.AbstractModel`).
"""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from implicit_bias.data import AbstractData, Dataset
from implicit_bias.errors import ConfigError
from implicit_bias.inits import AbstractInit
from implicit_bias.models import AbstractLinearModel

__all__ = ["FixedData", "FixedNormalsInit", "FixedProjectionResidual"]

_KEYS = ("X", "y", "X_test", "y_test", "w_star")


class FixedData(AbstractData):
    r"""One data set, the same for every seed and ``data_seed``.

    Attributes:
        arrays: ``X`` (n, d), ``y`` (n,), ``X_test`` (n_test, d), ``y_test`` (n_test,),
            ``w_star`` (d,) (numpy; cast to the experiment's dtype when sampled).
        label: where the data come from, for figure titles and saved attributes (static:
            data sets that share a program must share their label).
    """

    arrays: dict[str, np.ndarray] = eqx.field(repr=False)
    label: str = eqx.field(static=True, default="fixed")
    task: ClassVar[str] = "regression"

    def __check_init__(self):
        missing = [k for k in _KEYS if k not in self.arrays]
        if missing:
            raise ConfigError("data.arrays", sorted(self.arrays), f"the keys {list(_KEYS)}")
        n, d = np.shape(self.arrays["X"])
        if np.shape(self.arrays["y"]) != (n,) or np.shape(self.arrays["w_star"]) != (d,):
            raise ConfigError(
                "data.arrays",
                {k: np.shape(v) for k, v in self.arrays.items()},
                "X (n, d), y (n,), w_star (d,)",
            )

    @property
    def input_dim(self) -> int:
        return int(np.shape(self.arrays["X"])[1])

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        del key
        a = {k: jnp.asarray(self.arrays[k], dtype) for k in _KEYS}
        return Dataset(a["X"], a["y"], a["X_test"], a["y_test"], a["w_star"])

    def noiseless(self) -> FixedData:
        r"""The same inputs with targets ``y = X w*`` (and ``y_test = X_test w*``), ``w*`` the
        least-squares solution recomputed in float64 (the stored one may be float32).

        The training loss changes by a constant only,
        :math:`\frac1n\|Xw - y\|^2 = (w - w^*)^\top\Sigma(w - w^*) + R_{\min}`
        (``X^T (y - X w*) = 0``), so the gradient, the Hessian and every gradient-flow or GD
        trajectory are unchanged, while the minimum loss becomes 0: a flow can then stop on an
        absolute loss threshold (``GradientFlow.loss_tol``) that is the same for every data
        set.
        """
        a = {k: np.asarray(v, np.float64) for k, v in self.arrays.items()}
        w = np.linalg.lstsq(a["X"], a["y"], rcond=None)[0]
        a["w_star"] = w
        a["y"], a["y_test"] = a["X"] @ w, a["X_test"] @ w
        return FixedData(a, label=f"{self.label}, noise projected out (y = X w*)")


class FixedNormalsInit(AbstractInit):
    r"""``W_k = scale * Z_k`` (Gaussian-like) or ``W_k = I + scale / sqrt(L d) Z_k``
    (``residual``) with the standard normals ``Z_k`` given: the engine's key is not used.

    Attributes:
        normals: ``W1 ... WL`` -> standard normal arrays of the layers' shapes.
        residual: the residual form (square layers).
    """

    normals: dict[str, np.ndarray] = eqx.field(repr=False)
    residual: bool = eqx.field(static=True, default=False)

    def init_trainable(self, key, model, scale, dtype):
        del key
        shapes = {k: s for k, s in model.param_shapes().items() if k not in model.frozen}
        for name, shape in shapes.items():
            if name not in self.normals or tuple(np.shape(self.normals[name])) != tuple(shape):
                got = None if name not in self.normals else np.shape(self.normals[name])
                raise ConfigError(f"init.normals[{name}]", got, f"an array of shape {shape}")
        z = {k: jnp.asarray(self.normals[k], dtype) for k in shapes}
        if not self.residual:
            return {k: scale * v for k, v in z.items()}
        depth, d = len(shapes), next(iter(shapes.values()))[0]
        return {
            k: jnp.eye(v.shape[0], dtype=dtype) + scale / math.sqrt(depth * d) * v
            for k, v in z.items()
        }


class FixedProjectionResidual(AbstractLinearModel):
    r"""The residual linear network :math:`f(x) = p^\top W_L \cdots W_1 x`
    (:class:`~implicit_bias.ResidualLinear`) with a given projection ``p`` instead of one drawn
    from each run's seed: the authors draw ``p`` once per figure (Figs 2, 4, 5).

    Attributes:
        projection: ``p``, shape (d,) (used as given; the authors' has unit norm).
        depth: L.
    """

    projection: np.ndarray = eqx.field(repr=False)
    depth: int = eqx.field(static=True, default=10)
    frozen = ("p",)

    def __check_init__(self):
        if np.ndim(self.projection) != 1:
            raise ConfigError("model.projection", np.shape(self.projection), "a vector (d,)")
        if self.depth < 1:
            raise ConfigError("model.depth", self.depth, "an integer >= 1")

    @property
    def input_dim(self) -> int:
        return int(np.shape(self.projection)[0])

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        d = self.input_dim
        shapes = {f"W{k}": (d, d) for k in range(1, self.depth + 1)}
        shapes["p"] = (d,)
        return shapes

    def init_frozen(self, key: PRNGKeyArray, dtype):
        del key
        return {"p": jnp.asarray(self.projection, dtype)}

    def predictor(self, params) -> Float[Array, " d"]:
        # p^T W_L ... W_1 as a chain of vector-matrix products (O(L d^2)).
        v = params["p"]
        for k in range(self.depth, 0, -1):
            v = v @ params[f"W{k}"]
        return v

    def apply(self, params, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        return x @ self.predictor(params)
