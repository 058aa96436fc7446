"""Plan, run and survive a node failure: the fine-tuning pipeline as a Prefect flow.

    python examples/prefect_flow.py

Runs offline (Prefect starts a temporary local server). Every step is toy work
that returns a string; the node running `train` is made to fail, the rest of the
DAG is replanned off it, and the flow completes. Prints the final placement.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")  # a loaded laptop is slow to start it

from prefect import flow, task  # noqa: E402
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings  # noqa: E402
from prefect_placement import LocalBackend, current_placement, plan_placement, run_plan, verify_placement  # noqa: E402

from scheduler import load_nodes, load_policy, load_workload  # noqa: E402

HERE = Path(__file__).resolve().parent
WORKLOAD = load_workload(HERE / "llm-finetune.yaml")
NODES = load_nodes(HERE / "pool-60.yaml")
POLICY = load_policy(HERE.parent / "policies" / "default.yaml")


@task(retries=1, retry_delay_seconds=0, log_prints=True)
def toy_step(inputs: dict) -> str:
    placement = current_placement().as_dict()  # where this replica runs
    """Stands in for real work: the same output on every replica, so replicas cross-check."""
    print(f"{placement['task']} running on {placement['node']} ({placement['level']})")
    return f"{placement['task']}(" + ",".join(sorted(inputs)) + ")"


@flow(name="llm-finetune-on-decentralised-gpus")
def finetune_pipeline(fail_node: str | None = None) -> dict:
    plan = plan_placement(WORKLOAD, NODES, POLICY, time_limit_s=5)
    # fail a node that runs training-side work but holds no restricted data: losing one of the few
    # attested EU nodes could leave restricted data nowhere to go (the replan would say so and stop)
    restricted = {a.node for a in plan.assignments if a.task in ("ingest", "pii-scrub")}
    outage = fail_node or next(a.node for a in sorted(plan.assignments, key=lambda a: a.start_s)
                               if a.task in ("train", "eval", "quantize") and a.node not in restricted)
    steps = {t.id: toy_step for t in WORKLOAD.tasks}
    run = run_plan(plan, steps, workload=WORKLOAD, nodes=NODES, policy=POLICY,
                   backend=LocalBackend(outages={outage}))
    report = verify_placement(run.plan, WORKLOAD, NODES, POLICY)
    return {"plan": run.plan, "lost": sorted(run.lost_nodes), "replans": run.replans, "valid": report.ok,
            "results": run.results}


def main() -> int:
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):  # no heartbeats for a local demo
        out = finetune_pipeline()
    plan = out["plan"]
    print(f"lost nodes: {', '.join(out['lost'])}; replans: {out['replans']}; final plan valid: {out['valid']}")
    print(f"makespan {plan.makespan_s:,.0f} s, cost ${plan.cost_usd:,.2f}, success {plan.success_probability:.4f}")
    for a in sorted(plan.assignments, key=lambda a: (a.start_s, a.task)):
        print(f"  {a.task:<16} #{a.replica}  {a.node:<28} {a.start_s:>9.0f} -> {a.end_s:>9.0f} s")
    return 0 if out["valid"] and len(out["results"]) == len(WORKLOAD.tasks) else 1


if __name__ == "__main__":
    sys.exit(main())
