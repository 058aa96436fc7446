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


def write_directory_atomic(path: str | Path, files: dict[str, str], replace: bool = False) -> Path:
    """Write a directory of `files` (name: text) whole or not at all: filled beside the target under a
    temporary name, flushed, then renamed into place. An existing non-empty directory is replaced
    only with `replace` (the old one is moved aside first and removed once the new one is in).

    Examples:
        >>> import os, tempfile
        >>> d = os.path.join(tempfile.mkdtemp(), "out")
        >>> _ = write_directory_atomic(d, {"a.yaml": "x: 1\\n"}); sorted(os.listdir(d))
        ['a.yaml']
        >>> write_directory_atomic(d, {"b.yaml": "y: 2\\n"})
        Traceback (most recent call last):
        ...
        FileExistsError: ... exists and is not empty (--force replaces it)

    Raises
    ------
    FileExistsError
        The target is a non-empty directory and `replace` is off, or it is not a directory.
    OSError
        The parent is missing or not writable, the disk is full...
    """
    import shutil

    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{path} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not replace:
        raise FileExistsError(f"{path} exists and is not empty (--force replaces it)")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent)))
    aside: Path | None = None
    try:
        for name, text in files.items():
            if Path(name).name != name or name in ("", ".", ".."):
                raise ValueError(f"{name!r} is not a plain file name")
            with open(tmp / name, "wb") as f:
                f.write(text.encode())
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o777 & ~_umask())
        if target.is_dir():
            aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=str(target.parent)))
            os.replace(target, aside / "old")
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if aside is not None and (aside / "old").exists() and not target.exists():
            os.replace(aside / "old", target)
        raise
    finally:
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    return Path(path)
