"""Scenario files, sweeps in parallel processes, the Pareto front, and Gantt charts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scheduler import plan
from scheduler.analysis.sweep import load_scenarios, pareto_front, run_scenarios, sweep_scenarios
from scheduler.analysis.verify import verify_plan
from scheduler.analysis.whatif import Scenario, apply_scenario, whatif
from scheduler.domain import NodePool, Workload
from scheduler.engine.planner import PlanOptions
from scheduler.errors import InputError
from scheduler.formats.loading import load_nodes, load_policy, load_workload
from scheduler.generate import generate_layered, generate_pool
from scheduler.pictures import gantt
from scheduler.problem import Problem

from .conftest import CASES, POLICIES, POLICY, POOL60, busiest_node, run_cli, write_yaml


@pytest.mark.parametrize("case", ["llm-finetune", "fanout-60", "layered-150"])
def test_three_changes_on_every_shared_case(case: str) -> None:
    wl, pool, pol = load_workload(CASES / f"{case}.yaml"), load_nodes(POOL60), load_policy(POLICY)
    opts = PlanOptions(time_limit_s=1.0)
    base = plan(wl, pool, pol, time_limit_s=1.0)
    busiest = busiest_node(base)
    task = next(t.id for t in wl.tasks if t.depends_on)
    for sc in (Scenario(drop_nodes=[busiest]), Scenario(bandwidth_scale=0.5),
               Scenario(set_level={task: "restricted"})):
        r = whatif(wl, pool, pol, sc, options=opts, base=base)
        w2, p2, pol2 = apply_scenario(wl, pool, pol, sc)
        if r.changed.has_plan:
            assert verify_plan(w2, p2, pol2, r.changed).ok
            assert not sc.drop_nodes or busiest not in {a.node for a in r.changed.assignments}
        else:
            assert r.unplaceable and all(u["message"] for u in r.unplaceable)


def test_sweep_of_eight_uses_both_cores() -> None:
    wl, pool, pol = load_workload(CASES / "fanout-60.yaml"), load_nodes(POOL60), load_policy(POLICY)
    scenarios = sweep_scenarios("bandwidth-scale=0.1,0.2,0.3,0.5,1,2,3,5", pool)
    base, results, pids = run_scenarios(wl, pool, pol, scenarios, PlanOptions(time_limit_s=1.0), workers=2)
    assert len(results) == 8 and len(pids) == 2
    assert [r.scenario.name for r in results] == [s.name for s in scenarios]
    identity = next(r for r in results if r.scenario.name == "bandwidth-scale=1")
    assert identity.changed.makespan_s <= base.makespan_s + 1e-6


def test_sweep_errors(tmp_path: Path) -> None:
    pool = load_nodes(POOL60)
    for bad in ("speed=1,2", "bandwidth-scale=", "bandwidth-scale=-1", "price-scale:nowhere=2"):
        with pytest.raises(ValueError):
            sweep_scenarios(bad, pool)
    f = write_yaml(tmp_path / "s.yaml", {"scenarios": [{"name": "a", "bandwith_scale": 2}]})
    with pytest.raises(InputError) as e:
        load_scenarios(f)
    assert "did you mean 'bandwidth_scale'" in e.value.line()


def test_scenario_file_cli(tmp_path: Path) -> None:
    f = write_yaml(tmp_path / "s.yaml", {"scenarios": [
        {"name": "no-render", "drop_networks": ["render"]},
        {"name": "eu-only", "policy": str(POLICIES / "eu-residency.yaml")},
        {"name": "cheap-akash", "price_scale": {"akash": 0.5}}]})
    p = run_cli("whatif", "--workload", CASES / "fanout-60.yaml", "--nodes", POOL60, "--policy", POLICY,
                "--scenarios", f, "--time-limit", "2", "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [s["scenario"] for s in doc["scenarios"]] == ["no-render", "eu-only", "cheap-akash"]
    no_render = doc["scenarios"][0]
    assert all("render" not in a["node"] for a in no_render["changed"]["assignments"])


def test_pareto_front_is_monotone() -> None:
    wl, pool, pol = load_workload(CASES / "fanout-60.yaml"), load_nodes(POOL60), load_policy(POLICY)
    front = pareto_front(wl, pool, pol, PlanOptions(time_limit_s=1.0), points=8, workers=2)
    assert len(front) >= 5
    for a, b in zip(front, front[1:]):
        assert b.makespan_s >= a.makespan_s and b.cost_usd <= a.cost_usd


def test_gantt_300_tasks_on_40_nodes(tmp_path: Path) -> None:
    wl = Workload.model_validate(generate_layered(300, seed=2, sensitive_share=0.1,
                                                  levels=("public", "internal", "confidential")))
    pool = NodePool.model_validate(generate_pool(40, seed=4, links=False))
    pol = load_policy(POLICIES / "default.yaml")
    p = plan(wl, pool, pol, engine="heuristic")
    assert p.has_plan
    png, html = tmp_path / "g.png", tmp_path / "g.html"
    gantt(p, Problem(wl, pool, pol), png)
    gantt(p, Problem(wl, pool, pol), html)
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 50_000
    text = html.read_text()
    assert text.startswith("<!doctype html>") and text.count('class="bar"') == len(p.assignments)
    assert "<script" not in text and "http" not in text.split("<svg", 1)[1].split(">", 1)[1]
