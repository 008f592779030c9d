"""Checkpoints of a batch between two calls of its compiled program, and their files.

The engine's host loop (:mod:`implicit_bias.engine`) calls one compiled program repeatedly; the
*carry* between two calls is the complete state of the batch (parameters, optimizer state,
steps taken, PRNG keys, divergence flags, every measurement so far). The steps are the same
operations whatever the cut, so a batch resumed from a saved carry ends bit-identical to an
uninterrupted one (tested, float32 and float64, GD and SGD: ``tests/test_checkpoint.py``).

A checkpoint file is one ``.npz``: the carry's leaves (``leaf_00000``, ... in
``jax.tree.flatten`` order; PRNG keys as their raw key data) and ``__meta__``, a JSON object
with

* ``fingerprint``: SHA-256 of what the carry belongs to (the experiment's structure and
  arrays, the swept scalars, the record grid, the carry's tree structure, shapes and dtypes).
  A checkpoint of another experiment, batch or code layout does not match and is not used;
* ``position``: the step (gradient flow: the measurement slot) the carry has reached;
* ``digest``: SHA-256 of the leaves' bytes, checked on loading: a truncated or altered file is
  reported (a warning) and not used, so the batch starts again from step 0 instead of resuming
  from a corrupt state.

Files are written atomically (a temporary name in the same folder, ``fsync``, ``rename``)
with the permissions the umask gives any new file, so a kill during a save leaves the previous
checkpoint intact.
"""

import dataclasses
import hashlib
import json
import logging
import os
import zipfile
from pathlib import Path
from typing import Any

import jax
import numpy as np

logger = logging.getLogger(__name__)

#: Default seconds between two checkpoints of a running batch (and one when interrupted).
EVERY_SECONDS = 60.0
#: Format version written to ``__meta__`` (a file of another version is not used).
FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """Where and how often the engine checkpoints a batch (``run_batch(..., checkpoint=)``).

    Attributes:
        path: the ``.npz`` file. If it exists and matches the batch, the batch resumes from it
            (bit-identical to an uninterrupted run); it is rewritten every ``every_seconds``
            while the batch runs and when the batch is interrupted, and deleted when the batch
            finishes (its result is then the caller's to keep).
        every_seconds: seconds of running between two saves (``0``: after every program call,
            for tests; ``inf``: only when interrupted).

    Raises:
        ValueError: ``every_seconds`` negative or NaN.
    """

    path: Path
    every_seconds: float = EVERY_SECONDS

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))
        if not self.every_seconds >= 0:
            raise ValueError(f"every_seconds={self.every_seconds!r}: must be >= 0 (inf: never)")


def _is_key(x) -> bool:
    return jax.dtypes.issubdtype(getattr(x, "dtype", np.float32), jax.dtypes.prng_key)


def _raw(x) -> np.ndarray:
    """A carry leaf as a host numpy array (PRNG keys as their key data)."""
    if _is_key(x):
        x = jax.random.key_data(x)
    return np.asarray(jax.device_get(x))


def fingerprint(*parts: Any) -> str:
    """SHA-256 of ``parts``: arrays by dtype, shape and bytes (``jax.ShapeDtypeStruct`` by
    dtype and shape), pytrees by structure and leaves, anything else by ``repr``."""
    h = hashlib.sha256()
    for part in parts:
        leaves, treedef = jax.tree_util.tree_flatten(part)
        h.update(str(treedef).encode())
        for leaf in leaves:
            if isinstance(leaf, jax.ShapeDtypeStruct):
                h.update(f"{leaf.dtype}{leaf.shape}".encode())
            elif isinstance(leaf, (np.ndarray, jax.Array, np.generic)):
                arr = _raw(leaf)
                h.update(f"{arr.dtype}{arr.shape}".encode())
                h.update(np.ascontiguousarray(arr).tobytes())
            else:
                h.update(repr(leaf).encode())
    return h.hexdigest()


def _digest(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def save(path: Path, carry: Any, position: int, fingerprint: str) -> None:
    """Write ``carry`` (a pytree of device or host arrays) reached at ``position`` to
    ``path``, atomically.

    Raises:
        OSError: the file cannot be written (full disk, read-only folder); the previous file,
            if any, is left as it was.
    """
    path = Path(path)
    arrays = [_raw(x) for x in jax.tree.leaves(carry)]
    meta = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "position": int(position),
        "digest": _digest(arrays),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # open() (not mkstemp) so that the file gets the umask's permissions.
        with open(tmp, "wb") as f:
            np.savez(
                f,
                __meta__=np.array(json.dumps(meta)),
                **{f"leaf_{i:05d}": a for i, a in enumerate(arrays)},
            )
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load(path: Path, struct: Any, fingerprint: str) -> tuple[Any, int] | None:
    """The carry and position saved in ``path``, if it holds a valid checkpoint of the batch.

    Args:
        path: the checkpoint file.
        struct: the carry's structure (a pytree of ``jax.ShapeDtypeStruct``).
        fingerprint: what the checkpoint must have been saved for (:func:`fingerprint`).

    Returns:
        ``(carry, position)`` with the carry's leaves as numpy arrays (PRNG keys rewrapped),
        or ``None`` when there is no file, or when it is corrupt, of another format or of
        another batch (each said in a warning: the batch then starts from step 0).
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["__meta__"]))
            names = sorted(k for k in f.files if k.startswith("leaf_"))
            arrays = [f[k] for k in names]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        logger.warning("checkpoint %s is unreadable (%s): not used, starting from step 0", path, e)
        return None
    if meta.get("format") != FORMAT or meta.get("fingerprint") != fingerprint:
        logger.warning(
            "checkpoint %s was saved for another experiment, batch or version: not used, "
            "starting from step 0",
            path,
        )
        return None
    if meta.get("digest") != _digest(arrays):
        logger.warning(
            "checkpoint %s is corrupt (digest mismatch): not used, starting from step 0", path
        )
        return None
    leaves, treedef = jax.tree_util.tree_flatten(struct)
    if len(leaves) != len(arrays):
        logger.warning("checkpoint %s does not match the batch: not used", path)
        return None
    out = []
    for s, a in zip(leaves, arrays, strict=True):
        # Keys of the default implementation (the fingerprint has the carry's key dtypes).
        leaf = jax.random.wrap_key_data(a) if _is_key(s) else a
        if leaf.shape != s.shape or leaf.dtype != s.dtype:
            logger.warning("checkpoint %s does not match the batch: not used", path)
            return None
        out.append(leaf)
    return jax.tree_util.tree_unflatten(treedef, out), int(meta["position"])
