"""Splitting a batch over devices does not change any number.

``run_batch(..., devices=2)`` runs the batch with ``jax.shard_map``, each device the same
vmapped program on its slice (padded to a multiple of the device count). In a subprocess with
two forced XLA:CPU host devices, a batch of 5 runs (odd: one padding run) is run with
``devices=2`` and ``devices=1``; parameters, initial parameters, recorded metrics and final
metrics must agree to 1e-12 (float64). Each trajectory is the same per-run computation on both
sides; only the batch size of the XLA program differs (3 per device vs 5), which may reorder
floating-point reductions, so bit equality is not guaranteed; measured: 3.6e-15 at most.

Sharpness: ``method=lanczos`` and ``method=exact`` deadlock XLA:CPU with forced host devices
(see docs/sweeps.md, "Several devices"), so the check uses ``none`` and ``power``; the
subprocess has a timeout so that a regression hangs no CI job.
"""

import os
import subprocess
import sys
import textwrap

import jax

jax.config.update("jax_enable_x64", True)

TOL = 1e-12

SCRIPT = textwrap.dedent(
    """
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import implicit_bias as ib

    assert len(jax.devices()) == 2, jax.devices()
    worst = 0.0
    for method in ("none", "power"):
        exp = ib.Experiment(
            model=ib.models.DeepLinear(input_dim=3, width=3, depth=3),
            data=ib.data.GaussianRegression(n=8, d=3),
            init=ib.inits.Gaussian(),
            integrator=ib.integrators.GD(),
            sharpness=ib.SharpnessSpec(method=method),
            record=ib.Schedule(num=5, params=True),
            dtype="float64",
        )
        kw = dict(seed=np.arange(5), init_scale=np.linspace(0.2, 0.6, 5), lr=0.05, steps=50)
        r2 = ib.run_batch(exp, devices=2, **kw)
        r1 = ib.run_batch(exp, devices=1, **kw)
        pairs = [(r1.params, r2.params), (r1.initial_params, r2.initial_params),
                 (r1.final, r2.final), (r1.records, r2.records)]
        n = 0
        for a, b in pairs:
            for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
                x, y = np.asarray(x), np.asarray(y)
                assert x.shape == y.shape and x.shape[0] == 5, (x.shape, y.shape)
                if np.issubdtype(x.dtype, np.floating):
                    ok = np.isfinite(x)
                    assert np.array_equal(ok, np.isfinite(y))
                    worst = max(worst, float(np.max(np.abs(x[ok] - y[ok]), initial=0.0)))
                else:
                    assert np.array_equal(x, y)
                n += 1
        assert n > 10 and "train_loss" in r1.final and (method == "none" or "sharpness" in r1.final)
        assert r1.status_names() == r2.status_names()
    print("WORST", worst)
    """
)


def test_two_devices_give_the_results_of_one():
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    }
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    worst = float(proc.stdout.split("WORST")[-1])
    print(f"max |devices=2 - devices=1| = {worst:.3g}")
    assert worst <= TOL, worst
