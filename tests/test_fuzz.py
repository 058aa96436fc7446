"""Inputs that cannot break the tool: mutated workload, node and policy files through the
real command line (in-process), asserting exit 0, 1 or 4 and never a traceback."""

from __future__ import annotations

import copy
import json
import math
import os
import random
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import typer.testing
from typer.testing import CliRunner

from scheduler.cli.app import app

from .conftest import tiny_policy, tiny_pool, tiny_workload

FUZZ_CASES = int(os.environ.get("SCHEDULER_FUZZ_CASES", "10000"))
ODD = ["", " ", "\u0000", "\u202e", "😀" * 50, "\uffff", "a" * 5000, "NO", "yes", "~", "1e309", "-0", "0x10",
       "{", "[", "*x", "&a", "!!python/object:os.system", "\\", "\n"]
VALUES = [None, True, False, 0, -1, 1, 2**63, -(2**63), 1e308, -1e308, 1e-320, float("nan"), 0.5, 1.5, "x", "",
          [], {}, [1, 2], {"k": "v"}, [[[[[]]]]]]


def mutate(doc: object, rng: random.Random) -> object:
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        paths: list[tuple[object, object]] = []

        def walk(x: object) -> None:
            if isinstance(x, dict):
                for k in list(x):
                    paths.append((x, k))
                    walk(x[k])
            elif isinstance(x, list):
                for k in range(len(x)):
                    paths.append((x, k))
                    walk(x[k])

        walk(doc)
        if not paths:
            return copy.deepcopy(rng.choice(VALUES))
        parent, key = rng.choice(paths)
        op = rng.random()
        if op < 0.35:
            parent[key] = copy.deepcopy(rng.choice(VALUES + ODD))  # a copy: a shared [] would grow into a cycle
        elif op < 0.5 and isinstance(parent, dict):
            del parent[key]
        elif op < 0.6 and isinstance(parent, dict):
            parent[rng.choice(ODD + ["labels", "extra", "idd"])] = copy.deepcopy(rng.choice(VALUES))
        elif op < 0.7:
            nest: object = parent[key]
            for _ in range(rng.randint(1, 80)):
                nest = [nest] if rng.random() < 0.5 else {"x": nest}
            parent[key] = nest
        elif op < 0.8 and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            factor = rng.choice([-1, 10**rng.randint(1, 320), 0])
            try:
                parent[key] = parent[key] * factor  # type: ignore[operator]
            except OverflowError:  # a float times a huge integer
                parent[key] = math.copysign(math.inf, parent[key]) if factor else 0.0  # type: ignore[arg-type]
        elif op < 0.9 and isinstance(parent[key], str):
            parent[key] = parent[key] + rng.choice(ODD)
        elif isinstance(parent, list) and parent:
            parent.append(copy.deepcopy(parent[0]))  # duplicates (ids, links)
    return doc


def render(doc: object, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.1:
        text = _dump(doc) if _dumpable(doc) else "x: ["
        cut = rng.randint(0, max(0, len(text) - 1))
        return text[:cut]  # truncated
    if r < 0.15:
        return "a: &a ['x','x','x','x','x','x','x','x']\n" + "".join(
            f"{c}: &{c} [{', '.join('*' + p for _ in range(8))}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    try:
        if r < 0.55:
            return json.dumps(doc, allow_nan=True)
        return _dump(doc)
    except (ValueError, yaml.YAMLError, RecursionError):
        return "{}"


# libyaml's emitter where PyYAML has it: the pure-Python one took a third of this test's time
SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(doc: object) -> str:
    return yaml.dump(doc, Dumper=SAFE_DUMPER, allow_unicode=True, sort_keys=False)


def _dumpable(doc: object) -> bool:
    try:
        _dump(doc)
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="module")
def seeds() -> dict:
    return {"workload": tiny_workload(), "nodes": tiny_pool(), "policy": tiny_policy()}


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Typer's runner, with the click command built once: recent typers rebuild it on every invoke
    (40 ms, 400 s over the fuzz cases); without that hook the runner is used as it is."""
    if hasattr(typer.testing, "_get_command"):
        command = typer.testing._get_command(app)
        monkeypatch.setattr(typer.testing, "_get_command", lambda _app: command)
    return CliRunner()


def invoke(runner: CliRunner, args: list[str]) -> tuple[int, str]:
    r = runner.invoke(app, args, catch_exceptions=True)
    out = (r.stdout or "") + (r.stderr if r.stderr_bytes is not None else "")
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        return 99, f"{type(r.exception).__name__}: {r.exception}"
    return r.exit_code, out


FUZZ_CHUNKS = 4  # the cases in four parts, so that both test workers share them


@pytest.mark.parametrize("chunk", range(FUZZ_CHUNKS))
def test_ten_thousand_mutated_inputs(tmp_path: Path, seeds: dict, runner: CliRunner, chunk: int) -> None:
    rng = random.Random(20261124 + chunk)
    files = {k: tmp_path / f"{k}.{'yaml'}" for k in seeds}
    t0 = time.monotonic()
    codes: dict[int, int] = {}
    cases = FUZZ_CASES // FUZZ_CHUNKS + (1 if chunk < FUZZ_CASES % FUZZ_CHUNKS else 0)
    for case in range(cases):
        target = rng.choice(list(seeds))
        for k, doc in seeds.items():
            files[k].write_text(render(mutate(doc, rng), rng) if k == target else json.dumps(doc))
        verb = rng.choice(["plan", "plan", "explain", "whatif"])
        args = [verb, "--workload", str(files["workload"]), "--nodes", str(files["nodes"]), "--policy",
                str(files["policy"])]
        if verb == "plan":
            args += ["--engine", "heuristic", "--format", "json"]
        elif verb == "explain":
            args += ["--task", "train", "--format", "json"]
        else:
            args += ["--engine", "heuristic", "--format", "json"]
        code, out = invoke(runner, args)
        codes[code] = codes.get(code, 0) + 1
        assert code in (0, 1, 2, 4), f"case {case} ({verb} with a mutated {target}): exit {code}: {out[-500:]}"
        assert "Traceback" not in out, f"case {case}: {out[-800:]}"
        if code == 2:
            assert verb == "explain", f"case {case}: exit 2 from {verb}: {out[-300:]}"  # --task may be gone
    elapsed = time.monotonic() - t0
    assert codes.get(1, 0) > cases // 4 and codes.get(0, 0) > 0, codes
    print(f"{cases} fuzzed inputs (part {chunk + 1} of {FUZZ_CHUNKS}) in {elapsed:.1f} s: exit codes {codes}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                          lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                          max_leaves=20),
       field=st.sampled_from(["id", "duration_s", "gpus", "depends_on", "sensitivity", "replicas", "labels",
                              "duration_by_gpu", "declassifies", "gpu_memory_gb"]))
def test_any_value_in_any_task_field(tmp_path: Path, runner: CliRunner, value: object, field: str) -> None:
    doc = {"tasks": [{"id": "a", "duration_s": 5}, {"id": "b", "duration_s": 5, "depends_on": ["a"]}]}
    doc["tasks"][1][field] = value
    p = tmp_path / "w.json"
    p.write_text(json.dumps(doc))
    n = tmp_path / "n.json"
    n.write_text(json.dumps({"nodes": [{"id": "n", "gpus": 4, "gpu_memory_gb": 80}]}))
    code, out = invoke(runner, ["plan", "--workload", str(p), "--nodes", str(n), "--engine", "heuristic",
                                "--format", "json"])
    assert code in (0, 1, 4) and "Traceback" not in out, out
