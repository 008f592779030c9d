"""Fault injection (issue 12): NaN in the data of one run of a batch leaves the others bit for
bit as they are without it, and that run is reported ``diverged``, not a number.

(A corrupted ``metrics.json`` detected and redone on resume: ``tests/test_writes.py``.)"""

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

import implicit_bias as ib
from implicit_bias.data import AbstractData, Dataset

jax.config.update("jax_enable_x64", True)


class _Poisoned(AbstractData):
    """Gaussian regression data (n = 20, d = 5) whose inputs are all NaN for one seed: the
    run whose data key is the engine's data key of ``poison_seed`` (-1: none)."""

    task: ClassVar[str] = "regression"
    poison_seed: int = -1

    @property
    def input_dim(self) -> int:
        return 5

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        kx, kw = jax.random.split(key)
        X = jax.random.normal(kx, (20, 5), dtype)
        y = X @ jax.random.normal(kw, (5,), dtype)
        # The engine draws the data of seed s with fold_in(key(s), 0).
        target = jax.random.key_data(jax.random.fold_in(jax.random.key(self.poison_seed), 0))
        hit = (self.poison_seed >= 0) & jnp.all(jax.random.key_data(key) == target)
        return Dataset(jnp.where(hit, jnp.nan, X), y)


def _run(poison_seed: int, dtype: str, integrator):
    exp = ib.Experiment(
        model=ib.DeepLinear(input_dim=5, width=4, depth=3),
        data=_Poisoned(poison_seed=poison_seed),
        init=ib.Gaussian(),
        integrator=integrator,
        sharpness=ib.SharpnessSpec(method="lanczos", track=False),
        record=ib.Schedule(num=5),
        dtype=dtype,
    )
    kw = {"t1": 5.0} if integrator.continuous else {"lr": 0.05, "steps": 50}
    return ib.run_batch(exp, seed=np.arange(4), init_scale=0.5, **kw)


def test_nan_in_one_runs_data_leaves_the_others_bit_identical():
    """Batch of 4 seeds, run 2's inputs NaN: runs 0, 1, 3 equal, bit for bit (every record,
    final metric and parameter), the same batch without the NaN; run 2 is ``diverged``.
    GD in float32 and gradient flow in float64 (sharpness by Lanczos at the start and the end)."""
    cases = (("float32", ib.GD()), ("float64", ib.GradientFlow()))
    for dtype, integ in cases:
        clean, bad = _run(-1, dtype, integ), _run(2, dtype, integ)
        assert bad.status_names()[2] == "diverged", (dtype, integ)
        assert "diverged" not in clean.status_names()
        keep = np.array([0, 1, 3])
        for a, b in zip(jax.tree.leaves(clean[keep]), jax.tree.leaves(bad[keep]), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
