"""The batched launcher runs its batches as submitit jobs (``hydra.launcher.submitit``).

A 2-point sweep through the CLI with submitit's local executor (each batch a subprocess, as a
SLURM job would be) must write two complete run directories and ``sweep.nc``, with the same
numbers as the same sweep run in-process: the job runs the same code
(:func:`run_chunk` -> ``run_batch``) on the same batch, so the same XLA program on the same CPU;
agreement to 1e-12 in float64 (measured: bitwise).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

pytest.importorskip("submitit")
jax.config.update("jax_enable_x64", True)

ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-12
SWEEP = ["-m", "lr=0.01,0.02", "steps=20", "model.depth=2", "sharpness=none", "dtype=float64"]


def _sweep(sweep_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    cmd = [
        sys.executable,
        "-m",
        "implicit_bias.run",
        *SWEEP,
        *extra,
        f"hydra.sweep.dir={sweep_dir}",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_local_executor_writes_the_runs_of_the_in_process_launcher(tmp_path):
    remote, local = tmp_path / "submitit", tmp_path / "inprocess"
    proc = _sweep(remote, "hydra.launcher.submitit.executor=local")
    assert "submitted 1 submitit job(s)" in proc.stdout + proc.stderr
    assert any((remote / ".submitit").iterdir())  # the job's pickles and logs
    _sweep(local)
    assert (remote / "sweep.nc").is_file()
    for i in (0, 1):
        a, b = remote / str(i), local / str(i)
        metrics = json.loads((a / "metrics.json").read_text())
        assert metrics["batch"] == {"size": 2, "padded_size": 2}
        for name in ("params.npz", "initial_params.npz", "trajectory.npz"):
            with np.load(a / name) as x, np.load(b / name) as y:
                assert sorted(x.files) == sorted(y.files)
                for k in x.files:
                    np.testing.assert_allclose(x[k], y[k], rtol=0, atol=TOL, err_msg=f"{name}:{k}")
        ref = json.loads((b / "metrics.json").read_text())
        assert metrics["final"]["train_loss"] == pytest.approx(ref["final"]["train_loss"], abs=TOL)


def test_bad_executor_is_refused(tmp_path):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    cmd = [
        sys.executable,
        "-m",
        "implicit_bias.run",
        *SWEEP,
        "hydra.launcher.submitit.executor=pbs",
        f"hydra.sweep.dir={tmp_path}",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "Error: hydra.launcher.submitit.executor='pbs' is invalid: one of ['slurm', 'local', null]"
    ]
