"""Sweeps through Hydra: the batched launcher, the grid sweeper and the collected Dataset.

The shrunken Marion & Chizat (2024) Fig. 1 sweep (``sweeps/smoke.yaml``: 2 init scales x 2 lrs x
2 repetitions, 200 steps) runs in-process through ``implicit_bias.run``'s Hydra entry point, so
compilations can be counted; the kill-and-resume test runs the same sweep in a subprocess, kills
it once its first batch is on disk and resumes it in-process (reusing the compiled program).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from omegaconf import OmegaConf

import implicit_bias as ib
from implicit_bias.app.collect import collect, load_sweep
from implicit_bias.app.launcher.grids import expand_grids, sweep_parser
from implicit_bias.app.launcher.plan import plan_group
from implicit_bias.compilations import count_compilations
from implicit_bias.result import STATUS_NAMES

jax.config.update("jax_enable_x64", True)

ROOT = Path(__file__).resolve().parents[1]
# float64 (tests), 4 batches of 2 points: one compiled program of batch size 2. Sharpness by
# power iteration (as the paper measured it): its program compiles in half the time of Lanczos's
# (about 9 s against 19 s on this 2-core CPU), which keeps this file within its time budget.
SMOKE = [
    "+sweep=smoke",
    "dtype=float64",
    "sharpness.method=power",
    "hydra.launcher.max_batch_size=2",
]
CONTRACT = ("metrics.json", "trajectory.npz", "params.npz", "initial_params.npz", "data.npz")
HYDRA_FILES = ("config.yaml", "overrides.yaml", "hydra.yaml")
# Values that legitimately differ between two runs of the same sweep.
NOT_RESULTS = ("wall_seconds",)


def _multirun(*overrides: str) -> None:
    """``python -m implicit_bias.run -m <overrides>``, in this process.

    The same config directory and schemas as ``implicit_bias.run``'s entry point; its task
    function is not needed (the batched launcher runs the points itself). Importing
    ``implicit_bias.run`` here would rebind the attribute ``implicit_bias.run`` (the engine's
    ``run`` function) to the module for every later test.
    """
    import hydra
    from hydra.core.global_hydra import GlobalHydra

    from implicit_bias.app.resources import conf_dir
    from implicit_bias.app.schema import register_configs

    register_configs()

    @hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
    def main(cfg) -> None:
        raise AssertionError("the batched launcher runs the points itself")

    GlobalHydra.instance().clear()
    argv = sys.argv
    sys.argv = ["implicit_bias.run", "-m", *overrides]
    try:
        main()
    finally:
        sys.argv = argv
        GlobalHydra.instance().clear()


def _run_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(
        (p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )


def _launcher_log(sweep_dir: Path) -> list[dict]:
    lines = (sweep_dir / "launcher.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _metric(v):
    return float("nan") if v is None else v  # metrics.json writes non-finite values as null


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """The smoke sweep in a subprocess, SIGTERM-ed as soon as its first batch is on disk.

    Started before the in-process smoke sweep so that the two compile at the same time (two
    cores). Batches of one point: the kill lands with several batches still to do. A watcher
    thread sends the signal; yields (sweep_dir, process, watcher).
    """
    sweep_dir = tmp_path_factory.mktemp("killed")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "implicit_bias.run", "-m", *SMOKE[:-1]]
    cmd += ["hydra.launcher.max_batch_size=1", f"hydra.sweep.dir={sweep_dir}"]
    out = subprocess.PIPE
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def watch():
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            if list(sweep_dir.glob("*/metrics.json")):
                proc.send_signal(signal.SIGTERM)
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield sweep_dir, proc, watcher
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, killed) -> tuple[Path, int]:
    """The smoke sweep, run once (in-process): its directory and its compilation count."""
    sweep_dir = tmp_path_factory.mktemp("smoke")
    with count_compilations("_simulate") as compiles:
        _multirun(*SMOKE, f"hydra.sweep.dir={sweep_dir}")
    return sweep_dir, compiles.count


# ----------------------------------------------------------------------------- pure parts
def test_plan_chunks_by_equal_horizon_and_pads_to_buckets():
    # Three horizons; sorted shortest first, never mixed in one chunk.
    points = list(range(11))
    horizons = [100, 400, 100, 100, 400, 100, 100, 2000, 400, 100, 100]
    chunks = plan_group(points, horizons, max_batch_size=4, pad_to="pow2")
    assert [c.horizon for c in chunks] == [100, 100, 400, 2000]
    assert [c.points for c in chunks] == [(0, 2, 3, 5), (6, 9, 10), (1, 4, 8), (7,)]
    # pow2 buckets: 3 -> 4, 1 -> 1; padding repeats the last point.
    assert [c.size for c in chunks] == [4, 4, 4, 1]
    padded = ib.Scalars.make(seed=list(chunks[1].points)).pad(chunks[1].size)
    assert np.asarray(padded.seed).tolist() == [6, 9, 10, 10]
    # "max": one batch size (one compiled program) for the whole group.
    assert {c.size for c in plan_group(points, horizons, 4, "max")} == {4}
    assert [c.size for c in plan_group(points, horizons, None, "none")] == [7, 3, 1]
    with pytest.raises(ValueError, match="pad_to"):
        plan_group(points, horizons, 4, "bogus")


def test_grids_tie_keys_and_command_line_wins():
    parser = sweep_parser()
    grids = [
        {"lr": 0.005, "steps": 40000, "seed": "range(2)"},
        {"lr": 0.2, "steps": 2000, "seed": "range(3)"},
    ]
    jobs = expand_grids(parser, ["+sweep=x"], grids, {"init_scale": "linspace(0.25,0.6,3)"})
    assert len(jobs) == 3 * 2 + 3 * 3
    # Tied: no (lr=0.005, steps=2000) point.
    pairs = {(j[1], j[2]) for j in jobs}
    assert pairs == {("lr=0.005", "steps=40000"), ("lr=0.2", "steps=2000")}
    # linspace is numpy's, exactly.
    scales = sorted({float(j[0].split("=")[1]) for j in jobs})
    np.testing.assert_array_equal(scales, np.linspace(0.25, 0.6, 3))
    # A command-line value wins over every grid's; duplicates are launched once.
    jobs = expand_grids(parser, ["lr=0.01", "steps=10"], grids)
    assert jobs == [["lr=0.01", "steps=10", f"seed={s}"] for s in range(3)]
    logs = expand_grids(parser, [], [{"lr": "logspace(-2,-0.3,25)"}])
    np.testing.assert_allclose(
        [float(j[0][3:]) for j in logs], np.logspace(-2, -0.3, 25), rtol=0, atol=0
    )


def _fake_run(run_dir: Path, overrides: list[str], status: str, loss, steps: int) -> None:
    """A run directory as save_run and the launcher write it (only what collect reads)."""
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text(OmegaConf.to_yaml(overrides))
    metrics = {
        "status": status,
        "steps_reached": steps,
        "final_train_loss": loss,
        "final": {"train_loss": loss, "grad_norm": 0.5},
        "initial": {"train_loss": 2.0},
        "scalars": {"seed": int(overrides[-1].split("=")[1]), "data_seed": -1},
        "model": "DeepLinear",
        "wall_seconds": 1.0,
        "batch": {"size": 2, "padded_size": 2},
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    grid = np.linspace(0, steps, 5).round()
    np.savez(run_dir / "trajectory.npz", step=grid, train_loss=np.full(5, 1.0))


def test_collect_puts_tied_keys_along_their_dimension(tmp_path):
    # Two grids: (lr 0.01, 100 steps, seeds 0-1) and (lr 0.1, 20 steps, seeds 0-2); the lr 0.1
    # seed-2 run diverged (older metrics.json files wrote its loss as the string "inf").
    points = [(0.01, 100, s) for s in range(2)] + [(0.1, 20, s) for s in range(3)]
    for i, (lr, steps, seed) in enumerate(points):
        diverged = seed == 2
        _fake_run(
            tmp_path / str(i),
            ["+sweep=x", f"lr={lr}", f"steps={steps}", f"seed={seed}"],
            "diverged" if diverged else "converged",
            "inf" if diverged else 0.25 * (i + 1),
            steps,
        )
    ds = collect(tmp_path)
    # steps is a function of lr: a coordinate along lr, not a dimension.
    assert dict(ds.sizes) == {"lr": 2, "rep": 3, "record": 5}
    np.testing.assert_array_equal(ds.steps, [100, 20])
    assert ds.steps.dims == ("lr",)
    # Missing point (lr 0.01 has two repetitions): NaN and status -1; a diverged run keeps its
    # status, its final values are masked (NaN; tests/test_outputs.py).
    assert int(ds.status.sel(lr=0.01, rep=2)) == -1
    assert np.isnan(float(ds.final_train_loss.sel(lr=0.01, rep=2)))
    assert STATUS_NAMES[int(ds.status.sel(lr=0.1, rep=2))] == "diverged"
    assert np.isnan(float(ds.final_train_loss.sel(lr=0.1, rep=2)))
    np.testing.assert_array_equal(ds.final_train_loss.sel(lr=0.1, rep=[0, 1]), [0.75, 1.0])
    # Each lr has its own record grid: step is a variable over (lr, rep, record).
    np.testing.assert_array_equal(ds.step.sel(lr=0.1, rep=0), [0, 5, 10, 15, 20])
    assert "batch_size" not in ds and "batch" not in ds
    assert json.loads(ds.attrs["overrides"]) == ["+sweep=x"] and ds.attrs["model"] == "DeepLinear"
    # Two runs of the same point (two sweeps in one directory) are refused.
    _fake_run(tmp_path / "dup", ["+sweep=x", "lr=0.1", "steps=20", "seed=0"], "converged", 1.0, 20)
    with pytest.raises(ValueError, match="same swept values"):
        collect(tmp_path, write=False)


# ------------------------------------------------------------------------- the smoke sweep
def test_smoke_sweep_is_one_program_with_a_run_directory_per_point(smoke):
    sweep_dir, compiles = smoke
    # One group, four batches of two: one compilation of the trajectory program.
    assert compiles == 1
    (group,) = _launcher_log(sweep_dir)
    assert group["points"] == 8 and group["batch_sizes"] == [2, 2, 2, 2]
    assert group["compilations"] == 1
    runs = _run_dirs(sweep_dir)
    assert len(runs) == 8
    seen = set()
    for run in runs:
        for name in CONTRACT:
            assert (run / name).is_file(), run / name
        assert (run / "plots" / "loss.png").is_file()
        for name in HYDRA_FILES:
            assert (run / ".hydra" / name).is_file(), run / ".hydra" / name
        overrides = dict(o.split("=", 1) for o in OmegaConf.load(run / ".hydra" / "overrides.yaml"))
        cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
        metrics = json.loads((run / "metrics.json").read_text())
        # Each directory holds the run of its own point (not of a neighbour in its batch).
        sc = metrics["scalars"]
        assert sc["init_scale"] == float(overrides["init_scale"]) == cfg.init_scale
        assert sc["lr"] == float(overrides["lr"]) == cfg.lr
        assert sc["seed"] == int(overrides["seed"]) == cfg.seed
        assert sc["steps"] == 200 == cfg.steps
        assert metrics["batch"] == {"size": 2, "padded_size": 2}
        assert metrics["dtype"] == "float64"
        seen.add((sc["init_scale"], sc["lr"], sc["seed"]))
    assert len(seen) == 8


def test_sweep_nc_has_the_swept_coordinates_and_each_runs_values(smoke):
    sweep_dir, _ = smoke
    assert (sweep_dir / "sweep.nc").is_file()  # written at the end of the multirun
    ds = load_sweep(sweep_dir)
    assert dict(ds.sizes) == {"init_scale": 2, "lr": 2, "rep": 2, "record": 101}
    np.testing.assert_array_equal(ds.init_scale, [0.25, 0.4])
    np.testing.assert_array_equal(ds.lr, [0.01, 0.05])
    np.testing.assert_array_equal(ds.rep, [0, 1])
    np.testing.assert_array_equal(ds.step, np.linspace(0, 200, 101))
    assert json.loads(ds.attrs["overrides"]) == SMOKE[:3]
    for run in _run_dirs(sweep_dir):
        m = json.loads((run / "metrics.json").read_text())
        sc = m["scalars"]
        point = ds.sel(init_scale=sc["init_scale"], lr=sc["lr"], rep=sc["seed"])
        # Exact: JSON and netCDF both keep float64 bits.
        assert STATUS_NAMES[int(point.status)] == m["status"]
        assert int(point.steps_reached) == m["steps_reached"]
        assert int(point.seed) == sc["seed"]
        for key in ("final_train_loss", "final_test_loss", "final_dist_to_wstar"):
            assert float(point[key]) == _metric(m[key]), key
        for key, v in m["final"].items():
            assert float(point[f"final_{key}"]) == _metric(v), key
        for key, v in m["initial"].items():
            assert float(point[f"initial_{key}"]) == _metric(v), key
        assert float(point.wall_seconds) == m["wall_seconds"]
        with np.load(run / "trajectory.npz") as traj:
            np.testing.assert_array_equal(point.train_loss, traj["train_loss"])
            np.testing.assert_array_equal(point.grad_norm, traj["grad_norm"])


def test_rerun_skips_every_completed_point(smoke):
    sweep_dir, _ = smoke
    before = {r: (r / "metrics.json").stat().st_mtime_ns for r in _run_dirs(sweep_dir)}
    with count_compilations("_simulate") as compiles:
        _multirun(*SMOKE, f"hydra.sweep.dir={sweep_dir}")
    assert compiles.count == 0
    assert {r: (r / "metrics.json").stat().st_mtime_ns for r in _run_dirs(sweep_dir)} == before
    # A completed directory made from another config is refused, not skipped (exit code 2).
    with pytest.raises(SystemExit) as e:
        _multirun(*SMOKE, "steps=100", f"hydra.sweep.dir={sweep_dir}")
    assert e.value.code == 2


def test_killed_sweep_resumes_to_the_uninterrupted_result(smoke, killed):
    sweep_dir, proc, watcher = killed
    watcher.join(timeout=600)
    out = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == 128 + signal.SIGTERM, out[-3000:]
    assert "interrupted (SIGTERM)" in out
    done = [r for r in _run_dirs(sweep_dir) if (r / "metrics.json").is_file()]
    assert 1 <= len(done) < 8, out[-3000:]
    assert not (sweep_dir / "sweep.nc").exists()
    first = {r: (r / "metrics.json").read_text() for r in done}

    # Resume with batches of two, every one padded to two (pad_to=max): the program the smoke
    # fixture compiled. The finished points are kept as they are, the others computed.
    with count_compilations("_simulate") as compiles:
        _multirun(*SMOKE, "hydra.launcher.pad_to=max", f"hydra.sweep.dir={sweep_dir}")
    assert compiles.count == 0
    assert {r: (r / "metrics.json").read_text() for r in done} == first
    resumed = load_sweep(sweep_dir).drop_vars(NOT_RESULTS)
    reference = load_sweep(smoke[0]).drop_vars(NOT_RESULTS)
    # The killed points ran in batches of one, the reference in batches of two: the same
    # per-trajectory computation, vmapped, in two compiled programs whose floating-point
    # reductions may be ordered differently. Statuses and step counts agree exactly; float64
    # values to 1e-12 relative to themselves or to their variable's largest value (measured:
    # at most 1e-15 relative, i.e. a few ulp, after 200 well-conditioned GD steps, except
    # values near 0 computed by cancellation, below; a real batching bug, e.g. a point saved
    # from a neighbour's slot, is O(1)). The Lanczos error bounds are rounding-level
    # residuals (1e-16 to 1e-13, about eps * sharpness) whose digits are noise: compared to
    # atol 1e-12, far below the sharpness.tol = 1e-6 they are tested against.
    assert set(resumed.data_vars) == set(reference.data_vars)
    for name in reference.coords:
        np.testing.assert_array_equal(resumed[name], reference[name], err_msg=name)
    for name in reference.data_vars:
        a, b = resumed[name].values, reference[name].values
        if name.endswith("error_bound"):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12, err_msg=name)
        elif np.issubdtype(b.dtype, np.floating):
            # Relative to each value and to the variable's scale: a value near 0 computed by
            # cancellation (dist_to_wstar = mean (w - w*)^2 at 1e-8, from w of order 1) carries
            # an absolute rounding of about eps |w| |w - w*| ~ 1e-20, i.e. 1e-8 relative to
            # itself (measured in CI: 2.8e-20 absolute), while a batching bug is O(scale).
            scale = float(np.nanmax(np.abs(b))) if np.isfinite(b).any() else 0.0
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * scale, err_msg=name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_two_depths_are_two_groups_and_a_diverging_lr_is_recorded(tmp_path):
    sweep_dir = tmp_path / "groups"
    overrides = [
        "model.depth=2,3",
        "lr=0.05,50",  # lr = 50 diverges
        "init_scale=0.5",
        "steps=50",
        "record.num=5",
        "sharpness.method=none",
        "output.plots=false",
        "dtype=float64",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    with count_compilations("_simulate") as compiles:
        _multirun(*overrides)
    assert compiles.count == 2
    assert [g["compilations"] for g in _launcher_log(sweep_dir)] == [1, 1]
    ds = load_sweep(sweep_dir)
    assert dict(ds.sizes) == {"model.depth": 2, "lr": 2, "record": 6}
    diverged = STATUS_NAMES.index("diverged")
    for depth in (2, 3):
        bad = ds.sel({"model.depth": depth, "lr": 50.0})
        good = ds.sel({"model.depth": depth, "lr": 0.05})
        assert int(bad.status) == diverged
        assert int(bad.steps_reached) < 50
        assert int(good.status) != diverged
        assert int(good.steps_reached) == 50
        assert np.isfinite(float(good.final_train_loss))
    for run in _run_dirs(sweep_dir):
        m = json.loads((run / "metrics.json").read_text())
        cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
        point = ds.sel({"model.depth": cfg.model.depth, "lr": cfg.lr})
        assert STATUS_NAMES[int(point.status)] == m["status"]
        if m["status"] == "diverged":  # masked in sweep.nc (its final values are no results)
            assert np.isnan(float(point.final_train_loss))
        else:
            np.testing.assert_array_equal(float(point.final_train_loss), m["final_train_loss"])
    # collect() on its own gives the same Dataset as the one the launcher wrote.
    again = collect(sweep_dir, write=False)
    for name in ds.data_vars:
        np.testing.assert_array_equal(again[name], ds[name], err_msg=name)
