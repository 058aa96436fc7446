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
    """Base of the plan models: extra fields are kept (plans come from other tools too), but the
    contract's fields have their types: a start given as text or a replica given as true is an error."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


StrictFloat = Annotated[float, Field(strict=True)]
StrictText = Annotated[str, Field(strict=True)]


class Assignment(PlanModel):
    """One replica of one task on one node, in time."""

    task: StrictText = Field(description="The task's id.")
    replica: Annotated[int, Field(ge=0, strict=True), BeforeValidator(integral)] = Field(
        0, description="Which replica of the task (0, 1, ...).")
    node: StrictText = Field(description="The node's id.")
    start_s: StrictFloat = Field(description="Start, seconds from the plan's start.")
    end_s: StrictFloat = Field(description="End, seconds from the plan's start.")


class Unplaceable(PlanModel):
    """A task no plan can place, with how many nodes each rule turned away."""

    task: str
    reasons: dict[str, int] = Field(default_factory=dict)
    rule: str | None = None
    message: str | None = None


class Plan(PlanModel):
    """The plan (contract: Plan). Fields after `unplaceable` are extensions."""

    status: PlanStatus = Field(PlanStatus.FEASIBLE, description="optimal | feasible | infeasible | unknown.")
    objective: Objective = Field(Objective.MAKESPAN, description="makespan | cost.")
    makespan_s: StrictFloat | None = Field(None, description="The last end (or write delivery), seconds.")
    cost_usd: StrictFloat | None = Field(None, description="Sum over replicas of runtime x GPUs x price, USD.")
    success_probability: StrictFloat | None = Field(None, description="Probability that every task succeeds.")
    lower_bound_s: StrictFloat | None = Field(None, description="No plan finishes sooner, seconds (proven).")
    solve_time_s: StrictFloat | None = Field(None, description="Wall-clock seconds spent planning.")
    assignments: list[Assignment] = Field(default_factory=list, description="One row per replica (per node of a gang).")
    unplaceable: list[Unplaceable] | None = Field(None, description="When infeasible: the tasks and rules to blame.")
    # extensions
    gap: StrictFloat | None = Field(None, description="(objective - bound) / objective.")
    cost_lower_bound_usd: StrictFloat | None = Field(None, description="No plan within the deadline costs less, USD.")
    deadline_s: StrictFloat | None = Field(None, description="The deadline the plan was asked to meet, seconds.")
    success_target: StrictFloat | None = Field(None, description="The success probability it was asked to reach.")
    engine: str | None = Field(None, description="What produced the plan: heuristic, cp-sat, base plan.")
    heuristic_makespan_s: StrictFloat | None = Field(None, description="The heuristic's makespan, seconds.")
    heuristic_cost_usd: StrictFloat | None = Field(None, description="The heuristic's cost, USD.")
    messages: list[str] | None = Field(None, description="Notes for people.")
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


