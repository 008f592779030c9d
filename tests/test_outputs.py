"""Files and aggregates others can read: permissions from the umask, JSON that is JSON, the
scalars as given, diverged runs masked in sweep.nc with a one-call selection by status, and a
printed command that resumes an interrupted multirun."""

import json
import os
import shlex
import stat
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from test_errors import run_cli

from implicit_bias.app import collect, with_status
from implicit_bias.app.cli import run_config
from implicit_bias.app.collect import DIVERGED_MASK
from implicit_bias.app.compose import compose
from implicit_bias.app.files import new_file_mode, umask
from implicit_bias.app.launcher.sweep import resume_command
from implicit_bias.app.rundir import save_json, save_npz
from implicit_bias.result import STATUS_NAMES

#: A run that compiles quickly (the default model, two layers).
QUICK = ["model.depth=2", "steps=5", "sharpness=none", "output.plots=false"]


@pytest.fixture
def the_umask():
    """Set the process umask for a test, and put it back."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_files_get_the_umasks_mode(tmp_path, the_umask, mask):
    """Every .json and .npz was 0600 (the atomic write's temporary file): collaborators on a
    shared cluster could not read results."""
    the_umask(mask)
    assert umask() == mask
    save_json(tmp_path / "m.json", {"a": 1})
    save_npz(tmp_path / "a.npz", x=np.ones(2))
    for name in ("m.json", "a.npz"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o666 & ~mask == new_file_mode(), oct(mode)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left


def test_json_has_null_for_non_finite_values(tmp_path):
    save_json(
        tmp_path / "m.json", {"a": float("nan"), "b": [float("inf"), 1.5], "c": {"d": -1e999}}
    )
    text = (tmp_path / "m.json").read_text()
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": {"d": None}}
    assert "NaN" not in text and "Infinity" not in text


def test_metrics_write_the_scalars_as_given(tmp_path):
    """``lr: 0.019999999552965164`` (the float32 value) was written for lr=0.02."""
    cfg = compose([*QUICK, "lr=0.02", "init_scale=0.35", "steps=1e1"])
    run_config(cfg, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["scalars"] == {
        "seed": 0,
        "data_seed": -1,
        "init_scale": 0.35,
        "lr": 0.02,
        "steps": 10,
    }
    assert metrics["status_reason"]
    assert "non_finite" not in metrics
    mode = stat.S_IMODE((tmp_path / "metrics.json").stat().st_mode)
    assert mode == new_file_mode()


# ------------------------------------------------------------------------------ sweep.nc
def _fake_run(run_dir: Path, lr: float, seed: int, status: str, sharpness, loss) -> None:
    """A run directory as the launcher writes it (what collect reads), metrics.json with
    null for non-finite values."""
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text(
        OmegaConf.to_yaml([f"lr={lr}", f"seed={seed}"])
    )
    metrics = {
        "status": status,
        "steps_reached": 7 if status == "diverged" else 100,
        "final_train_loss": loss,
        "final_sharpness": sharpness,
        "final": {"train_loss": loss, "sharpness": sharpness},
        "initial": {"train_loss": 2.0},
        "scalars": {"seed": seed, "data_seed": -1, "lr": lr},
        "model": "DeepLinear",
        "wall_seconds": 1.0,
    }
    save_json(run_dir / "metrics.json", metrics)


@pytest.fixture
def sweep(tmp_path):
    """lr 0.02: two converged runs; lr 0.2: a converged run and two diverged ones, one with a
    huge finite sharpness (as Fig. 1's runs at lr 0.2 had, up to 1e37), one with NaN."""
    runs = [
        (0.02, 0, "converged", 50.0, 1e-6),
        (0.02, 1, "converged", 60.0, 1e-6),
        (0.2, 0, "converged", 9.0, 1e-6),
        (0.2, 1, "diverged", 1e37, 1e30),
        (0.2, 2, "diverged", float("nan"), float("inf")),
    ]
    for i, (lr, seed, status, sharpness, loss) in enumerate(runs):
        _fake_run(tmp_path / str(i), lr, seed, status, sharpness, loss)
    return tmp_path


def test_sweep_nc_masks_diverged_final_values(sweep):
    ds = collect(sweep)
    assert STATUS_NAMES[int(ds.status.sel(lr=0.2, rep=1))] == "diverged"  # status kept
    assert int(ds.steps_reached.sel(lr=0.2, rep=1)) == 7  # where it stopped, kept
    for name in ("final_sharpness", "final_train_loss"):
        assert np.isnan(ds[name].sel(lr=0.2, rep=[1, 2])).all()
        assert ds[name].attrs["masked"] == DIVERGED_MASK
    # The docs' one-liner: the mean over repetitions is over the runs that are results.
    mean = ds.final_sharpness.mean("rep")
    np.testing.assert_allclose(mean.sel(lr=0.02), 55.0)
    np.testing.assert_allclose(mean.sel(lr=0.2), 9.0)
    assert float(mean.max()) < 100  # was ~3e36: a y-axis up to 1e37
    assert int(ds.initial_train_loss.sel(lr=0.2, rep=1)) == 2  # initial values are results


def test_with_status_selects_runs_in_one_call(sweep):
    ds = collect(sweep)
    converged = with_status(ds, "converged")
    assert int(converged.status.notnull().sum()) == 3
    np.testing.assert_allclose(converged.final_sharpness.sel(lr=0.2).values, [9.0, np.nan, np.nan])
    diverged = with_status(ds, "diverged")
    assert int(diverged.status.notnull().sum()) == 2
    both = with_status(ds, "converged", "diverged")
    assert int(both.status.notnull().sum()) == 5
    with pytest.raises(ValueError, match="one or more of"):
        with_status(ds, "finished")
    with pytest.raises(ValueError):
        with_status(ds)


# ------------------------------------------------------------------------------ resuming
def test_resume_command_names_the_sweep_dir():
    config = OmegaConf.create(
        {
            "hydra": {
                "overrides": {
                    "task": ["lr=0.1,0.2", "+sweep=smoke"],
                    "hydra": [
                        "hydra.mode=MULTIRUN",
                        "hydra.launcher.max_batch_size=2",
                        "hydra.sweep.dir=old",
                    ],
                },
                "sweep": {"dir": "/data/sweeps/x y"},
            }
        }
    )
    assert resume_command(config) == (
        "python -m implicit_bias.run -m lr=0.1,0.2 +sweep=smoke "
        "hydra.launcher.max_batch_size=2 'hydra.sweep.dir=/data/sweeps/x y'"
    )


def test_a_plain_multirun_prints_a_command_that_resumes_it(tmp_path, capsys):
    """Hydra's default sweep dir has the time in it: re-running the same command starts over
    elsewhere. The launcher logs the command that resumes this sweep; running it redoes
    nothing that finished."""
    sweep_dir = tmp_path / "sweep"
    code, err = run_cli(["-m", *QUICK, "lr=0.01,0.02"], sweep_dir)
    assert code in (0, None), err
    log = (sweep_dir / "launcher.log").read_text()
    line = next(s for s in log.splitlines() if "python -m implicit_bias.run -m" in s)
    command = shlex.split(line[line.index("python -m implicit_bias.run") :])
    assert command[:4] == ["python", "-m", "implicit_bias.run", "-m"]
    assert f"hydra.sweep.dir={sweep_dir.resolve()}" in command
    before = {p: p.stat().st_mtime_ns for p in sweep_dir.glob("*/metrics.json")}
    assert len(before) == 2
    (sweep_dir / "1" / "metrics.json").unlink()  # as if interrupted before point 1 finished
    args = [a for a in command[4:] if not a.startswith("hydra.sweep.dir=")]
    code, err = run_cli(["-m", *args], sweep_dir)
    assert code in (0, None), err
    first = sweep_dir / "0" / "metrics.json"
    assert first.stat().st_mtime_ns == before[first]  # finished: not redone
    assert (sweep_dir / "1" / "metrics.json").is_file()
    assert "skipping 1 completed points" in (sweep_dir / "launcher.log").read_text()
