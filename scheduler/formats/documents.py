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
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64

# --- YAML 1.2 core schema on top of PyYAML's safe loader ----------------------------

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Yaml12Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader whose plain scalars follow the YAML 1.2 core schema."""


_Yaml12Loader.yaml_implicit_resolvers = {}
_CORE = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+0123456789."),
    ),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
]
for _tag, _pattern, _first in _CORE:
    _Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _construct_int(loader: Any, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    try:
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text)
    except ValueError:  # more digits than Python converts (4,300)
        raise yaml.constructor.ConstructorError(None, None, f"an integer of {len(text)} digits is too long",
                                                node.start_mark) from None


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict:
    """A mapping, refusing a key given twice: the last would win silently (a TEE rule overridden
    further down a level, unseen by a reviewer)."""
    first: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            if key in first:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {first[key]}, again at line {line})",
                    key_node.start_mark)
            first[key] = line
        except TypeError:
            continue  # an unhashable key: the constructor reports it
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


def _construct_float(loader: Any, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text.endswith(".nan"):
        return float("nan")
    return float(text)


_YAML11_WORDS = re.compile(r"^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$")
@dataclass(frozen=True)
class Ambiguous:
    """A plain scalar that YAML 1.1 reads as a boolean and YAML 1.2 as text."""

    path: tuple[str | int, ...]
    word: str
    line: int


@dataclass
class Document:
    """A parsed file: its plain data, and the scalars a YAML 1.1 reader would read otherwise."""

    data: Any
    name: str
    ambiguous: list[Ambiguous] = field(default_factory=list)


def _ambiguous_scalars(root: yaml.Node | None) -> list[Ambiguous]:
    """Plain scalars that YAML 1.1 reads as booleans and YAML 1.2 as text."""
    found: list[Ambiguous] = []
    stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())] if root is not None else []
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen or len(path) > MAX_DEPTH:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if not node.style and node.tag == "tag:yaml.org,2002:str" and _YAML11_WORDS.match(node.value):
                found.append(Ambiguous(path, node.value, node.start_mark.line + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, (*path, k)) for k, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((value, (*path, key.value if isinstance(key, yaml.ScalarNode) else "?")))
    return found


def _construct_bool(loader: Any, node: yaml.ScalarNode) -> bool:
    return loader.construct_scalar(node).lower() == "true"


_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_Yaml12Loader.construct_mapping = _construct_mapping  # type: ignore[method-assign]


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
    try:
        if json_first:
            data = _parse_json(text, name)
        else:
            loader = _Yaml12Loader(text)
            try:
                root = loader.get_single_node()
                ambiguous = _ambiguous_scalars(root)
                data = loader.construct_document(root) if root is not None else None
            finally:
                loader.dispose()
    except RecursionError:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=name) from None
    except yaml.YAMLError as e:
        raise InputError(_yaml_message(e), file=name) from None
    if data is None:
        raise InputError(f"the {what} holds no document (only comments or null)", file=name)
    _check_shape(data, name, budget=10_000 + 2 * len(text))
    return Document(data, name, ambiguous)


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
    except _DuplicateKey as e:
        # JSON is YAML 1.2: the YAML reader finds both lines of the key
        try:
            _Yaml12Loader(text).get_single_data()
        except yaml.YAMLError as y:
            if "duplicate key" in str(y):
                raise InputError(_yaml_message(y).replace("malformed YAML", "malformed JSON"), file=name) from None
        except Exception:  # noqa: BLE001 - only a better message was sought
            pass
        raise InputError(f"malformed JSON: duplicate key {e.key!r} in one object", file=name) from None
    except ValueError as e:  # an integer of more digits than Python converts
        what = "an integer of more than 4300 digits is too long" if "digits" in str(e) else str(e)
        raise InputError(f"malformed JSON: {what}", file=name) from None


def _yaml_message(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"malformed YAML{where}: {problem}"


def _check_shape(data: Any, name: str, budget: int) -> None:
    """Reject documents nested too deep or expanding (through aliases) far beyond their text."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    visits = 0
    while stack:
        item, depth = stack.pop()
        visits += 1
        if visits > budget:
            raise InputError("the document expands far beyond its size (a YAML alias bomb?)", file=name)
        if depth > MAX_DEPTH:
            raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=name)
        if isinstance(item, dict):
            for k, v in item.items():
                if not isinstance(k, str | int | float | bool) and k is not None:
                    raise InputError(f"a mapping key of type {type(k).__name__} is not allowed", file=name)
                stack.append((v, depth + 1))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


