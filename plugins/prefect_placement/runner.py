"""Running a workload DAG by its plan inside a Prefect flow.

`run_plan` submits every replica of every task as a Prefect task run, in
dependency order (`wait_for` on the parents' runs), passes each step the
results of its parents (``step(inputs)``, inputs keyed by parent task id) and
tags each run ``node:<id>``, ``network:<name>``, ``level:<name>`` (named
``<task>#<replica>@<node>``) so tag concurrency limits and work pools can hold it
to its node. Prefect takes a leased concurrency slot per tag for every tagged run
(about half a second each on a local server), the price of enforceable pinning. Before a replica is
submitted its node is checked against the rules of the task's effective level
(trust, TEE, attestation, country...): a node that falls short is refused before
any data moves. A gang replica (contract 1.1: one replica on several nodes at once) is
one task run, tagged with every node it spans and told all of them (`nodes`); a replica outside its
node's availability windows (contract 1.1) is refused. A step's placement holds the window's end
(`available_until_s`, to checkpoint before a lease ends), the replica's completion
probability, the level's quorum and the task's reads and writes. Steps read it with
`current_placement()` (a context variable the backend sets for each replica), and
`placement_options(...)` adds tags, job variables or a timeout to the replicas
submitted inside it.

A task whose level has a quorum k counts as done only when k replicas returned
the same result (verification by agreement); that result is passed on, and
`ResultsDisagree` is raised when no k agree.

When a node is lost (a step raises `NodeLost`, or any exception with
``node_lost = True``, or a backend injects an outage) and a task has no replica
left, the unfinished part of the DAG is replanned with the library (finished
results kept, lost nodes excluded), the new plan is published as artifacts, and
the run continues. Other exceptions follow the step's own Prefect retry settings
and then fail the flow.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import networkx as nx
from prefect import Task, task
from prefect.blocks.core import Block
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.logging import get_run_logger
from prefect.states import Failed, State
from pydantic import Field

from scheduler.analysis.replan import replan
from scheduler.analysis.verify import verify_plan
from scheduler.domain import Assignment, NodePool, Plan, Policy, Workload
from scheduler.domain.policy import rejections
from scheduler.engine.planner import PlanOptions
from scheduler.problem import Problem

from .artifacts import publish_plan
from .context import current_options, use_placement
from .tasks import Source, as_nodes, as_policy, as_workload

log = logging.getLogger("prefect_placement")


class NodeLost(RuntimeError):
    """Raised when the node running a step is gone (a lost lease, an outage)."""

    node_lost = True

    def __init__(self, node: str, message: str = "") -> None:
        self.node = node
        super().__init__(message or f"node {node} was lost")


class PlacementRefused(RuntimeError):
    """A replica was about to run on a node its data's effective level forbids."""


class ResultsDisagree(RuntimeError):
    """A task's level needs `quorum` replicas to agree and fewer than that returned one same result."""


class PlacementFailed(RuntimeError):
    """No valid plan exists for the unfinished work after a node loss."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        reasons = "; ".join(u.message or u.task for u in plan.unplaceable or []) or plan.status.value
        super().__init__(f"replanning found no valid plan: {reasons}")


def is_node_loss(exc: BaseException | None) -> bool:
    return exc is not None and bool(getattr(exc, "node_lost", False))


@dataclass(frozen=True)
class StepContext:
    """Where one replica runs; passed to steps that take a ``placement`` argument."""

    task: str
    replica: int
    node: str
    network: str
    level: str
    start_s: float
    end_s: float
    available_until_s: float | None = None  # when the node's window holding this replica closes (None: never)
    completion_probability: float = 1.0  # reputation x exp(-failures_per_hour x runtime_h)
    quorum: int = 1  # how many replicas of the task must agree
    reads: tuple[tuple[str, float], ...] = ()  # (site, GB) fetched before the step runs
    writes: tuple[tuple[str, float], ...] = ()  # (site, GB) stored after it ends
    nodes: tuple[str, ...] = ()  # a gang replica: every node it spans at once (`node` is the first)

    @property
    def tags(self) -> set[str]:
        return {*(f"node:{n}" for n in self.nodes or (self.node,)), f"network:{self.network}", f"level:{self.level}"}

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepContext:
        """The inverse of `as_dict` (after a trip through JSON: lists back to tuples)."""
        d = dict(data)
        for key in ("reads", "writes"):
            d[key] = tuple(tuple(x) for x in d.get(key) or ())
        d["nodes"] = tuple(d.get("nodes") or ())
        return cls(**d)


class Backend(Protocol):
    """Puts one replica of a step on its node: the Prefect task to run there, with its parameters.

    `run_plan` and `PlacementTaskRunner` submit what `prepare` returns, with the replica's placement as
    the current one (`current_placement`) and the `placement_options` of the block it was submitted in.
    """

    def prepare(self, step: Task, parameters: dict[str, Any], ctx: StepContext) -> tuple[Task, dict[str, Any]]: ...


def _window_until(problem: Problem, n: int, start_s: float, end_s: float) -> float | None:
    """The end of the window of node n that holds [start_s, end_s] (None when always available); raises
    PlacementRefused when no window holds it."""
    windows = problem.nodes.windows
    if windows.of[n] is None:
        return None
    window = windows.holding(n, start_s, end_s)
    if window is None:
        raise PlacementRefused(f"{problem.nodes.ids[n]} is not available over {start_s:g}-{end_s:g} s "
                               f"(its windows: {', '.join(f'{lo:g}-{hi:g}' for lo, hi in windows.of[n])})")
    return window[1]


def _one_row_per_replica(problem: Problem, tid: str, rows: list[Assignment]) -> list[Assignment]:
    """The rows to submit, in replica order: every row, but one per replica of a gang task (its first node
    stands for the gang; the step is told all of them)."""
    rows = sorted(rows, key=lambda a: (a.replica, a.node))
    if problem.gang_size(problem.dag.index[tid]) == 1:
        return rows
    seen: dict[int, Assignment] = {}
    for a in rows:
        seen.setdefault(a.replica, a)
    return list(seen.values())


def _context(problem: Problem, a: Assignment, rows: list[Assignment]) -> StepContext:
    """The placement of one replica (a gang's: all its nodes), each node checked against the policy's rules
    and its windows first."""
    i = problem.dag.index[a.task]
    t, level = problem.dag.tasks[i], problem.levels[i]
    names = sorted(r.node for r in rows if r.replica == a.replica) if t.nodes > 1 else [a.node]
    until = None
    for name in names:
        n = problem.nodes.index[name]
        why = rejections(t, level, problem.nodes.items[n])
        if why:  # refuse before any data moves
            raise PlacementRefused(f"{a.task} (level {level.name}) may not run on {name}: "
                                   + "; ".join(r.detail for r in why))
        end = _window_until(problem, n, a.start_s, a.end_s)
        until = end if until is None else (until if end is None else min(until, end))
    gang = tuple(problem.nodes.index[name] for name in names)
    sites = problem.dag.sites
    return StepContext(task=a.task, replica=a.replica, node=a.node, network=problem.nodes.items[gang[0]].network,
                       level=level.name, start_s=a.start_s, end_s=a.end_s, available_until_s=until,
                       completion_probability=problem.replica_completion(i, gang), quorum=problem.quorum[i],
                       reads=tuple((sites[s].id, gb) for s, gb in problem.dag.reads[i]),
                       writes=tuple((sites[s].id, gb) for s, gb in problem.dag.writes[i]), nodes=tuple(names))


def _agreed(tid: str, values: list[Any], quorum: int) -> Any:
    """The result at least `quorum` replicas returned (the first replica's with quorum 1)."""
    if quorum <= 1:
        return values[0]
    for v in values:
        if sum(not _differs(v, w) for w in values) >= quorum:
            return v
    raise ResultsDisagree(f"{tid}: {quorum} replicas must agree, but no result was returned by {quorum} of "
                          f"{len(values)}")


@task(name="node-outage")
def _lost(node: str) -> State:
    # a failed state rather than a raised exception: an injected outage is news, not a traceback
    return Failed(message=f"injected outage: node {node} is gone", data=NodeLost(node, f"injected outage: node {node} is gone"))


def _run_name(ctx: StepContext) -> str:
    return f"{ctx.task}#{ctx.replica}@{'+'.join(ctx.nodes or (ctx.node,))}"


def _tags(ctx: StepContext) -> set[str]:
    return ctx.tags | set(current_options().tags)


class LocalBackend(Block):
    """Runs every replica in this process (the flow's task runner); for development and tests. A Prefect
    Block: ``LocalBackend(outages=["n3"]).save("dev")``, then ``LocalBackend.load("dev")``.

    Attributes:
        outages: nodes that are lost when a replica first runs on them (failure injection).
    """

    _block_type_name = "Placement Local Backend"
    _description = "Runs each planned replica in the flow's own process (development, tests, failure injection)."
    outages: list[str] = Field(default_factory=list)

    def prepare(self, step: Task, parameters: dict[str, Any], ctx: StepContext) -> tuple[Task, dict[str, Any]]:
        lost = next((n for n in ctx.nodes or (ctx.node,) if n in self.outages), None)
        if lost is not None:  # a gang is lost with any of its nodes
            return _lost.with_options(tags=_tags(ctx), task_run_name=_run_name(ctx)), {"node": lost}
        return step.with_options(tags=_tags(ctx), task_run_name=_run_name(ctx)), parameters


@task(name="run-on-node")
def _run_remote(deployment: str, call: dict[str, Any], timeout_s: float | None) -> Any:
    from prefect.deployments import run_deployment

    flow_run = run_deployment(name=deployment, timeout=timeout_s, **call)
    state = flow_run.state
    if state is not None and (state.is_crashed() or state.name in ("Crashed", "Lost")):
        raise NodeLost(call["job_variables"]["node"], f"the flow run on {call['job_variables']['node']} crashed")
    # the flow's persisted result, read back here (State.result is sync in a sync task; the module-level
    # get_state_result is a coroutine)
    return state.result(raise_on_failure=True) if state is not None else None


class DeploymentBackend(Block):
    """Runs each replica as a flow run of one deployment, on a work queue per node. A Prefect Block:
    ``DeploymentBackend("pipeline/step").save("akash")``, then ``DeploymentBackend.load("akash")``.

    Operators run a Prefect worker per rented node, polling the queue
    ``<queue_prefix><node id>`` of the work pool behind `deployment`. Each replica
    becomes ``run_deployment(deployment, parameters={"task", "inputs", "placement"},
    work_queue_name=<queue>, job_variables={"node", "network", "level"}, tags=...)``;
    a crashed flow run counts as a lost node. The deployment's flow receives the
    task id, the step's keyword arguments (``inputs``: under `run_plan` the parents'
    results as the step's first argument, under `PlacementTaskRunner` the task's own
    parameters) and the placement, and runs ``step.fn(**inputs)`` inside
    ``use_placement(placement)``.
    """

    _block_type_name = "Placement Deployment Backend"
    _description = "Runs each planned replica as a flow run of a deployment, on the work queue of its node."
    deployment: str
    queue_prefix: str = "node-"
    timeout_s: float | None = None
    job_variables: dict[str, Any] = Field(default_factory=dict)

    def __new__(cls, deployment: str | None = None, /, **data: Any) -> DeploymentBackend:  # noqa: PYI034
        return super().__new__(cls, **data)

    def __init__(self, deployment: str | None = None, /, **data: Any) -> None:
        if deployment is not None:
            data["deployment"] = deployment
        super().__init__(**data)

    def call_for(self, inputs: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        """The keyword arguments of `run_deployment` for one replica (no network access); `inputs` are the
        step's keyword arguments."""
        options = current_options()
        return {
            "parameters": {"task": ctx.task, "inputs": inputs, "placement": ctx.as_dict()},
            "work_queue_name": f"{self.queue_prefix}{ctx.node}",
            "job_variables": {**self.job_variables, **options.job_variables, "node": ctx.node,
                              "network": ctx.network, "level": ctx.level},
            "tags": sorted(_tags(ctx)),
            "flow_run_name": f"{ctx.task}#{ctx.replica}@{ctx.node}",
        }

    def prepare(self, step: Task, parameters: dict[str, Any], ctx: StepContext) -> tuple[Task, dict[str, Any]]:
        asked = current_options().timeout_s
        timeout = asked if asked is not None else self.timeout_s
        return (_run_remote.with_options(tags=_tags(ctx), task_run_name=_run_name(ctx)),
                {"deployment": self.deployment, "call": self.call_for(parameters, ctx), "timeout_s": timeout})


@dataclass
class RunResult:
    """What `run_plan` returns: results by task, the final plan, and what happened."""

    results: dict[str, Any]
    plan: Plan
    replans: int = 0
    lost_nodes: set[str] = field(default_factory=set)
    replanned_at_s: list[float] = field(default_factory=list)  # plan time of each replan's `now`
    runs: list[StepContext] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)


def submit_replica(backend: Backend, step: Task, parameters: dict[str, Any], ctx: StepContext,
                   wait_for: list[PrefectFuture]) -> PrefectFuture:
    """Submit one replica through `backend` (in the flow's task runner), its placement the current one."""
    run, params = backend.prepare(step, parameters, ctx)
    with use_placement(ctx):
        return run.submit(**params, wait_for=wait_for)


def _input_parameter(step: Task) -> str:
    """The name of the step's first parameter, which receives the parents' results."""
    try:
        names = list(inspect.signature(step.fn).parameters)
    except (TypeError, ValueError):
        names = []
    return names[0] if names else "inputs"


def _as_task(step: Task | Callable[..., Any], name: str) -> Task:
    if isinstance(step, Task):
        return step
    if callable(step):
        return task(step, name=name)
    raise TypeError(f"the step for {name!r} is neither a Prefect task nor a callable")


def run_plan(
    plan: Plan,
    steps: Mapping[str, Task | Callable[..., Any]],
    *,
    workload: Workload | Source,
    nodes: NodePool | Source,
    policy: Policy | Source | None = None,
    backend: Backend | None = None,
    max_replans: int = 3,
    replan_time_limit_s: float = 5.0,
    artifact_key: str = "placement",
) -> RunResult:
    """Execute `workload` inside the current flow, each replica on its planned node. The workload, pool
    and policy are models or file paths, as `plan_placement` takes them.

    Raises:
        RuntimeError: called outside a flow.
        ValueError: `steps` misses a task, or the plan has no placement.
        PlacementRefused: a replica's node does not meet its effective level's rules.
        PlacementFailed: after a node loss no valid plan exists for the rest.
    """
    if FlowRunContext.get() is None:
        raise RuntimeError("run_plan must be called inside a Prefect flow")
    workload, nodes, policy = as_workload(workload), as_nodes(nodes), as_policy(policy)
    if not plan.has_plan:
        raise ValueError(f"the plan has no placement (status {plan.status.value})")
    missing = [t.id for t in workload.tasks if t.id not in steps]
    if missing:
        raise ValueError(f"no step for task(s): {', '.join(missing)}")
    backend = backend or LocalBackend()
    _refuse_invalid(plan, workload, nodes, policy)
    problem = Problem(workload, nodes, policy)
    tasks = {tid: _as_task(step, tid) for tid, step in steps.items()}
    generations = [sorted(g, key=problem.dag.index.__getitem__) for g in nx.topological_generations(workload.graph)]
    current = plan
    result = RunResult(results={}, plan=plan)
    futures: dict[str, list[PrefectFuture]] = {}
    pos = 0
    while pos < len(generations):
        submitted: dict[str, list[tuple[Assignment, StepContext, PrefectFuture]]] = {}
        by_task = current.by_task()
        for tid in generations[pos]:
            if tid in result.results:
                continue
            t = problem.dag.tasks[problem.dag.index[tid]]
            inputs = {d.task: result.results[d.task] for d in t.depends_on}
            wait = [f for d in t.depends_on for f in futures.get(d.task, [])]
            for a in _one_row_per_replica(problem, tid, by_task.get(tid, [])):
                ctx = _context(problem, a, by_task.get(tid, []))
                fut = submit_replica(backend, tasks[tid], {_input_parameter(tasks[tid]): inputs}, ctx, wait)
                submitted.setdefault(tid, []).append((a, ctx, fut))
                result.runs.append(ctx)
        failed_tasks, lost_now = [], set()
        for tid, items in submitted.items():
            values, errors = [], []
            good: list[PrefectFuture] = []
            for a, ctx, fut in items:
                fut.wait()
                state = fut.state
                if state.is_completed():
                    values.append(fut.result())
                    good.append(fut)
                elif state.is_final():
                    errors.append((a, state.result(raise_on_failure=False)))
                else:
                    errors.append((a, RuntimeError(f"{ctx.task} on {ctx.node} ended {state.name}")))
            quorum = problem.quorum[problem.dag.index[tid]]
            for a, exc in errors:
                if is_node_loss(exc):
                    lost_now.add(getattr(exc, "node", a.node))
                elif len(values) < quorum:
                    raise exc if isinstance(exc, BaseException) else RuntimeError(f"{tid} failed: {exc}")
            if len(values) >= quorum:
                result.results[tid] = _agreed(tid, values, quorum)
                futures[tid] = good  # children wait for the replicas that succeeded
                if any(_differs(values[0], v) for v in values[1:]):
                    result.disagreements.append(tid)
                    log.warning("replicas of %s returned different results", tid)
            else:
                failed_tasks.append(tid)
        result.lost_nodes |= lost_now
        rest_on_lost = any(a.node in result.lost_nodes and a.task not in result.results
                           for a in current.assignments)
        if failed_tasks or (lost_now and rest_on_lost):
            if result.replans >= max_replans:
                raise PlacementFailed(current)
            now = max(a.start_s for items in submitted.values() for a, _, _ in items)
            logger = _logger()
            for n in sorted(lost_now):
                logger.warning("node %s lost; replanning the unfinished part of the DAG", n)
            previous = current
            current = replan(workload, nodes, policy, current, now_s=now, done=set(result.results),
                             failed_nodes=result.lost_nodes,
                             options=PlanOptions(time_limit_s=replan_time_limit_s))
            if not current.has_plan:
                raise PlacementFailed(current)
            _refuse_invalid(current, workload, nodes, policy, failed=result.lost_nodes, now_s=now)
            moved = _moved_tasks(previous, current)
            logger.info("node %s lost, replanned: %d task(s) moved (%s)", ", ".join(sorted(lost_now)) or "-",
                        len(moved), ", ".join(moved[:8]) + (" ..." if len(moved) > 8 else ""))
            result.replans += 1
            result.replanned_at_s.append(now)
            publish_plan(current, problem, key=f"{artifact_key}-replan-{result.replans}",
                         title=f"Replanned after losing {', '.join(sorted(result.lost_nodes))}")
            if failed_tasks:
                continue  # run the failed tasks of this generation again, on their new nodes
        pos += 1
    result.plan = current
    return result


def _refuse_invalid(plan: Plan, workload: Workload, nodes: NodePool, policy: Policy | None,
                    failed: set[str] | None = None, now_s: float | None = None) -> None:
    """The whole plan is checked against the workload before the first step runs: a plan that misses a
    task, puts two replicas on one node, has too few replicas for a level, or is for another workload
    is refused with one message, before any data moves."""
    report = verify_plan(workload, nodes, policy, plan, failed_nodes=sorted(failed or ()), now_s=now_s)
    if not report.ok:
        shown = "; ".join(f"{v.rule}: {v.task or ''} {v.message}".strip() for v in report.violations[:5])
        more = f" (and {len(report.violations) - 5} more)" if len(report.violations) > 5 else ""
        raise PlacementRefused(f"the plan breaks the rules, nothing was run: {shown}{more}")


def _moved_tasks(old: Plan, new: Plan) -> list[str]:
    before = {t: sorted(a.node for a in rows) for t, rows in old.by_task().items()}
    return [t for t, rows in new.by_task().items() if sorted(a.node for a in rows) != before.get(t)]


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a run context
        return log


def _differs(a: Any, b: Any) -> bool:
    try:
        return bool(a != b)
    except Exception:  # noqa: BLE001 - incomparable results are not a disagreement we can see
        return False
