"""The traced scalars of a batch of trajectories: what a sweep varies without recompiling."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from implicit_bias.errors import ConfigError, is_real_number

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
        arrs = {k: _numbers(k, v) for k, v in raw.items()}
        try:
            b = np.broadcast_shapes(*(a.shape for a in arrs.values()))
        except ValueError:
            shapes = {k: a.shape for k, a in arrs.items()}
            raise ConfigError("scalars", shapes, "sequences of equal length (or scalars)") from None
        if len(b) != 1:
            raise ConfigError("scalars", b, "scalars or 1-D sequences")
        arrs = {k: np.broadcast_to(a, b) for k, a in arrs.items()}
        for key, (integer, lowest, allowed) in _RULES.items():
            a = arrs[key]
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(a) & (a >= lowest)
                if integer:
                    # Integral floats are integers (steps=1e6); 10.5 is not.
                    ok &= np.equal(np.mod(a, 1), 0)
            _check_all(ok, key, a, allowed)
            if integer:
                _check_all(a <= _INT32_MAX, key, a, f"{allowed}, at most {_INT32_MAX}")
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


#: key -> (integer, lowest allowed value, what is allowed). Floats must be finite; a value
#: below ``lowest`` (or the strict bound of lr and t1, below) is refused.
_RULES: dict[str, tuple[bool, float, str]] = {
    "seed": (True, 0, "an integer >= 0"),
    "data_seed": (True, -1, "-1 or an integer >= 0"),
    "init_scale": (False, 0.0, "a finite float >= 0"),
    "lr": (False, np.nextafter(0.0, 1.0), "a finite float > 0"),
    "steps": (True, 0, "an integer >= 0"),
    "t1": (False, np.nextafter(0.0, 1.0), "a finite float > 0"),
}
#: Seeds and steps are int32 inside the compiled program.
_INT32_MAX = int(np.iinfo(np.int32).max)


def _numbers(key: str, value) -> np.ndarray:
    """``value`` (a number or a sequence of numbers) as a 1-D float64 array.

    Raises:
        ConfigError: for anything that is not a real number (a string, None, a bool).
    """
    a = np.atleast_1d(np.asarray(value))
    if a.dtype.kind not in "iuf":
        bad = next((x for x in a.ravel() if not is_real_number(x)), a.ravel()[0] if a.size else a)
        integer = _RULES[key][0]
        raise ConfigError(key, _plain(bad), "an integer" if integer else "a finite float")
    return a.astype(np.float64)


def _plain(x):
    return x.item() if isinstance(x, np.generic) else x


def _check_all(ok, key, values, allowed):
    ok = np.asarray(ok)
    if not ok.all():
        bad = np.asarray(values)[~ok].ravel()[0].item()
        if _RULES[key][0] and np.isfinite(bad) and float(bad).is_integer():
            bad = int(bad)  # an integer key shows the integer it was given
        raise ConfigError(key, bad, allowed)
