"""Annotated field types shared by the models: each carries its validator and its CRD schema facts."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Strict

from drsyncer.api.durations import DURATION_PATTERN, check_duration
from drsyncer.api.names import (
    check_annotation_key,
    check_dns_label,
    check_dns_subdomain,
    check_label_key,
    check_label_value,
)
from drsyncer.api.resource_types import normalize_resource_type
from drsyncer.api.schedule import check_schedule
from drsyncer.api.schema_hints import OpenAPI


def _not_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _resource_type(value: str) -> str:
    normalize_resource_type(value)
    return value


def _kind_name(value: str) -> str:
    normalize_resource_type(value, allow_all=False)
    return value


# Kubernetes rejects "true" for a boolean and "5" for an integer; so do we (no lax coercion)
Bool = Annotated[bool, Strict()]
Int = Annotated[int, Strict()]
Number = Annotated[float, Strict()]
NonEmpty = Annotated[str, AfterValidator(_not_empty)]
ObjectName = Annotated[str, AfterValidator(check_dns_subdomain)]
NamespaceName = Annotated[str, AfterValidator(check_dns_label)]
LabelKey = Annotated[str, AfterValidator(check_label_key)]
AnnotationKey = Annotated[str, AfterValidator(check_annotation_key)]
LabelValue = Annotated[str, AfterValidator(check_label_value)]
Duration = Annotated[str, AfterValidator(check_duration), OpenAPI(pattern=DURATION_PATTERN)]
Schedule = Annotated[str, AfterValidator(check_schedule)]
ResourceType = Annotated[str, AfterValidator(_resource_type)]
ResourceKind = Annotated[str, AfterValidator(_kind_name)]
