"""Label and field selectors: parsed once per request, then matched against plain object dicts."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from drsyncer.sim.errors import ApiError, bad_request

LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        if self.op in ("!=", "notin"):
            return not present or labels[self.key] not in self.values
        if not present:
            return False
        try:
            value = int(labels[self.key])
        except ValueError:
            return False
        return value > int(self.values[0]) if self.op == "gt" else value < int(self.values[0])


LabelSelector = tuple[Requirement, ...]


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _label_error(requirement: str, why: str) -> ApiError:
    return bad_request(f"unable to parse requirement: {why} (in {requirement!r})")


def _check_key(key: str, requirement: str) -> str:
    if not LABEL_KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
        raise _label_error(
            requirement,
            f'Invalid value: "{key}": name part must consist of alphanumeric '
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        )
    return key


def _check_value(value: str, requirement: str) -> str:
    if not LABEL_VALUE.match(value) or len(value) > 63:
        raise _label_error(
            requirement,
            f'Invalid value: "{value}": a valid label must be an empty string or '
            "consist of alphanumeric characters, '-', '_' or '.'",
        )
    return value


_SET_FORM = re.compile(r"^\s*(\S+)\s+(in|notin)\s*\((.*)\)\s*$")
_CMP_FORM = re.compile(r"^\s*([^!=<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)\s*$")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse `a=b,c!=d,e in (f,g),h notin (i),j,!k` the way kube-apiserver does; BadRequest if malformed."""
    if not text or not text.strip():
        return ()
    requirements: list[Requirement] = []
    for raw in _split_top_level(text):
        part = raw.strip()
        if not part:
            raise _label_error(raw, "found '', expected: identifier")
        set_form = _SET_FORM.match(part)
        if set_form:
            key, op, inner = set_form.groups()
            values = tuple(_check_value(v.strip(), part) for v in inner.split(",")) if inner.strip() else ()
            if not values:
                raise _label_error(part, "for 'in', 'notin' operators, values set can't be empty")
            requirements.append(Requirement(_check_key(key, part), op, values))
            continue
        cmp_form = _CMP_FORM.match(part)
        if cmp_form:
            key, op, value = cmp_form.groups()
            if op in (">", "<"):
                if not value.lstrip("-").isdigit():
                    raise _label_error(
                        part, f"for 'Gt', 'Lt' operators, the value must be an integer: {value}"
                    )
                requirements.append(Requirement(_check_key(key, part), "gt" if op == ">" else "lt", (value,)))
            else:
                requirements.append(
                    Requirement(
                        _check_key(key, part), "!=" if op == "!=" else "=", (_check_value(value, part),)
                    )
                )
            continue
        if part.startswith("!"):
            requirements.append(Requirement(_check_key(part[1:].strip(), part), "!exists"))
            continue
        if re.search(r"\s|[()=!<>]", part):
            raise _label_error(part, "found unexpected token")
        requirements.append(Requirement(_check_key(part, part), "exists"))
    return tuple(requirements)


def labels_match(selector: LabelSelector, obj: Mapping[str, Any]) -> bool:
    if not selector:
        return True
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(req.matches(labels) for req in selector)


@dataclass(frozen=True)
class FieldRequirement:
    path: tuple[str, ...]
    equal: bool
    value: str


FieldSelector = tuple[FieldRequirement, ...]

# Fields each resource lets a client select on, beyond metadata.name and metadata.namespace.
EXTRA_SELECTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "secrets": ("type",),
    "namespaces": ("status.phase",),
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "replicasets": ("status.replicas",),
    "jobs": ("status.successful",),
}


def parse_field_selector(
    text: str | None, resource: str, extra_fields: tuple[str, ...] = ()
) -> FieldSelector:
    if not text or not text.strip():
        return ()
    allowed = {
        "metadata.name",
        "metadata.namespace",
        *EXTRA_SELECTABLE_FIELDS.get(resource, ()),
        *extra_fields,
    }
    requirements = []
    for raw in text.split(","):
        part = raw.strip()
        match = re.match(r"^([^!=]+?)\s*(==|=|!=)\s*(.*)$", part)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = match.groups()
        field = field.strip()
        if field not in allowed:
            raise bad_request(
                f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"'
            )
        requirements.append(FieldRequirement(tuple(field.split(".")), op != "!=", value.strip()))
    return tuple(requirements)


def _field_value(obj: Mapping[str, Any], path: tuple[str, ...]) -> str:
    current: Any = obj
    for step in path:
        if not isinstance(current, Mapping):
            return ""
        current = current.get(step)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def fields_match(selector: FieldSelector, obj: Mapping[str, Any]) -> bool:
    return all((_field_value(obj, req.path) == req.value) == req.equal for req in selector)


def matcher(labels: LabelSelector, fields: FieldSelector) -> Callable[[Mapping[str, Any]], bool] | None:
    """One predicate for both selectors, or None when nothing is selected (the fast path)."""
    if not labels and not fields:
        return None
    return lambda obj: labels_match(labels, obj) and fields_match(fields, obj)
