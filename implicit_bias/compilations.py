"""XLA compilations: counted (for tests, benchmarks and the launcher's logs) and cached on disk.

A sweep group must compile **once**: the swept scalars are traced, so a second batch of the same
structure and batch size reuses the executable. :func:`count_compilations` makes that checkable::

    with count_compilations("_simulate") as compiles:
        run_batch(exp, seed=[0, 1])
        run_batch(exp, seed=[2, 3])
    assert compiles.count == 1

It listens to JAX's monitoring event ``/jax/core/compile/backend_compile_duration``, recorded
once per backend compilation with the compiled function's name (``jit(_simulate)``), including
the programs loaded from the persistent cache (they go through the same path, in milliseconds):
:attr:`Compilations.cache_hits` tells them apart, from JAX's ``/jax/compilation_cache/cache_hits``
event, which the same thread records just before. Unlike parsing ``jax_log_compiles`` log
lines, this does not depend on log formats or levels.

**The persistent compilation cache.** :func:`enable_persistent_cache` turns on JAX's on-disk
cache of compiled programs, so that a second process (a second ``make run``, CLI sweep or figure
script) loads the engine's program instead of compiling it. :func:`implicit_bias.run_batch`
turns it on at its first call, in a per-user folder (``$XDG_CACHE_HOME/implicit_bias/jax``,
else ``~/.cache/implicit_bias/jax``), unless the environment variable
``IMPLICIT_BIAS_COMPILATION_CACHE`` moves it (a path) or turns it off (``off``), the command line's
``compilation_cache`` key does, or JAX's own ``jax_compilation_cache_dir`` is already set (then
that folder is used as is). JAX keys each entry by the program's HLO, the compile options, the
JAX/XLA version and the device, so an entry is never used for another program; the folder is
capped at :data:`CACHE_MAX_BYTES` when the package ``filelock`` is installed (least recently
used entries evicted), else it only grows; delete it to reclaim the space. A program with a
host callback (``jax.debug.callback``) is never written to the cache, which is why the engine's
program has none.
"""

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jax

logger = logging.getLogger(__name__)

#: JAX's monitoring event for one backend (XLA) compilation; ``jax._src.dispatch`` names it.
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
#: JAX's monitoring event for a program loaded from the persistent cache
#: (``jax._src.compiler.compile_or_get_cached``, just before the compile event above).
CACHE_HIT_EVENT = "/jax/compilation_cache/cache_hits"
#: The environment variable that moves (a path) or turns off (``off``) the persistent cache.
CACHE_ENV = "IMPLICIT_BIAS_COMPILATION_CACHE"
#: Size cap of the persistent cache folder, in bytes: past it, JAX evicts the least recently
#: used entries (``jax_compilation_cache_max_size``; JAX's default, -1, lets it grow forever).
CACHE_MAX_BYTES = 2 * 1024**3
#: Values of :data:`CACHE_ENV` (and of the ``compilation_cache`` config key) that turn it off.
CACHE_OFF = ("off", "false", "0", "no", "none", "null", "")


@dataclass
class Compilations:
    """The compilations seen inside a :func:`count_compilations` block.

    Attributes:
        names: the compiled functions' names, in order (e.g. ``jit(_simulate)``).
        seconds: the backend compile time of each, in seconds (for a cache hit: the time to
            load it).
        workers: the worker process of each (``None``: this process).
        cache_hits: whether each was loaded from the persistent cache instead of compiled.
    """

    names: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    workers: list[int | None] = field(default_factory=list)
    cache_hits: list[bool] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Number of programs obtained: compiled, or loaded from the persistent cache."""
        return len(self.names)

    @property
    def compiled(self) -> int:
        """Number of programs actually compiled (not loaded from the persistent cache)."""
        return self.count - sum(self.cache_hits)

    @property
    def total_seconds(self) -> float:
        """Total backend compile time, in seconds."""
        return float(sum(self.seconds))

    @property
    def wall_seconds(self) -> float:
        """Compile time on the critical path: compilations in this process add up; those of
        worker processes (:mod:`implicit_bias.app.workers`), which compile in parallel, count as
        the busiest worker's total."""
        own, per_worker = 0.0, {}
        for sec, worker in zip(self.seconds, self.workers, strict=True):
            if worker is None:
                own += sec
            else:
                per_worker[worker] = per_worker.get(worker, 0.0) + sec
        return own + max(per_worker.values(), default=0.0)


_LOCK = threading.Lock()
#: The collectors of the ``count_compilations`` blocks now open, with their ``match``.
_ACTIVE: list[tuple[str | None, Compilations]] = []


def _record(name: str, seconds: float, worker: int | None, hit: bool) -> None:
    with _LOCK:
        for match, found in _ACTIVE:
            if match is None or match in name:
                found.names.append(name)
                found.seconds.append(float(seconds))
                found.workers.append(worker)
                found.cache_hits.append(bool(hit))


# JAX records the cache-hit event and then the compile event of the same program, in the thread
# that compiles it: the flag carries the first to the second.
_THREAD = threading.local()


def _event_listener(event: str, **kwargs) -> None:
    if event == CACHE_HIT_EVENT:
        _THREAD.hit = True


def _duration_listener(event: str, duration: float, **kwargs) -> None:
    if event == BACKEND_COMPILE_EVENT:
        hit = getattr(_THREAD, "hit", False)
        _THREAD.hit = False
        _record(str(kwargs.get("fun_name", "")), duration, None, hit)


# One pair of listeners for the life of the process; they feed whichever blocks are open.
jax.monitoring.register_event_listener(_event_listener)
jax.monitoring.register_event_duration_secs_listener(_duration_listener)


def record_compilations(
    names: list[str], seconds: list[float], worker: int, cache_hits: list[bool] | None = None
) -> None:
    """Report compilations that happened in worker process ``worker``
    (:mod:`implicit_bias.app.workers`) to every open :func:`count_compilations` block."""
    hits = [False] * len(names) if cache_hits is None else cache_hits
    for name, sec, hit in zip(names, seconds, hits, strict=True):
        _record(name, sec, worker, hit)


@contextlib.contextmanager
def count_compilations(match: str | None = None) -> Iterator[Compilations]:
    """Record the XLA compilations that happen inside the ``with`` block (in this process, or
    in worker processes that report them with :func:`record_compilations`).

    Args:
        match: count only functions whose name contains this substring (e.g. ``"_simulate"``
            for the engine's trajectory programs, leaving out the tiny programs JAX compiles
            for eager array operations). ``None`` counts every compilation.

    Yields:
        A :class:`Compilations`, filled while the block runs (read it after the block).
    """
    entry = (match, Compilations())
    with _LOCK:
        _ACTIVE.append(entry)
    try:
        yield entry[1]
    finally:
        with _LOCK:
            # By identity: two collectors with the same content compare equal (dataclass eq).
            _ACTIVE[:] = [e for e in _ACTIVE if e is not entry]


# ------------------------------------------------------------------- persistent cache


def default_cache_dir() -> Path:
    """The per-user cache folder: ``$XDG_CACHE_HOME/implicit_bias/jax`` or
    ``~/.cache/implicit_bias/jax``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "implicit_bias" / "jax"


def resolve_cache_dir(setting: str | os.PathLike | None = "auto") -> Path | None:
    """The folder a ``compilation_cache`` setting names, or ``None`` for "off".

    Args:
        setting: ``auto`` (the environment variable :data:`CACHE_ENV` if set, else
            :func:`default_cache_dir`), a path, or one of :data:`CACHE_OFF` / ``None``.
    """
    if setting is None:
        return None
    value = str(setting).strip()
    if value.lower() == "auto":
        env = os.environ.get(CACHE_ENV)
        if env is None:
            return default_cache_dir()
        value = env.strip()
    if value.lower() in CACHE_OFF:
        return None
    return Path(value).expanduser()


def _has_filelock() -> bool:
    import importlib.util

    return importlib.util.find_spec("filelock") is not None


#: The folder this process configured (``None``: off), once :func:`enable_persistent_cache`
#: has run; absent before.
_CONFIGURED: dict[str, Path | None] = {}


def enable_persistent_cache(setting: str | os.PathLike | None = "auto") -> Path | None:
    """Turn JAX's persistent compilation cache on (or off) for this process.

    The first call decides; later calls with ``"auto"`` (what :func:`implicit_bias.run_batch`
    passes) keep that decision, an explicit setting replaces it (and is exported as
    :data:`CACHE_ENV`, so that processes started from this one follow it). A folder configured
    directly through JAX (``jax_compilation_cache_dir`` or ``JAX_COMPILATION_CACHE_DIR``) is
    left as it is.
    Every program is cached, however fast it compiled (JAX's default skips those under one
    second, which on a laptop CPU is most of the small ones that add up).

    Args:
        setting: see :func:`resolve_cache_dir`.

    Returns:
        The cache folder in use, or ``None`` if the cache is off.
    """
    if "dir" in _CONFIGURED and str(setting).lower() == "auto":
        return _CONFIGURED["dir"]
    from jax.experimental.compilation_cache import compilation_cache as cc

    current = jax.config.jax_compilation_cache_dir
    if current and "dir" not in _CONFIGURED:
        _CONFIGURED["dir"] = Path(current)  # the user's own choice
        return _CONFIGURED["dir"]
    path = resolve_cache_dir(setting)
    if path is not None:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            logger.warning("compilation cache off: cannot create %s (%s)", path, e)
            path = None
    if path is None:
        jax.config.update("jax_enable_compilation_cache", False)
    else:
        jax.config.update("jax_enable_compilation_cache", True)
        jax.config.update("jax_compilation_cache_dir", str(path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        # JAX evicts under a file lock, from the optional package filelock; without it, a cap
        # makes every cache read fail ("install filelock"), so the folder is left uncapped.
        if jax.config.jax_compilation_cache_max_size == -1 and _has_filelock():
            jax.config.update("jax_compilation_cache_max_size", CACHE_MAX_BYTES)
    if str(setting).strip().lower() != "auto":
        # Worker processes and local jobs started from here (implicit_bias.app.workers,
        # submitit) read the environment, not this process's settings.
        os.environ[CACHE_ENV] = "off" if path is None else str(path)
    if _CONFIGURED.get("dir", ...) != path:
        # JAX decides whether to use the cache at the first compilation of the process;
        # let it decide again with the new setting.
        cc.reset_cache()
    _CONFIGURED["dir"] = path
    logger.debug("persistent compilation cache: %s", path or "off")
    return path
