"""CPU worker processes (implicit_bias.app.workers): results as in-process, one compile each."""

import jax
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.app.workers import run_batch
from implicit_bias.compilations import count_compilations
from implicit_bias.errors import ConfigError


def _exp(**kw):
    return ib.Experiment(
        model=ib.MLP(depth=3, width=5, activation="gelu_tanh"),
        data=ib.GaussianRegression(n=20, d=5, sigma=0.0),
        init=ib.Gaussian(),
        integrator=ib.GD(),
        record=ib.Schedule(num=4),
        sharpness=ib.SharpnessSpec(track=False),
        **kw,
    )


def test_workers_equal_in_process_and_compile_once_each():
    exp = _exp(dtype="float64")
    kw = dict(seed=np.arange(5), init_scale=np.linspace(0.4, 0.8, 5), lr=0.05, steps=200)
    ref = ib.run_batch(exp, progress=False, **kw)
    with count_compilations("_simulate") as comp:
        got = run_batch(exp, workers=2, **kw)
        # Other swept scalars, same structure and slice sizes: no new compilation.
        again = run_batch(exp, workers=2, **{**kw, "lr": 0.02, "seed": np.arange(5, 10)})
    # Slices of 3 and 2 runs: each worker compiled its program once, for both calls.
    assert comp.count == 2, comp.names
    assert all("[worker" in n for n in comp.names)
    # Each run is an independent vmap lane, but XLA may vectorize a reduction differently for
    # another batch size: equal up to the reordering of sums (float64; tolerances as in
    # test_engine.py::test_batch_equals_one_by_one).
    for a, b in zip(jax.tree.leaves(ref), jax.tree.leaves(got), strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-8, atol=1e-12)
    assert again.batch_size == 5
    assert list(again.status_names()) == list(
        ib.run_batch(
            exp,
            lr=0.02,
            seed=np.arange(5, 10),
            init_scale=kw["init_scale"],
            steps=200,
            progress=False,
        ).status_names()
    )


def test_workers_bad_values_are_clear_errors():
    exp = _exp()
    with pytest.raises(ConfigError, match="workers=0"):
        run_batch(exp, workers=0, seed=0, steps=10)
    with pytest.raises(ConfigError, match="devices"):
        run_batch(exp, workers=2, devices=2, seed=0, steps=10)


def test_reported_compilations_reach_every_open_block_once():
    # Worker compilations are reported to the open count_compilations blocks. Nested blocks
    # with equal contents (both empty) are distinct collectors: closing one must not drop the
    # other (the launcher nests its block inside a benchmark's).
    from implicit_bias.compilations import record_compilations

    with count_compilations("_simulate") as outer:
        with count_compilations("_simulate") as inner:
            record_compilations(["jit(_simulate_discrete) [worker 0]"], [1.5], worker=0)
        with count_compilations("other") as unrelated:
            record_compilations(["jit(_simulate_discrete) [worker 1]"], [2.0], worker=1)
    record_compilations(["jit(_simulate_discrete) [worker 0]"], [9.0], worker=0)  # no block
    assert inner.count == 1 and inner.total_seconds == 1.5
    assert outer.count == 2 and outer.total_seconds == 3.5
    # The two workers compiled in parallel: 2.0 s on the critical path.
    assert outer.wall_seconds == 2.0
    assert unrelated.count == 0
