"""Where the engine's compile time goes (issue 11, item 2): its program for the Marion & Chizat
Fig. 1 model lowered and compiled part by part, the persistent cache bypassed (AOT
``lower().compile()``), baseline the default configuration in the same run.

    python benchmarks/compile_profile.py

Prints the command, the machine and the load, then per variant: trace + lower seconds,
compile seconds, HLO lines and the ratio of compile time to the default's.
"""

import os
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import implicit_bias as ib  # noqa: E402
from implicit_bias import engine  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from engine import machine  # noqa: E402


def experiment(method="lanczos", track=True, num=100, depth=10) -> ib.Experiment:
    return ib.Experiment(
        model=ib.DeepLinear(input_dim=5, width=5, depth=depth),
        data=ib.GaussianRegression(),
        init=ib.Gaussian(),
        integrator=ib.GD(),
        sharpness=ib.SharpnessSpec(method=method, track=track),
        record=ib.Schedule(num=num),
        dtype="float32",
    )


VARIANTS = {
    "default: Lanczos sharpness tracked, 100 records": experiment(),
    "Lanczos at the start and the end only": experiment(track=False),
    "power iteration, tracked": experiment("power"),
    "no sharpness": experiment("none"),
    "no sharpness, 10 records": experiment("none", num=10),
    "Lanczos tracked, depth 2": experiment(depth=2),
    "Lanczos tracked, depth 20": experiment(depth=20),
}


def main() -> None:
    print("command:", " ".join(["python", *sys.argv]))
    print("machine:", machine(), "| load", os.getloadavg())
    base = None
    for name, exp in VARIANTS.items():
        jax.clear_caches()
        engine._program.cache_clear()
        sc = ib.Scalars.make(dtype=exp.dtype, steps=10, lr=0.01, init_scale=0.3, seed=[0, 1])
        run = engine._BatchRun(exp, sc, engine._devices(1))
        carry = engine._placeholder(run.struct)
        args = (run.dyn_exp, run.scalars, run.grid, carry, jax.numpy.int32(0), True)
        t0 = time.perf_counter()
        lowered = run.program.lower(*args)
        t1 = time.perf_counter()
        lines = lowered.as_text().count("\n")
        lowered.compile()
        t2 = time.perf_counter()
        base = base or (t2 - t1)
        print(
            f"{name:50s} trace+lower {t1 - t0:5.2f} s  compile {t2 - t1:6.2f} s "
            f"(x{(t2 - t1) / base:.2f} of the default)  HLO lines {lines:6d}",
            flush=True,
        )


if __name__ == "__main__":
    main()
