"""The engine: plans a `Problem` (see `planner`)."""

from .planner import Engine, PlanOptions, plan, plan_problem

__all__ = ["Engine", "PlanOptions", "plan", "plan_problem"]
