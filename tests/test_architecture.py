"""The architecture as a contract: the three import rings, and a wheel that runs on its own.

* ``lint-imports`` (contracts in pyproject.toml): papers -> app -> library, no cycles, no Hydra
  in the library.
* A non-editable install: the wheel carries ``conf/`` and ``sweeps/``; installed with
  ``--no-deps`` into a folder (JAX & co. come from this test environment), the CLI, a sweep and
  the console script run from an empty folder, importing nothing from this checkout.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(BIN)) or "lint-imports"
    proc = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package built as a wheel and installed (no deps) into a fresh folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(ROOT)],
        check=True,
        cwd=tmp,
    )
    (wheel,) = (tmp / "dist").glob("implicit_bias-*.whl")
    target = tmp / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    return target


def _run(target: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(target), "JAX_PLATFORMS": "cpu"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_wheel_runs_the_cli_a_sweep_and_the_console_script(installed, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    where = _run(
        installed,
        [
            sys.executable,
            "-c",
            "import implicit_bias, implicit_bias.app.resources as r; "
            "print(implicit_bias.__file__); print(r.conf_dir()); print(r.sweeps_dir())",
        ],
        empty,
    )
    assert where.returncode == 0, where.stderr
    for line in where.stdout.split():
        assert line.startswith(str(installed)), where.stdout  # nothing from this checkout
    assert (installed / "implicit_bias" / "conf" / "config.yaml").is_file()
    assert (installed / "implicit_bias" / "sweeps" / "smoke.yaml").is_file()

    run = _run(
        installed,
        [
            sys.executable,
            "-m",
            "implicit_bias.run",
            "steps=5",
            "record.num=2",
            "output.plots=false",
        ],
        empty,
    )
    assert run.returncode == 0, run.stderr
    assert list(empty.glob("outputs/*/*/metrics.json")), run.stderr

    sweep = _run(
        installed,
        [sys.executable, "-m", "implicit_bias.run", "-m", "+sweep=smoke", "steps=5"],
        empty,
    )
    assert sweep.returncode == 0, sweep.stderr
    assert len(list(empty.glob("outputs/sweeps/smoke/*/metrics.json"))) == 8
    assert (empty / "outputs/sweeps/smoke/sweep.nc").is_file()

    script = installed / "bin" / "implicit-bias"
    helped = _run(installed, [sys.executable, str(script), "--help"], empty)
    assert helped.returncode == 0, helped.stderr
    assert "implicit_bias" in helped.stdout or "run" in helped.stdout
