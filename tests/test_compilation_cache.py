"""JAX's persistent compilation cache holds the engine's program: a second process compiles
nothing of the engine (issue 11, item 1)."""

import json
import os
import subprocess
import sys

import pytest

from implicit_bias.compilations import CACHE_ENV, resolve_cache_dir

# A tiny experiment, run in a fresh process; it prints what count_compilations saw as JSON.
_SCRIPT = """
import json
import implicit_bias as ib
from implicit_bias.compilations import count_compilations

exp = ib.Experiment(
    model=ib.DeepLinear(input_dim=3, width=3, depth=2),
    data=ib.GaussianRegression(n=8, d=3),
    init=ib.Gaussian(),
    integrator=ib.GD(),
    sharpness=ib.SharpnessSpec(method="power", num_iters=3, track=False),
    record=ib.Schedule(num=2),
)
with count_compilations("_simulate") as c:
    r = ib.run_batch(exp, seed=[0, 1], lr=0.05, steps=20, progress=False)
print(json.dumps({
    "names": c.names,
    "compiled": c.compiled,
    "hits": sum(c.cache_hits),
    "loss": [float(x) for x in r.final["train_loss"]],
}))
"""


def _run(cache) -> dict:
    env = {**os.environ, CACHE_ENV: str(cache), "JAX_PLATFORMS": "cpu"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_loads_the_engine_program_from_the_cache(tmp_path):
    cache = tmp_path / "jax-cache"
    first = _run(cache)
    assert first["compiled"] == 1 and first["hits"] == 0, first
    assert any(cache.iterdir()), "nothing written to the cache folder"
    second = _run(cache)
    # The same program, loaded instead of compiled; the same results.
    assert second["names"] == first["names"]
    assert second["compiled"] == 0 and second["hits"] == 1, second
    assert second["loss"] == first["loss"]
    # Turned off, the cache is not read: the program is compiled again.
    off = _run("off")
    assert off["compiled"] == 1 and off["hits"] == 0, off


@pytest.mark.parametrize(
    ("setting", "env", "expected"),
    [
        ("off", None, None),
        ("auto", "off", None),
        ("auto", "/x/cache", "/x/cache"),
        ("/y", "/x/cache", "/y"),
        (None, None, None),
    ],
)
def test_resolve_cache_dir(monkeypatch, setting, env, expected):
    if env is None:
        monkeypatch.delenv(CACHE_ENV, raising=False)
    else:
        monkeypatch.setenv(CACHE_ENV, env)
    got = resolve_cache_dir(setting)
    assert (None if got is None else str(got)) == expected


def test_auto_defaults_to_the_per_user_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert resolve_cache_dir("auto") == tmp_path / "implicit_bias" / "jax"
