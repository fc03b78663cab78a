"""Reading plain Kubernetes object dicts: identity keys and the few accessors every module needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

Obj = dict[str, Any]


class Key(NamedTuple):
    """An object's identity: API group ("" for core), kind, namespace ("" if cluster-scoped), name."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        kind = self.kind if is_builtin_group(self.group) else f"{self.kind}.{self.group}"
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{kind} {where}"


def is_builtin_group(group: str) -> bool:
    """Groups served by Kubernetes itself; anything else belongs to a CRD (whose group has a dot)."""
    return group == "" or "." not in group or group.endswith(".k8s.io")


def group_of(obj: Mapping[str, Any]) -> str:
    api_version = obj.get("apiVersion") or ""
    group, _, _ = api_version.rpartition("/")
    return group


def key_of(obj: Mapping[str, Any], namespace: str | None = None) -> Key:
    """The object's key; a given `namespace` replaces its own (a source object keyed at its destination)."""
    meta = obj.get("metadata") or {}
    own = meta.get("namespace") or ""
    # cluster-scoped objects stay cluster-scoped wherever they are copied
    ns = (namespace if own else "") if namespace is not None else own
    return Key(group_of(obj), obj.get("kind") or "", ns, meta.get("name") or "")


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}
