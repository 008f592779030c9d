"""Concurrent and failing writes (issue 12): two sweeps into one folder serialize on a lock; a
full disk or a read-only folder ends with one line and leaves no run directory that a later
run would take as complete; a corrupted ``metrics.json`` is redone, not trusted.

Failures are injected (``OSError`` with ``ENOSPC`` / ``EROFS`` raised by the writer), so the
tests run anywhere; the read-only folder is also tried for real with ``chmod``, skipped as root
(root writes through ``chmod 555``)."""

import errno
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import jax
import numpy as np
import pytest
from test_errors import run_cli
from test_sweep import _run_dirs

import implicit_bias as ib
from implicit_bias.app import rundir as rundir_mod
from implicit_bias.app.collect import load_sweep
from implicit_bias.app.files import Busy, OutputError, exclusive_lock
from implicit_bias.app.launcher.sweep import LOCK_FILE
from implicit_bias.app.rundir import COMPLETE_MARKER, is_complete, save_run

jax.config.update("jax_enable_x64", True)

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "model=linear",
    "init=zero",
    "steps=20",
    "record.num=4",
    "sharpness.method=none",
    "output.plots=false",
    "dtype=float64",
]


@pytest.fixture(scope="module")
def tiny_run():
    exp = ib.Experiment(
        model=ib.Linear(input_dim=5),
        data=ib.GaussianRegression(n=20, d=5),
        init=ib.Zero(),
        integrator=ib.GD(),
        sharpness=ib.SharpnessSpec(method="none", track=False),
        dtype="float64",
    )
    return exp, ib.run_trajectory(exp, lr=0.05, steps=20)


def _failing_npz(monkeypatch, fail_at: int, code: int) -> list[int]:
    """Make the ``fail_at``-th npz write (1-based) raise ``OSError(code)``, as a full disk
    (ENOSPC) or a read-only file system (EROFS) does."""
    calls = [0]
    real = rundir_mod.save_npz

    def save_npz(path, **arrays):
        calls[0] += 1
        if calls[0] == fail_at:
            raise OSError(code, os.strerror(code))
        real(path, **arrays)

    monkeypatch.setattr(rundir_mod, "save_npz", save_npz)
    return calls


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_failed_write_leaves_an_incomplete_directory(tmp_path, monkeypatch, tiny_run, code):
    """A write failing halfway (the 2nd of 4 npz files) raises one line naming the folder and
    the reason; the directory has no metrics.json and no temporary file, so it is not taken
    as complete; once the disk is writable again the same call completes it."""
    exp, run = tiny_run
    _failing_npz(monkeypatch, 2, code)
    with pytest.raises(OutputError) as info:
        save_run(tmp_path / "run", run, exp, 0.0, plots=False)
    msg = str(info.value)
    assert "\n" not in msg and str(tmp_path / "run") in msg
    assert f"({errno.errorcode[code]})" in msg and os.strerror(code) in msg
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == ["trajectory.npz"]  # what was written before the failure; no .tmp file
    assert not is_complete(tmp_path / "run")
    monkeypatch.undo()
    save_run(tmp_path / "run", run, exp, 0.0, plots=False)
    assert is_complete(tmp_path / "run")


def test_failed_rewrite_does_not_keep_the_old_marker(tmp_path, monkeypatch, tiny_run):
    """Rewriting a complete directory (skip_completed=false) that fails halfway must not leave
    the old metrics.json marking a mix of old and new files complete."""
    exp, run = tiny_run
    save_run(tmp_path / "run", run, exp, 0.0, plots=False)
    assert is_complete(tmp_path / "run")
    _failing_npz(monkeypatch, 3, errno.ENOSPC)
    with pytest.raises(OutputError):
        save_run(tmp_path / "run", run, exp, 0.0, plots=False)
    assert not (tmp_path / "run" / COMPLETE_MARKER).exists()
    assert not is_complete(tmp_path / "run")


@pytest.mark.parametrize(
    "text", ['{"status": "converged", "final_tra', "", "[]", '{"status": "done"}', "\x00\x00"]
)
def test_corrupted_metrics_json_is_not_complete(tmp_path, text):
    (tmp_path / COMPLETE_MARKER).write_text(text)
    assert not is_complete(tmp_path)
    (tmp_path / COMPLETE_MARKER).write_text('{"status": "max_steps"}')
    assert is_complete(tmp_path)


def test_lock_serializes_two_holders(tmp_path):
    """A second holder is told who holds the lock (pid), then waits until it is released."""
    path = tmp_path / LOCK_FILE
    told: list[str] = []
    order: list[str] = []
    waiting = threading.Event()

    def second():
        with exclusive_lock(path, lambda holder: (told.append(holder), waiting.set())):
            order.append("second")

    with exclusive_lock(path):
        with pytest.raises(Busy, match=f"pid {os.getpid()} "):
            with exclusive_lock(path, None):
                pass
        t = threading.Thread(target=second)
        t.start()
        assert waiting.wait(60)  # it found the lock held and said so
        order.append("first")  # still inside the first holder: the second has not entered
    t.join(60)
    assert order == ["first", "second"]
    assert told and f"pid {os.getpid()} " in told[0]


def test_second_sweep_into_the_same_folder_waits_then_skips(tmp_path):
    """A sweep started while another holds its folder says so on one line and writes nothing
    until the folder is released; then it runs (here: all its points, as the holder wrote
    none) and leaves every point complete."""
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "implicit_bias.run", "-m", *TINY, "lr=0.01,0.02"]
    cmd += [f"hydra.sweep.dir={sweep_dir}"]
    with exclusive_lock(sweep_dir / LOCK_FILE):
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        line = ""
        while "another sweep is writing to" not in line:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "the sweep ended without waiting"
        assert f"pid {os.getpid()} " in line and str(sweep_dir) in line
        assert not list(sweep_dir.glob("*/metrics.json"))  # blocked: nothing written
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert [is_complete(d) for d in _run_dirs(sweep_dir)] == [True, True]


def test_sweep_on_a_full_disk_stops_with_one_line_and_resumes(tmp_path, monkeypatch):
    """The disk fills while the 2nd of 3 points is written: the sweep stops with one line
    (exit status 1) naming the folder, the reason, what is complete and the resume command;
    point 0 is complete, point 1 is not (no metrics.json). Resumed on a writable disk, it
    redoes points 1 and 2 only. A corrupted metrics.json (point 0) is then redone."""
    sweep_dir = tmp_path / "sweep"
    args = ["-m", *TINY, "lr=0.01,0.02,0.03", "hydra.launcher.max_batch_size=3"]
    _failing_npz(monkeypatch, 5, errno.ENOSPC)  # 4 npz files per point: point 1's first one
    code, err = run_cli(args, sweep_dir)
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: cannot write "), err
    assert "No space left on device (ENOSPC)" in lines[0]
    assert "1 of 3 points are complete" in lines[0] and "hydra.sweep.dir=" in lines[0]
    dirs = _run_dirs(sweep_dir)
    assert is_complete(dirs[0]) and not is_complete(dirs[1])
    assert not (sweep_dir / "sweep.nc").exists()
    first = (dirs[0] / COMPLETE_MARKER).read_text()

    monkeypatch.undo()
    code, err = run_cli(args, sweep_dir)
    assert code in (0, None), err
    dirs = _run_dirs(sweep_dir)
    assert all(is_complete(d) for d in dirs) and len(dirs) == 3
    assert (dirs[0] / COMPLETE_MARKER).read_text() == first  # skipped, not redone

    (dirs[0] / COMPLETE_MARKER).write_text(first[: len(first) // 2])  # truncated
    code, err = run_cli(args, sweep_dir)
    assert code in (0, None), err
    redone = json.loads((dirs[0] / COMPLETE_MARKER).read_text())
    old = json.loads(first)
    assert redone["scalars"] == old["scalars"]
    # The same run again, now alone in its batch (before: in a batch of 3): float64 results
    # agree to rounding; XLA may order a reduction differently for another batch size.
    assert redone["final_train_loss"] == pytest.approx(old["final_train_loss"], rel=1e-13)
    ds = load_sweep(sweep_dir)
    assert ds.sizes["lr"] == 3 and np.all(np.asarray(ds.status) >= 0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a chmod 555 folder")
def test_read_only_folder_ends_with_one_line(tmp_path):
    """A sweep and a single run into a read-only folder: exit status 1, one line."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        sweep = ["-m", "lr=0.01,0.02", f"hydra.sweep.dir={ro}/sw"]
        for extra in (sweep, [f"hydra.run.dir={ro}/r"]):
            cmd = [sys.executable, "-m", "implicit_bias.run", *TINY, *extra]
            p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
            assert p.returncode == 1, p.stderr
            lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
            assert len(lines) == 1 and lines[0].startswith("Error: cannot write "), p.stderr
            assert "(EACCES)" in lines[0]
        assert not list(ro.iterdir())
    finally:
        ro.chmod(0o755)
