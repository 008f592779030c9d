"""The Python API's names and conversions: what the command line takes as a name, ``train``
takes as a string too, and data may be given as arrays.

    ib.train(model="deep_linear", data=(X, y), init="gaussian", integrator="gd",
             sharpness="exact", lr=0.01)

:data:`OPTIONS` maps each config group to its options' names and classes: the names of the
command line's option files (``conf/<group>/<name>.yaml``; a test checks that they name the same
classes). A name builds the class with its defaults; a model named without its input
dimension takes the data's (as ``input_dim: null`` does on the command line). The option files
of a few groups set values other than the class defaults (``data=matrix_sensing`` sets d = 10,
n = 20): pass an object (``ib.MatrixSensing(d=10, n=20)``) for those values.
"""

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from . import data as _data
from . import inits as _inits
from . import integrators as _integrators
from . import losses as _losses
from . import models as _models
from .data._dataset import AbstractData, Dataset
from .data.array import ArrayData
from .errors import ConfigError
from .experiment import Experiment
from .inits._base import AbstractInit
from .integrators._base import AbstractIntegrator
from .losses._base import AbstractLoss
from .models._base import AbstractModel
from .schedule import Schedule
from .sharpness import METHODS, SharpnessSpec, SpectrumSpec

#: Config group -> option name -> class (the command line's option files name the same).
OPTIONS: dict[str, dict[str, type]] = {
    "model": {
        "deep_linear": _models.DeepLinear,
        "diagonal": _models.Diagonal,
        "linear": _models.Linear,
        "matrix_factorization": _models.MatrixFactorization,
        "mlp": _models.MLP,
        "one_hidden_neuron": _models.OneHiddenNeuron,
        "relu_neuron": _models.ReLUNeuron,
        "residual_linear": _models.ResidualLinear,
    },
    "data": {
        "file": _data.FileData,
        "gaussian_regression": _data.GaussianRegression,
        "matrix_completion": _data.MatrixCompletion,
        "matrix_sensing": _data.MatrixSensing,
        "planted_regression": _data.PlantedRegression,
        "relu_counterexample": _data.ReluCounterexample,
        "separable": _data.Separable,
        "sklearn": _data.SklearnData,
        "sparse_regression": _data.SparseRegression,
    },
    "init": {
        "balanced": _inits.Balanced,
        "constant": _inits.Constant,
        "fan_in": _inits.FanIn,
        "gaussian": _inits.Gaussian,
        "gaussian_positive_det": _inits.Gaussian,
        "identity": _inits.Identity,
        "neuron": _inits.Neuron,
        "residual": _inits.Residual,
        "zero": _inits.Zero,
        "zero_first": _inits.ZeroFirst,
    },
    "integrator": {
        "gd": _integrators.GD,
        "gradient_flow": _integrators.GradientFlow,
        "label_noise": _integrators.LabelNoiseSGD,
        "mirror_descent": _integrators.MirrorDescent,
        "one_sam": _integrators.OneSAM,
        "optax": _integrators.Optax,
        "sam": _integrators.SAM,
        "sgd": _integrators.SGD,
    },
    "loss": {
        "cross_entropy": _losses.CrossEntropy,
        "exponential": _losses.Exponential,
        "logistic": _losses.Logistic,
        "square": _losses.Square,
    },
}
#: Options whose name means the class with some values set (as their option files set them).
OPTION_VALUES: dict[str, dict[str, dict[str, Any]]] = {
    "init": {"gaussian_positive_det": {"positive_det": True}},
}
_BASES = {
    "model": AbstractModel,
    "data": AbstractData,
    "init": AbstractInit,
    "integrator": AbstractIntegrator,
    "loss": AbstractLoss,
}
_EXAMPLES = {
    "model": "ib.DeepLinear()",
    "data": "ib.GaussianRegression()",
    "init": "ib.Gaussian()",
    "integrator": "ib.GD()",
    "loss": "ib.Square()",
}


class _Described:
    """A value shown in a message by a short description, unquoted (never the repr of a large
    array)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _describe(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Sequence):
        return _Described(f"<a {type(value).__name__} of {len(value)}>")
    return _Described(f"<a {type(value).__name__}>")


def option(group: str, value: Any, **defaults: Any) -> Any:
    """The object ``value`` stands for in ``group``: itself if it is one, else the class of the
    option named ``value`` with its defaults.

    Args:
        group: ``model``, ``data``, ``init``, ``integrator`` or ``loss``.
        value: an object of the group's base class, or an option name.
        defaults: keyword arguments for a class built from a name that takes them (a model's
            ``input_dim``); ignored by classes that do not.

    Raises:
        ConfigError: for an unknown name or a value of another kind, naming the group.
    """
    base, names = _BASES[group], OPTIONS[group]
    if isinstance(value, base):
        return value
    allowed = f"an option name (one of {list(names)}) or an object such as {_EXAMPLES[group]}"
    if not isinstance(value, str):
        raise ConfigError(group, _describe(value), allowed)
    if value not in names:
        raise ConfigError(group, value, allowed)
    cls = names[value]
    params = inspect.signature(cls).parameters
    kwargs = {k: v for k, v in defaults.items() if k in params and v is not None}
    kwargs.update(OPTION_VALUES.get(group, {}).get(value, {}))
    try:
        return cls(**kwargs)
    except TypeError as e:  # a required argument (FileData's path)
        raise ConfigError(
            group, value, f"an object with its required arguments, e.g. {cls.__name__}(...) ({e})"
        ) from None


def as_data(value: Any) -> AbstractData:
    """The data generator ``value`` stands for: a generator, an option name, a
    :class:`~implicit_bias.data.Dataset`, a mapping with ``X`` and ``y`` (optionally
    ``X_test``, ``y_test``, ``w_star``) or a tuple ``(X, y)`` / ``(X, y, X_test, y_test)`` of
    arrays, the last three as :class:`~implicit_bias.data.ArrayData` (validated as a data
    file is).

    Raises:
        ConfigError: for anything else, or arrays that a data file could not hold.
    """
    if isinstance(value, AbstractData | str):
        return option("data", value)
    if isinstance(value, Dataset):
        return ArrayData(value.X, value.y, value.X_test, value.y_test, value.w_star)
    if isinstance(value, Mapping) and "X" in value and "y" in value:
        keys = ("X", "y", "X_test", "y_test", "w_star", "task")
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise ConfigError(
                f"data[{unknown[0]!r}]", _describe(value[unknown[0]]), f"a key among {list(keys)}"
            )
        return ArrayData(**value)
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) in (2, 4, 5):
        return ArrayData(*value)
    raise ConfigError(
        "data",
        _describe(value),
        "a data generator (e.g. ib.GaussianRegression()), an option name (one of "
        f"{list(OPTIONS['data'])}), or arrays: (X, y), (X, y, X_test, y_test[, w_star]), "
        "{'X': X, 'y': y, ...} or ib.ArrayData(X, y, ...)",
    )


def as_sharpness(value: Any) -> SharpnessSpec:
    """``None`` (the default), a :class:`SharpnessSpec`, a method name (``"exact"``, as
    ``sharpness=exact`` on the command line) or a mapping of its fields."""
    if value is None:
        return SharpnessSpec()
    if isinstance(value, SharpnessSpec):
        return value
    if isinstance(value, str):
        return SharpnessSpec(method=value)
    if isinstance(value, Mapping):
        return SharpnessSpec(**value)
    raise ConfigError(
        "sharpness",
        _describe(value),
        f"a method name (one of {[*METHODS, 'none']}), ib.SharpnessSpec(...) or a mapping of "
        "its fields",
    )


def as_spectrum(value: Any) -> SpectrumSpec:
    """``None`` (the default: nothing beyond the sharpness), a :class:`SpectrumSpec` or a
    mapping of its fields (``{"k_top": 5, "trace_probes": 30}``)."""
    if value is None:
        return SpectrumSpec()
    if isinstance(value, SpectrumSpec):
        return value
    if isinstance(value, Mapping):
        return SpectrumSpec(**value)
    raise ConfigError(
        "spectrum", _describe(value), "ib.SpectrumSpec(...) or a mapping of its fields"
    )


def as_schedule(value: Any) -> Schedule:
    """``None`` (the default), a :class:`Schedule` or a mapping of its fields."""
    if value is None:
        return Schedule()
    if isinstance(value, Schedule):
        return value
    if isinstance(value, Mapping):
        return Schedule(**value)
    raise ConfigError("record", _describe(value), "ib.Schedule(...) or a mapping of its fields")


def make_experiment(
    *,
    model: Any,
    data: Any,
    init: Any,
    integrator: Any,
    loss: Any = None,
    sharpness: Any = None,
    record: Any = None,
    dtype: str = "float32",
    spectrum: Any = None,
    **fields: Any,
) -> Experiment:
    """An :class:`Experiment` from objects, option names or arrays (see the module docstring).

    ``loss=None`` is the square loss; ``sharpness``, ``spectrum`` and ``record`` ``None``
    take their defaults. Other keywords (``divergence_threshold``, ``converge_tol``) are the
    Experiment's.

    Raises:
        ConfigError: naming the argument, for a name that is no option, a value of the wrong
            kind, or a bad combination (:meth:`Experiment.__check_init__`).
    """
    data = as_data(data)
    model = option("model", model, input_dim=data.input_dim, dim=getattr(data, "d", None))
    return Experiment(
        model=model,
        data=data,
        init=option("init", init),
        integrator=option("integrator", integrator),
        loss=_losses.Square() if loss is None else option("loss", loss),
        sharpness=as_sharpness(sharpness),
        spectrum=as_spectrum(spectrum),
        record=as_schedule(record),
        dtype=dtype,
        **fields,
    )
