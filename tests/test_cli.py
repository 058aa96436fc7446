"""The command line as a user runs it: exit codes, one-line errors, JSON on stdout alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import BAD, CASES, EXAMPLES, POLICIES, POLICY, POOL60, run_cli

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


# --- the same mistake, the same answer; flags that used to crash (issues 15, 16) ---------

LLM, POOL = CASES / "llm-finetune.yaml", POOL60


def _one_usage_error(p, flag: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert flag in p.stderr and "Traceback" not in p.stderr and "internal error" not in p.stderr


@pytest.mark.parametrize("args, flag", [
    (["whatif", "--drop-node", "does-not-exist"], "--drop-node"),
    (["whatif", "--set-level", "nosuch=restricted"], "--set-level"),
    (["whatif", "--set-level", "ingest=" + "x" * 300], "--set-level"),
    (["whatif", "--bandwidth-scale", "inf"], "--bandwidth-scale"),
    (["whatif", "--bandwidth-scale", "nan"], "--bandwidth-scale"),
    (["whatif", "--price-scale", "unknown=-1"], "--price-scale"),
    (["whatif", "--price-scale", "akash=-1"], "--price-scale"),
    (["plan", "--seed", "99999999999999999999999"], "--seed"),
    (["plan", "--deadline", "1e19"], "--deadline"),
    (["plan", "--deadline", "1e300"], "--deadline"),
    (["explain", "--task", "nosuch"], "--task"),
])
def test_command_line_mistakes_exit_2_naming_the_flag(args: list, flag: str) -> None:
    _one_usage_error(run_cli(*args, "--workload", LLM, "--nodes", POOL, "--policy", POLICY, "--time-limit", "1")
                     if args[0] != "explain" else run_cli(*args, "--workload", LLM, "--nodes", POOL, "--policy", POLICY),
                     flag)


@pytest.fixture(scope="module")
def saved_plan(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plan") / "plan.json"
    p = run_cli("plan", "--workload", LLM, "--nodes", POOL, "--policy", POLICY, "--engine", "heuristic",
                "--output", out, "--format", "json")
    assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("args, flag", [
    (["--now", "inf"], "--now"), (["--now", "1e300"], "--now"), (["--now", "10", "--failed-node", "nosuch"], "--failed-node"),
    (["--now", "10", "--done", "nosuch"], "--done"),
])
def test_replan_mistakes_exit_2(saved_plan: Path, args: list, flag: str) -> None:
    _one_usage_error(run_cli("replan", "--plan", saved_plan, "--workload", LLM, "--nodes", POOL, "--policy", POLICY,
                             *args), flag)


def test_output_is_written_safely(tmp_path: Path, saved_plan: Path) -> None:
    import os
    import stat

    base = ["plan", "--workload", LLM, "--nodes", POOL, "--policy", POLICY, "--engine", "heuristic", "--format", "json"]
    # an input is never overwritten
    copy = tmp_path / "w.yaml"
    copy.write_text(LLM.read_text())
    p = run_cli("plan", "--workload", copy, "--nodes", POOL, "--policy", POLICY, "--output", copy)
    _one_usage_error(p, "--output")
    assert copy.read_text() == LLM.read_text()
    # a device is not replaced by a file
    _one_usage_error(run_cli(*base, "--output", "/dev/null"), "--output")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    # a missing directory, an over-long name
    _one_usage_error(run_cli(*base, "--output", tmp_path / "absent" / "p.json"), "--output")
    _one_usage_error(run_cli(*base, "--output", tmp_path / ("x" * 300 + ".json")), "--output")
    # a symlink is written through, and an existing file keeps its mode
    target = tmp_path / "real.json"
    target.write_text("{}")
    os.chmod(target, 0o644)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    p = run_cli(*base, "--output", link)
    assert p.returncode == 0, p.stderr
    assert link.is_symlink() and json.loads(target.read_text())["status"] in ("optimal", "feasible")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]  # no temporary file left


def test_closed_or_gone_stdout_is_not_a_traceback(saved_plan: Path) -> None:
    import subprocess
    import sys
    from pathlib import Path as P

    exe = P(sys.executable).with_name("scheduler")
    cmd = [str(exe), "plan", "--workload", str(LLM), "--nodes", str(POOL), "--policy", str(POLICY), "--engine",
           "heuristic"]
    closed = subprocess.run(" ".join(cmd) + " >&-", shell=True, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in closed.stderr and closed.returncode in (0, 1, 141), closed.stderr
    head = subprocess.run(" ".join(cmd) + " | head -c 20", shell=True, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in head.stderr, head.stderr


def test_ctrl_c_stops_at_once_and_writes_nothing(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path as P

    from scheduler.generate import generate_layered, generate_pool

    wl, pool = tmp_path / "w.json", tmp_path / "n.json"
    wl.write_text(json.dumps(generate_layered(300, seed=1, levels=("public",))))
    pool.write_text(json.dumps(generate_pool(40, seed=2)))
    out = tmp_path / "plan.json"
    exe = P(sys.executable).with_name("scheduler")
    for keep in (False, True):
        proc = subprocess.Popen([str(exe), "plan", "--workload", str(wl), "--nodes", str(pool), "--time-limit", "60",
                                 "--output", str(out), "--format", "json", *(["--keep-on-interrupt"] if keep else [])],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(6)  # the heuristic is done, CP-SAT is searching
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        assert time.monotonic() - t0 < 15, "Ctrl-C must stop the search at once"
        assert "Traceback" not in stderr
        if keep:
            doc = json.loads(stdout)
            assert doc["status"] in ("optimal", "feasible") and json.loads(out.read_text()) == doc
        else:
            assert stdout == "" and not out.exists()


def test_version_and_plan_show(saved_plan: Path) -> None:
    v = run_cli("--version")
    assert v.returncode == 0 and v.stdout.startswith("scheduler ")
    s = run_cli("plan", "show", "--plan", saved_plan, "--workload", LLM, "--nodes", POOL, "--policy", POLICY, "--wide")
    assert s.returncode == 0 and "ingest" in s.stdout and "restricted" in s.stdout


def test_ids_are_never_shortened_at_80_columns(saved_plan: Path) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path as P

    exe = P(sys.executable).with_name("scheduler")
    p = subprocess.run([str(exe), "plan", "show", "--plan", str(saved_plan)], capture_output=True, text=True,
                       env={**os.environ, "COLUMNS": "80"}, timeout=60)
    nodes = {a["node"] for a in json.loads(saved_plan.read_text())["assignments"]}
    assert p.returncode == 0 and all(n in p.stdout for n in nodes), p.stdout
    assert "…" not in p.stdout


def test_warnings_where_a_user_would_be_surprised(tmp_path: Path) -> None:
    p = run_cli("plan", "--workload", EXAMPLES / "llm-finetune.yaml", "--nodes", EXAMPLES / "pool-60.yaml", "--policy",
                POLICIES / "default.yaml", "--engine", "heuristic")
    assert p.returncode == 0 and "--success-target" in p.stderr  # 0.86: each replica completes with its node's odds
    wl = tmp_path / "w.yaml"
    wl.write_text("tasks:\n  - {id: raw, duration_s: 10, sensitivity: internal}\n"
                  "  - {id: scrub, duration_s: 10, declassifies: true, depends_on: [raw]}\n")
    p = run_cli("plan", "--workload", wl, "--nodes", POOL, "--policy", POLICY, "--engine", "heuristic")
    assert "scrub declassifies, but level internal has no declassify_to" in p.stderr
