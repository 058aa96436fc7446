"""The engine: plans a `Problem`.

- `options`: `PlanOptions`, the one option type of the planner;
- `run`: the record the stages pass along (`PlanningRun`), and the translations to the
  heuristic's and CP-SAT's settings;
- `stages`: static checks, warm starts, the choice of the result;
- `engines`: what improves the warm start (`Engine`: the heuristic alone, CP-SAT whole or by windows);
- `planner`: `plan` and `plan_problem`, which run the stages;
- `heuristic`: list scheduling; `bounds`, `cost_bound`: proven lower bounds;
  `cpsat`: the exact model; `schedule`: the index-based schedule and its conversion to a plan.
"""

from .engines import CpSatEngine, Engine, HeuristicEngine, engine_for
from .options import Continuation, EngineChoice, PlanOptions
from .planner import plan, plan_problem

__all__ = ["Continuation", "CpSatEngine", "Engine", "EngineChoice", "HeuristicEngine", "PlanOptions", "engine_for", "plan",
           "plan_problem"]
