"""Every member of every family, each with a small problem it runs on.

As diffrax's ``all_ode_solvers`` and optax's ``_ALL_OPTIMIZERS_UNDER_TEST``: adding a model,
data generator, init, loss, integrator or sharpness method means adding its line here (the
name of its config option, the object, and a small compatible experiment); every member then
goes through the same checks (``tests/test_families.py``), and a test checks that the lists
below name exactly the options of ``conf/``.
"""

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import implicit_bias as ib


def _npz() -> str:
    """A small regression data file (for ``data=file``)."""
    path = Path(tempfile.gettempdir()) / "implicit_bias_helpers_data.npz"
    if not path.exists():
        rng = np.random.default_rng(0)
        np.savez(path, X=rng.normal(size=(8, 3)), y=rng.normal(size=8))
    return str(path)


@dataclass(frozen=True)
class Case:
    """One family member and a small float64 experiment that uses it.

    Attributes:
        name: the config option (``conf/<group>/<name>.yaml``).
        member: the object under test.
        parts: the experiment's other components where the defaults of :func:`experiment` do
            not fit this member (e.g. matrix data for a matrix-factorization model).
        overrides: command-line overrides that make ``<group>=<name>`` build.
        scalars: swept scalars of the four runs (each a length-4 list), where the defaults of
            :data:`SCALARS` do not fit.
    """

    name: str
    member: object
    parts: dict = field(default_factory=dict)
    overrides: tuple[str, ...] = ()
    scalars: dict = field(default_factory=dict)

    def experiment(self, group: str) -> ib.Experiment:
        return experiment(**{group: self.member, **self.parts})


#: The swept scalars of the four runs of every check (lr, init scale and seed all differ).
SCALARS = {
    "seed": [0, 1, 2, 3],
    "init_scale": [0.3, 0.4, 0.5, 0.6],
    "lr": [0.01, 0.02, 0.03, 0.04],
    "steps": [20, 20, 20, 20],
    "t1": [0.5, 0.7, 0.9, 1.1],
}


def experiment(**parts) -> ib.Experiment:
    """A small float64 experiment (3 inputs, 8 samples, 4 record intervals, no sharpness), with
    any component replaced."""
    base = dict(
        model=ib.DeepLinear(input_dim=3, width=3, depth=3),
        data=ib.GaussianRegression(n=8, d=3),
        init=ib.Gaussian(),
        integrator=ib.GD(),
        loss=ib.Square(),
        sharpness=ib.SharpnessSpec(method="none"),
        record=ib.Schedule(num=4),
        dtype="float64",
    )
    return ib.Experiment(**{**base, **parts})


_MATRIX = dict(data=ib.MatrixSensing(d=2, n=4))
_CLASSIFICATION = dict(model=ib.Linear(input_dim=2), data=ib.Separable(d=2, n_pos=4, n_neg=4))

ALL_MODELS = (
    Case("deep_linear", ib.DeepLinear(input_dim=3, width=3, depth=3)),
    Case("residual_linear", ib.ResidualLinear(input_dim=3, depth=3)),
    Case("linear", ib.Linear(input_dim=3)),
    # Per-layer widths, biases and the NTK multipliers all go through the batched path.
    Case(
        "mlp",
        ib.MLP(
            input_dim=3, width=[4, 5], depth=3, bias=True, activation="tanh", parametrization="ntk"
        ),
    ),
    Case("diagonal", ib.Diagonal(input_dim=3)),
    Case(
        "matrix_factorization",
        ib.MatrixFactorization(dim=2),
        _MATRIX,
        ("data=matrix_sensing",),
    ),
    Case("relu_neuron", ib.ReLUNeuron(input_dim=3)),
    Case("one_hidden_neuron", ib.OneHiddenNeuron(input_dim=3)),
)

ALL_DATA = (
    Case("gaussian_regression", ib.GaussianRegression(n=8, d=3)),
    Case("file", ib.FileData(path=_npz()), overrides=(f"data.path={_npz()}",)),
    Case("planted_regression", ib.PlantedRegression(n=8, d=3)),
    Case("sparse_regression", ib.SparseRegression(n=8, d=3, k=1)),
    Case(
        "separable",
        _CLASSIFICATION["data"],
        {"model": _CLASSIFICATION["model"], "loss": ib.Logistic()},
        ("loss=logistic",),
    ),
    Case(
        "matrix_sensing",
        _MATRIX["data"],
        {"model": ib.MatrixFactorization(dim=2)},
        ("model=matrix_factorization",),
    ),
    Case(
        "matrix_completion",
        ib.MatrixCompletion(d=3, n=5),
        {"model": ib.MatrixFactorization(kind="deep", dim=3)},
        ("model=matrix_factorization", "model.kind=deep"),
    ),
    # A scikit-learn data set (bundled, no download), reduced to the default problem's shape.
    Case(
        "sklearn",
        ib.SklearnData(name="diabetes", n=8, pca=3),
        overrides=("data.name=diabetes", "data.n=8", "data.pca=3"),
    ),
    # targets (16, 18, 0): GD is stable below lr ~ 0.01
    Case(
        "relu_counterexample",
        ib.ReluCounterexample(gamma=1.0),
        scalars={"lr": [0.001, 0.002, 0.003, 0.004]},
    ),
)

ALL_INITS = (
    Case("gaussian", ib.Gaussian()),
    Case(
        "residual",
        ib.Residual(),
        {"model": ib.ResidualLinear(input_dim=3, depth=3)},
        ("model=residual_linear",),
    ),
    Case("zero_first", ib.ZeroFirst()),
    Case("zero", ib.Zero(), {"model": ib.Linear(input_dim=3)}, ("model=linear",)),
    Case("constant", ib.Constant()),
    Case("fan_in", ib.FanIn()),
    Case(
        "identity",
        ib.Identity(),
        {"model": ib.MatrixFactorization(dim=2), **_MATRIX},
        ("model=matrix_factorization", "data=matrix_sensing"),
    ),
    Case(
        "balanced",
        ib.Balanced(),
        {"model": ib.MatrixFactorization(dim=2, kind="deep", depth=3), **_MATRIX},
        ("model=matrix_factorization", "model.kind=deep", "model.depth=3", "data=matrix_sensing"),
    ),
    Case(
        "gaussian_positive_det",
        ib.Gaussian(positive_det=True),
        {"model": ib.MatrixFactorization(dim=2, kind="deep", depth=3), **_MATRIX},
        ("model=matrix_factorization", "model.kind=deep", "model.depth=3", "data=matrix_sensing"),
    ),
    Case(
        "neuron",
        ib.Neuron(),
        {"model": ib.OneHiddenNeuron(input_dim=3)},
        ("model=one_hidden_neuron",),
    ),
)

ALL_LOSSES = (
    Case("square", ib.Square()),
    Case("logistic", ib.Logistic(), _CLASSIFICATION, ("data=separable",)),
    Case("exponential", ib.Exponential(), _CLASSIFICATION, ("data=separable",)),
    # Three iris classes one-hot, a three-output network.
    Case(
        "cross_entropy",
        ib.CrossEntropy(),
        {
            "data": ib.SklearnData(name="iris", n=8, pca=3),
            "model": ib.MLP(input_dim=3, width=4, depth=2, output_dim=3, activation="tanh"),
        },
        (
            "data=sklearn",
            "data.name=iris",
            "data.n=8",
            "data.pca=3",
            "model=mlp",
            "model.output_dim=3",
            "model.width=4",
            "model.depth=2",
        ),
    ),
)

ALL_INTEGRATORS = (
    Case("gd", ib.GD()),
    Case("sgd", ib.SGD(batch_size=4)),
    Case("gradient_flow", ib.GradientFlow()),
    Case("sam", ib.SAM(rho=0.05)),
    Case("one_sam", ib.OneSAM(rho=0.05)),
    Case("label_noise", ib.LabelNoiseSGD(noise_std=0.1, batch_size=4)),
    Case("optax", ib.Optax(name="adam")),
    Case(
        "mirror_descent",
        ib.MirrorDescent(),
        {"model": ib.Linear(input_dim=3), "init": ib.Constant()},
        ("model=linear", "init=constant"),
    ),
)

# At the start and the end only (tracking at every record point is tested in test_engine.py
# and test_sharpness.py; here it would only multiply the compile time).
ALL_SHARPNESS = (
    Case("lanczos", ib.SharpnessSpec(method="lanczos", num_iters=6, track=False)),
    Case("power", ib.SharpnessSpec(method="power", num_iters=6, track=False)),
    Case("exact", ib.SharpnessSpec(method="exact", track=False)),
    Case("none", ib.SharpnessSpec(method="none")),
)

#: Config group -> its members under test.
FAMILIES = {
    "model": ALL_MODELS,
    "data": ALL_DATA,
    "init": ALL_INITS,
    "loss": ALL_LOSSES,
    "integrator": ALL_INTEGRATORS,
    "sharpness": ALL_SHARPNESS,
}
