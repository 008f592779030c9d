r"""Matrix completion: observed entries of a (planted low-rank, or given) matrix."""

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._random import normal
from ..errors import ConfigError, check
from ._dataset import AbstractData, Dataset


def _as_entries(observed) -> tuple[tuple[int, int, float], ...] | None:
    """Config lists ``[[j, k, value], ...]`` -> a hashable tuple (the module is static)."""
    if observed is None:
        return None
    try:
        out = []
        for e in observed:
            j, k, v = e
            if float(j) != int(j) or float(k) != int(k):
                raise ValueError
            out.append((int(j), int(k), float(v)))
        return tuple(out)
    except (TypeError, ValueError):
        raise ConfigError(
            "data.observed", observed, "null or a list of [row, col, value] triples"
        ) from None


def _one_hot_rows(
    rows: Int[Array, " n"], cols: Int[Array, " n"], d: int, symmetric: bool, dtype
) -> Float[Array, "n d2"]:
    """vec(e_j e_k^T) (row-major), or vec(e_j e_k^T + e_k e_j^T)/2 when ``symmetric``."""
    x = jax.nn.one_hot(rows * d + cols, d * d, dtype=dtype)
    if symmetric:
        x = 0.5 * (x + jax.nn.one_hot(cols * d + rows, d * d, dtype=dtype))
    return x


class MatrixCompletion(AbstractData):
    r"""Observed entries :math:`X^\star_{jk}`, :math:`(j, k) \in \Omega`, of a d x d matrix.

    A sample is the flattened one-hot measurement :math:`x = \operatorname{vec}(e_j e_k^\top)`
    (row-major), so that :math:`\langle x, \operatorname{vec}(X)\rangle = X_{jk}`; with
    ``symmetric`` it is :math:`\operatorname{vec}(e_j e_k^\top + e_k e_j^\top)/2`, which
    reads :math:`X_{jk}` on the symmetric matrices of the symmetric model (and only the upper
    triangle j <= k is sampled).

    Two modes:

    * planted (``observed: null``): :math:`X^\star = U V^\top` of rank r with i.i.d. N(0, 1)
      factors (:math:`V V^\top`, PSD, when ``symmetric``), rescaled by ``normalize`` to unit
      mean squared entry (:math:`\|X^\star\|_F = d`); ``n`` entries drawn uniformly without
      replacement; the test set is every *unobserved* entry (so the test loss is the
      reconstruction error of the completion), and ``w_star`` :math:`= \operatorname{vec}
      (X^\star)`. This is the setting of Arora, Cohen, Hu & Luo (2019).
    * given (``observed: [[j, k, value], ...]``, 0-indexed): exactly these entries, e.g.
      Razin & Cohen's (2020) 2 x 2 problem ``[[0, 1, 1], [1, 0, 1], [1, 1, 0]]``; there is no
      planted matrix (``w_star = None``), ``rank`` and ``normalize`` are unused, ``n`` must be
      null or the number of entries, and the test set is the training set.

    Attributes:
        d: side of the square matrix (inputs have dimension d^2).
        rank: r, the rank of the planted matrix.
        n: number of observed entries (planted mode).
        symmetric: symmetric measurements and a PSD planted matrix (for the symmetric model).
        normalize: rescale the planted matrix to unit mean squared entry.
        observed: explicit observed entries, or ``None`` for the planted mode.
    """

    task: ClassVar[str] = "regression"

    d: int = 10
    rank: int = 1
    n: int | None = 40
    symmetric: bool = False
    normalize: bool = True
    observed: tuple[tuple[int, int, float], ...] | None = eqx.field(
        default=None, converter=_as_entries
    )

    def __check_init__(self):
        check(self.d >= 1, "data.d", self.d, "an integer >= 1")
        if self.observed is None:
            check(
                1 <= self.rank <= self.d, "data.rank", self.rank, f"an integer in [1, d={self.d}]"
            )
            total = self.num_entries
            check(
                self.n is not None and 1 <= self.n <= total,
                "data.n",
                self.n,
                f"an integer in [1, {total}] (the number of "
                f"{'upper-triangular ' if self.symmetric else ''}entries of a d={self.d} matrix)",
            )
            return
        check(len(self.observed) >= 1, "data.observed", self.observed, "at least one entry")
        check(
            self.n is None or self.n == len(self.observed),
            "data.n",
            self.n,
            f"null or {len(self.observed)} (the number of data.observed entries)",
        )
        seen = set()
        for j, k, v in self.observed:
            check(
                0 <= j < self.d and 0 <= k < self.d,
                "data.observed",
                [j, k, v],
                f"0-indexed rows and columns in [0, {self.d - 1}] (data.d={self.d})",
            )
            check(math.isfinite(v), "data.observed", [j, k, v], "finite values")
            pos = (min(j, k), max(j, k)) if self.symmetric else (j, k)
            check(
                pos not in seen,
                "data.observed",
                [j, k, v],
                "each entry listed once (with data.symmetric=true, (j, k) and (k, j) are the "
                "same entry)",
            )
            seen.add(pos)

    @property
    def input_dim(self) -> int:
        return self.d * self.d

    @property
    def num_entries(self) -> int:
        """Number of distinct measurable entries: d(d+1)/2 if symmetric, else d^2."""
        return self.d * (self.d + 1) // 2 if self.symmetric else self.d * self.d

    def _candidates(self) -> tuple[np.ndarray, np.ndarray]:
        if self.symmetric:
            return np.triu_indices(self.d)
        rows, cols = np.indices((self.d, self.d))
        return rows.ravel(), cols.ravel()

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        d = self.d
        if self.observed is not None:
            rows = jnp.asarray([e[0] for e in self.observed])
            cols = jnp.asarray([e[1] for e in self.observed])
            y = jnp.asarray([e[2] for e in self.observed], dtype)
            return Dataset(_one_hot_rows(rows, cols, d, self.symmetric, dtype), y)
        ku, kv, kp = jax.random.split(key, 3)
        v = normal(kv, (d, self.rank), dtype)
        u = v if self.symmetric else normal(ku, (d, self.rank), dtype)
        x_star = u @ v.T
        if self.normalize:
            x_star = d * x_star / jnp.linalg.norm(x_star)
        cand_rows, cand_cols = (jnp.asarray(c) for c in self._candidates())
        perm = jax.random.permutation(kp, self.num_entries)
        train, test = perm[: self.n], perm[self.n :]
        if test.shape[0] == 0:  # everything observed: nothing left to complete
            test = train

        def measure(idx):
            r, c = cand_rows[idx], cand_cols[idx]
            return _one_hot_rows(r, c, d, self.symmetric, dtype), x_star[r, c]

        X, y = measure(train)
        X_test, y_test = measure(test)
        return Dataset(X, y, X_test, y_test, x_star.reshape(-1))
