"""Loading the input files into the strict models.

Every failure becomes one `InputError` naming the file and the path to the field,
for example::

    workload.yaml: tasks[0].gpu_memroy_gb: unknown field; did you mean 'gpu_memory_gb'?

Notes made while reading (ambiguous YAML scalars) travel with the loaded model
(`NodePool.notes`, `Workload.notes`, `Policy.notes`); nothing is kept between calls.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..domain import NodePool, Plan, Policy, Workload
from ..errors import InputError
from . import wfformat
from .documents import Ambiguous, read, read_document
from .yaml12 import quiet_gc

M = TypeVar("M", bound=BaseModel)


# --- validation into models ------------------------------------------------------


def validate(model: type[M], data: Any, name: str = "", what: str = "file") -> M:
    """Validate plain data into `model`, turning the first error into an `InputError`."""
    if not isinstance(data, dict):
        raise InputError(f"the {what} must be a mapping at the top level, not {_kind(data)}", file=name)
    try:
        with quiet_gc():
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
    """Read a node pool file (contract: Node pool).

    Raises
    ------
    InputError
        The file is unreadable, malformed, or a field is wrong (the message names it).
    """
    doc = read(path, "node pool")
    pool = validate(NodePool, doc.data, doc.name, "node pool")
    pool._notes = _ambiguity_notes(doc.name, doc.ambiguous, "kept as text (YAML 1.2)")
    return pool


ALLOW_LISTS = ("countries", "regions", "networks")


def load_policy(path: str | Path) -> Policy:
    """Read a policy file (contract: Policy).

    An unquoted ``NO``, ``yes``, ``off``... in an allow-list (`countries`,
    `regions`, `networks`) is text to a YAML 1.2 reader and a boolean to a YAML
    1.1 reader. The policy is read with least privilege: such an entry is left
    out of the allow-list (allowing less under either reading), with a note
    asking to quote it.

    Raises
    ------
    InputError
        The file is unreadable, malformed, or a field is wrong (the message names it).
    """
    doc = read(path, "policy")
    name, data = doc.name, doc.data
    drop: dict[tuple[int, str], set[int]] = {}
    notes, other = [], []
    for amb in doc.ambiguous:
        loc = amb.path
        if len(loc) == 4 and loc[0] == "levels" and isinstance(loc[1], int) and loc[2] in ALLOW_LISTS \
                and isinstance(loc[3], int):
            drop.setdefault((loc[1], str(loc[2])), set()).add(loc[3])
            notes.append(f"{name}: {format_path(loc)}: {amb.word} is ambiguous YAML (the text {amb.word!r} in "
                         f"YAML 1.2, a boolean in YAML 1.1); left out of the allow-list until quoted as "
                         f"'{amb.word}'")
        else:
            other.append(amb)
    notes += _ambiguity_notes(name, other, "read as text (YAML 1.2)")
    if drop and isinstance(data, dict) and isinstance(data.get("levels"), list):
        for (i, key), positions in drop.items():
            level = data["levels"][i] if i < len(data["levels"]) else None
            if isinstance(level, dict) and isinstance(level.get(key), list):
                level[key] = [v for k, v in enumerate(level[key]) if k not in positions]
    policy = validate(Policy, data, name, "policy")
    policy._notes = list(dict.fromkeys(notes))
    return policy


def _ambiguity_notes(name: str, found: list[Ambiguous], how: str) -> list[str]:
    return list(dict.fromkeys(
        f"{name}: line {a.line} ({format_path(a.path)}): {a.word} {how}; YAML 1.1 tools read it as a boolean, "
        f"so quote it" for a in found))


def load_workload(path: str | Path) -> Workload:
    """Read a workload file, or a WfCommons WfFormat trace (a ``.json`` with a
    top-level ``workflow`` object).

    Raises
    ------
    InputError
        The file is unreadable, malformed, or a field is wrong (the message names it).
    """
    doc = read(path, "workload")
    data = doc.data
    if isinstance(data, dict) and "workflow" in data and "tasks" not in data:
        data = wfformat.to_workload_data(data, doc.name)
    workload = validate(Workload, data, doc.name, "workload")
    workload._notes = _ambiguity_notes(doc.name, doc.ambiguous, "read as text (YAML 1.2)")
    return workload


def load_plan(path: str | Path) -> Plan:
    """Read a plan (ours or another tool's); an `InputError` names the file and field when it is wrong."""
    return validate(Plan, read_document(path, "plan"), str(path), "plan")
