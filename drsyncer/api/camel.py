"""The pydantic base classes every CR model derives from: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

# the error type that carries several (relative path, message) problems found across fields
PROBLEMS_ERROR = "field_problems"

Problem = tuple[str, str]


class SpecModel(BaseModel):
    """A part of a `spec`: unknown fields are errors, because a field that is silently ignored is a
    promise drsyncer would not keep."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_default=True,
    )

    def problems(self) -> list[Problem]:
        """Rules that span fields, as (path relative to this model, message); overridden per model."""
        return []

    @model_validator(mode="after")
    def _no_problems(self) -> SpecModel:
        # one error carrying every problem, each with its own path: pydantic cannot point a
        # model-level error at a field, and users should see all of them at once
        found = self.problems()
        if found:
            text = "; ".join(f"{path}: {message}" if path else message for path, message in found)
            raise PydanticCustomError(PROBLEMS_ERROR, "{text}", {"text": text, "problems": found})
        return self


class StatusModel(BaseModel):
    """A part of a `status`: written by drsyncer, read back leniently (older writers, the Go operator)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
    )
