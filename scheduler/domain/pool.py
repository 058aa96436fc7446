"""The node pool (contract: Node pool): rented machines and bandwidth overrides."""

from __future__ import annotations

import math
from functools import cached_property
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .fields import (
    Bandwidth,
    CountryCode,
    FileModel,
    GpuCount,
    Identifier,
    MAX_SECONDS,
    Labels,
    Name,
    NonNegFloat,
    Probability,
    Speed,
    StrictModel,
    TeeKind,
    check_unique,
    located,
    suggest,
)


class Window(StrictModel):
    """A stretch of time the node may be used (contract 1.1: Availability windows)."""

    from_s: Annotated[float, Field(ge=0, le=MAX_SECONDS)] = Field(0.0, description="Start, seconds (default 0).")
    until_s: Annotated[float, Field(gt=0, le=MAX_SECONDS)] | None = Field(
        None, description="End, seconds; absent = open-ended.")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.until_s is not None and self.until_s <= self.from_s:
            raise located(f"until_s {self.until_s:g} must be after from_s {self.from_s:g}", "until_s")
        return self

    @property
    def end_s(self) -> float:
        return math.inf if self.until_s is None else self.until_s


class Node(StrictModel):
    """A rented machine with `gpus` GPU slots (contract: Node pool)."""

    id: Identifier = Field(description="Unique id of the node.")
    network: Name = Field("unknown", description="Marketplace the node is rented through.")
    operator: Name | None = Field(None, description="Who controls the machine (default: the node's id).")
    region: Name = Field("", description="Region, for bandwidth overrides and policy rules.")
    country: CountryCode = Field("", description="ISO 3166-1 alpha-2 country code.")
    gpu: Name = Field("", description="GPU model name (matches a task's duration_by_gpu).")
    gpus: GpuCount = Field(0, description="GPU slots.")
    gpu_memory_gb: NonNegFloat = Field(0.0, description="Memory per GPU, GB (10^9 bytes).")
    speed: Speed = Field(1.0, description="Throughput relative to the reference GPU (> 0).")
    price_per_gpu_hour: NonNegFloat = Field(0.0, description="USD per GPU-hour.")
    tee: list[TeeKind] = Field(default_factory=list, description="Trusted execution environments: sgx, tdx, sev-snp, nvidia-cc.")
    attested: bool = Field(False, description="Remote attestation verified.")
    reputation: Probability = Field(0.5, description="Probability that a task placed here completes, in [0, 1].")
    bandwidth_gbps: Bandwidth = Field(1.0, description="The node's network link, Gbit/s.")
    available: Annotated[list[Window], Field(min_length=1)] | None = Field(
        None, description="When the node may be used (a lease, a machine lent at night); absent = always. Every "
                          "replica lies inside one window.")
    failures_per_hour: Annotated[float, Field(ge=0, le=1e6)] = Field(
        0.0, description="Failure rate while a replica runs: it completes with reputation x "
                         "exp(-failures_per_hour x runtime_h).")
    labels: Labels = Field(default_factory=dict, description="Any string map.")

    @model_validator(mode="after")
    def _default_operator(self) -> Node:
        if self.operator is None:
            self.operator = self.id
        return self

    @property
    def operator_id(self) -> str:
        return self.operator if self.operator is not None else self.id


class Link(StrictModel):
    """An override of the bandwidth between two nodes, or between two regions."""

    nodes: Annotated[list[Identifier], Field(min_length=2, max_length=2)] | None = Field(
        None, description="Two node ids: the bandwidth between them.")
    regions: Annotated[list[Name], Field(min_length=2, max_length=2)] | None = Field(
        None, description="Two regions (or one twice: inside it): the bandwidth between their nodes.")
    bandwidth_gbps: Bandwidth = Field(description="Gbit/s.")

    @model_validator(mode="after")
    def _one_kind(self) -> Link:
        if (self.nodes is None) == (self.regions is None):
            raise PydanticCustomError("link_kind", "a link names either two `nodes` or two `regions`")
        return self


class NodePool(FileModel):
    """The nodes a plan may use, and optional bandwidth overrides between them."""

    nodes: Annotated[list[Node], Field(min_length=1)] = Field(description="The machines.")
    links: list[Link] = Field(default_factory=list, description="Bandwidth overrides between node or region pairs.")
    labels: Labels = Field(default_factory=dict, description="Any string map.")

    @field_validator("nodes")
    @classmethod
    def _unique_ids(cls, nodes: list[Node]) -> list[Node]:
        check_unique([n.id for n in nodes], "node")
        return nodes

    @field_validator("links", mode="before")
    @classmethod
    def _links_none(cls, value: Any) -> Any:
        return [] if value is None else value

    @model_validator(mode="after")
    def _links_known(self) -> NodePool:
        ids = {n.id for n in self.nodes}
        seen: dict[tuple[str, frozenset[str]], int] = {}
        for i, link in enumerate(self.links):
            if link.nodes is not None:
                for j, nid in enumerate(link.nodes):
                    if nid not in ids:
                        raise located(
                            f"unknown node {nid!r}{suggest(nid, ids)}", "links", i, "nodes", j
                        )
                if link.nodes[0] == link.nodes[1]:
                    raise located(f"names node {link.nodes[0]!r} twice; a node-pair link joins two nodes "
                                  f"(a node's own link is its bandwidth_gbps)", "links", i, "nodes")
                key = ("nodes", frozenset(link.nodes))
            else:
                key = ("regions", frozenset(link.regions or ()))
            if key in seen:
                raise located(f"a second link for the same pair (first at links[{seen[key]}])", "links", i)
            seen[key] = i
        return self

    @cached_property
    def by_id(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}


