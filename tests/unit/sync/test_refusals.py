"""Which API errors on an update are refusals of the change (handled like an immutable change), and
the fields they name."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.kube.errors import ApiError
from drsyncer.sync.execute import refused_fields


def _causes(*items: tuple[str, str], message: str = "") -> dict[str, Any]:
    return {"causes": [{"reason": reason, "field": field, "message": message} for reason, field in items]}


CASES = [
    (
        "422 field is immutable",
        ApiError(
            422,
            "Invalid",
            "spec.selector: Invalid value: {}: field is immutable",
            details=_causes(("FieldValueInvalid", "spec.selector")),
        ),
        ("spec.selector",),
    ),
    (
        "422 cannot change roleRef",
        ApiError(
            422,
            "Invalid",
            "roleRef: Invalid value: x: cannot change roleRef",
            details=_causes(("FieldValueInvalid", "roleRef")),
        ),
        ("roleRef",),
    ),
    (
        "422 statefulset spec forbidden",
        ApiError(
            422,
            "Invalid",
            "spec: Forbidden: updates to statefulset spec",
            details=_causes(("FieldValueForbidden", "spec")),
        ),
        ("spec",),
    ),
    ("422 without causes worded as a refusal", ApiError(422, "Invalid", "x: field is immutable"), ()),
    ("422 without causes for an invalid value", ApiError(422, "Invalid", "invalid"), None),
    (
        # the destination will not take the value whatever its copy held: a failure, not a refusal
        "422 node port already allocated",
        ApiError(
            422,
            "Invalid",
            'Service "api" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is '
            "already allocated",
            details=_causes(
                ("FieldValueInvalid", "spec.ports[0].nodePort"),
                message="Invalid value: 30080: provided port is already allocated",
            ),
        ),
        None,
    ),
    (
        "422 naming an immutable field and an invalid one",
        ApiError(
            422,
            "Invalid",
            "two errors",
            details={
                "causes": [
                    {
                        "reason": "FieldValueInvalid",
                        "field": "spec.selector",
                        "message": "field is immutable",
                    },
                    {"reason": "FieldValueInvalid", "field": "spec.x", "message": "Invalid value: 1: bad"},
                ]
            },
        ),
        ("spec.selector",),
    ),
    (
        "403 field errors",
        ApiError(
            403,
            "Forbidden",
            "x is forbidden",
            details=_causes(("FieldValueForbidden", "spec.x"), ("FieldValueForbidden", "spec.x")),
        ),
        ("spec.x",),
    ),
    (
        "403 of an admission plugin",
        ApiError(
            403,
            "Forbidden",
            'persistentvolumeclaims "logs" is forbidden: only '
            "dynamically provisioned pvc can be resized and the storageclass that "
            "provisions the pvc must support resize",
        ),
        (),
    ),
    (
        "403 of authorization",
        ApiError(
            403,
            "Forbidden",
            'configmaps "a" is forbidden: User "sa" cannot update '
            'resource "configmaps" in API group "" in the namespace "shop"',
        ),
        None,
    ),
    (
        "403 namespace terminating",
        ApiError(
            403,
            "Forbidden",
            "unable to create new content",
            details=_causes(("NamespaceTerminating", "metadata.namespace")),
        ),
        None,
    ),
    ("409 conflict", ApiError(409, "Conflict", "the object has been modified"), None),
    ("500", ApiError(500, "InternalError", "boom"), None),
]


@pytest.mark.parametrize(("error", "fields"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusals_of_an_update_are_told_from_other_errors(
    error: ApiError, fields: tuple[str, ...] | None
) -> None:
    assert refused_fields(error) == fields
