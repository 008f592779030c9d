"""The Python API as a user calls it: option names as strings, arrays as data, indexes that
check, clear errors otherwise."""

from pathlib import Path

import jax
import numpy as np
import pytest
from omegaconf import OmegaConf

import implicit_bias as ib
from implicit_bias.app.resources import conf_dir
from implicit_bias.errors import ConfigError
from implicit_bias.options import OPTIONS, as_data, as_sharpness, make_experiment

RNG = np.random.default_rng(0)
X, Y = RNG.normal(size=(8, 3)), RNG.normal(size=8)
SMALL = dict(init="zero", integrator="gd", steps=5, progress=False, dtype="float64")


# ----------------------------------------------------------------------------- names
@pytest.mark.parametrize("group", list(OPTIONS))
def test_names_are_the_command_lines_options(group):
    """Every option file of conf/<group> is a name of OPTIONS[group], for the same class."""
    files = {p.stem: p for p in (Path(conf_dir()) / group).glob("*.yaml")}
    assert set(files) == set(OPTIONS[group])
    for name, path in files.items():
        target = OmegaConf.load(path)["_target_"]
        cls = OPTIONS[group][name]
        assert target.rsplit(".", 1)[-1] == cls.__name__, (name, target)


def test_train_takes_names_where_the_command_line_does():
    """The issue's call: ib.run(..., sharpness="exact") failed with "'str' object has no
    attribute 'track'"."""
    res = ib.train(
        model="deep_linear",
        data="gaussian_regression",
        init="gaussian",
        integrator="gd",
        loss="square",
        sharpness="exact",
        record={"num": 2},  # the dense Hessian at 3 points, not 101
        lr=[0.01, 0.02],
        steps=5,
        progress=False,
    )
    assert res.final["sharpness"].shape == (2,)
    exp = make_experiment(
        model="deep_linear", data=ib.GaussianRegression(d=7), init="gaussian", integrator="gd"
    )
    assert exp.model.input_dim == 7  # a model named without its dimension takes the data's
    assert as_sharpness("exact") == ib.SharpnessSpec(method="exact")
    assert as_sharpness({"method": "power", "num_iters": 3}).num_iters == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"model": "nosuch"},
            "model='nosuch' is invalid: an option name (one of ['deep_linear', 'diagonal', "
            "'linear', 'matrix_factorization', 'mlp', 'one_hidden_neuron', 'relu_neuron', "
            "'residual_linear']) or an object such as ib.DeepLinear()",
        ),
        ({"integrator": 3}, "integrator=3 is invalid: an option name (one of ['gd', "),
        ({"sharpness": "exat"}, "sharpness.method='exat' is invalid: one of ['lanczos', "),
        ({"sharpness": 3}, "sharpness=3 is invalid: a method name (one of ['lanczos', "),
        ({"record": "log"}, "record='log' is invalid: ib.Schedule(...) or a mapping"),
        ({"data": (X,)}, "data=<a tuple of 1> is invalid: a data generator"),
        ({"data": X}, "data=<a ndarray> is invalid: a data generator"),
        ({"data": "file"}, "data='file' is invalid: an object with its required arguments"),
        ({"data": (X, Y[:3])}, "data.X,y='X(8, 3), y(3,)' is invalid: X of shape (n, d)"),
        ({"data": {"X": X, "y": Y, "Z": 1}}, "data['Z']=1 is invalid: a key among ['X', 'y',"),
    ],
)
def test_clear_errors_for_what_is_not_an_option(kwargs, message):
    args = dict(model="linear", data=(X, Y), **SMALL) | kwargs
    with pytest.raises(ConfigError) as e:
        ib.train(**args)
    assert str(e.value).startswith(message), str(e.value)


# ----------------------------------------------------------------------------- arrays
def test_arrays_as_data():
    """``data=ib.Dataset(X, y)`` failed with "'Dataset' object has no attribute 'input_dim'";
    every form of in-memory arrays now trains on exactly those arrays."""
    forms = [(X, Y), [X, Y], {"X": X, "y": Y}, ib.Dataset(X, Y), ib.ArrayData(X, Y)]
    for form in forms:
        res = ib.train(model="linear", data=form, **SMALL)[0]
        np.testing.assert_array_equal(np.asarray(res.data.X), X)
        np.testing.assert_array_equal(np.asarray(res.data.y), Y)
        # w_star defaults to the least-squares regressor, as for a data file.
        np.testing.assert_allclose(
            np.asarray(res.data.w_star), np.linalg.lstsq(X, Y, rcond=None)[0], rtol=1e-10
        )
    data = as_data((X, Y, X[:2], Y[:2]))
    assert set(data.arrays) == {"X", "y", "X_test", "y_test"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.full((8, 3), np.nan), Y), "data.X='non-finite entries' is invalid: finite values"),
        ((X.astype(complex), Y), "data.X='complex128' is invalid: real numbers"),
        ((X, Y, X[:2]), "data.X_test='without its pair' is invalid: both X_test and y_test"),
        ((X, Y, X[:2, :2], Y[:2]), "data.X_test,y_test='X_test(2, 2), y_test(2,)' is invalid"),
        ((X, Y, None, None, np.ones(2)), "data.w_star=(2,) is invalid: shape (3,)"),
    ],
)
def test_arrays_are_validated_like_a_file(args, message):
    with pytest.raises(ConfigError) as e:
        ib.ArrayData(*args)
    assert str(e.value).startswith(message), str(e.value)


def test_classification_arrays():
    labels = np.sign(X[:, 0])
    data = ib.ArrayData(X, labels, task="classification")
    res = ib.train(model="linear", data=data, loss="logistic", **SMALL)
    assert res.status.shape == (1,)
    with pytest.raises(ConfigError, match="labels in"):
        ib.ArrayData(X, Y, task="classification")
    with pytest.raises(ConfigError, match=r"data\.task"):
        ib.ArrayData(X, Y, task="ranking")


# ----------------------------------------------------------------------------- indexing
@pytest.fixture(scope="module")
def batch():
    return ib.train(model="linear", data=(X, Y), lr=[0.01, 0.02, 0.03], **SMALL)


def test_result_index_out_of_range_raises(batch):
    """``res[10]`` silently returned the last run and ``res[-5]`` the first (JAX clamps)."""
    for i in (3, 10, -4, -5):
        with pytest.raises(IndexError, match="out of range"):
            batch[i]
    with pytest.raises(IndexError):
        batch[[0, 3]]
    with pytest.raises(IndexError):
        batch[np.array([True, False])]
    with pytest.raises(TypeError):
        batch[0.5]
    with pytest.raises(TypeError):
        batch[0][0]


def test_result_indexes_like_a_sequence(batch):
    lrs = np.asarray(batch.scalars.lr)
    for i in range(-3, 3):
        assert float(batch[i].scalars.lr) == lrs[i]
    assert np.asarray(batch[1:].scalars.lr).tolist() == lrs[1:].tolist()
    assert np.asarray(batch[[2, 0]].scalars.lr).tolist() == lrs[[2, 0]].tolist()
    mask = np.array([True, False, True])
    assert np.asarray(batch[mask].scalars.lr).tolist() == lrs[mask].tolist()
    assert np.asarray(batch[jax.numpy.asarray([1])].scalars.lr).tolist() == [lrs[1]]
    assert batch[-1].status_names() in ("converged", "max_steps", "diverged")


def test_an_option_name_that_sets_values_sets_them():
    """``init="gaussian_positive_det"`` is the option file's object (positive_det=True), not a
    plain Gaussian."""
    from implicit_bias.app.compose import compose
    from implicit_bias.app.instantiate import instantiate
    from implicit_bias.options import option

    named = option("init", "gaussian_positive_det")
    assert named.positive_det
    assert named == instantiate(compose(["init=gaussian_positive_det"]).init, "init")
