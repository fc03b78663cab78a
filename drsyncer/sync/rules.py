"""The sync rules of one Replication, read once from its spec and shared by every object of a run.

`Rules.from_spec` takes the spec as the plain camelCase dict of DESIGN.md §3 (what the API server
stores), fills the documented defaults, and normalises every lookup table so that the per-object
code below it does dictionary lookups and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drsyncer.api.replication import DEFAULT_RESOURCE_TYPES, ImmutableHandling
from drsyncer.api.resource_types import kind_names, kind_pattern
from drsyncer.errors import CategorisedError, Category

# the `dr-syncer.io/immutable-handling` label's spellings (the Go operator's), per strategy
_LABEL_HANDLING: dict[str, ImmutableHandling] = {
    "no-change": ImmutableHandling.NO_CHANGE,
    "recreate": ImmutableHandling.RECREATE,
    "recreate-with-drain": ImmutableHandling.RECREATE_WITH_POD_DRAIN,
    "partial-update": ImmutableHandling.PARTIAL_UPDATE,
    "force-update": ImmutableHandling.FORCE_UPDATE,
}


def handling_from_label(value: str) -> ImmutableHandling | None:
    """The strategy a `dr-syncer.io/immutable-handling` label value names (`recreate-with-drain`...)."""
    return _LABEL_HANDLING.get(value.strip().lower())


@dataclass(frozen=True)
class Requirement:
    """One `matchExpressions` entry: operator is In, NotIn, Exists or DoesNotExist."""

    key: str
    operator: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            # Kubernetes semantics: an absent key satisfies NotIn
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels  # DoesNotExist


_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class LabelSelector:
    match_labels: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        return all(req.matches(labels) for req in self.expressions)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], path: str) -> LabelSelector:
        match_labels = spec.get("matchLabels") or {}
        if not isinstance(match_labels, Mapping):
            raise _invalid(f"{path}.matchLabels", "must be a map of label keys to values")
        expressions: list[Requirement] = []
        for i, expr in enumerate(spec.get("matchExpressions") or ()):
            where = f"{path}.matchExpressions[{i}]"
            # str() turns an enum member from a model dump into its plain value
            operator = str(expr.get("operator") or "")
            if operator not in _OPERATORS:
                allowed = ", ".join(_OPERATORS)
                raise _invalid(f"{where}.operator", f"must be one of {allowed}, not {operator!r}")
            values = frozenset(str(v) for v in expr.get("values") or ())
            if operator in ("In", "NotIn") and not values:
                raise _invalid(f"{where}.values", f"must not be empty for operator {operator}")
            if operator in ("Exists", "DoesNotExist") and values:
                raise _invalid(f"{where}.values", f"must be empty for operator {operator}")
            expressions.append(Requirement(str(expr.get("key", "")), operator, values))
        return cls(tuple(sorted((str(k), str(v)) for k, v in match_labels.items())), tuple(expressions))


@dataclass(frozen=True)
class Rules:
    """Everything about a Replication that changes how one object is selected, transformed or planned."""

    replication: str  # "<namespace>/<name>" of the Replication, as written in the ownership marks
    source_cluster: str
    resource_types: tuple[str, ...] = DEFAULT_RESOURCE_TYPES
    sync_crds: bool = False
    scale_to_zero: bool = True
    # Services: node ports are allocated per cluster, so by default the destination picks its own.
    # No spec field sets this yet; callers such as the CLI may.
    keep_node_ports: bool = False
    storage_class_mappings: tuple[tuple[str, str], ...] = ()
    access_mode_mappings: tuple[tuple[str, str], ...] = ()
    preserve_volume_attributes: bool = False
    sync_persistent_volumes: bool = False
    # (source, destination) namespaces of the Replication whose names differ, for rewriting the
    # namespace references inside objects (namespace_refs.py); a source mapped twice is left out
    namespace_mappings: tuple[tuple[str, str], ...] = ()
    default_immutable_handling: ImmutableHandling = ImmutableHandling.NO_CHANGE
    # normalised `resourceOverrides`: ((group, lowercase kind or resource name), handling)
    immutable_overrides: tuple[tuple[tuple[str, str], ImmutableHandling], ...] = ()
    # `excludeResources` as (group, lowercase kind or resource name, object name)
    exclude: frozenset[tuple[str, str, str]] = frozenset()
    label_selector: LabelSelector | None = None
    prune_deleted: bool = False
    dry_run: bool = False
    # an existing destination object that carries no drsyncer marks is overwritten and adopted
    adopt_unowned: bool = True
    _overrides: dict[tuple[str, str], ImmutableHandling] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_overrides", dict(self.immutable_overrides))

    def override_for(self, group: str, kind: str) -> ImmutableHandling | None:
        """The `resourceOverrides` entry for this kind, matched as `kind.group` or `resource.group`."""
        if not self._overrides:
            return None
        for name in kind_names(kind):
            handling = self._overrides.get((group, name))
            if handling is not None:
                return handling
        return None

    def is_excluded(self, group: str, kind: str, name: str) -> bool:
        """Listed in `excludeResources` (by kind or resource name, with the group for custom resources)."""
        if not self.exclude:
            return False
        return any((group, k, name) in self.exclude for k in kind_names(kind))

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], *, replication: str, source_cluster: str) -> Rules:
        """Build the rules from a Replication spec dict (camelCase), filling defaults for absent fields.

        Raises `CategorisedError(NonRetryable)` naming the field when a value cannot be used; the
        API models normally reject such a spec first, this is the last line of defence.
        """
        pvc = spec.get("pvcConfig") or {}
        immutable = spec.get("immutableResourceConfig") or {}
        types = list(spec.get("resourceTypes") or DEFAULT_RESOURCE_TYPES)
        for extra in spec.get("namespaceScopedResources") or ():
            if extra not in types:
                types.append(extra)
        selector = spec.get("labelSelector")
        return cls(
            replication=replication,
            source_cluster=source_cluster,
            resource_types=tuple(types),
            sync_crds=bool(spec.get("syncCRDs", False)),
            scale_to_zero=bool(spec.get("scaleToZero", True)),
            keep_node_ports=bool(spec.get("preserveNodePorts", False)),
            storage_class_mappings=_mappings(pvc, "storageClassMappings"),
            access_mode_mappings=_mappings(pvc, "accessModeMappings"),
            preserve_volume_attributes=bool(pvc.get("preserveVolumeAttributes", False)),
            sync_persistent_volumes=bool(pvc.get("syncPersistentVolumes", False)),
            namespace_mappings=_namespace_mappings(spec),
            default_immutable_handling=_handling(
                immutable.get("defaultHandling") or ImmutableHandling.NO_CHANGE.value,
                "spec.immutableResourceConfig.defaultHandling",
            ),
            immutable_overrides=_overrides(immutable.get("resourceOverrides") or {}),
            exclude=frozenset(
                (*kind_pattern(str(item.get("kind", ""))), str(item.get("name", "")))
                for item in spec.get("excludeResources") or ()
            ),
            label_selector=LabelSelector.from_spec(selector, "spec.labelSelector") if selector else None,
            prune_deleted=bool(spec.get("pruneDeleted", False)),
            dry_run=bool(spec.get("dryRun", False)),
        )


def _invalid(path: str, message: str) -> CategorisedError:
    return CategorisedError(Category.NON_RETRYABLE, f"{path}: {message}")


def _mappings(pvc: Mapping[str, Any], name: str) -> tuple[tuple[str, str], ...]:
    path = f"spec.pvcConfig.{name}"
    result: list[tuple[str, str]] = []
    for i, item in enumerate(pvc.get(name) or ()):
        source, target = item.get("from"), item.get("to")
        if not source or not target:
            raise _invalid(f"{path}[{i}]", "needs both 'from' and 'to'")
        result.append((str(source), str(target)))
    return tuple(result)


def _namespace_mappings(spec: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    if spec.get("sourceNamespace"):
        source = str(spec["sourceNamespace"])
        pairs.append((source, str(spec.get("destinationNamespace") or source)))
    for item in spec.get("namespaceMappings") or ():
        source = str(item.get("source") or "")
        if source:
            pairs.append((source, str(item.get("destination") or source)))
    targets: dict[str, set[str]] = {}
    for source, target in pairs:
        targets.setdefault(source, set()).add(target)
    # a namespace copied under two names has no one name for references from other namespaces
    return tuple(sorted((source, next(iter(t))) for source, t in targets.items()
                        if len(t) == 1 and source not in t))


def _handling(value: str, path: str) -> ImmutableHandling:
    try:
        return ImmutableHandling(value)
    except ValueError:
        # the label spelling is accepted too, so a value copied from a label still works
        from_label = handling_from_label(value)
        if from_label is None:
            allowed = ", ".join(h.value for h in ImmutableHandling)
            raise _invalid(path, f"must be one of {allowed}, not {value!r}") from None
        return from_label


def _overrides(items: Mapping[str, str]) -> tuple[tuple[tuple[str, str], ImmutableHandling], ...]:
    result: list[tuple[tuple[str, str], ImmutableHandling]] = []
    for name, value in sorted(items.items()):
        handling = _handling(value, f"spec.immutableResourceConfig.resourceOverrides[{name}]")
        result.append((kind_pattern(name), handling))
    return tuple(result)

