"""Files written atomically, with the permissions the user's umask gives any new file.

A result is written to a temporary name in its directory and renamed (atomic on POSIX), so a
killed run never leaves a truncated file. ``tempfile.mkstemp`` creates its file with mode 0600
whatever the umask; renamed as is, every result would be readable by its owner only, and
collaborators on a shared cluster could not read them. The temporary file is therefore given
the mode ``open()`` would have given a new file (``0666 & ~umask``) before the rename.
"""

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


def umask() -> int:
    """The process's umask (read from ``/proc`` where possible: ``os.umask`` can only read it
    by setting it, which races with other threads creating files)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: ``0o666 & ~umask``."""
    return 0o666 & ~umask()


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path next to ``path``; on success it gets the umask's mode and is renamed
    to ``path``; on failure it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` atomically: ``write(f)`` on a binary file at a temporary name, then a
    rename (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)


#: errno values that mean "this output cannot be written" (full disk, quota, read-only or
#: forbidden folder): a run or sweep that meets one stops with one line (:class:`OutputError`).
WRITE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
)


class OutputError(Exception):
    """An output that could not be written (full disk, read-only folder, ...), as one line:
    ``cannot write <path>: <reason> (<ERRNO>)``."""

    def __init__(self, path: str | os.PathLike, error: OSError):
        self.path = Path(path)
        self.error = error
        code = errno.errorcode.get(error.errno or 0, str(error.errno))
        reason = error.strerror or str(error)
        super().__init__(f"cannot write {self.path}: {reason} ({code})")


def is_write_error(e: BaseException) -> bool:
    """Whether ``e`` is an :class:`OSError` that says an output cannot be written."""
    return isinstance(e, OSError) and e.errno in WRITE_ERRNOS


class Busy(Exception):
    """The lock of :func:`exclusive_lock` is held by another process."""


@contextlib.contextmanager
def exclusive_lock(path: Path, wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed) for the block.

    The lock file records the holder (``pid host time``). If another process holds it,
    ``wait(holder)`` is called once and the lock is then waited for (the two writers
    serialize); with ``wait=None``, :class:`Busy` is raised with the holder instead. The lock
    goes with the process: a killed holder never leaves a stale lock (the file stays, unlocked).
    ``flock`` is advisory and local: it serializes processes on one machine, and on network
    file systems only where the server supports it (NFSv4, Lustre with ``flock``).
    """
    import fcntl
    import socket
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            if wait is None:
                raise Busy(holder) from None
            wait(holder)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            f.seek(0)
            f.truncate()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            f.write(f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n")
            f.flush()
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
