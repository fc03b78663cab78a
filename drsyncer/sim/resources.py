"""The resource types one simulated cluster serves: the built-in table plus whatever its CRDs declare."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from drsyncer.api.builtin_kinds import BUILTIN_KINDS, BuiltinKind

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# Kinds `kubectl get all` shows, as on a real server.
IN_CATEGORY_ALL = {
    "pods",
    "services",
    "deployments",
    "statefulsets",
    "daemonsets",
    "replicasets",
    "jobs",
    "cronjobs",
    "horizontalpodautoscalers",
}


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    format: str = ""


@dataclass(frozen=True)
class ScaleSpec:
    spec_replicas_path: str = ".spec.replicas"
    status_replicas_path: str = ".status.replicas"
    label_selector_path: str | None = None


# Built-in kinds whose registry keeps metadata.generation (kube-apiserver 1.34, checked against it);
# the others (ConfigMaps, Services, RBAC, ...) have none. Custom resources always have one.
WITH_GENERATION = frozenset(
    {
        ("", "pods"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("apps", "replicasets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
        ("networking.k8s.io", "ingresses"),
        ("networking.k8s.io", "networkpolicies"),
        ("policy", "poddisruptionbudgets"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
    }
)


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    status: bool = False
    scale: ScaleSpec | None = None
    categories: tuple[str, ...] = ()
    printer_columns: tuple[PrinterColumn, ...] = ()
    list_kind: str = ""
    custom: bool = False
    # Fields a CRD declares selectable (spec.versions[].selectableFields).
    selectable_fields: tuple[str, ...] = field(default=())
    # openAPIV3Schema of a CRD version, for defaulting; not part of the type's identity
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def has_generation(self) -> bool:
        return self.custom or self.key in WITH_GENERATION

    @property
    def key(self) -> tuple[str, str]:
        """Objects are stored per (group, plural): one storage shared by all served versions."""
        return (self.group, self.plural)

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"

    def discovery_entries(self) -> list[dict[str, Any]]:
        main: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(ALL_VERBS),
            "shortNames": list(self.short_names),
            "storageVersionHash": hashlib.sha256(f"{self.api_version}/{self.kind}".encode()).hexdigest()[:12],
        }
        if self.categories:
            main["categories"] = list(self.categories)
        entries = [main]
        if self.status:
            entries.append(
                {
                    "name": f"{self.plural}/status",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        if self.key == ("", "pods"):
            entries.append(
                {
                    "name": "pods/eviction",
                    "singularName": "",
                    "namespaced": True,
                    "group": "policy",
                    "version": "v1",
                    "kind": "Eviction",
                    "verbs": ["create"],
                }
            )
        if self.scale:
            entries.append(
                {
                    "name": f"{self.plural}/scale",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": ["get", "patch", "update"],
                }
            )
        return entries


def from_builtin(kind: BuiltinKind) -> ResourceType:
    return ResourceType(
        group=kind.group,
        version=kind.version,
        kind=kind.kind,
        plural=kind.plural,
        singular=kind.singular,
        namespaced=kind.namespaced,
        short_names=kind.short_names,
        status=kind.status_subresource,
        scale=ScaleSpec(label_selector_path=".spec.selector") if kind.scale_subresource else None,
        categories=("all",) if kind.plural in IN_CATEGORY_ALL else (),
    )


def from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version of a CRD."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    types = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        sub = version.get("subresources") or {}
        scale = None
        if "scale" in sub:
            s = sub["scale"] or {}
            scale = ScaleSpec(
                s.get("specReplicasPath", ".spec.replicas"),
                s.get("statusReplicasPath", ".status.replicas"),
                s.get("labelSelectorPath"),
            )
        columns = tuple(
            PrinterColumn(
                c.get("name", ""),
                c.get("type", "string"),
                c.get("jsonPath", ""),
                c.get("description", ""),
                int(c.get("priority", 0)),
                c.get("format", ""),
            )
            for c in version.get("additionalPrinterColumns") or []
        )
        selectable = tuple(f.get("jsonPath", "").lstrip(".") for f in version.get("selectableFields") or [])
        types.append(
            ResourceType(
                group=spec.get("group", ""),
                version=version.get("name", ""),
                kind=names.get("kind", ""),
                plural=names.get("plural", ""),
                singular=names.get("singular") or names.get("kind", "").lower(),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                status="status" in sub,
                scale=scale,
                categories=tuple(names.get("categories") or ()),
                printer_columns=columns,
                list_kind=names.get("listKind", ""),
                custom=True,
                selectable_fields=selectable,
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
            )
        )
    return types


class Registry:
    """Which (group, version, plural) the cluster serves; CRDs add and remove entries at run time."""

    def __init__(self) -> None:
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self._crd_types: dict[str, list[ResourceType]] = {}
        for kind in BUILTIN_KINDS:
            rt = from_builtin(kind)
            self._by_gvr[(rt.group, rt.version, rt.plural)] = rt

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in self._by_gvr.values():
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        return None

    def versions_of(self, group: str, plural: str) -> list[ResourceType]:
        return [rt for rt in self._by_gvr.values() if rt.group == group and rt.plural == plural]

    def serve_crd(self, crd: dict[str, Any]) -> None:
        name = crd["metadata"]["name"]
        self.forget_crd(name)
        types = from_crd(crd)
        for rt in types:
            self._by_gvr[(rt.group, rt.version, rt.plural)] = rt
        self._crd_types[name] = types

    def forget_crd(self, name: str) -> list[ResourceType]:
        types = self._crd_types.pop(name, [])
        for rt in types:
            self._by_gvr.pop((rt.group, rt.version, rt.plural), None)
        return types

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self._by_gvr.values()))

    def groups(self) -> dict[str, list[str]]:
        """Group name → served versions, preferred (first declared) first; the core group excluded."""
        groups: dict[str, list[str]] = {}
        for rt in self._by_gvr.values():
            if rt.group and rt.version not in groups.setdefault(rt.group, []):
                groups[rt.group].append(rt.version)
        for versions in groups.values():
            versions.sort(key=_version_priority)
        return groups


def _version_priority(version: str) -> tuple[int, int, int]:
    """kube's ordering: GA before beta before alpha, higher numbers first."""
    match = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", version)
    if not match:
        return (3, 0, 0)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0))
