"""Files written atomically, with the permissions the user's umask gives any new file.

A result is written to a temporary name in its directory and renamed (atomic on POSIX), so a
killed run never leaves a truncated file. ``tempfile.mkstemp`` creates its file with mode 0600
whatever the umask; renamed as is, every result would be readable by its owner only, and
collaborators on a shared cluster could not read them. The temporary file is therefore given
the mode ``open()`` would have given a new file (``0666 & ~umask``) before the rename.
"""

import contextlib
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
