"""YAML read the strict way, in one pass: the YAML 1.2 core schema over libyaml's composer.

PyYAML's own safe loader resolves every scalar through Python regular expressions, then a
constructor walks the graph again; with the checks this project adds (ambiguous YAML 1.1
words, duplicate keys, depth, alias expansion) a 100,000-task workload took half a minute.
Here libyaml (when present) composes the node graph and one iterative pass over it builds
the data and makes every check:

- plain scalars typed by the YAML 1.2 core schema: ``true``/``false`` are booleans, ``~``,
  ``null`` and the empty scalar are null, ``0o17``, ``0x1f`` and decimals are integers,
  ``1e3``, ``.inf`` and ``.nan`` are floats; everything else is text, so ``NO`` is Norway;
- plain ``yes``/``no``/``on``/``off`` (booleans to a YAML 1.1 reader) are reported with their
  path and line, for the loaders to turn into notes;
- only the core tags (``!!str``, ``!!int``, ``!!float``, ``!!bool``, ``!!null``, ``!!map``,
  ``!!seq``) are accepted: no object is ever constructed from a tag;
- a key given twice in one mapping is an error naming both lines; merge keys (``<<``) work
  as in YAML 1.1 (explicit keys win);
- nesting deeper than `max_depth`, recursive aliases and documents whose aliases expand far
  beyond the text (alias bombs) are errors.

Examples:
    >>> load("a: NO\\nb: 1e3\\nc: [0x10, ~, '1']\\n")[0]
    {'a': 'NO', 'b': 1000.0, 'c': [16, None, '1']}
    >>> [(a.path, a.word, a.line) for a in load("countries: [DE, NO]\\n")[1]]
    [(('countries', 1), 'NO', 1)]
    >>> load("a: 1\\na: 2\\n")
    Traceback (most recent call last):
    ...
    scheduler.formats.yaml12.YamlError: at line 2, column 1: duplicate key 'a' (first at line 1, again at line 2)
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

STR, INT, FLOAT, BOOL, NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null"))
MAP, SEQ, MERGE = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {STR, INT, FLOAT, BOOL, NULL}

_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_YAML11_WORDS = frozenset("yes Yes YES no No NO on On ON off Off OFF".split())
_NULLS = frozenset(("~", "null", "Null", "NULL", ""))
_TRUE, _FALSE = frozenset(("true", "True", "TRUE")), frozenset(("false", "False", "FALSE"))


class _Composer(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # type: ignore[misc]
    """libyaml's composer; plain untagged scalars keep the tag ``?`` for `_Builder.resolve`."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:  # noqa: D102
        if kind is yaml.ScalarNode:
            return "?" if implicit[0] else STR
        return SEQ if kind is yaml.SequenceNode else MAP


class YamlError(ValueError):
    """A YAML document this reader refuses; the message says where (line, column) and why."""

    def __init__(self, message: str, node: yaml.Node | None = None) -> None:
        where = f"at line {node.start_mark.line + 1}, column {node.start_mark.column + 1}: " if node is not None else ""
        super().__init__(where + message)


@dataclass(frozen=True)
class Ambiguous:
    """A plain scalar that YAML 1.1 reads as a boolean and YAML 1.2 as text."""

    path: tuple[str | int, ...]
    word: str
    line: int


def load(text: str, *, max_depth: int = 64, budget: int | None = None) -> tuple[Any, list[Ambiguous]]:
    """The data of a single YAML document, and its ambiguous scalars.

    Parameters
    ----------
    text : str
        The document.
    max_depth : int
        Deepest nesting allowed.
    budget : int, optional
        Most values the document may expand to, aliases counted as often as they are used
        (default: 10,000 plus twice the text's length).

    Raises
    ------
    YamlError
        Malformed YAML, a refused tag, a duplicate key, too deep, recursive, or an alias bomb.
    """
    with quiet_gc():  # millions of short-lived nodes: the cycle collector would triple the time
        loader = _Composer(text)
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise YamlError(f"at line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem) \
                from None
        finally:
            loader.dispose()
        if root is None:
            return None, []
        builder = _Builder(max_depth, budget if budget is not None else 10_000 + 2 * len(text))
        return builder.build(root), builder.ambiguous


@contextmanager
def quiet_gc() -> Iterator[None]:
    """The cycle collector off while millions of acyclic objects are made (parsing, validation)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


class _Builder:
    """Node graph to data, iteratively (a deep document cannot exhaust Python's stack)."""

    def __init__(self, max_depth: int, budget: int) -> None:
        self.max_depth, self.budget = max_depth, budget
        self.ambiguous: list[Ambiguous] = []
        self.values = 0  # built so far, aliases counted as often as used
        self.built: dict[int, Any] = {}  # containers by node, for aliases
        self.sizes: dict[int, int] = {}

    def build(self, root: yaml.Node) -> Any:
        if isinstance(root, yaml.ScalarNode):
            return self.scalar(root, ())
        out = self.built[id(root)] = self.empty(root)
        stack: list[tuple[yaml.Node, Any, tuple]] = [(root, out, ())]
        while stack:
            node, target, path = stack.pop()
            if len(path) > self.max_depth:
                raise YamlError(f"nesting deeper than {self.max_depth} levels", node)
            items = enumerate(node.value) if isinstance(node, yaml.SequenceNode) else self.pairs(node)
            for key, child in items:
                fresh = False
                if isinstance(child, yaml.ScalarNode):
                    value = self.scalar(child, (*path, key))
                    self.values += 1
                elif id(child) in self.built:  # an alias: the same value again, as large as it expands
                    value = self.built[id(child)]
                    self.values += self.size(child)
                else:
                    value = self.built[id(child)] = self.empty(child)
                    self.values, fresh = self.values + 1, True
                if self.values > self.budget:
                    raise YamlError("the document expands far beyond its size (a YAML alias bomb?)")
                if isinstance(target, list):
                    target.append(value)
                else:
                    target[key] = value
                if fresh:
                    stack.append((child, value, (*path, key)))
        return out

    def size(self, node: yaml.Node) -> int:
        """Values `node` expands to (memoized); a node that contains itself is refused."""
        stack, active = [(node, False)], set()
        while stack:
            n, done = stack.pop()
            key = id(n)
            if done:
                active.discard(key)
                self.sizes[key] = 1 + sum(self.sizes[id(c)] for c in _children(n))
                if self.sizes[key] > self.budget:
                    raise YamlError("the document expands far beyond its size (a YAML alias bomb?)")
                continue
            if key in self.sizes:
                continue
            if key in active:
                raise YamlError("a recursive alias (a value that contains itself)", n)
            active.add(key)
            stack.append((n, True))
            stack.extend((c, False) for c in _children(n) if id(c) not in self.sizes)
        return self.sizes[id(node)]

    def empty(self, node: yaml.Node) -> list | dict:
        if isinstance(node, yaml.SequenceNode):
            if node.tag not in (SEQ, "?"):
                raise YamlError(f"the tag {node.tag} is not allowed (only the core tags)", node)
            return []
        if node.tag not in (MAP, "?"):
            raise YamlError(f"the tag {node.tag} is not allowed (only the core tags)", node)
        return {}

    def pairs(self, node: yaml.MappingNode) -> list[tuple[Any, yaml.Node]]:
        """The mapping's (key, value node) pairs: keys built and checked, merges applied."""
        explicit: dict[Any, tuple[int, yaml.Node]] = {}
        merged: list[tuple[Any, yaml.Node]] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and (key_node.tag == MERGE or
                                                          (key_node.tag == "?" and key_node.value == "<<")):
                merged += self.merge(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError("a mapping key must be a plain value, not a list or mapping", key_node)
            key = self.scalar(key_node, (), key=True)
            line = key_node.start_mark.line + 1
            if key in explicit:
                raise YamlError(f"duplicate key {key!r} (first at line {explicit[key][0]}, again at line {line})",
                                key_node)
            explicit[key] = (line, value_node)
        out = dict(merged)
        out.update((k, v) for k, (_, v) in explicit.items())
        return list(out.items())

    def merge(self, node: yaml.Node) -> list[tuple[Any, yaml.Node]]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        out: dict[Any, yaml.Node] = {}
        for source in reversed(sources):  # earlier sources win, as in YAML 1.1
            if not isinstance(source, yaml.MappingNode):
                raise YamlError("a merge (<<) takes a mapping or a list of mappings", source)
            out.update(self.pairs(source))
        return list(out.items())

    def scalar(self, node: yaml.ScalarNode, path: tuple, key: bool = False) -> Any:
        tag = node.tag
        if tag == "?":  # plain and untagged: the core schema decides
            return self.resolve(node, path, key)
        if tag in (STR, "!"):
            return node.value
        if tag in _SCALAR_TAGS:
            return self.typed(node, tag)
        raise YamlError(f"the tag {tag} is not allowed (only the core tags)", node)

    def resolve(self, node: yaml.ScalarNode, path: tuple, key: bool) -> Any:
        text = node.value
        if text in _NULLS:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if _INT.fullmatch(text):
            return _int(text, node)
        if _FLOAT.fullmatch(text):
            return _float(text)
        if text in _YAML11_WORDS and not key:
            self.ambiguous.append(Ambiguous(path, text, node.start_mark.line + 1))
        return text

    @staticmethod
    def typed(node: yaml.ScalarNode, tag: str) -> Any:
        text = node.value
        try:
            if tag == INT:
                return _int(text, node)
            if tag == FLOAT:
                return _float(text)
            if tag == BOOL:
                if text in _TRUE or text in _FALSE:
                    return text in _TRUE
                raise ValueError
            if tag == NULL:
                if text in _NULLS:
                    return None
                raise ValueError
        except ValueError:
            raise YamlError(f"{text!r} is not a valid {tag.rsplit(':', 1)[-1]}", node) from None
        return text


def _int(text: str, node: yaml.ScalarNode) -> int:
    try:
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text)
    except ValueError:  # more digits than Python converts (4,300)
        raise YamlError(f"an integer of {len(text)} digits is too long", node) from None


def _float(text: str) -> float:
    low = text.lower()
    if low.endswith(".inf"):
        return -math.inf if low.startswith("-") else math.inf
    if low.endswith(".nan"):
        return math.nan
    return float(text)
