"""Reading documents: YAML or JSON text, safely, into plain data.

YAML is read with the YAML 1.2 core schema (only ``true``/``false`` are booleans,
so ``NO`` is Norway; ``1e3`` is a number), never with arbitrary object
construction, and within limits on file size, nesting depth and alias expansion.
Plain scalars that a YAML 1.1 reader would take for booleans are reported with
the document, for the loaders to turn into notes.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import yaml12
from .yaml12 import Ambiguous, quiet_gc

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64

@dataclass
class Document:
    """A parsed file: its plain data, and the scalars a YAML 1.1 reader would read otherwise."""

    data: Any
    name: str
    ambiguous: list[Ambiguous] = field(default_factory=list)


# --- documents -------------------------------------------------------------------


def read_document(path: str | Path, what: str = "file") -> Any:
    """Parse a YAML or JSON file into plain data, within the safety limits.

    Raises:
        InputError: unreadable, too large, empty, malformed, too deep, or an alias bomb.
    """
    return read(path, what).data


def read(path: str | Path, what: str = "file") -> Document:
    """Parse a YAML or JSON file (see `read_document`), keeping its ambiguous scalars."""
    path = Path(path)
    name = str(path)
    raw = read_bytes(path, what)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", file=name) from None
    return _parse(text, name, json_first=path.suffix.lower() == ".json", what=what)


def read_bytes(path: Path, what: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file, at most `limit` of them.

    A device (``/dev/zero``), a FIFO, a socket or a directory is refused before it is
    opened for reading (a FIFO with no writer would block for ever, a device never ends),
    and the read itself stops after `limit` bytes whatever the file claims its size is.

    Raises
    ------
    InputError
        Not a regular file, unreadable, or larger than `limit`.
    """
    name = str(path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"the {what} is not a regular file (it is {_file_kind(st.st_mode)})", file=name)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped since the check
                raise InputError(f"the {what} is not a regular file", file=name)
            raw = f.read(limit + 1)
    except OSError as e:
        raise InputError(f"cannot read the {what}: {e.strerror or e}", file=name) from None
    if len(raw) > limit:
        raise InputError(f"the {what} is larger than {limit} bytes, the limit", file=name)
    return raw


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a file"


def parse_text(text: str, name: str = "", *, json_first: bool = False, what: str = "file") -> Any:
    """Parse YAML or JSON text (see `read_document`)."""
    return _parse(text, name, json_first=json_first, what=what).data


def _parse(text: str, name: str, *, json_first: bool, what: str) -> Document:
    if not text.strip():
        raise InputError(f"the {what} is empty", file=name)
    ambiguous: list[Ambiguous] = []
    with quiet_gc():
        if json_first:
            data = _parse_json(text, name)
            _check_json_shape(data, name)
        else:
            try:
                data, ambiguous = yaml12.load(text, max_depth=MAX_DEPTH)
            except yaml12.YamlError as e:
                raise InputError(_yaml_message(e), file=name) from None
    if data is None:
        raise InputError(f"the {what} holds no document (only comments or null)", file=name)
    return Document(data, name, ambiguous)


def _yaml_message(e: yaml12.YamlError) -> str:
    text = str(e)
    return f"malformed YAML {text}" if text.startswith("at line") else text


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _parse_json(text: str, name: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}", file=name) from None
    except RecursionError:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=name) from None
    except _DuplicateKey as e:
        # JSON is YAML 1.2: the YAML reader finds both lines of the key
        try:
            yaml12.load(text, max_depth=MAX_DEPTH)
        except yaml12.YamlError as y:
            if "duplicate key" in str(y):
                raise InputError(f"malformed JSON {y}", file=name) from None
        raise InputError(f"malformed JSON: duplicate key {e.key!r} in one object", file=name) from None
    except ValueError as e:  # an integer of more digits than Python converts
        what = "an integer of more than 4300 digits is too long" if "digits" in str(e) else str(e)
        raise InputError(f"malformed JSON: {what}", file=name) from None


def _check_json_shape(data: Any, name: str) -> None:
    """Reject JSON nested deeper than `MAX_DEPTH` (YAML is checked as it is read)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=name)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
