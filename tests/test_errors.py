"""Every bad input of ``docs/errors.md`` gets its one-line message, word for word.

The table of ``docs/errors.md`` is the test data: each row's arguments run through the command
line's entry point (:func:`implicit_bias.app.cli.main`, in this process, with ``sys.argv`` set
and stderr captured), and stderr must be exactly the row's message, one line, exit status 2,
with no run directory left behind. A few rows, and a diverged run, also run as subprocesses (no
traceback anywhere, the ``implicit-bias`` script from another directory). Property tests set
NaN and infinities on every float key of every config group, and ``1.5`` on every integer
key, and check the one line naming the key; integral floats (``1e6``) are accepted.
"""

import contextlib
import dataclasses
import io
import json
import logging
import os
import shlex
import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pytest
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf

from implicit_bias.app.build import build_experiment, build_reference, build_scalars
from implicit_bias.app.compose import compose
from implicit_bias.app.instantiate import instantiate, integer_parameters, to_integer
from implicit_bias.app.launcher.grids import expand_grids, sweep_parser
from implicit_bias.app.launcher.sweep import LauncherOptions
from implicit_bias.app.messages import error_line, format_number
from implicit_bias.app.schema import GROUPS, group_options, schema_for
from implicit_bias.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "errors.md"
#: The folder the table's data files live in; replaced by the test's own.
DOC_DIR = "/tmp/errs"
#: Options that need an argument to build.
REQUIRED = {("data", "file"): ("data.path={npz}",)}


# ------------------------------------------------------------------------ the docs' table
@dataclasses.dataclass(frozen=True)
class Row:
    what: str
    args: str
    message: str


def _rows() -> list[Row]:
    """The rows of the table of docs/errors.md: ``| what | `args` | `message` |``."""
    rows = []
    for line in DOCS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 3 or not all(c.startswith("`") and c.endswith("`") for c in cells[1:]):
            continue
        rows.append(Row(cells[0], cells[1][1:-1], cells[2][1:-1]))
    return rows


ROWS = _rows()


def test_the_table_has_every_case():
    """The table is read (this test guards the parser) and covers each kind of fault."""
    assert len(ROWS) >= 45
    kinds = ["lr=inf", "steps=1.5", "model.depthh=3", "model=nosuch", "data.csv", "X.npy"]
    kinds += ["random.npz", "range(0)", "max_batch_size=0", "pad_to=foo", "sharpness=exact"]
    for kind in kinds:
        assert any(kind in row.args for row in ROWS), kind


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """The data files of the table, one per way of being bad (``/tmp/errs`` in the docs)."""
    d = tmp_path_factory.mktemp("errs")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 3)), rng.normal(size=10)
    np.savez(d / "keys.npz", A=X, y=y)
    np.savez(d / "shape.npz", X=X, y=y[:9])
    Xn = X.copy()
    Xn[0, 0] = np.nan
    np.savez(d / "nan.npz", X=Xn, y=y)
    yi = y.copy()
    yi[1] = np.inf
    np.savez(d / "inf.npz", X=X, y=yi)
    np.savez(d / "obj.npz", X=np.array([{"a": 1}] * 10, dtype=object), y=y)
    np.savetxt(d / "data.csv", np.c_[X, y], delimiter=",", header="x1,x2,x3,y", comments="")
    (d / "text.npz").write_text((d / "data.csv").read_text().replace(",", ";"))
    (d / "noheader.csv").write_text("1,2,3\n4,5,6\n")
    (d / "noy.csv").write_text("a,b,c\n1,2,3\n")
    (d / "ragged.csv").write_text("a,b,y\n1,2,0\n3,4\n")
    (d / "word.csv").write_text("a,b,y\n1,2,0\n3,four,1\n")
    (d / "header.csv").write_text("a,b,y\n")
    np.savez(d / "labels.npz", X=X, y=np.linspace(0.5, 2.5, 10))
    np.savez(d / "three.npz", X=X, y=np.arange(10) % 3)
    np.savez(d / "test.npz", X=X, y=y, X_test=X[:2], y_test=y[:2])
    np.save(d / "X.npy", X)
    (d / "random.npz").write_bytes(rng.bytes(256))
    np.savez(d / "ok.npz", X=X, y=y)
    return d


def run_cli(args: list[str], out: Path, stdout: io.StringIO | None = None) -> tuple[int, str]:
    """``python -m implicit_bias.run <args>`` in this process: (exit status, stderr).

    Hydra's logging configuration (``logging.config.dictConfig``, which shuts down every
    handler, pytest's capture included) is skipped: it is not under test. stdout goes to
    ``stdout`` if given; the root logger's handlers are put back afterwards.
    """
    from unittest import mock

    from implicit_bias.app import cli

    where = "hydra.sweep.dir" if args[:1] == ["-m"] else "hydra.run.dir"
    GlobalHydra.instance().clear()
    argv = sys.argv
    sys.argv = ["implicit_bias.run", *args, f"{where}={out}"]
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    err, stdout = io.StringIO(), stdout if stdout is not None else io.StringIO()
    root.setLevel(logging.INFO)  # as Hydra's logging configuration would
    code = 0
    try:
        with (
            mock.patch("hydra._internal.logging_config.configure_logging"),
            contextlib.redirect_stderr(err),
            contextlib.redirect_stdout(stdout),
        ):
            cli.main()
    except SystemExit as e:
        code = e.code
    finally:
        sys.argv = argv
        GlobalHydra.instance().clear()
        for h in root.handlers[:]:
            if h not in handlers:
                root.removeHandler(h)
                h.close()
        for h in handlers:
            if h not in root.handlers:
                root.addHandler(h)
        root.setLevel(level)
    return code, err.getvalue()


@pytest.mark.parametrize("row", ROWS, ids=[r.args for r in ROWS])
def test_docs_row(row, files, tmp_path):
    args = shlex.split(row.args.replace(DOC_DIR, str(files)))
    out = tmp_path / "out"
    code, err = run_cli(args, out)
    assert err.splitlines() == [row.message.replace(DOC_DIR, str(files))], err
    assert code == 2
    if args[:1] == ["-m"]:
        assert not (out / "0").exists()  # refused before any point ran
    else:  # a refused single run leaves no directory behind
        assert not out.exists(), sorted(p.name for p in out.iterdir())


# ------------------------------------------------------------------- the real command line
def _popen(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    """Command lines run as subprocesses, all at once (they import JAX and Hydra each)."""
    d = tmp_path_factory.mktemp("cli")
    script = Path(sys.executable).parent / "implicit-bias"
    python = [sys.executable, "-m", "implicit_bias.run"]
    commands = {
        "lr=inf": [*python, "lr=inf", f"hydra.run.dir={d / 'a'}"],
        "script -m lr=range(0)": [str(script), "-m", "lr=range(0)", f"hydra.sweep.dir={d}/c"],
        # lr = 1e6: the first step makes the loss non-finite; plots on, so that they too see
        # the NaN values.
        "diverged": [*python, "lr=1e6", "steps=20", f"hydra.run.dir={d / 'diverged'}"],
    }
    procs = {k: _popen(cmd, cwd=d) for k, cmd in commands.items()}  # d: not the repository
    out = {}
    for k, p in procs.items():
        stdout, stderr = p.communicate(timeout=600)
        out[k] = (p.returncode, stdout, stderr)
    return d, out


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lr=inf", "Error: lr=inf is invalid: a finite float > 0"),
        (
            "script -m lr=range(0)",
            "Error: lr='range(0)' is invalid: at least one value (a sweep over no values has no "
            "points)",
        ),
    ],
)
def test_cli_prints_one_line_without_traceback(processes, name, expected):
    _, out = processes
    code, stdout, stderr = out[name]
    assert code == 2, stderr
    assert stderr.strip().splitlines() == [expected], stderr
    assert "Traceback" not in stdout + stderr


def test_diverged_run_reports_nan_without_a_logging_error(processes):
    d, out = processes
    code, stdout, stderr = out["diverged"]
    assert code == 0, stderr
    for bad in ("Traceback", "Logging error", "TypeError"):
        assert bad not in stdout + stderr
    summary = [line for line in (stdout + stderr).splitlines() if "status=" in line]
    assert len(summary) == 1, stdout + stderr
    assert (
        "DeepLinear: status=diverged train_loss=nan sharpness=nan dist_to_wstar=nan" in (summary[0])
    )
    run = d / "diverged"
    text = (run / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text and '"nan"' not in text
    metrics = json.loads(text)
    assert metrics["status"] == "diverged"
    assert metrics["final_train_loss"] is None
    assert "final_train_loss" in metrics["non_finite"]
    assert metrics["status_reason"].startswith("the training loss was not finite or exceeded")
    assert metrics["scalars"]["lr"] == 1e6 and metrics["scalars"]["steps"] == 20
    for name in ("loss.png", "sharpness.png", "dist_to_wstar.png"):
        assert (run / "plots" / name).stat().st_size > 0


# --------------------------------------------------------------------- property: floats
def _option_fields(kind: tuple[type, ...]):
    """(group, option, key) for every field of every option whose schema type is ``kind``."""
    for group in GROUPS:
        for name, path in group_options(group).items():
            target = (OmegaConf.load(path) or {}).get("_target_")
            if not isinstance(target, str):
                continue
            for f in dataclasses.fields(schema_for(target)):
                if f.type in kind:
                    yield group, name, f.name


FLOAT_KEYS = list(_option_fields((float, float | None)))
TOP_FLOAT_KEYS = (
    "lr",
    "init_scale",
    "t1",
    "divergence_threshold",
    "converge_tol",
    "sharpness.tol",
    "record.log_min",
)
NON_FINITE = ("nan", "inf", "-inf")


def test_every_config_group_has_float_keys_under_test():
    groups = {g for g, _, _ in FLOAT_KEYS}
    assert groups == {"model", "data", "integrator", "reference"}, groups
    assert len(FLOAT_KEYS) >= 20


@pytest.fixture(scope="module")
def composed(files):
    """One composed config per option (composing is the slow part)."""
    cache = {}

    def get(group, name):
        if (group, name) not in cache:
            extra = [o.format(npz=files / "ok.npz") for o in REQUIRED.get((group, name), ())]
            cache[group, name] = compose([f"{group}={name}", *extra])
        return cache[group, name]

    return get


def _build_group(cfg, group):
    if group == "reference":
        return build_reference(cfg)
    node = OmegaConf.to_container(cfg[group], resolve=True)
    fill = {"input_dim": 5} if node.get("input_dim", 0) is None else {}
    return instantiate(node, group, **fill)


@pytest.mark.parametrize(("group", "name", "key"), FLOAT_KEYS, ids=lambda v: str(v))
def test_every_float_key_refuses_non_finite_values(composed, group, name, key):
    for value in NON_FINITE:
        cfg = composed(group, name).copy()
        OmegaConf.update(cfg, f"{group}.{key}", float(value), merge=True)
        with pytest.raises(ConfigError) as e:
            _build_group(cfg, group)
        message = str(e.value)
        assert message.startswith(f"{group}.{key}={value} is invalid: "), message
        assert "\n" not in message


@pytest.mark.parametrize("key", TOP_FLOAT_KEYS)
def test_every_top_level_float_refuses_non_finite_values(composed, key):
    for value in NON_FINITE:
        cfg = composed("model", "deep_linear").copy()
        OmegaConf.update(cfg, key, float(value), merge=True)
        with pytest.raises(ConfigError) as e:
            build_experiment(cfg)
            build_scalars(cfg)
        message = str(e.value)
        assert message.startswith(f"{key}={value} is invalid: "), message
        assert "\n" not in message


# ------------------------------------------------------------------- property: integers
def _integer_keys():
    for group in GROUPS:
        for name, path in group_options(group).items():
            target = (OmegaConf.load(path) or {}).get("_target_")
            if not isinstance(target, str):
                continue
            module, _, attr = target.rpartition(".")
            cls = getattr(__import__(module, fromlist=[attr]), attr)
            for key in integer_parameters(cls):
                yield group, name, key


INT_KEYS = list(_integer_keys())


def test_integer_keys_are_found():
    assert ("model", "deep_linear", "width") in INT_KEYS
    assert ("model", "deep_linear", "depth") in INT_KEYS
    assert ("data", "gaussian_regression", "n") in INT_KEYS
    assert len(INT_KEYS) >= 20


@pytest.mark.parametrize(("group", "name", "key"), INT_KEYS, ids=lambda v: str(v))
def test_every_integer_key_refuses_a_fraction(composed, group, name, key):
    cfg = composed(group, name).copy()
    OmegaConf.update(cfg, f"{group}.{key}", 1.5, merge=True)
    with pytest.raises(ConfigError) as e:
        _build_group(cfg, group)
    assert str(e.value).startswith(f"{group}.{key}=1.5 is invalid: an integer"), str(e.value)


def test_integral_floats_are_integers():
    """Researchers write 1e6 for a million steps: every kind of integer key takes it."""
    cfg = compose(
        [
            "steps=1e6",
            "seed=3e0",
            "data_seed=-1e0",
            "model.width=1e1",
            "model.depth=4e0",
            "data.n=5e1",
            "record.every=1e3",
            "sharpness.num_iters=2e1",
        ]
    )
    exp = build_experiment(cfg)
    assert (exp.model.width, exp.model.depth, exp.data.n) == (10, 4, 50)
    assert type(exp.model.width) is int and type(exp.record.every) is int
    assert exp.record.every == 1000 and exp.sharpness.num_iters == 20
    sc = build_scalars(cfg)
    assert int(sc.steps[0]) == 1_000_000 and int(sc.seed[0]) == 3 and int(sc.data_seed[0]) == -1
    assert LauncherOptions.make(max_batch_size=1e3, workers=2.0).max_batch_size == 1000
    assert to_integer(1e6, "k") == 1_000_000
    for bad in (1.5, "10", True, float("inf"), None):
        with pytest.raises(ConfigError, match="k="):
            to_integer(bad, "k")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["seed=0.5"], "seed=0.5 is invalid: an integer >= 0"),
        (["record.every=1.5"], "record.every=1.5 is invalid: an integer or null"),
        (["model.width=7.5"], "model.width=7.5 is invalid: an integer"),
        (["sharpness.num_iters=2.5"], "sharpness.num_iters=2.5 is invalid: an integer or null"),
    ],
)
def test_integer_keys_refuse_fractions(args, message):
    cfg = compose(args)
    with pytest.raises(ConfigError) as e:
        build_experiment(cfg)
        build_scalars(cfg)
    assert str(e.value) == message


# ------------------------------------------------------------------------- units
def test_compose_raises_hydras_exceptions_that_error_line_rewrites():
    """From Python, compose() raises Hydra's exceptions; the command line prints error_line."""
    with pytest.raises(MissingConfigException) as e:
        compose(["model=nosuch"])
    assert "schema_" not in str(e.value)  # schemas are not among the options
    assert error_line(e.value).startswith("model='nosuch' is invalid: one of ['deep_linear'")
    with pytest.raises(ConfigCompositionException) as e:
        compose(["model.depthh=3"])
    assert error_line(e.value) == (
        "model.depthh=3 is invalid: a key of model (one of ['input_dim', 'width', 'depth'])"
    )


def test_help_lists_no_schemas(tmp_path):
    """``--help`` lists each group's options, and no schema among them."""
    stdout = io.StringIO()
    code, _ = run_cli(["--help"], tmp_path / "x", stdout)
    text = stdout.getvalue()
    assert code in (0, None)
    assert "model: deep_linear, diagonal, linear," in text
    assert "schema" not in text


def test_empty_grid_values_are_named():
    parser = sweep_parser()
    with pytest.raises(ConfigError) as e:
        expand_grids(parser, [], [{"lr": "0.1"}, {"lr": []}])
    assert str(e.value) == (
        "hydra.sweeper.grids[1].lr=[] is invalid: at least one value (a sweep over no values has "
        "no points)"
    )
    with pytest.raises(ConfigError, match=r"^hydra.sweeper.params.seed='range\(0\)'"):
        expand_grids(parser, [], [], {"seed": "range(0)"})
    assert expand_grids(parser, ["lr=0.1,0.2"], []) == [["lr=0.1"], ["lr=0.2"]]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "n/a"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (-float("inf"), "-inf"),
        (np.float32(0.25), "0.25"),
        (np.array(3.0), "3"),
        ("nan", "nan"),
        (7, "7"),
        (True, "True"),
    ],
)
def test_format_number_never_raises(value, text):
    assert format_number(value) == text


def test_error_line_of_a_wrapped_config_error():
    """A ConfigError raised inside Hydra (the launcher's options, instantiated by Hydra) is
    the message, whatever wraps it."""
    from hydra.errors import InstantiationException

    inner = ConfigError("hydra.launcher.pad_to", "foo", "one of ['pow2', 'max', 'none']")
    try:
        try:
            raise inner
        except ConfigError as e:
            raise InstantiationException("Error in call to target 'x'") from e
    except InstantiationException as outer:
        assert error_line(outer) == str(inner)


def test_type_hints_of_integer_parameters():
    class Example:
        def __init__(self, a: int, b: int | None = None, c: float = 1.0, d: typing.Any = 0):
            pass

    assert integer_parameters(Example) == {"a": False, "b": True}
