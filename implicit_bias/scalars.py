"""The traced scalars of a batch of trajectories: what a sweep varies without recompiling."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from implicit_bias.errors import ConfigError

#: The swept scalars and their defaults: the one source of these defaults (the Python API,
#: the config schema and ``conf/config.yaml`` read them from here). ``data_seed = -1`` means
#: "the same as ``seed``".
DEFAULTS: dict[str, float | int] = {
    "seed": 0,
    "data_seed": -1,
    "init_scale": 0.3,
    "lr": 0.02,
    "steps": 2000,
    "t1": 100.0,
}
#: Names of the swept scalars.
SWEPT_KEYS: tuple[str, ...] = tuple(DEFAULTS)


class Scalars(eqx.Module):
    """The traced scalars of a batch of trajectories (each field has shape (batch,)).

    Attributes:
        seed: PRNG seed of the initialization (and of the data unless ``data_seed >= 0``).
        data_seed: seed of the data; ``-1`` means "same as ``seed``".
        init_scale: the init scale passed to the init scheme.
        lr: learning rate (discrete integrators).
        steps: number of steps (discrete integrators).
        t1: final time (continuous integrators).
    """

    seed: Int[Array, " b"]
    data_seed: Int[Array, " b"]
    init_scale: Float[Array, " b"]
    lr: Float[Array, " b"]
    steps: Int[Array, " b"]
    t1: Float[Array, " b"]

    @classmethod
    def make(
        cls,
        *,
        seed=DEFAULTS["seed"],
        data_seed=DEFAULTS["data_seed"],
        init_scale=DEFAULTS["init_scale"],
        lr=DEFAULTS["lr"],
        steps=DEFAULTS["steps"],
        t1=DEFAULTS["t1"],
        dtype="float32",
    ) -> "Scalars":
        """Broadcast scalars and sequences to one batch, validating values.

        Raises:
            ConfigError: naming the key and the bad value.
        """
        raw = dict(seed=seed, data_seed=data_seed, init_scale=init_scale, lr=lr, steps=steps, t1=t1)
        arrs = {k: np.atleast_1d(np.asarray(v)) for k, v in raw.items()}
        try:
            b = np.broadcast_shapes(*(a.shape for a in arrs.values()))
        except ValueError:
            shapes = {k: a.shape for k, a in arrs.items()}
            raise ConfigError("scalars", shapes, "sequences of equal length (or scalars)") from None
        if len(b) != 1:
            raise ConfigError("scalars", b, "scalars or 1-D sequences")
        arrs = {k: np.broadcast_to(a, b) for k, a in arrs.items()}
        _check_all(arrs["init_scale"] >= 0, "init_scale", arrs["init_scale"], "a float >= 0")
        _check_all(arrs["lr"] > 0, "lr", arrs["lr"], "a float > 0")
        _check_all(arrs["steps"] >= 0, "steps", arrs["steps"], "an integer >= 0")
        _check_all(arrs["t1"] > 0, "t1", arrs["t1"], "a float > 0")
        _check_all(arrs["seed"] >= 0, "seed", arrs["seed"], "an integer >= 0")
        _check_all(arrs["data_seed"] >= -1, "data_seed", arrs["data_seed"], "-1 or an int >= 0")
        for k in ("seed", "data_seed", "steps"):
            _check_all(np.equal(np.mod(arrs[k], 1), 0), k, arrs[k], "an integer")  # e.g. steps=10.5
        fdt = jnp.dtype(dtype)
        return cls(
            seed=jnp.asarray(arrs["seed"], jnp.int32),
            data_seed=jnp.asarray(arrs["data_seed"], jnp.int32),
            init_scale=jnp.asarray(arrs["init_scale"], fdt),
            lr=jnp.asarray(arrs["lr"], fdt),
            steps=jnp.asarray(arrs["steps"], jnp.int32),
            t1=jnp.asarray(arrs["t1"], fdt),
        )

    @property
    def batch_size(self) -> int:
        return int(self.lr.shape[0])

    def pad(self, size: int) -> "Scalars":
        """The batch padded to ``size`` runs by repeating its last run (the copies compute the
        same trajectory and are dropped by the caller): how a batch is fitted to a compiled
        size or to a multiple of the device count.

        Raises:
            ValueError: if ``size`` is smaller than the batch.
        """
        extra = size - self.batch_size
        if extra < 0:
            raise ValueError(f"cannot pad a batch of {self.batch_size} runs to {size}")
        if extra == 0:
            return self
        return jax.tree.map(lambda x: jnp.concatenate([x, jnp.repeat(x[-1:], extra, axis=0)]), self)


def _check_all(ok, key, values, allowed):
    ok = np.asarray(ok)
    if not ok.all():
        bad = np.asarray(values)[~ok].ravel()[0]
        raise ConfigError(key, bad.item(), allowed)
