"""File formats: reading YAML and JSON safely (`documents`), loading the contract's files
into the domain models (`loading`), WfCommons traces as workloads (`wfformat`), and the
JSON Schemas generated from the models (`schema`)."""

from .documents import parse_text, read_document
from .loading import load_nodes, load_plan, load_policy, load_workload, validate
from .schema import json_schema

__all__ = ["json_schema", "load_nodes", "load_plan", "load_policy", "load_workload", "parse_text", "read_document",
           "validate"]
