"""Field types and the strict base model shared by every input file.

Every input model is strict: unknown fields are rejected (except under
``labels``), numbers must be numbers (never strings), ranges are checked. The
helpers here carry a located message through pydantic so that an error names the
path to the field.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr
from pydantic_core import PydanticCustomError

MAX_SECONDS = 1e9  # about 31 years: longer runtimes are typos, and they would overflow the solver's clock
MAX_QUANTITY = 1e9


def integral(value: Any) -> Any:
    """Accept 8.0 where a whole number is expected (JSON writers emit it); reject 8.5."""
    if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
        return int(value)
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # characters an id may not hold


def _identifier(value: Any) -> Any:
    if isinstance(value, str):
        if value != value.strip():
            raise PydanticCustomError("id_whitespace", "must not start or end with white space")
        if _CONTROL.search(value):
            raise PydanticCustomError("id_control", "must not hold control characters")
    return value


def _labels(value: Any) -> Any:
    """Labels take any map of scalars; numbers and booleans are kept as their text."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, int | float):
                v = str(v)
            out[str(k) if isinstance(k, int | float | bool) else k] = v
        return out
    return value


Identifier = Annotated[str, Field(min_length=1, max_length=256), BeforeValidator(_identifier)]
Name = Annotated[str, Field(max_length=256)]
Seconds = Annotated[float, Field(gt=0, le=MAX_SECONDS)]
NonNegFloat = Annotated[float, Field(ge=0, le=MAX_QUANTITY)]
PositiveFloat = Annotated[float, Field(gt=0, le=MAX_QUANTITY)]
Speed = Annotated[float, Field(ge=1e-6, le=1e6)]
Bandwidth = Annotated[float, Field(ge=1e-6, le=1e6)]
Probability = Annotated[float, Field(ge=0, le=1)]
GpuCount = Annotated[int, Field(ge=0, le=1_000_000), BeforeValidator(integral)]
ReplicaCount = Annotated[int, Field(ge=1, le=1000), BeforeValidator(integral)]
CountryCode = Annotated[str, Field(pattern=r"^([A-Z]{2})?$")]
Labels = Annotated[dict[str, str], BeforeValidator(_labels)]

TeeKind = Literal["sgx", "tdx", "sev-snp", "nvidia-cc"]
TEE_KINDS: tuple[str, ...] = ("sgx", "tdx", "sev-snp", "nvidia-cc")
SpreadKey = Literal["node", "operator", "network", "region", "country"]


class StrictModel(BaseModel):
    """Base of the input models: strict types, no unknown fields, finite numbers."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        allow_inf_nan=False,
        frozen=False,
        validate_default=False,
        populate_by_name=False,
    )


class FileModel(StrictModel):
    """A model read from one file: it remembers the file's name (for messages) and the notes
    made while reading it (e.g. ambiguous YAML), so that they travel with what was loaded."""

    _source: str = PrivateAttr(default="")
    _notes: list[str] = PrivateAttr(default_factory=list)

    @property
    def source(self) -> str:
        return self._source

    @property
    def notes(self) -> list[str]:
        return list(self._notes)


def located(message: str, *loc: str | int) -> PydanticCustomError:
    # pydantic re-wraps ValueErrors; a custom error keeps our text and we carry the path in ctx
    return PydanticCustomError("located", "{message}", {"message": message, "loc": list(loc)})


def check_unique(ids: list[str], what: str, prefix: tuple[str | int, ...] = (), key: str = "id",
                  where: str = "nodes") -> None:
    """Raise on the second occurrence of an id; `prefix` is the path the validator's own loc lacks."""
    first: dict[str, int] = {}
    for i, x in enumerate(ids):
        if x in first:
            raise located(f"duplicate {what} id {x!r} (first at {where}[{first[x]}])", *prefix, i, key)
        first[x] = i


def suggest(name: str, known: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75) if len(known) < 50_000 else []
    return f"; did you mean {close[0]!r}?" if close else ""
