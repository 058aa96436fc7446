"""Privacy-aware placement of task DAGs onto decentralised GPU pools.

The public API: load the three inputs, plan, audit, explain, ask what-if.

    >>> from scheduler import load_workload, load_nodes, load_policy, plan, verify_plan
    >>> wl, pool, pol = load_workload("w.yaml"), load_nodes("n.yaml"), load_policy("p.yaml")  # doctest: +SKIP
    >>> p = plan(wl, pool, pol, objective="makespan", time_limit_s=10)                       # doctest: +SKIP
    >>> verify_plan(p, wl, pool, pol).ok                                                      # doctest: +SKIP
    True

The domain (models, policy rules, network) imports neither ortools nor prefect.
"""

from .errors import Infeasible, InfeasibleReason, InputError, PolicyError, SchedulerError
from .explain import Explanation, explain_task
from .loading import load_nodes, load_plan, load_policy, load_workload
from .model import (
    Assignment,
    Level,
    Link,
    Node,
    NodePool,
    Objective,
    Plan,
    PlanStatus,
    Policy,
    Task,
    Unplaceable,
    Workload,
    permissive_policy,
)
from .network import Network
from .planner import PlanOptions, plan, plan_problem
from .policy import LevelOrigin, Rule, effective_levels, rejections
from .problem import Problem
from .verify import Violation, VerifyReport, verify_plan
from .whatif import Scenario, WhatIfResult, apply_scenario, whatif

__all__ = [
    "Assignment", "Explanation", "Infeasible", "InfeasibleReason", "InputError", "Level", "LevelOrigin", "Link",
    "Network", "Node", "NodePool", "Objective", "Plan", "PlanOptions", "PlanStatus", "Policy", "PolicyError",
    "Problem", "Rule", "Scenario", "SchedulerError", "Task", "Unplaceable", "Violation", "VerifyReport",
    "WhatIfResult", "Workload", "apply_scenario", "effective_levels", "explain_task", "load_nodes", "load_plan",
    "load_policy", "load_workload", "permissive_policy", "plan", "plan_problem", "rejections", "verify_plan",
    "whatif",
]

__version__ = "0.1.0"
