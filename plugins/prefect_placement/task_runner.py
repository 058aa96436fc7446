"""A placement-aware Prefect task runner: an ordinary flow whose ``task.submit()`` calls run each
workload task on the nodes its plan chose.

    from prefect import flow, task
    from prefect_placement import PlacementTaskRunner

    @task
    def ingest(): ...
    @task
    def train(data): ...

    @flow(task_runner=PlacementTaskRunner(workload="workload.yaml", nodes="nodes.yaml", policy="policy.yaml"))
    def pipeline():
        return train.submit(ingest.submit()).result()

Which workload task a Prefect task run stands for, in this order: the task named by an enclosing
``placement_options(task=...)``; ``task_map[prefect task name]``; the Prefect task's name
(``@task(name="train")``, or the function's name). A Prefect task that maps to no workload task runs
as usual, on the runner's thread pool.

For a workload task, every replica of the plan is submitted through the backend (`LocalBackend`:
in this process; `DeploymentBackend`: a flow run on its node's work queue), each checked first
against the rules of its effective level and its node's windows (`PlacementRefused` before any
data moves), tagged ``node:``, ``network:``, ``level:``, with its placement readable in the step
through `current_placement()`. The future `submit` returns stands for all replicas: its result is
the one `quorum` replicas agree on (`ResultsDisagree` otherwise), so children receive one value.
The plan is taken as given (or made when the runner starts, publishing its artifacts); a node lost
mid-run fails the task: replanning mid-run is `run_plan`'s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Self

from prefect.client.schemas.objects import RunInput
from prefect.futures import PrefectFuture, PrefectTaskRunFuture
from prefect.states import Completed, Failed, Pending, State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import Task

from scheduler.domain import NodePool, Plan, Policy, Workload
from scheduler.engine.planner import PlanOptions, plan_problem
from scheduler.formats.loading import load_plan
from scheduler.problem import Problem

from .artifacts import publish_plan
from .context import current_options, use_placement
from .runner import (
    Backend,
    LocalBackend,
    PlacementRefused,
    ResultsDisagree,
    _agreed,
    _context,
    _one_row_per_replica,
    _refuse_invalid,
)
from .tasks import Source, as_nodes, as_policy, as_workload


class ReplicaFuture(PrefectTaskRunFuture[Any]):
    """The replicas of one workload task as one future: done when all are, its result the one `quorum`
    of them returned (a failed state, with the error, when fewer succeeded or they disagree)."""

    def __init__(self, task_id: str, futures: list[PrefectFuture[Any]], quorum: int) -> None:
        super().__init__(futures[0].task_run_id)
        self.task_id, self.replicas, self.quorum = task_id, futures, quorum
        self._lock = threading.Lock()

    def wait(self, timeout: float | None = None) -> None:
        for f in self.replicas:
            f.wait(timeout)

    @property
    def state(self) -> State:
        if self._final_state is not None:
            return self._final_state
        states = [f.state for f in self.replicas]
        if not all(s.is_final() for s in states):
            return next((s for s in states if not s.is_final()), Pending())
        self._final_state = self._combine(states)
        return self._final_state

    def _combine(self, states: list[State]) -> State:
        done = [(f, s) for f, s in zip(self.replicas, states) if s.is_completed()]
        if len(done) < self.quorum:
            return next(s for s in states if not s.is_completed())
        values = [s.result(raise_on_failure=False) for _, s in done]
        try:
            value = _agreed(self.task_id, values, self.quorum)
        except ResultsDisagree as e:
            return Failed(message=str(e), data=e)
        state = Completed(data=value)
        state.state_details.task_run_id = next(f.task_run_id for (f, _), v in zip(done, values) if v is value)
        return state

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> Any:
        self.wait(timeout)
        return self.state.result(raise_on_failure=raise_on_failure)

    def add_done_callback(self, fn: Callable[[PrefectFuture[Any]], None]) -> None:
        left = [len(self.replicas)]

        def one_done(_: PrefectFuture[Any]) -> None:
            with self._lock:
                left[0] -= 1
                last = left[0] == 0
            if last:
                fn(self)

        for f in self.replicas:
            f.add_done_callback(one_done)


class PlacementTaskRunner(TaskRunner[PrefectFuture[Any]]):
    """Runs the tasks of a flow on their planned nodes (see the module docstring).

    Args:
        workload, nodes, policy: the plan's inputs, as models or file paths.
        plan: the plan (a `Plan` or a JSON file); None: planned when the runner starts, within
            `time_limit_s`, and published as artifacts.
        backend: where replicas run (default `LocalBackend()`).
        task_map: Prefect task name -> workload task id, where they differ.
        max_workers: threads of the pool the replicas (and unplaced tasks) run on.
        plan_options: further `PlanOptions` fields when planning here.
    """

    def __init__(self, workload: Workload | Source, nodes: NodePool | Source, policy: Policy | Source | None = None,
                 *, plan: Plan | Source | None = None, backend: Backend | None = None,
                 task_map: Mapping[str, str] | None = None, max_workers: int | None = None,
                 time_limit_s: float = 10.0, artifact_key: str = "placement", **plan_options: Any) -> None:
        super().__init__()
        self._args = dict(workload=workload, nodes=nodes, policy=policy, plan=plan, backend=backend,
                          task_map=task_map, max_workers=max_workers, time_limit_s=time_limit_s,
                          artifact_key=artifact_key, **plan_options)
        self.backend: Backend = backend if backend is not None else LocalBackend()
        self.task_map = dict(task_map or {})
        self._plan_options = PlanOptions(time_limit_s=time_limit_s, **plan_options)
        self._inner = ThreadPoolTaskRunner(max_workers=max_workers)
        # read when the runner starts, not where the flow is decorated (and not again by each duplicate)
        self.workload: Workload | None = None
        self.pool: NodePool | None = None
        self.policy: Policy | None = None
        self.problem: Problem | None = None
        self.plan: Plan | None = None
        self._unpublished = False

    def duplicate(self) -> Self:
        return type(self)(**self._args)

    def __enter__(self) -> Self:
        super().__enter__()
        self._inner.__enter__()
        args = self._args
        self.workload, self.pool = as_workload(args["workload"]), as_nodes(args["nodes"])
        self.policy = as_policy(args["policy"])
        self.problem = Problem(self.workload, self.pool, self.policy)
        self.plan = self._load_or_make_plan(args["plan"])
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)
        super().__exit__(*exc)

    def _load_or_make_plan(self, given: Plan | Source | None) -> Plan:
        if isinstance(given, Plan):
            plan = given
        elif given is not None:
            plan = load_plan(Path(given))
        else:
            plan = plan_problem(self.problem, self._plan_options)
            self._unpublished = True  # published by the first submit, inside the flow run
        if not plan.has_plan:
            raise PlacementRefused(f"the plan has no placement (status {plan.status.value})")
        _refuse_invalid(plan, self.workload, self.pool, self.policy)
        return plan

    def workload_task(self, task: Task[Any, Any]) -> str | None:
        """The workload task a Prefect task run stands for, or None (see the module docstring)."""
        tid = current_options().task or self.task_map.get(task.name, task.name)
        return tid if tid in self.problem.dag.index else None

    def submit(self, task: Task[Any, Any], parameters: dict[str, Any],
               wait_for: Iterable[PrefectFuture[Any]] | None = None,
               dependencies: dict[str, set[RunInput]] | None = None) -> PrefectFuture[Any]:
        if not self._started or self.plan is None:
            raise RuntimeError("The task runner must be started before submitting work.")
        if self._unpublished:
            self._unpublished = False
            publish_plan(self.plan, self.problem, key=self._args["artifact_key"])
        tid = self.workload_task(task)
        if tid is None:
            return self._inner.submit(task, parameters, wait_for, dependencies)
        rows = self.plan.by_task().get(tid, [])
        futures = []
        for a in _one_row_per_replica(self.problem, tid, rows):
            ctx = _context(self.problem, a, rows)  # refuses a node below the level before any data moves
            run, params = self.backend.prepare(task, parameters, ctx)
            with use_placement(ctx):
                futures.append(self._inner.submit(run, params, wait_for, dependencies))
        return ReplicaFuture(tid, futures, self.problem.quorum[self.problem.dag.index[tid]])
