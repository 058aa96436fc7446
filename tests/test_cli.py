"""The command line as a user runs it: exit codes, one-line errors, JSON on stdout alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import BAD, CASES, POLICY, POOL60, run_cli

BAD_FILES = sorted(p for p in BAD.glob("*.yaml") if p.name not in ("ok-workload.yaml", "infeasible.yaml"))


def args_for(f: Path) -> list[object]:
    ok = BAD / "ok-workload.yaml"
    if f.name.startswith("nodes-"):
        return ["--workload", ok, "--nodes", f, "--policy", POLICY]
    if f.name.startswith("policy-"):
        return ["--workload", ok, "--nodes", POOL60, "--policy", f]
    return ["--workload", f, "--nodes", POOL60, "--policy", POLICY]


@pytest.mark.parametrize("f", BAD_FILES, ids=[f.stem for f in BAD_FILES])
@pytest.mark.parametrize("verb", ["plan", "explain"])
def test_bad_files_exit_1_with_one_line(f: Path, verb: str) -> None:
    extra = ["--task", "a"] if verb == "explain" else ["--format", "json"]
    p = run_cli(verb, *args_for(f), *extra)
    assert p.returncode == 1, p.stderr
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len([ln for ln in lines if ln.startswith("error:")]) == 1 and "Traceback" not in p.stderr
    assert f.name in p.stderr


def test_bad_command_line_exit_2(tmp_path: Path) -> None:
    ok = BAD / "ok-workload.yaml"
    missing = run_cli("plan", "--workload", tmp_path / "absent.yaml", "--nodes", POOL60)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    unknown = run_cli("plan", "--workload", ok, "--nodes", POOL60, "--no-such-flag")
    assert unknown.returncode == 2 and "No such option" in unknown.stderr
    bad_value = run_cli("plan", "--workload", ok, "--nodes", POOL60, "--objective", "speed")
    assert bad_value.returncode == 2
    no_task = run_cli("explain", "--task", "nope", "--workload", ok, "--nodes", POOL60)
    assert no_task.returncode == 2 and "nope" in no_task.stderr


def test_plan_json_and_output_file(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    p = run_cli("plan", "--workload", CASES / "llm-finetune.yaml", "--nodes", POOL60, "--policy", POLICY,
                "--time-limit", "3", "--format", "json", "--output", out)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc == json.loads(out.read_text())
    assert list(doc)[:8] == ["status", "objective", "makespan_s", "cost_usd", "success_probability",
                             "lower_bound_s", "solve_time_s", "assignments"]
    assert doc["status"] in ("optimal", "feasible") and doc["assignments"]
    v = run_cli("verify", "--plan", out, "--workload", CASES / "llm-finetune.yaml", "--nodes", POOL60,
                "--policy", POLICY)
    assert v.returncode == 0 and "valid" in v.stdout
    # break it: a replica before its parent's data
    doc["assignments"][-1]["start_s"] = 0.0
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc))
    v = run_cli("verify", "--plan", broken, "--workload", CASES / "llm-finetune.yaml", "--nodes", POOL60,
                "--policy", POLICY, "--format", "json")
    assert v.returncode == 3
    report = json.loads(v.stdout)
    assert not report["valid"] and any(x["rule"] in ("precedence", "runtime", "reported_totals")
                                       for x in report["violations"])


def test_plan_table_and_infeasible_exit_4() -> None:
    p = run_cli("plan", "--workload", BAD / "infeasible.yaml", "--nodes", POOL60, "--policy", POLICY,
                "--format", "json")
    assert p.returncode == 4
    doc = json.loads(p.stdout)
    assert doc["status"] == "infeasible" and doc["assignments"] == []
    giant = next(u for u in doc["unplaceable"] if u["task"] == "giant")
    assert giant["reasons"] == {"gpus": 60}
    t = run_cli("plan", "--workload", BAD / "infeasible.yaml", "--nodes", POOL60, "--policy", POLICY)
    assert t.returncode == 4 and "giant" in t.stdout


def test_explain_table_and_json() -> None:
    p = run_cli("explain", "--task", "pii-scrub", "--workload", CASES / "llm-finetune.yaml", "--nodes", POOL60,
                "--policy", POLICY)
    assert p.returncode == 0
    assert "nodes can run pii-scrub" in p.stdout and "restricted" in p.stdout
    j = run_cli("explain", "--task", "pii-scrub", "--workload", CASES / "llm-finetune.yaml", "--nodes", POOL60,
                "--policy", POLICY, "--format", "json")
    doc = json.loads(j.stdout)
    assert doc["level"] == "restricted" and len(doc["verdicts"]) == 60


def test_plan_without_policy_and_unknown_level() -> None:
    p = run_cli("plan", "--workload", CASES / "llm-finetune.yaml", "--nodes", POOL60, "--format", "json")
    assert p.returncode == 1 and "unknown level 'restricted'" in p.stderr and "tasks[0].sensitivity" in p.stderr
    ok = run_cli("plan", "--workload", BAD / "ok-workload.yaml", "--nodes", POOL60, "--format", "json",
                 "--time-limit", "1")
    assert ok.returncode == 0 and json.loads(ok.stdout)["status"] == "optimal"


def test_schema_command_matches_shipped_file() -> None:
    p = run_cli("schema", "policy")
    shipped = json.loads((Path(__file__).resolve().parents[1] / "policies" / "policy.schema.json").read_text())
    assert json.loads(p.stdout) == shipped
