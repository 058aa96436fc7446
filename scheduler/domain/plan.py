"""The plan (contract: Plan): assignments of replicas to nodes in time, with totals and bounds.

Plan models are lenient about extra fields (plans come from other tools too) but
strict about types: a start time given as text is an error, not a number.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr

from .fields import integral


class PlanStatus(str, Enum):
    """`optimal`: proven best for the objective; `feasible`: valid, not proven best;
    `infeasible`: proven that no plan exists; `unknown`: no plan found within the
    time limit and none proven impossible (an extension of the contract)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


class Objective(str, Enum):
    MAKESPAN = "makespan"
    COST = "cost"


class PlanModel(BaseModel):
    """Base of the plan models: lenient on input (plans come from other tools too)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class Assignment(PlanModel):
    """One replica of one task on one node, in time."""

    task: str
    replica: Annotated[int, BeforeValidator(integral), Field(ge=0)] = 0
    node: str
    start_s: float
    end_s: float


class Unplaceable(PlanModel):
    """A task no plan can place, with how many nodes each rule turned away."""

    task: str
    reasons: dict[str, int] = Field(default_factory=dict)
    rule: str | None = None
    message: str | None = None


class Plan(PlanModel):
    """The plan (contract: Plan). Fields after `unplaceable` are extensions."""

    status: PlanStatus = PlanStatus.FEASIBLE
    objective: Objective = Objective.MAKESPAN
    makespan_s: float | None = None
    cost_usd: float | None = None
    success_probability: float | None = None
    lower_bound_s: float | None = None
    solve_time_s: float | None = None
    assignments: list[Assignment] = Field(default_factory=list)
    unplaceable: list[Unplaceable] | None = None
    # extensions
    gap: float | None = None
    cost_lower_bound_usd: float | None = None
    deadline_s: float | None = None
    success_target: float | None = None
    engine: str | None = None
    heuristic_makespan_s: float | None = None
    heuristic_cost_usd: float | None = None
    messages: list[str] | None = None
    _source: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        return self._source

    @property
    def has_plan(self) -> bool:
        return self.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE)

    def by_task(self) -> dict[str, list[Assignment]]:
        out: dict[str, list[Assignment]] = {}
        for a in self.assignments:
            out.setdefault(a.task, []).append(a)
        return out

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON document of the contract: extension fields left out when unset."""
        data = self.model_dump(mode="json", exclude_none=True)
        for key in ("makespan_s", "cost_usd", "success_probability", "lower_bound_s", "solve_time_s"):
            data.setdefault(key, None)
        if self.status in (PlanStatus.INFEASIBLE, PlanStatus.UNKNOWN):
            data.setdefault("unplaceable", [])
        order = ["status", "objective", "makespan_s", "cost_usd", "success_probability", "lower_bound_s",
                 "solve_time_s", "assignments", "unplaceable"]
        return {k: data[k] for k in order if k in data} | {k: v for k, v in data.items() if k not in order}


