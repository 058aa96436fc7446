"""The house keeps its shape: each layer imports only the layers below it, the machinery
(ortools, typer, rich, prefect) stays where it belongs, engine functions stay short,
classes stay small, and the public API is explicit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scheduler

from .conftest import ROOT

PACKAGE = ROOT / "scheduler"
# each layer and the layers it may import (besides itself and `errors`)
LAYERS = {
    "domain": set(),
    "formats": {"domain"},
    "problem": {"domain"},
    "engine": {"domain", "problem"},
    "analysis": {"domain", "formats", "problem", "engine"},
    "pictures": {"domain", "formats", "problem", "analysis"},
    "generate": {"domain"},
    "marketplace": {"domain"},
    "cli": {"domain", "formats", "problem", "engine", "analysis", "pictures", "generate", "marketplace"},
}
MACHINERY = {  # third-party packages and the only layers that may import them
    "ortools": {"engine"},
    "typer": {"cli"},
    "rich": {"cli"},
    "click": {"cli"},
    "prefect": set(),
    "distributed": {"cli"},
    "dask": {"cli"},
    "matplotlib": {"pictures"},
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _layer(path: Path) -> str | None:
    rel = path.relative_to(PACKAGE).parts
    return rel[0] if len(rel) > 1 else None


def _imports(path: Path) -> list[tuple[str, int]]:
    """(absolute dotted module, line) of every import in the file, relative imports resolved."""
    tree = ast.parse(path.read_text())
    package = ["scheduler", *path.relative_to(PACKAGE).parts[:-1]] if PACKAGE in path.parents else [path.parent.name]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                out.append((".".join([*base, *(node.module.split(".") if node.module else [])]), node.lineno))
            else:
                out.append((node.module or "", node.lineno))
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    layer = _layer(path)
    for module, line in _imports(path):
        top = module.split(".")[0]
        if top in MACHINERY:
            assert layer in MACHINERY[top], f"{path.name}:{line} imports {module} (only {MACHINERY[top]} may)"
        if top != "scheduler" or layer is None:
            continue
        parts = module.split(".")
        target = parts[1] if len(parts) > 1 else ""
        if target in ("", "errors") or target == layer:
            continue
        assert target in LAYERS[layer], f"{path.relative_to(PACKAGE)}:{line}: {layer} imports {module}"


def test_plugin_uses_the_public_library_only_through_its_layers() -> None:
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        for module, line in _imports(path):
            assert not module.startswith("scheduler.cli"), f"{path.name}:{line} imports the command line"


MAX_ENGINE_FUNCTION_LINES = 60
MAX_CLASS_ATTRIBUTES = 15


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_engine_functions_are_short() -> None:
    long = []
    for path in (PACKAGE / "engine").rglob("*.py"):
        for fn in _functions(ast.parse(path.read_text())):
            lines = fn.end_lineno - fn.lineno + 1
            if lines > MAX_ENGINE_FUNCTION_LINES:
                long.append(f"{path.relative_to(PACKAGE)}:{fn.lineno} {fn.name} ({lines} lines)")
    assert not long, long


FILE_FORMAT_BASES = {"BaseModel", "StrictModel", "FileModel", "PlanModel"}


def test_classes_are_small() -> None:
    """Instance attributes set in a class's methods (self.x = ...), or dataclass fields, at most ~15.

    The models of the file formats are exempt: their fields are the contract's (the plan's
    document has nine fields and the extensions the README lists), not a design choice."""
    big = []
    for path in _modules():
        for cls in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)):
            if {b.id for b in cls.bases if isinstance(b, ast.Name)} & FILE_FORMAT_BASES:
                continue
            attrs = {t.attr for n in ast.walk(cls) if isinstance(n, ast.Assign | ast.AnnAssign)
                     for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                     if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"}
            attrs |= {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
            if len(attrs) > MAX_CLASS_ATTRIBUTES:
                big.append(f"{path.relative_to(PACKAGE)}:{cls.lineno} {cls.name} ({len(attrs)})")
    assert not big, big


def test_public_api_is_explicit() -> None:
    for name in scheduler.__all__:
        assert hasattr(scheduler, name), name
    for name in ("plan", "replan", "verify_plan", "simulate", "whatif", "explain_task", "plan_metrics"):
        assert name in scheduler.__all__


def test_no_module_level_mutable_state() -> None:
    """Module-level names bound to a list, dict or set literal must be constants (UPPER_CASE) never mutated
    in a function; the YAML notes used to live in such a list."""
    for path in _modules():
        tree = ast.parse(path.read_text())
        mutable = {t.id for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.List | ast.Dict | ast.Set)
                   for t in n.targets if isinstance(t, ast.Name)}
        for name in mutable:
            assert name.isupper() or name == "__all__", f"{path.relative_to(PACKAGE)}: module-level mutable {name}"
        for fn in _functions(tree):
            for n in ast.walk(fn):
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) \
                        and n.func.value.id in mutable and n.func.attr in ("append", "extend", "clear", "update", "add",
                                                                             "pop", "setdefault", "remove"):
                    pytest.fail(f"{path.relative_to(PACKAGE)}:{n.lineno} mutates module-level {n.func.value.id}")
