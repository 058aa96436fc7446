"""Privacy-aware placement of task DAGs onto decentralised GPU pools.

The public API: load the three inputs, plan, audit, explain, ask what-if, replan,
simulate. Every function takes the inputs first (workload, pool, policy, or the
compiled `Problem`), then the plan, then keyword-only options.

    >>> from scheduler import load_workload, load_nodes, load_policy, plan, verify_plan
    >>> wl, pool = load_workload("examples/llm-finetune.yaml"), load_nodes("examples/pool-60.yaml")
    >>> pol = load_policy("policies/default.yaml")
    >>> p = plan(wl, pool, pol, time_limit_s=2, engine="heuristic")
    >>> p.status.value, verify_plan(wl, pool, pol, p).ok
    ('feasible', True)

The house, from the bottom up (each layer imports only those below it):

- `scheduler.domain`: the contract's models and rules (no machinery);
- `scheduler.formats`: reading the files;
- `scheduler.problem`: the three inputs compiled into index-based parts;
- `scheduler.engine`: the planner's stages, the heuristic, the bounds, CP-SAT;
- `scheduler.analysis`: verify, explain, metrics, what-if, sweeps, replan, simulate;
- `scheduler.pictures`: Gantt charts, histograms, fronts;
- `scheduler.cli`: the command line (the only place typer and rich are used).
"""

from .analysis.explain import Explanation, explain_task
from .analysis.metrics import PlanMetrics, plan_metrics
from .analysis.replan import replan
from .analysis.simulate import SimulationResult, simulate
from .analysis.verify import VerifyReport, Violation, verify_plan
from .analysis.whatif import Scenario, WhatIfResult, apply_scenario, whatif
from .domain import (
    Assignment,
    Level,
    LevelOrigin,
    Link,
    Network,
    Node,
    NodePool,
    Objective,
    Plan,
    PlanStatus,
    Policy,
    Rule,
    Task,
    Unplaceable,
    Workload,
    effective_levels,
    permissive_policy,
    rejections,
)
from .engine import Engine, PlanOptions, plan, plan_problem
from .errors import Infeasible, InfeasibleReason, InputError, PolicyError, SchedulerError
from .formats import load_nodes, load_plan, load_policy, load_workload
from .problem import Problem

__all__ = [
    "Assignment", "Engine", "Explanation", "Infeasible", "InfeasibleReason", "InputError", "Level", "LevelOrigin",
    "Link", "Network", "Node", "NodePool", "Objective", "Plan", "PlanMetrics", "PlanOptions", "PlanStatus", "Policy",
    "PolicyError", "Problem", "Rule", "Scenario", "SchedulerError", "SimulationResult", "Task", "Unplaceable",
    "Violation", "VerifyReport", "WhatIfResult", "Workload", "apply_scenario", "effective_levels", "explain_task",
    "load_nodes", "load_plan", "load_policy", "load_workload", "permissive_policy", "plan", "plan_metrics",
    "plan_problem", "rejections", "replan", "simulate", "verify_plan", "whatif",
]

__version__ = "0.2.0"
