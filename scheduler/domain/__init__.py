"""The domain: what the contract talks about, and its rules, with no machinery.

- `pool`, `workload`, `levels`, `plan`: the strict models of the three input files
  and of the plan (`fields` holds the field types they share).
- `policy`: effective levels down the DAG, a node's eligibility, replica rules.
- `network`: bandwidth between nodes and the time to move data.
- `rules`: the arithmetic of completion and success probabilities and the
  tolerances every layer compares with.

Nothing here imports the engine, a solver, a command-line library or Prefect.
"""

from .fields import TEE_KINDS, StrictModel
from .levels import Level, Policy, permissive_policy
from .network import Network
from .plan import Assignment, Objective, Plan, PlanStatus, Unplaceable
from .policy import (
    LevelOrigin,
    Rejection,
    Rule,
    effective_levels,
    rejections,
    required_replicas,
    spread_value,
)
from .pool import Link, Node, NodePool, Window
from .workload import Dependency, Site, SiteData, Task, Workload

__all__ = [
    "Assignment", "Dependency", "Level", "LevelOrigin", "Link", "Network", "Node", "NodePool", "Objective", "Plan",
    "PlanStatus", "Policy", "Rejection", "Rule", "Site", "SiteData", "StrictModel", "TEE_KINDS", "Task", "Unplaceable",
    "Window", "Workload",
    "effective_levels", "permissive_policy", "rejections", "required_replicas", "spread_value",
]
