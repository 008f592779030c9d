r"""The engine runs behind the Vardi & Shamir (2021) figures, claims and tests.

Every run is float64. Gradient flow: Tsit5 at ``rtol = 1e-10, atol = 1e-12`` (the kink of the
vector field at the crossing of :math:`x_3\cdot w = 0` is resolved by step rejection; measured
error ~1e-9). Gradient descent: plain GD at ``lr = rho / lam_max(M_gamma)``, where
:math:`M_\gamma = \frac23 X_\gamma^\top X_\gamma` is the phase-1 Hessian of the loss, so that
the dimensionless step ``rho`` is the same for every ``gamma`` (the largest eigenvalue grows
like :math:`\frac43\gamma^2`). ``data.gamma`` is static: each ``gamma`` is one compilation,
and all step sizes (or init scales) of one ``gamma`` are one batch.

Convergence is decided here from the numbers, never from the engine's status (which, until
the statuses of issue 12, calls any run with a small final gradient ``converged``, a stuck one
included): a run *reached the zero-loss set* when its final loss is at most :data:`ZERO_LOSS`
(the data are realizable, so the best possible loss is 0; every run starts at loss
(16^2 + 18^2)/3 = 193.3) and its final gradient norm is at most :data:`GRAD_TOL`. A run stuck
at a stationary point far from zero loss (e.g. every sample on the dead side of the ReLU, where
the gradient is exactly 0) fails the first test. The gradient bound is absolute, not relative
to the initial gradient: from ``w = 0, v = delta`` the initial gradient is itself ~delta.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from implicit_bias.data._dataset import AbstractData, Dataset
from implicit_bias.data.relu_counterexample import ReluCounterexample
from implicit_bias.engine import run_batch
from implicit_bias.experiment import Experiment, SharpnessSpec
from implicit_bias.inits.neuron import Neuron
from implicit_bias.inits.zero import Zero
from implicit_bias.integrators.gd import GD
from implicit_bias.integrators.gradient_flow import GradientFlow
from implicit_bias.models.one_hidden_neuron import OneHiddenNeuron
from implicit_bias.models.relu_neuron import ReLUNeuron
from implicit_bias.schedule import Schedule
from implicit_bias.theory.relu_neuron import relu_counterexample_data

logger = logging.getLogger(__name__)

#: The gammas of Theorem 4.1 run by the figures and the claims (0 is the paper's base case).
GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
#: Dimensionless GD steps ``rho = lr * lam_max(M_gamma)`` (stable below 2).
RHOS = (0.5, 0.25, 0.125, 0.0625)
#: A run reached the zero-loss set if its final loss is at most this (float64 runs end at
#: ~1e-20; a stuck run stays at O(1)).
ZERO_LOSS = 1e-16
#: ... and its final gradient norm is at most this.
GRAD_TOL = 1e-6
#: The flow's tolerances (see the module docstring).
FLOW = GradientFlow(rtol=1e-10, atol=1e-12)


def lam_max(gamma: float) -> float:
    """Largest eigenvalue of the phase-1 Hessian ``(2/3) X^T X`` (all rows active)."""
    X, _ = relu_counterexample_data(gamma)
    return float(np.linalg.eigvalsh(2.0 / 3.0 * X.T @ X)[-1])


def gd_lrs(gamma: float, rhos=RHOS) -> np.ndarray:
    """GD step sizes ``rho / lam_max(M_gamma)`` for one gamma."""
    return np.asarray(rhos) / lam_max(gamma)


def reached_zero_loss(final_loss, grad_norm) -> np.ndarray:
    """The convergence decision used by every Vardi & Shamir claim (see module docstring)."""
    final_loss, grad_norm = np.asarray(final_loss, np.float64), np.asarray(grad_norm, np.float64)
    return (final_loss <= ZERO_LOSS) & (grad_norm <= GRAD_TOL)


class FixedData(AbstractData):
    """A fixed data set given as nested tuples (hashable, hence a valid static field): the
    rotated and scaled inputs of Theorem 4.2 / Lemma 6.2. Test set = training set."""

    task: ClassVar[str] = "regression"
    X: tuple[tuple[float, ...], ...]
    y: tuple[float, ...]

    @property
    def input_dim(self) -> int:
        return len(self.X[0])

    def sample(self, key: PRNGKeyArray, dtype) -> Dataset:
        del key  # deterministic
        return Dataset(jnp.asarray(self.X, dtype), jnp.asarray(self.y, dtype))

    @classmethod
    def from_arrays(cls, X: np.ndarray, y: np.ndarray) -> FixedData:
        return cls(
            tuple(map(tuple, np.asarray(X, float).tolist())), tuple(np.asarray(y, float).tolist())
        )


def transformed(gamma: float, Q: np.ndarray, scale: float) -> FixedData:
    """The Theorem 4.1 data with inputs rotated, ``x_i -> Q x_i`` (``X -> X Q^T``), and labels
    scaled, ``y -> scale * y``."""
    X, y = relu_counterexample_data(gamma)
    return FixedData.from_arrays(X @ Q.T, scale * y)


@dataclasses.dataclass(frozen=True)
class Runs:
    """One batch of runs as numpy arrays (leading axis: the batch).

    Attributes:
        times: record points, shape (b, r) (times or steps).
        w: recorded ``w``, shape (b, r, d); v: recorded ``v`` (one hidden neuron) or ``None``.
        w_final, v_final: the final parameters.
        loss, grad_norm, grad_norm0: final training loss, final and initial gradient norms.
        min_eigenvalue: smallest Hessian eigenvalue at the end (full Hessian).
        balancedness: recorded ``v^2 - ||w||^2`` (one hidden neuron) or ``None``.
        reached: :func:`reached_zero_loss`, shape (b,).
    """

    times: np.ndarray
    w: np.ndarray
    v: np.ndarray | None
    w_final: np.ndarray
    v_final: np.ndarray | None
    loss: np.ndarray
    grad_norm: np.ndarray
    grad_norm0: np.ndarray
    min_eigenvalue: np.ndarray
    balancedness: np.ndarray | None
    reached: np.ndarray


def _runs(res) -> Runs:
    rec = res.records
    loss = np.asarray(res.final["train_loss"])
    g, g0 = np.asarray(res.final["grad_norm"]), np.asarray(res.initial["grad_norm"])
    has_v = "param_v" in rec
    return Runs(
        times=np.asarray(res.times),
        w=np.asarray(rec["param_w"]),
        v=np.asarray(rec["param_v"]) if has_v else None,
        w_final=np.asarray(res.params["w"]),
        v_final=np.asarray(res.params["v"]) if has_v else None,
        loss=loss,
        grad_norm=g,
        grad_norm0=g0,
        min_eigenvalue=np.asarray(res.final["min_eigenvalue"]),
        balancedness=np.asarray(rec["balancedness"]) if "balancedness" in rec else None,
        reached=reached_zero_loss(loss, g),
    )


def _experiment(model, data, init, integrator, num: int, log_min: float) -> Experiment:
    return Experiment(
        model=model,
        data=data,
        init=init,
        integrator=integrator,
        # 3 or 4 parameters: the full Hessian is cheap; only at the start and the end.
        sharpness=SharpnessSpec(method="exact", track=False),
        record=Schedule(num=num, spacing="log", log_min=log_min, params=True),
        dtype="float64",
    )


def neuron_flow(data: AbstractData, t1: float = 20.0, num: int = 300) -> Runs:
    """Gradient flow of one ReLU neuron from ``w = 0`` (Theorem 4.1; one run)."""
    jax.config.update("jax_enable_x64", True)
    exp = _experiment(ReLUNeuron(input_dim=data.input_dim), data, Zero(), FLOW, num, 1e-5)
    return _runs(run_batch(exp, seed=0, init_scale=0.0, t1=t1))


def neuron_gd(data: AbstractData, lrs, horizon: float = 16.0, num: int = 200) -> Runs:
    """Plain GD of one ReLU neuron from ``w = 0``, one run per step size, ``horizon / lr`` steps
    each (the phase-2 rates are >= 2.5: e^{-40} of the gap is left at time 16)."""
    jax.config.update("jax_enable_x64", True)
    lrs = np.asarray(lrs, np.float64)
    steps = np.ceil(horizon / lrs).astype(np.int64)
    exp = _experiment(ReLUNeuron(input_dim=data.input_dim), data, Zero(), GD(), num, 1e-6)
    return _runs(run_batch(exp, seed=0, init_scale=0.0, lr=lrs, steps=steps))


def hidden_neuron_flow(data: AbstractData, deltas, t1: float = 100.0, num: int = 300) -> Runs:
    """Gradient flow of ``v relu(w . x)`` from ``w = 0, v = delta`` (Section 6), one run per
    delta. The escape from the saddle ``w = 0`` takes a time ~ log(1/delta) / 80."""
    jax.config.update("jax_enable_x64", True)
    exp = _experiment(OneHiddenNeuron(input_dim=data.input_dim), data, Neuron(), FLOW, num, 1e-6)
    return _runs(run_batch(exp, seed=0, init_scale=np.asarray(deltas, np.float64), t1=t1))


def hidden_neuron_gd(data: AbstractData, deltas, lr: float, steps: int, num: int = 300) -> Runs:
    """Plain GD of ``v relu(w . x)`` from ``w = 0, v = delta`` (the paper's Fig. 2 runs GD)."""
    jax.config.update("jax_enable_x64", True)
    exp = _experiment(OneHiddenNeuron(input_dim=data.input_dim), data, Neuron(), GD(), num, 1e-6)
    deltas = np.asarray(deltas, np.float64)
    return _runs(run_batch(exp, seed=0, init_scale=deltas, lr=lr, steps=steps))


def counterexample(gamma: float) -> ReluCounterexample:
    return ReluCounterexample(gamma=float(gamma))


def random_rotation(rng: np.random.Generator, d: int = 3) -> np.ndarray:
    """A uniformly random rotation (det +1) from the QR of a Gaussian matrix."""
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    Q = Q * np.sign(np.diag(R))
    if np.linalg.det(Q) < 0:
        Q[:, 0] = -Q[:, 0]
    return Q


def rotation_taking(a: np.ndarray, b: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """The rotation Q with ``Q a = b`` and ``Q a2 = b2`` for orthonormal pairs (a, a2), (b, b2)
    (completed by the cross products): the rotation of Theorem 4.2's proof (line 84) and of
    Corollary 6.3's (line 386)."""
    A = np.stack([a, a2, np.cross(a, a2)], axis=1)
    B = np.stack([b, b2, np.cross(b, b2)], axis=1)
    return B @ A.T
