"""Reading the input files: YAML or JSON, safely, into the strict models.

Every failure becomes one `InputError` naming the file and the path to the field,
for example::

    workload.yaml: tasks[0].gpu_memroy_gb: unknown field; did you mean 'gpu_memory_gb'?

YAML is read with the YAML 1.2 core schema (only ``true``/``false`` are booleans,
so ``NO`` is Norway; ``1e3`` is a number), never with arbitrary object
construction, and within limits on file size, nesting depth and alias expansion.
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InputError
from .model import NodePool, Plan, Policy, Workload
from . import wfformat

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64

M = TypeVar("M", bound=BaseModel)


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
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def _construct_float(loader: Any, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text.endswith(".nan"):
        return float("nan")
    return float(text)


_YAML11_WORDS = re.compile(r"^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$")
_notes: list[str] = []


def yaml_notes() -> list[str]:
    """Notes about the files read since the last call (then forgotten)."""
    out = list(dict.fromkeys(_notes))
    _notes.clear()
    return out


def _ambiguous_scalars(root: yaml.Node | None) -> list[tuple[tuple[str | int, ...], str, int]]:
    """Plain scalars that YAML 1.1 reads as booleans and YAML 1.2 as text: (path, text, line)."""
    found: list[tuple[tuple[str | int, ...], str, int]] = []
    stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())] if root is not None else []
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen or len(path) > MAX_DEPTH:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if not node.style and node.tag == "tag:yaml.org,2002:str" and _YAML11_WORDS.match(node.value):
                found.append((path, node.value, node.start_mark.line + 1))
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


# --- documents -------------------------------------------------------------------


def read_document(path: str | Path, what: str = "file") -> Any:
    """Parse a YAML or JSON file into plain data, within the safety limits.

    Raises:
        InputError: unreadable, too large, empty, malformed, too deep, or an alias bomb.
    """
    return _read(path, what)[0]


def _read(path: str | Path, what: str) -> tuple[Any, list[tuple[tuple[str | int, ...], str, int]]]:
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"the {what} is {size} bytes; the limit is {MAX_FILE_BYTES}", file=name)
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read the {what}: {e.strerror or e}", file=name) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", file=name) from None
    return _parse(text, name, json_first=path.suffix.lower() == ".json", what=what)


def parse_text(text: str, name: str = "", *, json_first: bool = False, what: str = "file") -> Any:
    """Parse YAML or JSON text (see `read_document`)."""
    return _parse(text, name, json_first=json_first, what=what)[0]


def _parse(text: str, name: str, *, json_first: bool, what: str) \
        -> tuple[Any, list[tuple[tuple[str | int, ...], str, int]]]:
    if not text.strip():
        raise InputError(f"the {what} is empty", file=name)
    ambiguous: list[tuple[tuple[str | int, ...], str, int]] = []
    try:
        if json_first:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise InputError(f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}", file=name) \
                    from None
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
    return data, ambiguous


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


# --- validation into models ------------------------------------------------------


def validate(model: type[M], data: Any, name: str = "", what: str = "file") -> M:
    """Validate plain data into `model`, turning the first error into an `InputError`."""
    if not isinstance(data, dict):
        raise InputError(f"the {what} must be a mapping at the top level, not {_kind(data)}", file=name)
    try:
        obj = model.model_validate(data)
    except ValidationError as e:
        raise _to_input_error(e, model, name) from None
    if hasattr(obj, "_source"):
        obj._source = name
    return obj


def _to_input_error(e: ValidationError, model: type[BaseModel], name: str) -> InputError:
    errors = e.errors(include_url=False)
    first = errors[0]
    loc = list(first["loc"])
    ctx = first.get("ctx") or {}
    if first["type"] == "located":
        loc = loc + list(ctx.get("loc", []))
        message = str(ctx.get("message", first["msg"]))
    else:
        message = _message(first, model, loc)
    more = len(errors) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return InputError(message, file=name, field=format_path(loc))


def format_path(loc: list[Any] | tuple[Any, ...]) -> str:
    """('tasks', 0, 'gpus') -> 'tasks[0].gpus'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text ({shown!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "int_parsing": "a whole number",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _message(err: dict[str, Any], model: type[BaseModel], loc: list[Any]) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5) if known else []
        hint = f"; did you mean {close[0]!r}?" if close else (f"; known fields: {', '.join(known)}" if known else "")
        return f"unknown field{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]}, not {_kind(value)}"
    if kind == "finite_number":
        return f"must be a finite number, not {value!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values()))
        return f"must be {op} {bound:g}, not {value!r}" if isinstance(bound, int | float) else err["msg"]
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}, not {value!r}"
    if kind == "string_pattern_mismatch":
        if "[A-Z]{2}" in str(ctx.get("pattern", "")):
            return f"must be an ISO 3166-1 alpha-2 country code such as DE or FR, not {value!r}"
        return f"does not match the pattern {ctx.get('pattern')}: {value!r}"
    if kind in ("too_short", "string_too_short"):
        n = ctx.get("min_length", 1)
        unit = "character" if isinstance(value, str) else "item"
        return f"must have at least {n} {unit}{'s' if n != 1 else ''}"
    if kind in ("too_long", "string_too_long"):
        n = ctx.get("max_length")
        unit = "characters" if isinstance(value, str) else "items"
        return f"must have at most {n} {unit}"
    msg = str(err.get("msg", kind))
    return msg[:1].lower() + msg[1:]


def _fields_at(model: type[BaseModel], loc: list[Any]) -> list[str]:
    """The field names of the model found by walking `loc` from `model` (for suggestions)."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(part, int):
            args = typing.get_args(tp)
            tp = args[0] if args else None
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(part)
            tp = field.annotation if field else None
        else:
            args = typing.get_args(tp)
            tp = args[-1] if args else None
        if tp is None:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional wrappers."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp


# --- the four files --------------------------------------------------------------


def load_nodes(path: str | Path) -> NodePool:
    """Read a node pool file (contract: Node pool). Raises InputError."""
    data, ambiguous = _read(path, "node pool")
    _note_ambiguous(str(path), ambiguous, "kept as text (YAML 1.2)")
    return validate(NodePool, data, str(path), "node pool")


ALLOW_LISTS = ("countries", "regions", "networks")


def load_policy(path: str | Path) -> Policy:
    """Read a policy file (contract: Policy). Raises InputError.

    An unquoted ``NO``, ``yes``, ``off``... in an allow-list (`countries`,
    `regions`, `networks`) is text to a YAML 1.2 reader and a boolean to a YAML
    1.1 reader. The policy is read with least privilege: such an entry is left
    out of the allow-list (allowing less under either reading), with a note
    asking to quote it.
    """
    data, ambiguous = _read(path, "policy")
    name = str(path)
    drop: dict[tuple[int, str], set[int]] = {}
    other = []
    for loc, word, line in ambiguous:
        if len(loc) == 4 and loc[0] == "levels" and isinstance(loc[1], int) and loc[2] in ALLOW_LISTS \
                and isinstance(loc[3], int):
            drop.setdefault((loc[1], str(loc[2])), set()).add(loc[3])
            _notes.append(f"{name}: {format_path(loc)}: {word} is ambiguous YAML (the text {word!r} in YAML 1.2, "
                          f"a boolean in YAML 1.1); left out of the allow-list until quoted as '{word}'")
        else:
            other.append((loc, word, line))
    _note_ambiguous(name, other, "read as text (YAML 1.2)")
    if drop and isinstance(data, dict) and isinstance(data.get("levels"), list):
        for (i, key), positions in drop.items():
            level = data["levels"][i] if i < len(data["levels"]) else None
            if isinstance(level, dict) and isinstance(level.get(key), list):
                level[key] = [v for k, v in enumerate(level[key]) if k not in positions]
    return validate(Policy, data, name, "policy")


def _note_ambiguous(name: str, found: list[tuple[tuple[str | int, ...], str, int]], how: str) -> None:
    for loc, word, line in found:
        _notes.append(f"{name}: line {line} ({format_path(loc)}): {word} {how}; YAML 1.1 tools read it as a "
                      f"boolean, so quote it")


def load_workload(path: str | Path) -> Workload:
    """Read a workload file, or a WfCommons WfFormat trace (a ``.json`` with a
    top-level ``workflow`` object). Raises InputError."""
    data, ambiguous = _read(path, "workload")
    name = str(path)
    _note_ambiguous(name, ambiguous, "read as text (YAML 1.2)")
    if isinstance(data, dict) and "workflow" in data and "tasks" not in data:
        data = wfformat.to_workload_data(data, name)
    return validate(Workload, data, name, "workload")


def load_plan(path: str | Path) -> Plan:
    """Read a plan (ours or another tool's). Raises InputError."""
    return validate(Plan, read_document(path, "plan"), str(path), "plan")
