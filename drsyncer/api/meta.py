"""Object metadata and status conditions, shared by every kind."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic.alias_generators import to_camel

from drsyncer.api.camel import StatusModel
from drsyncer.api.names import check_dns_subdomain
from drsyncer.api.schema_hints import OpenAPI


class ObjectMeta(BaseModel):
    """The parts of `metadata` drsyncer reads; the rest is kept but not interpreted."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    name: str
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: list[str] = Field(default_factory=list)
    deletion_timestamp: datetime | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return check_dns_subdomain(name)


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(StatusModel):
    """A `metav1.Condition`."""

    type: str = Field(description="Condition type, e.g. Ready.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(default="", description="One CamelCase word saying why.")
    message: str = Field(default="", description="Human-readable detail.")
    last_transition_time: datetime | None = Field(default=None, description="When `status` last changed.")
    observed_generation: int | None = Field(
        default=None, description="The `metadata.generation` the condition was computed from."
    )


# merged by `type` under server-side apply, as Kubernetes' own condition lists are
Conditions = Annotated[list[Condition], OpenAPI(list_map_keys=("type",))]


def set_condition(
    conditions: list[Condition],
    type_: str,
    status: ConditionStatus | bool,
    reason: str,
    message: str = "",
    now: datetime | None = None,
    observed_generation: int | None = None,
) -> list[Condition]:
    """A copy of `conditions` with `type_` set; lastTransitionTime moves only when the status changes,
    as Kubernetes conventions require (so "since when" stays meaningful)."""
    if isinstance(status, bool):
        status = ConditionStatus.TRUE if status else ConditionStatus.FALSE
    now = now or datetime.now(UTC)
    previous = find_condition(conditions, type_)
    since = now
    if previous is not None and previous.status == status and previous.last_transition_time:
        since = previous.last_transition_time
    updated = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=since,
        observed_generation=observed_generation,
    )
    if previous is None:
        return [*conditions, updated]
    return [updated if c.type == type_ else c for c in conditions]


def find_condition(conditions: list[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def current_conditions(status: Mapping[str, Any]) -> list[Condition]:
    """The conditions of a raw `status` as models; an unreadable one is dropped, so it gets replaced."""
    out = []
    for raw in status.get("conditions") or []:
        try:
            out.append(Condition.model_validate(raw))
        except ValidationError:
            continue
    return out


S = TypeVar("S", bound=BaseModel)


def status_or_empty(value: Any, handler: ValidatorFunctionWrapHandler, empty: type[S]) -> S:
    """A status model from `value`, or an empty one if it cannot be read: a status written by another
    version of drsyncer must never make the object itself invalid."""
    try:
        status: S = handler(value)
    except ValidationError:
        return empty()
    return status
