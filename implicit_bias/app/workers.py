r"""Process-parallel batches on CPU: one worker process per core, each running XLA alone.

Why: on CPU, XLA parallelizes a program *inside* each operation (a kernel of the vmapped
step is split over the cores), and the kernels of these experiments are small: tens of
microseconds each, dozens per step. The fork/join of every kernel eats most of the second
core. Measured on the 2-core CPU (``benchmarks/engine.py --model mlp``, Marion & Chizat's
Fig. 7 network): one process on both cores runs a batch of 160 at ~128k run-steps/s, while
one process pinned to one core runs a batch of 80 at ~141k run-steps/s. Two such processes,
each with half of the batch, do ~2x the work per second of one process using both cores.

In-process alternatives fail on XLA:CPU here: several forced host devices
(``--xla_force_host_platform_device_count``) with ``shard_map`` deadlock as soon as the
kernels are large enough to be split over the shared intra-op thread pool (docs/sweeps.md).

Design: :func:`run_batch` (this module's, a drop-in for :func:`implicit_bias.run_batch` with a
``workers`` argument) with ``workers=k`` splits the batch into ``k`` contiguous slices and
sends each, with the (picklable, static) :class:`~implicit_bias.Experiment`, to a persistent
worker process (a fresh interpreter) pinned to one core (``os.sched_setaffinity``); each calls
:func:`implicit_bias.run_batch` on its slice and sends back the Result as numpy arrays, which
are concatenated in batch order. Results equal those of ``workers=1`` up to the order of
floating-point sums (each run is an independent vmap lane, but XLA may vectorize a reduction
differently for another batch size; ``tests/test_workers.py``).

Workers are started once, as ``python -c`` subprocesses talking pickle over their stdin/stdout
(no ``multiprocessing``: its "spawn" start method re-imports the user's ``__main__``, which
breaks scripts without a main guard, and a fork of a process whose XLA runtime has threads is
unsafe), and kept for the life of the process, so each worker compiles a program once and
reuses it for every later batch of the same structure and slice size. The compilations happen
in the workers; they are reported to any active
:func:`implicit_bias.compilations.count_compilations` block (one per worker and structure).
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
import traceback
from typing import Any

import jax
import numpy as np

from implicit_bias.engine import run_batch as run_batch_in_process
from implicit_bias.errors import ConfigError
from implicit_bias.experiment import Experiment
from implicit_bias.result import Result
from implicit_bias.scalars import Scalars

logger = logging.getLogger(__name__)

_POOLS: dict[int, _Pool] = {}
_LOCK = threading.Lock()


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("!Q", len(data)))
    stream.write(data)
    stream.flush()


def _recv(stream) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("worker pipe closed")
    (n,) = struct.unpack("!Q", head)
    return pickle.loads(stream.read(n))


def serve() -> None:
    """A worker's loop (``python -c "...; from implicit_bias.app.workers import serve; serve()"``):
    read ``(experiment, scalars, x64)`` from stdin, run it, write the Result to stdout."""
    import signal

    # Ctrl-C reaches the whole process group: the parent decides (it stops and kills the
    # workers, keeping what finished), so a worker does not die with its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Messages go to the real stdout; anything else printed goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    import jax

    from implicit_bias.compilations import count_compilations

    while True:
        try:
            msg = _recv(inp)
        except EOFError:
            return
        exp, scalars, x64 = msg
        try:
            jax.config.update("jax_enable_x64", x64)
            with count_compilations("_simulate") as comp:
                res = run_batch_in_process(exp, scalars, progress=False, devices=1)
            compiled = (comp.names, comp.seconds, comp.cache_hits)
            _send(out, ("ok", jax.device_get(res), compiled))
        except Exception as e:  # sent to the parent, which raises
            _send(out, ("error", repr(e), traceback.format_exc()))


class _Pool:
    """``n`` persistent worker processes, worker ``i`` pinned to the ``i``-th allowed core."""

    def __init__(self, n: int):
        allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        # Pin only when every worker gets a core of its own.
        cores = allowed[:n] if len(allowed) >= n else [None] * n
        self.procs = []
        for core in cores:
            # A fresh interpreter (not a fork of this one, whose XLA runtime has threads), pinned
            # *before* JAX creates its CPU client: XLA sizes its thread pool from the CPUs the
            # process may use.
            pin = f"import os; os.sched_setaffinity(0, {{{core}}}); " if core is not None else ""
            code = pin + "from implicit_bias.app.workers import serve; serve()"
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
                )
            )
        logger.info("started %d worker processes (cores %s)", n, cores)

    def run(self, exp, scalars) -> Any:
        from implicit_bias.compilations import record_compilations

        b = scalars.batch_size
        bounds = np.linspace(0, b, len(self.procs) + 1).round().astype(int)
        host = jax.device_get(scalars)
        x64 = bool(jax.config.read("jax_enable_x64"))
        used = []
        for proc, lo, hi in zip(self.procs, bounds[:-1], bounds[1:], strict=True):
            if hi > lo:
                _send(proc.stdin, (exp, jax.tree.map(lambda a, lo=lo, hi=hi: a[lo:hi], host), x64))
                used.append(proc)
        parts, errors = [], []
        for i, proc in enumerate(used):
            status, payload, extra = _recv(proc.stdout)
            if status == "ok":
                parts.append(payload)
                names, seconds, hits = extra
                record_compilations(
                    [f"{n} [worker {i}]" for n in names], seconds, worker=i, cache_hits=hits
                )
            else:
                errors.append(f"worker {i}: {payload}\n{extra}")
        if errors:
            raise RuntimeError("a worker process failed:\n" + "\n".join(errors))
        return jax.tree.map(lambda *xs: np.concatenate(xs, axis=0), *parts)

    def close(self, now: bool = False) -> None:
        if now:
            for proc in self.procs:
                proc.kill()
            return
        for proc in self.procs:
            try:
                proc.stdin.close()
            except OSError:
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


def pool(n: int) -> _Pool:
    """The shared pool of ``n`` workers (started on first use)."""
    with _LOCK:
        if n not in _POOLS:
            _POOLS[n] = _Pool(n)
        return _POOLS[n]


def shutdown(now: bool = False) -> None:
    """Stop every worker process (also done at interpreter exit): let each finish its batch
    and exit, or with ``now`` kill them (an interrupted sweep)."""
    with _LOCK:
        for p in _POOLS.values():
            p.close(now)
        _POOLS.clear()


atexit.register(shutdown)


def run_batch(
    exp: Experiment,
    scalars: Scalars | None = None,
    *,
    workers: int | None = None,
    progress: bool | None = None,
    devices: int | None = None,
    **kw,
) -> Result:
    """:func:`implicit_bias.run_batch`, split over ``workers`` CPU worker processes.

    Args:
        exp, scalars, progress, devices, kw: as :func:`implicit_bias.run_batch`.
        workers: CPU only: split the batch over this many worker processes, each pinned to one
            core (about 2x faster on 2 cores for the small kernels of these experiments).
            ``None`` or 1: in this process. Results equal those of one process up to the order
            of floating-point sums (XLA may reduce differently for another slice size; a
            float32 run near a degenerate point can then end elsewhere: docs/marion.md, the
            edge-of-stability rows). No progress bar with
            workers.

    Raises:
        ConfigError: for a bad ``workers`` value, on a non-CPU backend, or with ``devices``.
    """
    if workers is None or workers == 1:
        return run_batch_in_process(exp, scalars, progress=progress, devices=devices, **kw)
    if scalars is None:
        scalars = Scalars.make(dtype=exp.dtype, **kw)
    elif kw:
        raise TypeError("pass either scalars or keywords, not both")
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError("workers", workers, "null or an integer >= 1")
    if jax.default_backend() != "cpu":
        backend = jax.default_backend()
        raise ConfigError("workers", workers, f"1 on the {backend} backend (CPU only)")
    if devices not in (None, 1):
        raise ConfigError("devices", devices, "null or 1 with workers > 1")
    t0 = time.perf_counter()
    result = pool(workers).run(exp, scalars)
    logger.info(
        "ran %d trajectories in %d worker processes in %.2fs",
        scalars.batch_size,
        workers,
        time.perf_counter() - t0,
    )
    return result
