"""The batched core: many trajectories as one compiled XLA program, driven by a host loop.

Everything is written for *one* trajectory and batched with ``jax.vmap``. Swept scalars are
traced (:class:`~implicit_bias.Scalars`), the :class:`~implicit_bias.Experiment` is static:
**one compiled program per structure** (and batch size), which a sweep reuses for every batch.

**The program and its host loop.** The program is a step function of a *carry*, the complete
state of a batch: per run, the data, the integrator's state, the divergence flags, the Lanczos
warm start and a buffer of every measurement; for the batch, a clock (the step reached and the
next measurement to take). One call either builds the carry from the scalars (``start``) or
continues it, runs until the clock reaches ``stop`` and returns the new carry; the carry's
buffers are *donated*, so a call updates them in place. The host loop in :func:`run_batch`
calls the program repeatedly (each call a few tenths of a second of work, sized from the rate
measured on the previous call) and advances the progress bar between calls. Hence:

* no host callback inside the compiled program, so JAX's persistent compilation cache
  (:func:`implicit_bias.compilations.enable_persistent_cache`) stores it: a second process
  compiles nothing;
* results do not depend on where the host cuts the run into calls (the steps are the same
  operations in the same order), so the carry between two calls is a checkpoint from which a
  run resumes bit-identically, and an interrupt takes effect within one call;
* the measurements (the initial one, the record points, the final one) all come from one call
  site in the program: the metrics and the sharpness estimator are compiled once each, not
  once per place they are used.

**Measurement slots.** A run of ``R`` record intervals has ``R + 3`` slots: 0 is the initial
measurement (with sharpness), ``1 .. R + 1`` the record points (sharpness when
``sharpness.track``), ``R + 2`` the final measurement (with sharpness). The spectrum
(:class:`~implicit_bias.sharpness.SpectrumSpec`, off by default) follows the same rule with
``spectrum.track``; its arrays add axes after the slot axis (``(b, R + 3, k)`` for the top
``k`` eigenvalues). A discrete run reaches
slot ``j`` by stepping up to its step count; gradient flow solves once, at the start, saving at
the record times, and then measures the saved states slot by slot.
"""

import collections
import contextlib
import functools
import logging
import math
import os
import signal
import threading
import time
from functools import partial
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, Float, Int, PRNGKeyArray

from . import checkpoint as checkpoint_io
from ._types import Params
from .checkpoint import Checkpoint
from .compilations import enable_persistent_cache
from .errors import ConfigError, Interrupted
from .experiment import Experiment
from .integrators._base import AbstractContinuousIntegrator, FlowSolution, Termination
from .models._base import AbstractLinearModel, merge, split_frozen
from .options import make_experiment
from .problem import Problem
from .progress import ProgressBar
from .result import Result
from .scalars import Scalars
from .sharpness import GaussNewton, Hessian, eigenpairs, slq, trace
from .sharpness import sharpness as sharpness_fn

logger = logging.getLogger(__name__)

#: Wall-clock seconds of work the host loop aims at per program call: short enough that the
#: progress bar moves and an interrupt (or a checkpoint) waits at most about that long, long
#: enough that the per-call cost (dispatch and a host synchronization, ~0.1 ms) is negligible.
CHUNK_SECONDS = 0.5

#: Steps of the host loop's first call after step 0, which measures the rate the later calls
#: are sized from.
PROBE_STEPS = 100

#: Without a progress bar (stderr not a terminal: CI, log files, SLURM), a log line at most this
#: often while a batch runs, so that a long run shows in its log that it is alive and how far
#: it got.
LOG_EVERY_SECONDS = 10.0

#: Seconds an interrupted batch waits for its current program call to end (and its checkpoint
#: to be saved) before :class:`~implicit_bias.errors.Interrupted` is raised anyway (a first
#: call still compiling cannot be stopped).
INTERRUPT_GRACE_SECONDS = 3.0

#: The sharpness fields written by the estimator at a measurement.
_SHARPNESS_KEYS = ("sharpness", "sharpness_error_bound", "min_eigenvalue")


class _Runs(eqx.Module):
    """The per-run part of the carry; every leaf has a leading batch axis.

    Attributes:
        arrays: ``(data, frozen params)`` of each run.
        trainable0: initial trainable parameters.
        key: PRNG key of the sharpness estimator.
        state: discrete integrators: the integrator's state; gradient flow: its
            :class:`~implicit_bias.integrators.FlowSolution`.
        alive: the run has not diverged.
        diverged_at: step at which it diverged (-1: never).
        step: steps taken.
        vec: warm start of the sharpness estimator (flat top eigenvector).
        metrics: every measurement, ``(b, R + 3, ...)`` per metric (see the module docstring).
        status: the status code (valid after the final measurement).
        spectrum_vec: warm start of the spectrum's eigenpairs, ``(b, k, p)`` (the previous
            top vectors, or bottom ones without a top); ``None`` when no eigenpairs are
            measured, so that a run without a spectrum has the carry it always had.
        optimum: ``(optimal_loss (b,), attained (b,))``, the smallest training loss and whether
            a finite point attains it, where the problem knows it; else ``None``.
    """

    arrays: Any
    trainable0: Params
    key: Any
    state: Any
    alive: Any
    diverged_at: Any
    step: Any
    vec: Any
    metrics: dict
    status: Any
    optimum: Any
    spectrum_vec: Any = None


class _Clock(eqx.Module):
    """The batch's position (no batch axis): every run of a batch shares its record grid.

    Attributes:
        position: the step every running run has reached (discrete integrators).
        slot: the next measurement slot to fill.
    """

    position: Any
    slot: Any


class _Carry(eqx.Module):
    runs: _Runs
    clock: _Clock


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


# ------------------------------------------------------------------------------ measurements


def _metrics(exp: Experiment, arrays, trainable: Params) -> dict:
    """The cheap metrics of one trajectory at one point (no Hessian)."""
    problem = _problem(exp, arrays)
    out = problem.metrics(trainable)
    if exp.record.params:
        full = problem.full(trainable)
        out.update({f"param_{k}": v for k, v in full.items()})
        if isinstance(exp.model, AbstractLinearModel):
            out["predictor"] = exp.model.predictor(full)
    grad = jax.grad(problem.loss)(trainable)
    out["grad_norm"] = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grad)))
    return out


def _sharpness(exp: Experiment, arrays, trainable: Params, key, vec) -> tuple[dict, Any]:
    """The sharpness of one trajectory at one point, warm-started from ``vec``."""
    problem = _problem(exp, arrays)
    res = sharpness_fn(
        problem.loss,
        trainable,
        key,
        method=exp.sharpness.method,
        num_iters=exp.sharpness.num_iters,
        v0=vec,
        tol=exp.sharpness.tol,
    )
    out = {
        "sharpness": res.eigenvalue,
        "sharpness_error_bound": res.error_bound,
        "min_eigenvalue": res.min_eigenvalue,
    }
    return out, res.vector


def _operator(exp: Experiment, arrays, trainable: Params):
    """The operator ``spectrum.operator`` of one trajectory at ``trainable``: the Hessian of
    the training loss, or the Gauss-Newton matrix of the loss as a function of the model's
    outputs on the training set (:meth:`~implicit_bias.losses.AbstractLoss.of_outputs`)."""
    problem = _problem(exp, arrays)
    if exp.spectrum.operator == "gauss_newton":
        data = problem.data
        return GaussNewton(
            lambda t: problem.model.apply(problem.full(t), data.X),
            trainable,
            lambda out: problem.loss_obj.of_outputs(out, data.y),
        )
    return Hessian(problem.loss, trainable)


def _spectrum(
    exp: Experiment,
    arrays,
    trainable: Params,
    key: PRNGKeyArray,
    vec: Float[Array, "k p"] | None,
    threshold: Float[Array, ""],
) -> tuple[dict[str, Array], Float[Array, "k p"] | None]:
    """The spectrum of one trajectory at one point (:class:`~implicit_bias.sharpness.SpectrumSpec`).

    Args:
        key: a PRNG key for this measurement (start block, trace probes, SLQ probes).
        vec: ``(k, p)`` warm start of the eigenpairs (zeros: random), or ``None``.
        threshold: the scalar above which eigenvalues are counted (``threshold_c / lr``).

    Returns:
        The recorded arrays (:data:`~implicit_bias.sharpness.SPECTRUM_AXES`, shapes of
        :meth:`~implicit_bias.sharpness.SpectrumSpec.shapes`) and the next warm start.
    """
    spec = exp.spectrum
    op = _operator(exp, arrays, trainable)
    eig_key, trace_key, density_key = jax.random.split(key, 3)
    out = {}
    if spec.eigen:
        top, bottom = eigenpairs(
            op,
            eig_key,
            top=spec.k_top,
            bottom=spec.k_bottom,
            krylov_dim=spec.krylov_dim,
            max_restarts=spec.max_restarts,
            v0=vec,
            tol=spec.tol,
        )
        if spec.k_top:
            out["spectrum_top"] = top.eigenvalues
            out["spectrum_top_error_bound"] = top.error_bounds
        if spec.k_bottom:
            out["spectrum_bottom"] = bottom.eigenvalues
            out["spectrum_bottom_error_bound"] = bottom.error_bounds
        if spec.threshold_c is not None:
            count = jnp.sum(top.eigenvalues > threshold.astype(op.dtype))
            out["spectrum_above_count"] = count.astype(op.dtype)
        vec = top.vectors if spec.k_top else bottom.vectors
    if spec.trace_probes:
        tr = trace(op, trace_key, num_probes=spec.trace_probes, method=spec.trace_method)
        out.update(
            trace=tr.trace,
            trace_std_error=tr.trace_std_error,
            trace_sq=tr.trace_sq,
            trace_sq_std_error=tr.trace_sq_std_error,
        )
    if spec.density_probes:
        dens = slq(op, density_key, num_probes=spec.density_probes, num_iters=spec.density_iters)
        out.update(density_nodes=dens.nodes, density_weights=dens.weights)
    return out, vec


def _spectrum_shapes(exp: Experiment, trainable: Params) -> dict:
    """Shapes of the spectrum's fields of a batch, without tracing the estimators."""
    leaves = jax.tree.leaves(trainable)
    dtype = jnp.result_type(*leaves)
    b = leaves[0].shape[0]
    p = _num_trainable(jax.tree.map(lambda x: x[0], trainable))
    return {
        k: jax.ShapeDtypeStruct((b, *shape), dtype) for k, shape in exp.spectrum.shapes(p).items()
    }


def _sharpness_shapes(trainable: Params) -> dict:
    """Shapes of the sharpness fields of a batch, without tracing the estimator: scalars per
    run, in the dtype of the flat parameters."""
    leaves = jax.tree.leaves(trainable)
    dtype = jnp.result_type(*leaves)
    b = leaves[0].shape[0]
    return {k: jax.ShapeDtypeStruct((b,), dtype) for k in _SHARPNESS_KEYS}


def _measure(exp: Experiment, runs: _Runs, trainable: Params, slot, n_slots: int, lr=None) -> _Runs:
    """Measure every run at ``trainable`` (batched) into measurement slot ``slot``.

    The one call site of the metrics, of the sharpness estimator and of the spectrum in the
    program. The estimator runs at the initial and final slots, and at every record point when
    ``sharpness.track``; elsewhere its fields are NaN; the same for the spectrum with
    ``spectrum.track``. ``slot`` is the same for the whole batch, so the choice is a real
    branch (``lax.cond``), not a masked select. ``lr``: ``(b,)`` learning rates, for the
    spectrum's threshold ``threshold_c / lr``.
    """
    out = jax.vmap(partial(_metrics, exp))(runs.arrays, trainable)
    vec = runs.vec
    if exp.sharpness.method != "none":
        # The initial estimate starts from a random vector; later ones from the previous one.
        v0 = jnp.where(slot == 0, jnp.zeros_like(vec), vec)

        def estimate(_):
            return jax.vmap(partial(_sharpness, exp))(runs.arrays, trainable, runs.key, v0)

        if exp.sharpness.track:
            sharp, vec = estimate(None)
        else:

            def skip(_):
                shapes = _sharpness_shapes(trainable)
                return {k: jnp.full(s.shape, jnp.nan, s.dtype) for k, s in shapes.items()}, vec

            ends = (slot == 0) | (slot == n_slots - 1)
            sharp, vec = lax.cond(ends, estimate, skip, None)
        out.update(sharp)
    spectrum_vec = runs.spectrum_vec
    if exp.spectrum.enabled:
        spec, spectrum_vec = _measure_spectrum(exp, runs, trainable, slot, n_slots, lr)
        out.update(spec)
    metrics = {
        k: lax.dynamic_update_index_in_dim(buf, out[k].astype(buf.dtype), slot, axis=1)
        for k, buf in runs.metrics.items()
    }
    runs = eqx.tree_at(lambda r: (r.metrics, r.vec), runs, (metrics, vec))
    if spectrum_vec is not None:
        runs = eqx.tree_at(lambda r: r.spectrum_vec, runs, spectrum_vec)
    return runs


def _measure_spectrum(
    exp: Experiment,
    runs: _Runs,
    trainable: Params,
    slot: Int[Array, ""],
    n_slots: int,
    lr: Float[Array, " b"] | None,
) -> tuple[dict[str, Array], Float[Array, "b k p"] | None]:
    """The spectrum's fields of every run at ``slot`` (NaN where not measured) and the next
    warm start; as the sharpness in :func:`_measure`. Each slot draws its own probes (the key
    folded with the slot), so estimates at different points are independent."""
    spec = exp.spectrum
    vec = runs.spectrum_vec
    b = runs.alive.shape[0]
    if spec.threshold_c is None or lr is None:
        threshold = jnp.zeros((b,), exp.jnp_dtype)
    else:
        threshold = spec.threshold_c / lr.astype(exp.jnp_dtype)
    keys = jax.vmap(lambda k: jax.random.fold_in(jax.random.fold_in(k, 0x5BEC), slot))(runs.key)

    def estimate(_):
        return jax.vmap(partial(_spectrum, exp))(runs.arrays, trainable, keys, vec, threshold)

    if spec.track:
        return estimate(None)

    def skip(_):
        shapes = _spectrum_shapes(exp, trainable)
        return {k: jnp.full(s.shape, jnp.nan, s.dtype) for k, s in shapes.items()}, vec

    ends = (slot == 0) | (slot == n_slots - 1)
    return lax.cond(ends, estimate, skip, None)


def _metric_buffers(exp: Experiment, arrays, trainable: Params, n_slots: int) -> dict:
    """Buffers ``(b, n_slots, ...)`` for every metric a measurement writes, filled with NaN."""
    shapes = jax.eval_shape(jax.vmap(partial(_metrics, exp)), arrays, trainable)
    if exp.sharpness.method != "none":
        shapes.update(_sharpness_shapes(trainable))
    if exp.spectrum.enabled:
        shapes.update(_spectrum_shapes(exp, trainable))
    return {
        k: jnp.full((s.shape[0], n_slots, *s.shape[1:]), jnp.nan, s.dtype)
        for k, s in shapes.items()
    }


def _status(exp: Experiment, termination: Termination, initial: dict, final: dict) -> Any:
    """Each run's status, as its integrator decides it (vmapped over the batch)."""
    return jax.vmap(exp.integrator.postprocess, in_axes=(0, 0, 0, None))(
        termination, initial, final, exp.converge_tol
    )


def _initial(runs: _Runs) -> dict:
    """The first measurement slot (the initial metrics), scalars per run."""
    return {k: v[:, 0] for k, v in runs.metrics.items() if v.ndim == 2}


def _final(runs: _Runs) -> dict:
    """The last measurement slot (the final metrics), scalars per run, with the smallest
    training loss and whether a finite point attains it where the problem knows it (the
    status's optimum test: :meth:`implicit_bias.problem.Problem.optimal_loss`)."""
    final = {k: v[:, -1] for k, v in runs.metrics.items() if v.ndim == 2}
    if runs.optimum is not None:
        final["optimal_loss"], final["optimum_attained"] = runs.optimum
    return final


# --------------------------------------------------------------------------- the programs


def _start(exp: Experiment, scalars: Scalars, n_slots: int) -> _Runs:
    """The carry of a fresh batch: data, initial parameters, the integrator's state (gradient
    flow: a placeholder of its solution's shapes, filled by the solve)."""
    # One run at a time (lax.map), not vmapped: the setup's factorizations (the data's QR, its
    # least-squares solution by SVD) then run as batch-1 LAPACK calls. Batched over the runs,
    # jaxlib's LAPACK kernels split the batch over XLA's CPU thread pool and wait for their
    # tasks; two such kernels running at once (the QR and the SVD are independent) took both
    # threads of a 2-core pool and waited for each other forever (gdb: lapack_sorgqr_ffi and
    # the SVD kernel both blocked in their wait, every pool thread idle; 200-run batches of the
    # Fig 1 grid, 1 in 2 to 3 batches). The setup runs once per batch: a loop costs nothing.
    arrays, trainable0, ikey, skey = lax.map(partial(_setup, exp), scalars)
    p = _num_trainable(jax.tree.map(lambda x: x[0], trainable0))
    b = scalars.batch_size
    dtype = exp.jnp_dtype
    vec = jnp.zeros((b, p), dtype)
    integ = exp.integrator
    if integ.continuous:
        r = n_slots - 2  # saved states: the R + 1 record times

        def placeholder(t):
            return FlowSolution(
                ys=jax.tree.map(lambda x: jnp.zeros((r, *x.shape), x.dtype), t),
                ts=jnp.zeros(r, dtype),
                t_final=jnp.zeros((), dtype),
                num_steps=jnp.zeros((), jnp.int32),
                succeeded=jnp.zeros((), bool),
                event=jnp.zeros((), bool),
            )

        state = jax.vmap(placeholder)(trainable0)
    else:
        state = jax.vmap(lambda a, t, lr, k: integ.init(_problem(exp, a), t, lr, k))(
            arrays, trainable0, scalars.lr, ikey
        )
    spec = exp.spectrum
    spectrum_vec = None
    if spec.eigen:
        k = spec.k_top if spec.k_top else spec.k_bottom
        spectrum_vec = jnp.zeros((b, k, p), dtype)
    return _Runs(
        arrays=arrays,
        trainable0=trainable0,
        key=skey,
        state=state,
        alive=jnp.ones(b, bool),
        diverged_at=jnp.full(b, -1, jnp.int32),
        step=jnp.zeros(b, jnp.int32),
        vec=vec,
        metrics=_metric_buffers(exp, arrays, trainable0, n_slots),
        status=jnp.zeros(b, jnp.int32),
        spectrum_vec=spectrum_vec,
        # The smallest training loss where it is known (None otherwise): computed once, read by
        # the status at the end.
        # One run at a time, as the setup above (a least-squares solve: LAPACK).
        optimum=lax.map(lambda a: _problem(exp, a).optimal_loss(), arrays),
    )


def _fresh(exp: Experiment, scalars: Scalars, n_slots: int) -> _Carry:
    return _Carry(_start(exp, scalars, n_slots), _Clock(jnp.int32(0), jnp.int32(0)))


def _discrete_program(exp: Experiment, scalars: Scalars, targets, carry: _Carry, stop, start):
    """One call of a discrete run: continue (or start) the batch up to step ``stop``.

    Args:
        targets: ``(R + 3,)`` the step at which each measurement slot is taken.
        carry: the batch's state (ignored, only its structure used, when ``start``).
        stop: the step to reach in this call (``<= targets[-1]``).
        start: build the carry from ``scalars`` first.
    """
    integ = exp.integrator
    n_slots = targets.shape[0]
    carry = lax.cond(start, lambda _: _fresh(exp, scalars, n_slots), lambda c: c, carry)

    def advance(arrays, sc, runs_state, begin, end):
        problem = _problem(exp, arrays)

        def body(i, c):
            state, alive, diverged_at, step = c
            new_state, loss = integ.step(problem, state, sc.lr)
            # The loss at the current point is free (value_and_grad); checking every parameter
            # for finiteness each step would halve the throughput. A step to non-finite
            # parameters is caught one step later, by their non-finite loss.
            ok = jnp.isfinite(loss) & (loss <= exp.divergence_threshold)
            active = alive & (i < sc.steps)
            take = active & ok
            return (
                _tree_where(take, new_state, state),
                alive & (ok | ~active),
                jnp.where(active & ~ok, i, diverged_at),
                jnp.where(take, i + 1, step),
            )

        return lax.fori_loop(begin, end, body, runs_state)

    def pending(c: _Carry):
        slot = c.clock.slot
        target = targets[jnp.minimum(slot, n_slots - 1)]
        return (slot < n_slots) & ((c.clock.position < stop) | (target <= c.clock.position))

    def body(c: _Carry) -> _Carry:
        runs, clock = c.runs, c.clock
        target = targets[clock.slot]
        upto = jnp.minimum(target, stop)
        state, alive, diverged_at, step = jax.vmap(advance, in_axes=(0, 0, 0, None, None))(
            runs.arrays,
            scalars,
            (runs.state, runs.alive, runs.diverged_at, runs.step),
            clock.position,
            upto,
        )
        runs = eqx.tree_at(
            lambda r: (r.state, r.alive, r.diverged_at, r.step),
            runs,
            (state, alive, diverged_at, step),
        )
        hit = upto == target
        runs = lax.cond(
            hit,
            lambda r: _measure(exp, r, integ.params(r.state), clock.slot, n_slots, scalars.lr),
            lambda r: r,
            runs,
        )
        return _Carry(runs, _Clock(upto, clock.slot + hit.astype(jnp.int32)))

    carry = lax.while_loop(pending, body, carry)
    runs = carry.runs
    always = jnp.ones_like(runs.alive)
    status = _status(exp, Termination(runs.alive, always, ~always), _initial(runs), _final(runs))
    return eqx.tree_at(lambda c: c.runs.status, carry, status)


def _continuous_program(
    exp: Experiment, scalars: Scalars, fractions, carry: _Carry, stop, start
) -> _Carry:
    """One call of a gradient-flow batch: (start and solve, then) measure up to slot ``stop``.

    Args:
        fractions: ``(R + 1,)`` the record times as fractions of each run's ``t1``.
        stop: measurement slots to have filled after this call (``<= R + 3``).
    """
    integ: AbstractContinuousIntegrator = exp.integrator
    n_slots = fractions.shape[0] + 2

    def fresh(_):
        carry = _fresh(exp, scalars, n_slots)
        runs = carry.runs
        ts = scalars.t1[:, None] * fractions[None, :].astype(exp.jnp_dtype)
        sol = integ.solve_batch(partial(_problem, exp), runs.arrays, runs.trainable0, ts)
        # The placeholder's dtypes (the solver's step count may be int64 under x64).
        sol = jax.tree.map(lambda new, old: new.astype(old.dtype), sol, runs.state)
        return eqx.tree_at(lambda c: c.runs.state, carry, sol)

    carry = lax.cond(start, fresh, lambda c: c, carry)
    last = fractions.shape[0] - 1

    def body(c: _Carry) -> _Carry:
        slot = c.clock.slot
        ys = c.runs.state.ys
        saved = jax.tree.map(
            lambda y: lax.dynamic_index_in_dim(y, jnp.clip(slot - 1, 0, last), 1, False), ys
        )
        trainable = _tree_where(slot == 0, c.runs.trainable0, saved)
        runs = _measure(exp, c.runs, trainable, slot, n_slots)
        return _Carry(runs, _Clock(c.clock.position, slot + 1))

    carry = lax.while_loop(lambda c: c.clock.slot < jnp.minimum(stop, n_slots), body, carry)
    runs = carry.runs
    sol = runs.state
    final = _final(runs)
    trainable = jax.tree.map(lambda y: y[:, -1], sol.ys)
    finite = _all_finite_batched(trainable) & jnp.isfinite(final["train_loss"])
    alive = finite & (final["train_loss"] <= exp.divergence_threshold)
    status = _status(
        exp, Termination(alive, sol.succeeded | sol.event, sol.event), _initial(runs), final
    )
    return eqx.tree_at(lambda c: (c.runs.alive, c.runs.status), carry, (alive, status))


def _all_finite_batched(tree) -> Any:
    leaves = jax.tree.leaves(tree)
    return jnp.all(
        jnp.stack([jnp.all(jnp.isfinite(x.reshape(x.shape[0], -1)), axis=1) for x in leaves]),
        axis=0,
    )


def _static_key(static_exp) -> tuple:
    """A hashable key of the experiment's structure (its arrays partitioned out): its pytree
    structure and non-array leaves (an ``eqx.Module`` holding a dict is not hashable itself)."""
    leaves, treedef = jax.tree_util.tree_flatten(static_exp)
    return treedef, tuple(leaves)


@functools.lru_cache(maxsize=64)
def _program(static_key: tuple, devices: tuple):
    """The jitted step function of a structure (``static_key``: :func:`_static_key` of the
    experiment without its arrays, which are passed as ``dyn_exp``), its carry donated. Cached,
    so that a sweep traces and compiles once.

    On several devices, the batch axis is split with ``jax.shard_map``: each device runs the
    same program on its slice (the clock, the grid and the experiment replicated; no
    cross-device communication).
    """

    static_exp = jax.tree_util.tree_unflatten(*static_key)

    def program(dyn_exp, scalars, grid, carry, stop, start):
        exp = eqx.combine(dyn_exp, static_exp)
        fn = _continuous_program if exp.integrator.continuous else _discrete_program
        return fn(exp, scalars, grid, carry, stop, start)

    # The compiled program's name, read by implicit_bias.compilations.count_compilations.
    program.__name__ = program.__qualname__ = "_simulate"
    if len(devices) > 1:
        mesh = jax.sharding.Mesh(np.asarray(devices), ("batch",))
        batch, rep = jax.sharding.PartitionSpec("batch"), jax.sharding.PartitionSpec()
        carry_spec = _Carry(batch, rep)
        sharded = jax.shard_map(
            program,
            mesh=mesh,
            in_specs=(rep, batch, rep, carry_spec, rep, rep),
            out_specs=carry_spec,
            check_vma=False,
        )

        def program_sharded(dyn_exp, scalars, grid, carry, stop, start):
            return sharded(dyn_exp, scalars, grid, carry, stop, start)

        program_sharded.__name__ = program_sharded.__qualname__ = "_simulate"
        return jax.jit(program_sharded, donate_argnums=(3,))
    return jax.jit(program, donate_argnums=(3,))


# ------------------------------------------------------------------------------- host loop


def _placeholder(struct) -> Any:
    """Arrays of the carry's shapes and dtypes for the starting call (whose program ignores
    their values): zeros made on the host, so that no program is compiled for them."""

    def zeros(s):
        if jax.dtypes.issubdtype(s.dtype, jax.dtypes.prng_key):
            data = jax.eval_shape(jax.random.key_data, s)
            return jax.random.wrap_key_data(np.zeros(data.shape, data.dtype))
        return jax.device_put(np.zeros(s.shape, s.dtype), may_alias=False)

    return jax.tree.map(zeros, struct)


_STRUCTS: "collections.OrderedDict[tuple, Any]" = collections.OrderedDict()


def _carry_struct(exp: Experiment, static_key, dyn_exp, scalars: Scalars, n_slots: int) -> Any:
    """The carry's shapes and dtypes for a structure and batch size: traced abstractly once
    per process (and cached, like the program)."""
    key = (
        static_key,
        tuple((x.shape, str(x.dtype)) for x in jax.tree.leaves(dyn_exp)),
        scalars.batch_size,
        n_slots,
        bool(jax.config.read("jax_enable_x64")),
    )
    if key not in _STRUCTS:
        _STRUCTS[key] = jax.eval_shape(lambda sc: _fresh(exp, sc, n_slots), scalars)
        if len(_STRUCTS) > 64:
            _STRUCTS.popitem(last=False)
    _STRUCTS.move_to_end(key)
    return _STRUCTS[key]


def _devices(devices: int | None) -> list:
    available = jax.devices()
    n = len(available) if devices is None else int(devices)
    if not 1 <= n <= len(available):
        raise ConfigError("devices", devices, f"null or an integer in [1, {len(available)}]")
    return available[:n]


class _BLASThreads:
    """Host BLAS/LAPACK (OpenBLAS) limited to one thread while a program runs.

    XLA calls LAPACK for small dense factorizations (the Lanczos tridiagonal, an implicit
    solver's Newton matrices); OpenBLAS then starts its own threads, which compete with XLA's
    thread pool for the same cores. Measured on the 2-core CPU: a 230 x 230 float64 LU took
    60 ms with OpenBLAS threads against 1.5 ms with one (an implicit gradient-flow step 180 ms
    against 5 ms). Matrices this small gain nothing from threads.
    """

    _controller = None

    def __enter__(self):
        try:
            if _BLASThreads._controller is None:
                import scipy.linalg  # noqa: F401  (loads the OpenBLAS that jaxlib's LAPACK calls)
                from threadpoolctl import ThreadpoolController

                _BLASThreads._controller = ThreadpoolController()
            self._limit = _BLASThreads._controller.limit(limits=1, user_api="blas")
        except Exception:  # no threadpoolctl, or an unknown BLAS: run as is
            self._limit = None
        return self

    def __exit__(self, *exc):
        if self._limit is not None:
            self._limit.restore_original_limits()
        return False


class _BatchRun:
    """The host loop of one batch: calls the program until the batch is done.

    ``start()`` makes the first call (which compiles the program if needed, builds the carry
    and takes the measurements at step 0), ``advance(stop)`` continues to step ``stop``;
    :attr:`carry` is the complete state between calls (a checkpoint is
    ``jax.device_get(run.carry)`` with :attr:`position`; resuming is setting both back and
    calling :meth:`advance`: the steps are the same operations whatever the cut, so the result
    is bit-identical). :meth:`result` assembles the :class:`Result`.
    """

    def __init__(self, exp: Experiment, scalars: Scalars, devices: list):
        self.exp = exp
        self.scalars = scalars
        dyn_exp, static_exp = eqx.partition(exp, eqx.is_array)
        self.dyn_exp = dyn_exp
        static_key = _static_key(static_exp)
        self.program = _program(static_key, tuple(devices))
        if exp.integrator.continuous:
            self.grid = jnp.asarray(exp.record.fractions(), exp.jnp_dtype)
            self.record_steps = None
            n_slots = self.grid.shape[0] + 2
            self.end = n_slots  # gradient flow: the clock counts measurement slots
        else:
            max_steps = int(np.max(np.asarray(scalars.steps)))
            self.record_steps = exp.record.steps(max_steps)
            targets = np.concatenate([[0], self.record_steps, self.record_steps[-1:]])
            self.grid = jnp.asarray(targets, jnp.int32)
            n_slots = len(targets)
            self.end = max_steps
        self.static_key = static_key
        self.struct = _carry_struct(exp, static_key, dyn_exp, scalars, n_slots)
        self.carry = None
        self.position = 0

    def fingerprint(self) -> str:
        """What a checkpoint of this batch must have been saved for: the experiment (its
        structure and arrays), the scalars, the record grid and the carry's layout."""
        return checkpoint_io.fingerprint(
            repr(self.static_key), self.dyn_exp, self.scalars, self.grid, self.struct
        )

    def resume(self, carry, position: int) -> None:
        """Continue from a saved carry (host arrays) reached at ``position``."""
        self.carry = jax.device_put(carry)
        self.position = int(position)

    @property
    def done(self) -> bool:
        return self.carry is not None and self.position >= self.end

    def _call(self, stop: int, start: bool) -> float:
        tic = time.perf_counter()
        carry = self.carry if self.carry is not None else _placeholder(self.struct)
        self.carry = self.program(
            self.dyn_exp, self.scalars, self.grid, carry, np.int32(stop), np.bool_(start)
        )
        # Wait for the call (the clock is written last); the next call is sized from this one.
        jax.block_until_ready(self.carry.clock)
        self.position = stop
        return time.perf_counter() - tic

    def start(self) -> float:
        """Build the carry and measure at step 0 (slot time for gradient flow: everything)."""
        return self._call(self.end if self.exp.integrator.continuous else 0, True)

    def advance(self, stop: int) -> float:
        """Continue every run to step ``stop`` (``position < stop <= end``); returns seconds."""
        return self._call(int(stop), False)

    def result(self, batch: int) -> Result:
        """The first ``batch`` runs, as a :class:`Result`.

        Sliced on the host (numpy), then put back on the device: slicing device arrays
        eagerly would compile a small program per slice.
        """
        exp = self.exp
        host = jax.tree.map(lambda x: x[:batch], jax.device_get(self.carry.runs))
        metrics = host.metrics
        untracked = () if exp.sharpness.track else _SHARPNESS_KEYS
        if not exp.spectrum.track:
            untracked = (*untracked, *exp.spectrum.keys())
        if exp.integrator.continuous:
            times, reached = host.state.ts, host.state.t_final
        else:
            steps = self.record_steps.astype(np.int32)
            times = np.broadcast_to(steps, (batch, len(steps)))
            reached = np.where(host.alive, host.step, host.diverged_at)
        parts = {
            "times": times,
            "records": {k: v[:, 1:-1] for k, v in metrics.items() if k not in untracked},
            "initial": {k: v[:, 0] for k, v in metrics.items()},
            "final": {k: v[:, -1] for k, v in metrics.items()},
            "optimum": host.optimum,
            "status": host.status,
            "reached": reached,
            "runs": host,
        }
        parts = jax.device_put(parts)
        runs = parts.pop("runs")
        optimum = parts.pop("optimum")
        if optimum is not None:
            parts["final"]["optimal_loss"], parts["final"]["optimum_attained"] = optimum
        if exp.integrator.continuous:
            trainable = jax.tree.map(lambda y: y[:, -1], runs.state.ys)
        else:
            trainable = exp.integrator.params(runs.state)
        frozen = runs.arrays[1]
        return Result(
            scalars=jax.tree.map(lambda x: x[:batch], self.scalars),
            params=merge(exp.model, trainable, frozen),
            initial_params=merge(exp.model, runs.trainable0, frozen),
            data=runs.arrays[0],
            **parts,
        )


class _HostLoop:
    """The host loop of one batch, run in a worker thread so that the caller's thread stays
    responsive to interrupts.

    Python runs signal handlers (Ctrl-C's ``KeyboardInterrupt``) only in the main thread and
    only between bytecodes: a thread blocked in XLA (compiling for tens of seconds, or a long
    program call) would see a signal only when XLA returns. So the calls are made here, in a
    worker thread, and the caller's thread only waits on an event; an interrupt lands in that
    wait at once, sets :attr:`stop`, and the worker stops after its current call (about
    :data:`CHUNK_SECONDS`), saving the checkpoint if there is one.
    """

    def __init__(self, run: "_BatchRun", bar: ProgressBar, checkpoint, fingerprint: str | None):
        self.run = run
        self.bar = bar
        self.checkpoint = checkpoint
        self.fingerprint = fingerprint
        self.stop = threading.Event()
        self.finished = threading.Event()
        self.started = False  # the first program call returned (compiled, step 0 measured)
        self.saving = False
        self.saved_position: int | None = None  # the position of the last checkpoint saved
        self.error: BaseException | None = None

    def save(self) -> None:
        run = self.run
        self.saving = True
        try:
            checkpoint_io.save(self.checkpoint.path, run.carry, run.position, self.fingerprint)
            self.saved_position = run.position
        finally:
            self.saving = False
        logger.info("checkpoint at step %d of %d: %s", run.position, run.end, self.checkpoint.path)

    def __call__(self) -> None:
        try:
            self._loop()
        except BaseException as e:  # re-raised in the caller's thread
            self.error = e
        finally:
            self.finished.set()

    def _loop(self) -> None:
        run, bar, exp = self.run, self.bar, self.run.exp
        if run.carry is None:
            # The first call compiles the program (or loads it from the persistent cache),
            # which can take tens of seconds with nothing else to show: say so before, and
            # after.
            logger.info(
                "%d run(s) of %s: compiling the program (or loading it from the cache)%s",
                run.scalars.batch_size,
                type(exp.model).__name__,
                ", then solving the flow" if exp.integrator.continuous else "",
            )
            seconds = run.start()
            logger.info("program ready and step 0 measured in %.1fs", seconds)
        self.started = True
        rate, stride = None, 1
        tic = last = saved = time.perf_counter()
        every = self.checkpoint.every_seconds if self.checkpoint is not None else math.inf
        while not run.done and not self.stop.is_set():
            remaining = run.end - run.position
            if rate is None:
                # Probe with a few steps (1% of a short run) to measure the rate: a call of
                # 1% of a 1e8-step run would take seconds, during which an interrupt waits.
                stride = max(1, min(run.end // 100, PROBE_STEPS))
            else:
                # About CHUNK_SECONDS at the measured rate, growing at most 8x per call (a
                # rate measured on a short call is noisy).
                stride = max(1, min(int(rate * CHUNK_SECONDS), 8 * stride))
            steps = min(remaining, stride)
            seconds = run.advance(run.position + steps)
            rate = steps / max(seconds, 1e-6)
            bar.update_to(run.position)
            now = time.perf_counter()
            if not run.done and now - saved >= every:
                self.save()
                saved = time.perf_counter()
            if not bar.enabled and now - last >= LOG_EVERY_SECONDS:
                last = now
                left = (run.end - run.position) / max(rate, 1e-9)
                logger.info(
                    "step %d of %d (%.0f%%), %.0fs so far, about %.0fs left",
                    run.position,
                    run.end,
                    100.0 * run.position / max(run.end, 1),
                    now - tic,
                    left,
                )
        if self.stop.is_set() and not run.done and self.checkpoint is not None:
            self.save()


@contextlib.contextmanager
def _noting_interrupts():
    """Note SIGINT and SIGTERM in an event while they keep their Python handlers.

    A handler's ``KeyboardInterrupt`` is raised wherever the main thread is when the signal
    arrives, which may be a garbage-collector callback (JAX registers one), where Python
    prints "Exception ignored" and drops it: the interrupt would be lost. The event says that
    it came. Only signals whose handler is a Python function are wrapped (not SIG_DFL or
    SIG_IGN), and only in the main thread (where Python runs handlers).
    """
    noted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def wrap(handler):
        def noting(signum, frame):
            noted.set()
            return handler(signum, frame)

        return noting

    for s, h in previous.items():
        if callable(h):
            signal.signal(s, wrap(h))
    try:
        yield noted
    finally:
        for s, h in previous.items():
            if callable(h):
                signal.signal(s, h)


def _run(
    exp: Experiment, scalars: Scalars, devices: list, progress: bool | None, checkpoint
) -> Result:
    batch = scalars.batch_size
    if len(devices) > 1:
        # A batch split over devices: pad it to a multiple of the device count.
        scalars = scalars.pad(-(-batch // len(devices)) * len(devices))
    run = _BatchRun(exp, scalars, devices)
    fp = None
    if checkpoint is not None:
        fp = run.fingerprint()
        loaded = checkpoint_io.load(checkpoint.path, run.struct, fp)
        if loaded is not None:
            carry, position = loaded
            run.resume(carry, position)
            logger.info(
                "resuming from checkpoint %s at step %d of %d", checkpoint.path, position, run.end
            )
    desc = "gradient flow" if exp.integrator.continuous else "steps"
    total = 1 if exp.integrator.continuous else run.end
    with _BLASThreads(), ProgressBar(total, enabled=progress, desc=desc) as bar:
        if run.carry is not None:
            bar.update_to(min(run.position, total))
        loop = _HostLoop(run, bar, checkpoint, fp)
        worker = threading.Thread(target=loop, name="implicit_bias-batch", daemon=True)
        try:
            with _noting_interrupts() as noted:
                worker.start()
                while not loop.finished.wait(0.1):
                    if noted.is_set():
                        # The handler's KeyboardInterrupt was raised inside code that swallows
                        # exceptions (a gc callback: "Exception ignored in ..."): raise it here.
                        raise KeyboardInterrupt
        except KeyboardInterrupt:
            loop.stop.set()
            # The current call ends within about CHUNK_SECONDS (then the checkpoint is saved);
            # a first call still compiling cannot be stopped, and is left to finish in the
            # background (the caller decides whether to wait or to exit).
            loop.finished.wait(INTERRUPT_GRACE_SECONDS if loop.started else 1.0)
            while loop.saving:
                loop.finished.wait(0.1)
            if not loop.started:
                raise Interrupted(run.position, run.end, None, "compiling") from None
            if not loop.finished.is_set():
                # A call longer than the grace (a loaded machine): the last periodic save, if
                # any, is what is kept.
                saved = checkpoint.path if loop.saved_position is not None else None
                position = loop.saved_position if saved is not None else run.position
                raise Interrupted(position, run.end, saved, "running") from None
            saved = checkpoint.path if checkpoint is not None and not run.done else None
            if run.done and loop.error is None:
                if checkpoint is not None:
                    checkpoint.path.unlink(missing_ok=True)
                result = run.result(batch)
                raise Interrupted(run.position, run.end, None, "finished", result) from None
            raise Interrupted(run.position, run.end, saved, "running") from None
        if loop.error is not None:
            raise loop.error
        bar.update_to(total)
    result = run.result(batch)
    if checkpoint is not None:
        checkpoint.path.unlink(missing_ok=True)  # the batch is done: its result is the caller's
    return result


def run_batch(
    exp: Experiment,
    scalars: Scalars | None = None,
    *,
    progress: bool | None = None,
    devices: int | None = None,
    checkpoint: Checkpoint | str | os.PathLike | None = None,
    **kw,
) -> Result:
    """Run a batch of trajectories as one compiled, vmapped program.

    Args:
        exp: the static structure.
        scalars: the traced scalars (or pass them as keywords, see :meth:`Scalars.make`).
        progress: show a tqdm progress bar (default: only on a TTY).
        devices: number of devices to split the batch over (default: all devices of the
            default backend); results do not depend on it.
        checkpoint: a :class:`~implicit_bias.checkpoint.Checkpoint` (or its file's path, saved
            every :data:`~implicit_bias.checkpoint.EVERY_SECONDS`): the batch resumes from the
            file if it holds a checkpoint of this batch, saves to it while running and when
            interrupted, and deletes it when done. Resumed results are bit-identical to
            uninterrupted ones.

    Returns:
        A :class:`Result` with a leading batch axis.

    Raises:
        Interrupted: on ``KeyboardInterrupt`` (Ctrl-C) while the batch runs: raised within
            about one program call (:data:`CHUNK_SECONDS`, plus the checkpoint's save), or at
            once while the program is still compiling; it says how far the batch got and where
            it was saved (:class:`~implicit_bias.errors.Interrupted`).
    """
    enable_persistent_cache()  # before the first compilation of the process, if any
    if scalars is None:
        scalars = Scalars.make(dtype=exp.dtype, **kw)
    elif kw:
        raise TypeError("pass either scalars or keywords, not both")
    if exp.dtype == "float64" and not jax.config.read("jax_enable_x64"):
        raise RuntimeError(
            "dtype=float64 needs jax_enable_x64: call "
            'jax.config.update("jax_enable_x64", True) before creating arrays'
        )
    devs = _devices(devices)
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint(checkpoint)
    t0 = time.perf_counter()
    result = _run(exp, scalars, devs, progress, checkpoint)
    logger.info("ran %d trajectories in %.2fs", scalars.batch_size, time.perf_counter() - t0)
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
    spectrum=None,
    progress: bool | None = None,
    devices: int | None = None,
    checkpoint: Checkpoint | str | os.PathLike | None = None,
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
    ``loss``, ``sharpness``, ``spectrum``, ``record``: ``None`` takes the :class:`Experiment`
    default; ``sharpness`` may be a method name (``"exact"``), ``spectrum`` a mapping of
    :class:`~implicit_bias.sharpness.SpectrumSpec`'s fields (``{"k_top": 5}``). Scalars
    (``seed``, ``data_seed``, ``init_scale``, ``lr``, ``steps``, ``t1``) may be sequences: they
    form one batch (broadcast together); omitted ones take
    :data:`implicit_bias.scalars.DEFAULTS`. ``progress``, ``devices``, ``checkpoint``: as
    :func:`run_batch`.

    Raises:
        ConfigError: naming the argument, for a bad name, value or combination.
        Interrupted: as :func:`run_batch`.
    """
    exp = make_experiment(
        model=model,
        data=data,
        init=init,
        integrator=integrator,
        loss=loss,
        sharpness=sharpness,
        spectrum=spectrum,
        record=record,
        dtype=dtype,
    )
    return run_batch(exp, progress=progress, devices=devices, checkpoint=checkpoint, **scalars)
