"""Shared fixtures: paths to the shared cases, small instances, and a CLI runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

# Prefect reads these at import: a private home, no telemetry (it races the migrations), no tracking
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

import pytest
import yaml
from hypothesis import strategies as st

from scheduler.domain import NodePool, Objective, Policy, Workload

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SCHEDULER_SHARED", ROOT.parent / "shared"))
CASES = SHARED / "conformance" / "cases"
BAD = CASES / "bad"
POOL60 = CASES / "pool-60.yaml"
POLICY = CASES / "policy.yaml"
EXAMPLES = ROOT / "examples"
POLICIES = ROOT / "policies"


def examples(n: int) -> int:
    """Hypothesis examples for a property: `n` in CI, times SCHEDULER_EXAMPLES_SCALE for a longer hunt."""
    return max(1, int(n * float(os.environ.get("SCHEDULER_EXAMPLES_SCALE", "1"))))


def write_yaml(path: Path, doc: object) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_cli(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed command line as a user would (a real process)."""
    exe = Path(sys.executable).with_name("scheduler")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "scheduler"]
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=timeout)


PREFECT_STARTUP_TIMEOUT_S = 300  # Prefect's default, 30 s, is too short on a loaded 2-core machine


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the whole session, flow heartbeats off. The server is a
    subprocess that migrates a fresh database before it answers; with the other test worker busy
    that takes well over Prefect's default 30 s on two cores, so the harness waits longer."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=PREFECT_STARTUP_TIMEOUT_S), \
            temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


SDL_PARSER = ROOT / "tests" / "sdl_parser"


@pytest.fixture(scope="session")
def sdl_parser() -> Callable[[list[Path]], dict]:
    """Akash's own SDL parser (npm @akashnetwork/chain-sdk, pinned in tests/sdl_parser) run by the machine's
    Node.js over SDL files: file -> what it made of it. `.ci/run` installs it; a run without it installs it
    here (npm ci, about 10 s); no Node.js or npm is a failure, not a skip."""
    if not (SDL_PARSER / "node_modules" / "@akashnetwork" / "chain-sdk").is_dir():
        if shutil.which("npm") is None:
            pytest.fail("Akash's SDL parser needs Node.js and npm (apt-get install nodejs npm)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(SDL_PARSER)], check=True,
                       capture_output=True, timeout=600)

    def parse(files: list[Path]) -> dict:
        done = subprocess.run(["node", str(SDL_PARSER / "check.mjs"), *map(str, files)], capture_output=True,
                              text=True, timeout=300, check=True)
        return json.loads(done.stdout)

    return parse


# flags for a closed network: without them Chromium keeps trying to reach Google's services
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (without Playwright's own browser downloads)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("the browser tests need Chromium: apt-get install chromium (.ci/run installs it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shared_cases() -> Path:
    if not CASES.exists():
        pytest.fail(f"the shared cases are missing at {CASES}; set SCHEDULER_SHARED")
    return CASES


def tiny_policy() -> dict:
    return {
        "default_level": "internal",
        "levels": [
            {"name": "public"},
            {"name": "internal", "min_reputation": 0.8},
            {"name": "confidential", "tee": ["sgx", "tdx"], "attested": True, "min_reputation": 0.9, "min_replicas": 2,
             "spread": "operator",
             "declassify_to": "internal"},
            {"name": "restricted", "tee": ["tdx"], "attested": True, "countries": ["DE", "FR"],
             "min_replicas": 2, "spread": "operator", "min_success": 0.999, "declassify_to": "confidential"},
        ],
    }


def tiny_pool() -> dict:
    def node(i: int, **kw: object) -> dict:
        base = {"id": f"n{i}", "network": "akash" if i % 2 else "io.net", "operator": f"op{i}", "region": "eu-central",
                "country": "DE", "gpu": "A100-80GB", "gpus": 2, "gpu_memory_gb": 80, "speed": 1.0,
                "price_per_gpu_hour": 1.0 + i / 10, "tee": [], "attested": False, "reputation": 0.95,
                "bandwidth_gbps": 10}
        base.update(kw)
        return base

    return {"nodes": [
        node(0, tee=["tdx"], attested=True, reputation=0.99),
        node(1, tee=["tdx"], attested=True, reputation=0.98, country="FR"),
        node(2, tee=["sgx"], attested=True, reputation=0.97),
        node(3, reputation=0.85, speed=2.0),
        node(4, reputation=0.6, country="US", region="us-east", price_per_gpu_hour=0.2),
        node(5, gpus=8, speed=1.5, reputation=0.9, operator="op0"),
    ]}


def tiny_workload() -> dict:
    return {"name": "tiny", "tasks": [
        {"id": "ingest", "duration_s": 100, "gpus": 0, "sensitivity": "restricted"},
        {"id": "scrub", "duration_s": 200, "sensitivity": "confidential", "declassifies": True,
         "depends_on": [{"task": "ingest", "data_gb": 10}]},
        {"id": "train", "duration_s": 1000, "gpus": 2, "gpu_memory_gb": 40,
         "depends_on": [{"task": "scrub", "data_gb": 5}]},
        {"id": "eval", "duration_s": 100, "depends_on": ["train"]},
        {"id": "report", "duration_s": 50, "sensitivity": "public", "declassifies": True,
         "depends_on": [{"task": "eval", "data_gb": 0.1}]},
    ]}


@pytest.fixture
def tiny_policy_doc() -> dict:
    return tiny_policy()


@pytest.fixture
def tiny_pool_doc() -> dict:
    return tiny_pool()


@pytest.fixture
def tiny_workload_doc() -> dict:
    return tiny_workload()


@pytest.fixture
def tiny(tmp_path: Path, tiny_workload_doc: dict, tiny_pool_doc: dict, tiny_policy_doc: dict) -> dict[str, Path]:
    return {"workload": write_yaml(tmp_path / "w.yaml", tiny_workload_doc),
            "nodes": write_yaml(tmp_path / "n.yaml", tiny_pool_doc),
            "policy": write_yaml(tmp_path / "p.yaml", tiny_policy_doc)}


def load_json(text: str) -> dict:
    return json.loads(text)


def busiest_node(plan) -> str:
    """The node a plan keeps busiest (replica-seconds)."""
    load: dict[str, float] = {}
    for a in plan.assignments:
        load[a.node] = load.get(a.node, 0.0) + a.end_s - a.start_s
    return max(load, key=load.get)


@st.composite
def instances(draw):
    n_nodes = draw(st.integers(1, 5))
    nodes = []
    for k in range(n_nodes):
        nodes.append({"id": f"n{k}", "operator": f"op{draw(st.integers(0, 2))}", "gpus": draw(st.integers(1, 4)),
                      "gpu_memory_gb": 80, "speed": draw(st.sampled_from([0.5, 1.0, 2.0])),
                      "price_per_gpu_hour": draw(st.sampled_from([0.0, 0.5, 2.0])),
                      "tee": draw(st.sampled_from([[], ["tdx"]])), "attested": True,
                      "reputation": draw(st.sampled_from([0.8, 0.95, 0.99])),
                      "bandwidth_gbps": draw(st.sampled_from([1.0, 10.0])),
                      "region": draw(st.sampled_from(["eu", "us"]))})
    links = draw(st.sampled_from([[], [{"regions": ["eu", "us"], "bandwidth_gbps": 0.5}],
                                  [{"regions": ["eu", "eu"], "bandwidth_gbps": 50}]]))
    n_tasks = draw(st.integers(1, 7))
    tasks = []
    for k in range(n_tasks):
        deps = draw(st.lists(st.integers(0, max(0, k - 1)), max_size=2, unique=True)) if k else []
        tasks.append({"id": f"t{k}", "duration_s": draw(st.sampled_from([5.0, 12.5, 30.0, 61.3])),
                      "gpus": draw(st.integers(0, 2)), "replicas": draw(st.integers(1, 2)),
                      "sensitivity": draw(st.sampled_from(["public", "public", "secure"])),
                      "depends_on": [{"task": f"t{d}", "data_gb": draw(st.sampled_from([0.0, 1.0, 7.3]))}
                                     for d in deps]})
    policy = {"default_level": "public", "levels": [
        {"name": "public"},
        {"name": "secure", "tee": ["tdx"], "spread": draw(st.sampled_from(["node", "operator"])),
         "min_success": draw(st.sampled_from([None, 0.99]))}]}
    return (Workload.model_validate({"tasks": tasks}), NodePool.model_validate({"nodes": nodes, "links": links}),
            Policy.model_validate(policy), draw(st.sampled_from(list(Objective))))


@st.composite
def world_instances(draw):
    """`instances` in contract 1.1's world: sites read and written, availability windows, failure rates
    and a quorum level (every new field, at random)."""
    wl, pool, pol, objective = draw(instances())
    sites = [{"id": "bucket", "region": "eu", "country": "DE", "bandwidth_gbps": draw(st.sampled_from([0.5, 10.0])),
              "level": draw(st.sampled_from([None, "secure"]))},
             {"id": "archive", "region": "us", "bandwidth_gbps": 2.0}]
    tasks = []
    for t in wl.model_dump(exclude_none=True)["tasks"]:
        if draw(st.booleans()):
            t["reads"] = [{"site": draw(st.sampled_from(["bucket", "archive"])),
                           "data_gb": draw(st.sampled_from([0.0, 2.0, 25.0]))}]
        if draw(st.integers(0, 3)) == 0:
            t["writes"] = [{"site": "bucket", "data_gb": draw(st.sampled_from([0.5, 8.0]))}]
        if draw(st.integers(0, 3)) == 0:
            t["sensitivity"] = "agreed"
        tasks.append(t)
    nodes = []
    for n in pool.model_dump(exclude_none=True)["nodes"]:
        shape = draw(st.sampled_from(["always", "lease", "night", "late"]))
        if shape == "lease":
            n["available"] = [{"until_s": draw(st.sampled_from([40.0, 150.0, 400.0]))}]
        elif shape == "night":
            n["available"] = [{"from_s": 0, "until_s": 70.0}, {"from_s": 120.0, "until_s": 300.0}, {"from_s": 400.0}]
        elif shape == "late":
            n["available"] = [{"from_s": 50.0}]
        n["failures_per_hour"] = draw(st.sampled_from([0.0, 0.5, 20.0]))
        nodes.append(n)
    policy = pol.model_dump(exclude_none=True)
    policy["levels"].append({"name": "agreed", "quorum": draw(st.integers(1, 3)), "spread": "node",
                             "min_success": draw(st.sampled_from([None, 0.9]))})
    return (Workload.model_validate({"sites": sites, "tasks": tasks}),
            NodePool.model_validate({"nodes": nodes, "links": pool.model_dump(exclude_none=True).get("links", [])}),
            Policy.model_validate(policy), objective)


@st.composite
def gang_instances(draw):
    """`world_instances` where some tasks are gangs of 2 or 3 nodes exchanging data over the run."""
    wl, pool, pol, objective = draw(world_instances())
    doc = pool.model_dump(exclude_none=True)
    while len(doc["nodes"]) < 4:  # room for a gang
        extra = dict(doc["nodes"][-1])
        extra["id"] = f"x{len(doc['nodes'])}"
        doc["nodes"].append(extra)
    tasks = wl.model_dump(exclude_none=True)
    for t in tasks["tasks"]:
        if draw(st.integers(0, 2)) == 0:
            t["nodes"] = draw(st.integers(2, 3))
            t["sync_gb"] = draw(st.sampled_from([0.0, 5.0, 50.0]))
            t["replicas"] = 1
    return Workload.model_validate(tasks), NodePool.model_validate(doc), pol, objective


def plan_keeping_the_rules(inst, engine: str, limit_s: float):
    """Plan a random instance (`instances` and its kin) with `engine` within `limit_s`: a plan passes
    `verify` and beats neither its makespan nor its cost bound; no plan says infeasible and why. Returns
    the plan, or None when there is none."""
    from scheduler import plan
    from scheduler.analysis.verify import verify_plan
    from scheduler.domain import PlanStatus
    from scheduler.engine import PlanOptions

    wl, pool, pol, objective = inst
    p = plan(wl, pool, pol, options=PlanOptions(objective=objective, time_limit_s=limit_s, engine=engine))
    if not p.has_plan:
        assert p.status == PlanStatus.INFEASIBLE and p.unplaceable
        return None
    report = verify_plan(wl, pool, pol, p)
    assert report.ok, report.violations
    assert p.makespan_s >= p.lower_bound_s - 1e-6 * max(1.0, p.makespan_s)
    if p.cost_lower_bound_usd is not None:
        assert p.cost_usd >= p.cost_lower_bound_usd - 1e-9 * max(1.0, p.cost_usd)
    return p
