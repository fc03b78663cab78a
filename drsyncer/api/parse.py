"""Raw CR dicts in, validated models out, or every field-level error at once.

Error strings name the field path the way `kubectl explain` does:
`spec.pvcConfig.storageClassMappings[1].to: must not be empty`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from drsyncer.api import keys
from drsyncer.api.camel import PROBLEMS_ERROR
from drsyncer.api.remotecluster import RemoteCluster
from drsyncer.api.replication import Replication, raw_cross_field_problems
from drsyncer.errors import DrsyncerError

# map-valued fields: their keys are data, so they are shown as `field[key]`, not `field.key`
_MAP_FIELDS = frozenset({"matchLabels", "resourceOverrides", "labels", "annotations", "set"})
# the fields of a modifier's `labels` and `annotations` ({set, remove}), which are not map keys
_METADATA_CHANGE_FIELDS = frozenset({"set", "remove"})


class InvalidSpec(DrsyncerError):
    """A custom resource that does not validate; `errors` holds one `path: message` per problem."""

    def __init__(self, ref: str, errors: list[str]) -> None:
        super().__init__(f"{ref}: " + "; ".join(errors))
        self.ref = ref
        self.errors = errors

    @property
    def summary(self) -> str:
        """The errors in one line, without the object reference: the InvalidSpec condition message."""
        return "; ".join(self.errors)


def object_ref(obj: Mapping[str, Any]) -> str:
    """`Kind/namespace/name` of a raw object, as far as it can be read (for messages)."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        meta = {}
    kind = obj.get("kind") or "?"
    namespace = meta.get("namespace") or "default"
    return f"{kind}/{namespace}/{meta.get('name') or '?'}"


def format_path(loc: Sequence[int | str]) -> str:
    """('spec', 'pvcConfig', 'storageClassMappings', 1, 'to') → spec.pvcConfig.storageClassMappings[1].to"""
    text = ""
    previous: int | str | None = None
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself failed", already shown as [key]
            continue
        if isinstance(part, int) or (previous in _MAP_FIELDS and part not in _METADATA_CHANGE_FIELDS):
            text += f"[{part}]"
        elif part:
            text += f".{part}" if text else str(part)
        previous = part
    return text


def _message(error: Mapping[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"must be one of {expected} (got {_shown(error['input'])})"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false (got {_shown(error['input'])})"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be an integer (got {_shown(error['input'])})"
    if kind in ("float_type", "float_parsing"):
        return f"must be a number (got {_shown(error['input'])})"
    if kind in ("string_type",):
        return f"must be a string (got {_shown(error['input'])})"
    if kind in ("list_type",):
        return "must be a list"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be an object"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _shown(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def field_errors(exc: ValidationError) -> list[str]:
    """Every error of a pydantic validation as `path: message`, in document order."""
    out: list[str] = []
    for error in exc.errors():
        loc = list(error["loc"])
        if error["type"] == PROBLEMS_ERROR:
            for sub_path, message in error["ctx"]["problems"]:
                path = format_path(loc)
                where = ".".join(p for p in (path, sub_path) if p)
                out.append(f"{where}: {message}")
        else:
            out.append(f"{format_path(loc) or '(object)'}: {_message(error)}")
    return out


def _parse(model: type[BaseModel], obj: Any, kind: str) -> Any:
    if not isinstance(obj, Mapping):
        raise InvalidSpec(f"{kind}/?/?", [f"(object): must be a mapping, not {type(obj).__name__}"])
    ref = object_ref(obj)
    errors: list[str] = []
    if obj.get("apiVersion") != keys.API_VERSION:
        errors.append(f"apiVersion: must be {keys.API_VERSION} (got {_shown(obj.get('apiVersion'))})")
    if obj.get("kind") != kind:
        errors.append(f"kind: must be {kind} (got {_shown(obj.get('kind'))})")
    if errors:
        raise InvalidSpec(ref, errors)
    try:
        return model.model_validate(dict(obj))
    except ValidationError as exc:
        raise InvalidSpec(ref, field_errors(exc)) from None


def parse_replication(obj: Mapping[str, Any]) -> Replication:
    """A Replication dict (as read from the API or a file) → model, or InvalidSpec with every error."""
    try:
        result: Replication = _parse(Replication, obj, keys.KIND_REPLICATION)
    except InvalidSpec as exc:
        # the cross-field checks pydantic skipped because some field failed (they ran if none did)
        extra = [
            f"spec.{path}: {message}"
            for path, message in raw_cross_field_problems(
                obj.get("spec") if isinstance(obj, Mapping) else None
            )
        ]
        errors = exc.errors + [e for e in extra if e not in exc.errors]
        if errors == exc.errors:
            raise
        raise InvalidSpec(exc.ref, errors) from None
    return result


def parse_remote_cluster(obj: Mapping[str, Any]) -> RemoteCluster:
    """A RemoteCluster dict → model, or InvalidSpec with every error."""
    result: RemoteCluster = _parse(RemoteCluster, obj, keys.KIND_REMOTE_CLUSTER)
    return result
