"""The policy file (contract: Policy): sensitivity levels, least sensitive first, each with its rules."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated

from pydantic import Field, model_validator

from .fields import (
    CountryCode,
    FileModel,
    Identifier,
    Labels,
    Name,
    Probability,
    ReplicaCount,
    SpreadKey,
    StrictModel,
    TeeKind,
    check_unique,
    located,
)


class Level(StrictModel):
    """A sensitivity level and every rule that applies to tasks at that level."""

    name: Identifier = Field(description="Unique name of the level.")
    description: str = Field("", description="Free text for people.")
    tee: list[TeeKind] | None = Field(
        None, description="The node must have at least one of these TEEs; absent or [] = none needed.")
    attested: bool = Field(False, description="The node's remote attestation must be verified.")
    min_reputation: Probability = Field(0.0, description="Least node reputation (observed completion rate).")
    countries: list[CountryCode] | None = Field(
        None, description="Allowed ISO 3166-1 alpha-2 countries; absent = any. Quote NO: YAML 1.1 reads it as false.")
    regions: list[Name] | None = Field(None, description="Allowed regions; absent = any.")
    networks: list[Name] | None = Field(None, description="Allowed networks (marketplaces); absent = any.")
    min_replicas: ReplicaCount = Field(1, description="Least number of replicas, on distinct nodes.")
    spread: SpreadKey | None = Field(
        None, description="Replicas need distinct values of this node attribute (default: node).")
    min_success: Probability | None = Field(
        None, description="The probability that at least `quorum` replicas complete (each with its completion "
                          "probability) must reach this.")
    quorum: ReplicaCount = Field(
        1, description="Replicas that must finish (and agree) for the task to count as done: at least this many "
                       "replicas, children wait for the quorum-th copy of the data.")
    declassify_to: Identifier | None = Field(
        None, description="Lowest level a declassifying task may release this data at; absent = never lowered.")
    labels: Labels = Field(default_factory=dict, description="Any string map, for people and tools.")

    @property
    def spread_key(self) -> str:
        return self.spread or "node"

    @property
    def tee_kinds(self) -> list[str]:
        return list(self.tee or [])


class Policy(FileModel):
    """Ordered sensitivity levels, least sensitive first."""

    default_level: Identifier | None = Field(
        None, description="Level of tasks that declare no sensitivity (default: the first level).")
    description: str = Field("", description="Free text for people.")
    levels: Annotated[list[Level], Field(min_length=1)] = Field(
        description="Levels from least to most sensitive; each states all its rules.")
    labels: Labels = Field(default_factory=dict, description="Any string map, for people and tools.")

    @model_validator(mode="after")
    def _references(self) -> Policy:
        names = [lv.name for lv in self.levels]
        check_unique(names, "level", ("levels",), key="name", where="levels")
        known = set(names)
        if self.default_level is not None and self.default_level not in known:
            raise located(
                f"unknown level {self.default_level!r}; the levels are {', '.join(names)}", "default_level"
            )
        for i, lv in enumerate(self.levels):
            if lv.declassify_to is not None and lv.declassify_to not in known:
                raise located(
                    f"unknown level {lv.declassify_to!r}; the levels are {', '.join(names)}",
                    "levels",
                    i,
                    "declassify_to",
                )
        return self

    @property
    def default(self) -> str:
        return self.default_level if self.default_level is not None else self.levels[0].name

    @cached_property
    def rank(self) -> dict[str, int]:
        """Level name -> position, 0 = least sensitive."""
        return {lv.name: i for i, lv in enumerate(self.levels)}

    def level(self, name: str) -> Level:
        return self.levels[self.rank[name]]


def permissive_policy() -> Policy:
    """The policy used when none is given: one level, ``public``, with no rules."""
    return Policy(default_level="public", levels=[Level(name="public")])


