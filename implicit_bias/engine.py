"""The batched core: many trajectories as one compiled XLA program.

Everything is written for *one* trajectory (``_setup``, ``_advance``, ``_measure``) and batched
with ``jax.vmap``. A discrete run is a ``lax.scan`` over record points; between two record
points the steps run in a ``fori_loop``; a host callback advances the progress bar once per
record point (never per step). Swept scalars are traced (:class:`~implicit_bias.Scalars`), the
:class:`~implicit_bias.Experiment` is static: one compilation per group of runs that share
their structure.
"""

import functools
import logging
import time
from functools import partial
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ._types import Params
from .errors import ConfigError
from .experiment import Experiment
from .integrators._base import AbstractContinuousIntegrator, Termination
from .models._base import AbstractLinearModel, split_frozen
from .options import make_experiment
from .problem import Problem
from .progress import ProgressBar, progress_tick
from .result import Result
from .scalars import Scalars
from .sharpness import sharpness as sharpness_fn

logger = logging.getLogger(__name__)


class _Carry(eqx.Module):
    state: Any
    alive: Array
    diverged_at: Array
    step: Array
    vec: Array


def _tree_where(cond, a, b):
    return jax.tree.map(lambda x, y: jnp.where(cond, x, y), a, b)


def _setup(exp: Experiment, sc: Scalars):
    """Data, initial parameters and PRNG keys of one trajectory."""
    dtype = exp.jnp_dtype
    key = jax.random.key(sc.seed)
    data_key = jax.random.key(jnp.where(sc.data_seed >= 0, sc.data_seed, sc.seed))
    data = exp.data.sample(jax.random.fold_in(data_key, 0), dtype)
    params = exp.init(jax.random.fold_in(key, 1), exp.model, sc.init_scale.astype(dtype), dtype)
    trainable, frozen = split_frozen(exp.model, params)
    # Only arrays cross the vmap boundary; the Problem (which holds the static model) is
    # rebuilt inside each per-trajectory function by _problem.
    return (data, frozen), trainable, jax.random.fold_in(key, 2), jax.random.fold_in(key, 3)


def _problem(exp: Experiment, arrays) -> Problem:
    data, frozen = arrays
    return Problem(exp.model, exp.loss, data, frozen)


def _num_trainable(trainable: Params) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(trainable))


def _measure(
    exp: Experiment, arrays, trainable: Params, key, vec, with_sharpness: bool
) -> tuple[dict[str, Array], Array]:
    """Metrics of one trajectory at one point; sharpness warm-started from ``vec``."""
    problem = _problem(exp, arrays)
    out = problem.metrics(trainable)
    if exp.record.params:
        full = problem.full(trainable)
        out.update({f"param_{k}": v for k, v in full.items()})
        if isinstance(exp.model, AbstractLinearModel):
            out["predictor"] = exp.model.predictor(full)
    grad = jax.grad(problem.loss)(trainable)
    out["grad_norm"] = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grad)))
    if with_sharpness and exp.sharpness.method != "none":
        res = sharpness_fn(
            problem.loss,
            trainable,
            key,
            method=exp.sharpness.method,
            num_iters=exp.sharpness.num_iters,
            v0=vec,
            tol=exp.sharpness.tol,
        )
        out["sharpness"] = res.eigenvalue
        out["sharpness_error_bound"] = res.error_bound
        out["min_eigenvalue"] = res.min_eigenvalue
        vec = res.vector
    return out, vec


def _initial_and_final(exp: Experiment, arrays, trainable0, trainable, key, vec):
    """Full metrics (with sharpness) at the start and the end, as one vmapped call over the
    pair so that the sharpness estimator is compiled once for both."""
    both = jax.tree.map(lambda a, b: jnp.stack([a, b]), trainable0, trainable)
    vecs = jnp.stack([jnp.zeros_like(vec), vec])

    def one(tr, v):
        return jax.vmap(partial(_measure, exp), in_axes=(0, 0, 0, 0, None))(
            arrays, tr, key, v, True
        )[0]

    out = jax.vmap(one)(both, vecs)
    return jax.tree.map(lambda x: x[0], out), jax.tree.map(lambda x: x[1], out)


def _status(exp: Experiment, termination: Termination, final: dict[str, Array]) -> Array:
    """Each run's status, as its integrator decides it (vmapped over the batch)."""
    return jax.vmap(exp.integrator.postprocess, in_axes=(0, 0, None))(
        termination, final, exp.converge_tol
    )


@eqx.filter_jit
def _simulate_discrete(
    exp: Experiment, scalars: Scalars, record_steps: Int[Array, " r"], callbacks: bool = True
):
    integ = exp.integrator
    arrays, trainable0, ikey, skey = jax.vmap(partial(_setup, exp))(scalars)
    p = _num_trainable(jax.tree.map(lambda x: x[0], trainable0))
    vec = jnp.zeros((scalars.batch_size, p), exp.jnp_dtype)
    state0 = jax.vmap(lambda a, t, lr, k: integ.init(_problem(exp, a), t, lr, k))(
        arrays, trainable0, scalars.lr, ikey
    )
    b = scalars.batch_size
    carry0 = _Carry(
        state0,
        jnp.ones(b, bool),
        jnp.full(b, -1, jnp.int32),
        jnp.zeros(b, jnp.int32),
        vec,
    )

    def advance(arrays, sc, carry, start, stop):
        problem = _problem(exp, arrays)

        def body(i, c):
            new_state, loss = integ.step(problem, c.state, sc.lr)
            # The loss at the current point is free (value_and_grad); checking every parameter
            # for finiteness each step would halve the throughput. A step to non-finite
            # parameters is caught one step later, by their non-finite loss.
            ok = jnp.isfinite(loss) & (loss <= exp.divergence_threshold)
            active = c.alive & (i < sc.steps)
            take = active & ok
            return _Carry(
                _tree_where(take, new_state, c.state),
                c.alive & (ok | ~active),
                jnp.where(active & ~ok, i, c.diverged_at),
                jnp.where(take, i + 1, c.step),
                c.vec,
            )

        return jax.lax.fori_loop(start, stop, body, carry)

    n_records = record_steps.shape[0] - 1

    # Record point j is reached by advancing from point j-1 (point 0: a zero-length advance),
    # so every record, the initial one included, comes from this one scan body: the metrics
    # (and the Lanczos iteration, when tracked) are compiled once, not once per call site.
    def segment(carry, xs):
        index, start, stop = xs
        carry = jax.vmap(advance, in_axes=(0, 0, 0, None, None))(
            arrays, scalars, carry, start, stop
        )
        metrics, vec = jax.vmap(partial(_measure, exp), in_axes=(0, 0, 0, 0, None))(
            arrays, integ.params(carry.state), skey, carry.vec, exp.sharpness.track
        )
        if callbacks:
            progress_tick(index - 1, n_records)
        return eqx.tree_at(lambda c: c.vec, carry, vec), metrics

    starts = jnp.concatenate([record_steps[:1], record_steps[:-1]])
    xs = (jnp.arange(n_records + 1), starts, record_steps)
    carry, records = jax.lax.scan(segment, carry0, xs)
    records = {k: jnp.moveaxis(v, 0, 1) for k, v in records.items()}  # (r, b, ...) -> (b, r, ...)
    trainable = integ.params(carry.state)
    initial, final = _initial_and_final(exp, arrays, trainable0, trainable, skey, carry.vec)
    always = jnp.ones(b, bool)
    status = _status(exp, Termination(carry.alive, always, ~always), final)
    reached = jnp.where(carry.alive, carry.step, carry.diverged_at)
    times = jnp.broadcast_to(record_steps, (b, record_steps.shape[0]))
    full, full0 = _full_params(exp, arrays, trainable), _full_params(exp, arrays, trainable0)
    return Result(scalars, times, records, initial, final, status, reached, full, full0, arrays[0])


@eqx.filter_jit
def _simulate_continuous(
    exp: Experiment, scalars: Scalars, fractions: Float[Array, " r"], callbacks: bool = True
):
    integ: AbstractContinuousIntegrator = exp.integrator
    arrays, trainable0, _, skey = jax.vmap(partial(_setup, exp))(scalars)
    p = _num_trainable(jax.tree.map(lambda x: x[0], trainable0))
    b = scalars.batch_size
    vec0 = jnp.zeros((b, p), exp.jnp_dtype)
    ts = scalars.t1[:, None] * fractions[None, :].astype(exp.jnp_dtype)
    sol = jax.vmap(lambda a, t, s: integ.solve(_problem(exp, a), t, s))(arrays, trainable0, ts)
    ys = sol.ys
    if callbacks:
        progress_tick(jnp.asarray(fractions.shape[0] - 1), fractions.shape[0] - 1)

    # Metrics at every saved point: vmap over the batch, then over the record axis.
    def per_run(arrays, ys_run, key, v):
        return jax.vmap(partial(_measure, exp), in_axes=(None, 0, None, None, None))(
            arrays, ys_run, key, v, exp.sharpness.track
        )[0]

    records = jax.vmap(per_run)(arrays, ys, skey, vec0)
    trainable = jax.tree.map(lambda y: y[:, -1], ys)
    initial, final = _initial_and_final(exp, arrays, trainable0, trainable, skey, vec0)
    finite = _all_finite_batched(trainable) & jnp.isfinite(final["train_loss"])
    alive = finite & (final["train_loss"] <= exp.divergence_threshold)
    status = _status(exp, Termination(alive, sol.succeeded | sol.event, sol.event), final)
    full, full0 = _full_params(exp, arrays, trainable), _full_params(exp, arrays, trainable0)
    return Result(
        scalars, sol.ts, records, initial, final, status, sol.t_final, full, full0, arrays[0]
    )


def _full_params(exp: Experiment, arrays, trainable: Params) -> Params:
    return jax.vmap(lambda a, t: _problem(exp, a).full(t))(arrays, trainable)


def _all_finite_batched(tree) -> Array:
    leaves = jax.tree.leaves(tree)
    return jnp.all(
        jnp.stack([jnp.all(jnp.isfinite(x.reshape(x.shape[0], -1)), axis=1) for x in leaves]),
        axis=0,
    )


def _devices(devices: int | None) -> list:
    available = jax.devices()
    n = len(available) if devices is None else int(devices)
    if not 1 <= n <= len(available):
        raise ConfigError("devices", devices, f"null or an integer in [1, {len(available)}]")
    return available[:n]


@functools.lru_cache(maxsize=64)
def _sharded(simulate, exp: Experiment, devices: tuple):
    """``simulate`` with its batch axis split over ``devices`` by ``jax.shard_map``: each
    device runs the same vmapped program on its slice (no cross-device communication; every
    output has a leading batch axis). Cached so that a sweep compiles once."""
    mesh = jax.sharding.Mesh(np.asarray(devices), ("batch",))
    batch, replicated = jax.sharding.PartitionSpec("batch"), jax.sharding.PartitionSpec()
    return jax.jit(
        jax.shard_map(
            # No host callbacks across devices: progress ticks from several device threads
            # deadlocked XLA:CPU with forced host devices; the bar then advances at the end.
            lambda sc, grid: simulate(exp, sc, grid, False),
            mesh=mesh,
            in_specs=(batch, replicated),
            out_specs=batch,
            check_vma=False,
        )
    )


def _simulate(exp: Experiment, scalars: Scalars, grid: Array, devices: list) -> Result:
    simulate = _simulate_continuous if exp.integrator.continuous else _simulate_discrete
    if len(devices) == 1:
        return simulate(exp, scalars, grid)
    # A batch split over devices: pad it to a multiple of the device count.
    scalars = scalars.pad(-(-scalars.batch_size // len(devices)) * len(devices))
    return _sharded(simulate, exp, tuple(devices))(scalars, grid)


def run_batch(
    exp: Experiment,
    scalars: Scalars | None = None,
    *,
    progress: bool | None = None,
    devices: int | None = None,
    **kw,
) -> Result:
    """Run a batch of trajectories as one compiled, vmapped program.

    Args:
        exp: the static structure.
        scalars: the traced scalars (or pass them as keywords, see :meth:`Scalars.make`).
        progress: show a tqdm progress bar (default: only on a TTY).
        devices: number of devices to split the batch over (default: all devices of the
            default backend); results do not depend on it.

    Returns:
        A :class:`Result` with a leading batch axis.
    """
    if scalars is None:
        scalars = Scalars.make(dtype=exp.dtype, **kw)
    elif kw:
        raise TypeError("pass either scalars or keywords, not both")
    batch = scalars.batch_size
    if exp.dtype == "float64" and not jax.config.read("jax_enable_x64"):
        raise RuntimeError(
            "dtype=float64 needs jax_enable_x64: call "
            'jax.config.update("jax_enable_x64", True) before creating arrays'
        )
    devs = _devices(devices)
    t0 = time.perf_counter()
    if exp.integrator.continuous:
        grid = jnp.asarray(exp.record.fractions(), exp.jnp_dtype)
        total = len(grid) - 1
        with ProgressBar(total, enabled=progress, desc="gradient flow"):
            result = _simulate(exp, scalars, grid, devs)
            jax.block_until_ready(result)
    else:
        max_steps = int(np.max(np.asarray(scalars.steps)))
        record_steps = exp.record.steps(max_steps)
        with ProgressBar(len(record_steps) - 1, enabled=progress, desc="steps", scale=record_steps):
            grid = jnp.asarray(record_steps, jnp.int32)
            result = _simulate(exp, scalars, grid, devs)
            jax.block_until_ready(result)
    if result.batch_size != batch:
        result = result[:batch]
    logger.info("ran %d trajectories in %.2fs", batch, time.perf_counter() - t0)
    return result


def run_trajectory(exp: Experiment, *, progress: bool | None = None, **scalars) -> Result:
    """One trajectory (a batch of one, indexed): same program as :func:`run_batch`."""
    return run_batch(exp, progress=progress, devices=1, **scalars)[0]


def train(
    *,
    model,
    data,
    init,
    integrator,
    loss=None,
    sharpness=None,
    record=None,
    dtype: str = "float32",
    progress: bool | None = None,
    devices: int | None = None,
    **scalars,
) -> Result:
    """Everything the CLI does, without Hydra: build an :class:`Experiment` and run it.

    Example::

        import implicit_bias as ib
        res = ib.train(model=ib.DeepLinear(), data=ib.GaussianRegression(), init=ib.Gaussian(),
                       integrator=ib.GD(), lr=[0.01, 0.05], init_scale=0.3, steps=2000)
        res.final["sharpness"], res.status_names()
        ib.train(model="linear", data=(X, y), init="zero", integrator="gd", sharpness="exact")

    Components may be objects or the command line's option names (a model named without its
    input dimension takes the data's); ``data`` may also be arrays, ``(X, y)`` or
    :class:`~implicit_bias.data.ArrayData` (see :func:`implicit_bias.options.make_experiment`).
    ``loss``, ``sharpness``, ``record``: ``None`` takes the :class:`Experiment` default;
    ``sharpness`` may be a method name (``"exact"``). Scalars (``seed``, ``data_seed``,
    ``init_scale``, ``lr``, ``steps``, ``t1``) may be sequences: they form one batch
    (broadcast together); omitted ones take :data:`implicit_bias.scalars.DEFAULTS`.

    Raises:
        ConfigError: naming the argument, for a bad name, value or combination.
    """
    exp = make_experiment(
        model=model,
        data=data,
        init=init,
        integrator=integrator,
        loss=loss,
        sharpness=sharpness,
        record=record,
        dtype=dtype,
    )
    return run_batch(exp, progress=progress, devices=devices, **scalars)
