"""A fast list-scheduling heuristic: HEFT-style upward ranks, insertion into idle GPU time,
and every placement rule of the contract.

It is the solver's warm start and the fallback for instances too large for the exact
model. Tasks are taken by decreasing upward rank (mean runtime over their eligible
nodes plus the longest mean-transfer path below them). Each replica goes where it
finishes earliest (``makespan``), or on the cheapest node that meets a sub-deadline
derived from a makespan-first run (``cost``), choosing replica sets that keep `spread`,
`min_success` and the replica count reachable. A child replica may start once, for
each parent, the earliest of that parent's replicas has delivered its data (the
contract's precedence rule). HEFT is myopic about where the data goes next;
`HeuristicSettings.lookahead` looks one step ahead at the children (the planner tries both).

- `timeline`: GPU slots in use on a node over time, with insertion;
- `settings`: what a run is asked for;
- `builder`: one run's state; `placement`: one task's replicas; `success`: a success target;
- `priorities`: the rules of the portfolio (HEFT, CPoP, PEFT, one node, Sufferage): task order and node weights;
- `list_scheduling`: one run in a rule's order, and re-timing; `cost_mode`: sub-deadlines, the entry point.
"""

from .builder import LARGE_POOL, SHORTLIST
from .cost_mode import heuristic_schedule, latest_finishes, sub_deadlines_from
from .list_scheduling import list_schedule, retime
from .priorities import HeuristicRule, upward_ranks
from .settings import HeuristicSettings
from .timeline import Timeline

__all__ = ["HeuristicRule", "HeuristicSettings", "LARGE_POOL", "SHORTLIST", "Timeline", "heuristic_schedule", "latest_finishes",
           "list_schedule", "retime", "sub_deadlines_from", "upward_ranks"]
