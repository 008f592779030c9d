"""Configs are code: every option of every group builds, bad values are clear errors, and the
CLI runs (single run and a small multirun) into a temporary folder."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

import implicit_bias as ib
from implicit_bias.app.build import build_experiment, build_reference, build_scalars, static_key
from implicit_bias.app.compose import compose
from implicit_bias.app.messages import error_line
from implicit_bias.app.schema import GROUPS, group_options
from implicit_bias.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

# Options that need an argument to build (e.g. a data file).
REQUIRED_OVERRIDES = {("data", "file"): ["data.path={npz}"]}


def _compose(overrides):
    return compose(overrides)


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(path, X=rng.normal(size=(20, 5)), y=rng.normal(size=20))
    return path


def _all_options():
    for group in GROUPS:
        for name in group_options(group):
            yield group, name


@pytest.mark.parametrize(("group", "name"), list(_all_options()))
def test_every_option_of_every_group_instantiates(group, name, npz):
    overrides = [f"{group}={name}"]
    overrides += [o.format(npz=npz) for o in REQUIRED_OVERRIDES.get((group, name), [])]
    cfg = _compose(overrides)
    if group == "reference":
        obj = build_reference(cfg)
        assert name == "none" or isinstance(obj, ib.AbstractCheck)
        return
    node = cfg[group]
    from implicit_bias.app.instantiate import instantiate

    # input_dim: null means "the data dimension" (filled in by build_experiment).
    fill = {"input_dim": 5} if "input_dim" in node and node.input_dim is None else {}
    obj = instantiate(node, group, **fill)
    module = {
        "model": ib.models.AbstractModel,
        "data": ib.data.AbstractData,
        "init": ib.inits.AbstractInit,
        "integrator": ib.integrators.AbstractIntegrator,
        "loss": ib.losses.AbstractLoss,
    }[group]
    assert isinstance(obj, module)
    # Every field of the YAML reached the object.
    for key, value in OmegaConf.to_container(node, resolve=True).items():
        if key != "_target_" and hasattr(obj, key) and value is not None:
            assert getattr(obj, key) == value or key == "path", (key, value)


@pytest.mark.parametrize("name", ["lanczos", "power", "exact", "none"])
def test_sharpness_options(name):
    exp = build_experiment(_compose([f"sharpness={name}"]))
    assert exp.sharpness.method == name


def test_default_config_builds_the_marion_setting():
    cfg = _compose([])
    exp = build_experiment(cfg)
    assert exp.model == ib.DeepLinear(input_dim=5, width=5, depth=10)
    assert exp.data == ib.GaussianRegression(n=50, d=5, sigma=1.0)
    sc = build_scalars(cfg)
    assert float(sc.lr[0]) == pytest.approx(cfg.lr)


def test_static_key_ignores_swept_scalars():
    a = _compose(["lr=0.1", "seed=3", "init_scale=0.5"])
    b = _compose(["lr=0.2", "seed=4", "init_scale=0.7", "steps=10"])
    c = _compose(["model.depth=3"])
    assert static_key(a) == static_key(b) != static_key(c)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.depth=0"], "model.depth=0 is invalid: an integer >= 1"),
        (["model.width=-2"], "model.width=-2 is invalid: an integer >= 1"),
        (["data.sigma=-1"], "data.sigma=-1.0 is invalid: a float >= 0"),
        (["integrator=gradient_flow", "integrator.rtol=0"], "integrator.rtol=0.0 is invalid"),
        (["integrator.momentum=1.5"], "integrator.momentum=1.5 is invalid"),
        (["sharpness.method=arnoldi"], "sharpness.method='arnoldi' is invalid"),
        (["dtype=float16"], "dtype='float16' is invalid: one of ['float32', 'float64']"),
        (["init=residual"], "init='residual' is invalid: square weight matrices"),
        (["loss=logistic"], "loss='logistic' is invalid: a regression loss"),
        (["model._target_=os.system"], "model._target_='os.system' is invalid"),
        (["data=file", "data.path=/nonexistent.npz"], "data.path='/nonexistent.npz' is invalid"),
    ],
)
def test_bad_values_name_the_key(overrides, message):
    cfg = _compose(overrides)
    with pytest.raises(ConfigError) as e:
        exp = build_experiment(cfg)
        ib.run_batch(exp, build_scalars(cfg), progress=False)
    assert message in str(e.value)


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (["lr=abc"], "lr='abc' is invalid: a float"),
        (["model=transformer"], "model='transformer' is invalid: one of ['deep_linear', "),
        (["model.depthh=3"], "model.depthh=3 is invalid: a key of model (one of ["),
    ],
)
def test_compose_time_errors_name_the_key(overrides, line):
    """Hydra refuses these while composing; the command line prints error_line's one line."""
    with pytest.raises(ConfigCompositionException) as e:
        _compose(overrides)
    assert error_line(e.value).startswith(line)


def test_integer_keys_are_checked_when_built():
    """Integer keys are typed Any in the schemas (steps=1e6 composes): a string reaches the
    build, which names the key."""
    with pytest.raises(ConfigError, match=r"^model.depth='ten' is invalid: an integer$"):
        build_experiment(_compose(["model.depth=ten"]))


def _cli(args, cwd, timeout=600):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [sys.executable, "-m", "implicit_bias.run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


CONTRACT = ("metrics.json", "trajectory.npz", "params.npz", "data.npz", "plots/loss.png")


def test_cli_single_run_writes_the_contract(tmp_path):
    out = tmp_path / "run"
    p = _cli(["model=deep_linear", "lr=0.01", "steps=200", f"hydra.run.dir={out}"], ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    for f in (*CONTRACT, "plots/sharpness.png"):
        assert (out / f).is_file(), f
    m = json.loads((out / "metrics.json").read_text())
    assert m["status"] in ("converged", "max_steps")
    assert m["steps_reached"] == 200
    assert m["dtype"] == "float32" and m["backend"] == "cpu"
    for k in ("final_train_loss", "final_test_loss", "final_sharpness", "final_dist_to_wstar"):
        assert isinstance(m[k], float)
    params = np.load(out / "params.npz")
    assert sorted(params.files) == sorted([f"W{k}" for k in range(1, 11)] + ["predictor"])
    w = params["W10"]
    for k in range(9, 0, -1):
        w = w @ params[f"W{k}"]
    np.testing.assert_allclose(w[0], params["predictor"], rtol=1e-5, atol=1e-7)
    traj = np.load(out / "trajectory.npz")
    assert traj["step"][0] == 0 and traj["step"][-1] == 200
    data = np.load(out / "data.npz")
    # ||w*|| = 1 after the Marion & Chizat rescaling
    assert np.linalg.norm(data["w_star"]) == pytest.approx(1.0, rel=1e-5)


def test_cli_user_error_is_one_line(tmp_path):
    p = _cli(["model.depth=0", f"hydra.run.dir={tmp_path}"], ROOT)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == ["Error: model.depth=0 is invalid: an integer >= 1"]
    assert "Traceback" not in p.stderr


def test_cli_multirun_writes_complete_run_directories(tmp_path):
    p = _cli(
        ["-m", "init_scale=0.25,0.4", "lr=0.01", "steps=100", f"hydra.sweep.dir={tmp_path}"],
        ROOT,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    runs = sorted(d for d in tmp_path.iterdir() if d.is_dir() and (d / "metrics.json").exists())
    assert len(runs) == 2
    scales = set()
    for d in runs:
        for f in CONTRACT:
            assert (d / f).is_file(), (d, f)
        scales.add(json.loads((d / "metrics.json").read_text())["scalars"]["init_scale"])
    assert sorted(scales) == [0.25, 0.4]  # as given, not rounded through float32


@pytest.mark.parametrize(
    ("group", "name"), [(g, n) for g in GROUPS for n in group_options(g)], ids=lambda x: str(x)
)
def test_option_yaml_sets_no_value_equal_to_its_class_default(group, name):
    """One source of every default: an option's YAML sets only what differs from its class's
    defaults (the schema derived from the class supplies the rest), so the CLI and the Python
    API can never disagree on a default."""
    import inspect

    from omegaconf import OmegaConf

    path = group_options(group)[name]
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=False) or {}
    if "_target_" not in raw:
        return
    module, _, attr = raw["_target_"].rpartition(".")
    cls = getattr(__import__(module, fromlist=[attr]), attr)
    params = inspect.signature(cls).parameters
    restated = [
        k
        for k, v in raw.items()
        if k in params
        and params[k].default is not inspect.Parameter.empty
        and v == params[k].default
        and type(v) is type(params[k].default)
    ]
    assert not restated, f"{path} restates the defaults of {restated}"
