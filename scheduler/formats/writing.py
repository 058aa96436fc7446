"""Writing files whole or not at all: a temporary file beside the target, flushed to disk,
then renamed over it. A symlink is written through (its target is replaced, the link stays),
an existing file keeps its permissions, a new one gets those the umask gives, and anything but a
regular file (a device, a FIFO, a directory) is refused.

Examples:
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "plan.json")
    >>> _ = write_atomic(p, '{"status": "optimal"}\\n'); open(p).read()
    '{"status": "optimal"}\\n'
    >>> write_atomic(os.devnull, "x")
    Traceback (most recent call last):
    ...
    IsADirectoryError: /dev/null is not a regular file
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write `data` to `path` atomically (see the module docstring); returns the path written.

    Raises
    ------
    IsADirectoryError
        The target exists and is not a regular file.
    OSError
        The directory is missing or not writable, the disk is full...
    """
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        raise IsADirectoryError(f"{path} is not a regular file")
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return Path(path)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
