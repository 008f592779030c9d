"""Every bad input of ``docs/errors.md`` gets its one-line message, word for word.

Each test composes a config with the row's overrides (as the CLI does), builds it
(:func:`~implicit_bias.app.build.build_experiment`,
:func:`~implicit_bias.app.build.build_scalars`) and checks the exact message. Rows that Hydra or
OmegaConf refuse while composing (unknown option,
wrong type, unknown key) are checked on the exception Hydra raises. Three subprocess tests run
the CLI itself: the message is stderr's only line, exit status 2, no traceback.
"""

import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf.errors import ConfigAttributeError

from implicit_bias.app.build import build_experiment, build_scalars
from implicit_bias.app.compose import compose
from implicit_bias.errors import ConfigError

jax.config.update("jax_enable_x64", True)
ROOT = Path(__file__).resolve().parent.parent


def _compose(overrides):
    return compose(list(overrides))


def _message(overrides) -> str:
    """The ConfigError message the CLI prints (after ``Error: ``) for these overrides."""
    cfg = _compose(overrides)
    with pytest.raises(ConfigError) as e:
        build_experiment(cfg)
        build_scalars(cfg)
    return str(e.value)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The data files of the table: one good, one per way of being bad."""
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
    return d


# ------------------------------------------------------------------ refused by Hydra (compose)
def test_unknown_option_lists_available_options():
    with pytest.raises(MissingConfigException) as e:
        _compose(["model=nosuch"])
    msg = str(e.value)
    assert msg.startswith("In 'config': Could not find 'model/nosuch'")
    assert "Available options in 'model':" in msg
    for name in ("deep_linear", "diagonal", "linear", "mlp", "residual_linear"):
        assert f"\t{name}\n" in msg


def test_wrong_type():
    with pytest.raises(ConfigCompositionException) as e:
        _compose(["lr=abc"])
    assert str(e.value) == "Error merging override lr=abc"
    assert "Value 'abc' of type 'str' could not be converted to Float" in str(e.value.__cause__)


def test_unknown_key():
    with pytest.raises(ConfigCompositionException) as e:
        _compose(["model.depthh=3"])
    assert str(e.value) == (
        "Could not override 'model.depthh'.\nTo append to your config use +model.depthh=3"
    )
    assert isinstance(e.value.__cause__, ConfigAttributeError)
    assert "Key 'depthh' not in 'DeepLinearConf'" in str(e.value.__cause__)


# ------------------------------------------------------------------------- our ConfigErrors
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["lr=-0.1"], "lr=-0.1 is invalid: a float > 0"),
        (["model.depth=0"], "model.depth=0 is invalid: an integer >= 1"),
        (["model.width=0"], "model.width=0 is invalid: an integer >= 1"),
        (["init_scale=-1"], "init_scale=-1.0 is invalid: a float >= 0"),
        (["steps=-1"], "steps=-1 is invalid: an integer >= 0"),
        (
            ["integrator=gradient_flow", "integrator.rtol=0"],
            "integrator.rtol=0.0 is invalid: a float > 0",
        ),
        (
            ["loss=logistic"],
            "loss='logistic' is invalid: a regression loss for GaussianRegression data "
            "(this loss is for classification)",
        ),
        (
            ["init=residual", "model.width=4"],
            "init='residual' is invalid: square weight matrices; DeepLinear.W1 has shape (4, 5) "
            "(use model=residual_linear, or init=gaussian)",
        ),
        (
            ["model._target_=os.system"],
            "model._target_='os.system' is invalid: a class or function of the implicit_bias "
            "package",
        ),
        (["dtype=float16"], "dtype='float16' is invalid: one of ['float32', 'float64']"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_config_error(overrides, expected):
    assert _message(overrides) == expected


def _file_message(path) -> str:
    return _message(["data=file", f"data.path={path}"])


def test_data_file_missing(files):
    p = files / "missing.npz"
    assert _file_message(p) == f"data.path='{p}' is invalid: an existing .npz file"


def test_data_file_wrong_keys(files):
    p = files / "keys.npz"
    assert _file_message(p) == (
        f"data.path='{p}' is invalid: an .npz with keys ['X', 'y'] (optional ['X_test', "
        "'y_test', 'w_star']); missing ['X'], found ['A', 'y']"
    )


def test_data_file_wrong_shapes(files):
    assert _file_message(files / "shape.npz") == (
        "data.path[X,y]='X(10, 3), y(9,)' is invalid: X of shape (n, d) and y of shape (n,)"
    )


@pytest.mark.parametrize(("name", "key"), [("nan", "X"), ("inf", "y")])
def test_data_file_non_finite(files, name, key):
    assert _file_message(files / f"{name}.npz") == (
        f"data.path[{key}]='non-finite entries' is invalid: finite values only"
    )


def test_data_file_pickled_objects_refused(files):
    p = files / "obj.npz"
    assert _file_message(p) == (
        f"data.path='{p}' is invalid: an .npz of numeric arrays; pickled objects are refused "
        "(Object arrays cannot be loaded when allow_pickle=False)"
    )


# ------------------------------------------------------------------------------------ the CLI
def _cli(*overrides, tmp_path):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.run(
        [sys.executable, "-m", "implicit_bias.run", *overrides, f"hydra.run.dir={tmp_path}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["lr=-0.1"], "Error: lr=-0.1 is invalid: a float > 0"),
        (
            ["model._target_=os.system"],
            "Error: model._target_='os.system' is invalid: a class or function of the "
            "implicit_bias package",
        ),
        (["dtype=float16"], "Error: dtype='float16' is invalid: one of ['float32', 'float64']"),
    ],
    ids=["lr", "target", "dtype"],
)
def test_cli_prints_one_line_without_traceback(overrides, expected, tmp_path):
    proc = _cli(*overrides, tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [expected], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
