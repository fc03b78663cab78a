"""The sync rules of one Replication, read once from its spec and shared by every object of a run.

`Rules.from_replication` reads the typed, validated `Replication` model (the CR; its defaults are
the model's). `Rules.from_spec` reads a plain camelCase spec dict of DESIGN.md §3 as `drsyncer sync`
and tests write it: fields left out keep the `Rules` field defaults, which equal the model's (a unit
test holds them together). Both normalise every lookup table so that the per-object code below
them does dictionary lookups and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from drsyncer.api.camel import PROBLEMS_ERROR
from drsyncer.api.remotecluster import RemoteCluster
from drsyncer.api.replication import DEFAULT_RESOURCE_TYPES, ImmutableHandling, Replication
from drsyncer.api.resource_types import kind_names, kind_pattern
from drsyncer.api.selectors import LabelSelector
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
    # the api model (one LabelSelector in drsyncer); not hashable, so left out of the hash
    label_selector: LabelSelector | None = field(default=None, hash=False)
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
    def from_replication(cls, model: Replication, source: RemoteCluster | None = None) -> Rules:
        """The rules of a parsed Replication (or NamespaceMapping); `source` is its source RemoteCluster,
        whose `defaultResourceTypes` apply when the spec names none."""
        spec = model.spec
        pvc = spec.pvc_config
        immutable = spec.immutable_resource_config
        return cls(
            replication=model.ref,
            source_cluster=spec.source_cluster,
            resource_types=tuple(model.resource_types(source)),
            sync_crds=spec.sync_crds,
            scale_to_zero=spec.scale_to_zero,
            keep_node_ports=spec.preserve_node_ports,
            storage_class_mappings=tuple((m.from_, m.to) for m in pvc.storage_class_mappings),
            access_mode_mappings=tuple((m.from_.value, m.to.value) for m in pvc.access_mode_mappings),
            preserve_volume_attributes=pvc.preserve_volume_attributes,
            sync_persistent_volumes=pvc.sync_persistent_volumes,
            namespace_mappings=_renamed(model.namespace_pairs()),
            default_immutable_handling=immutable.default_handling,
            immutable_overrides=tuple(
                (kind_pattern(name), handling)
                for name, handling in sorted(immutable.resource_overrides.items())
            ),
            exclude=frozenset((*kind_pattern(item.kind), item.name) for item in spec.exclude_resources),
            label_selector=spec.label_selector,
            prune_deleted=spec.prune_deleted,
            dry_run=spec.dry_run,
        )

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], *, replication: str, source_cluster: str) -> Rules:
        """Build the rules from a spec dict (camelCase); absent fields keep the field defaults.

        Raises `CategorisedError(NonRetryable)` naming the field when a value cannot be used; the
        API models reject such a spec of a CR first, this guards the dict callers.
        """
        pvc = spec.get("pvcConfig") or {}
        immutable = spec.get("immutableResourceConfig") or {}
        given: dict[str, Any] = {}
        if spec.get("resourceTypes") or spec.get("namespaceScopedResources"):
            types = list(spec.get("resourceTypes") or DEFAULT_RESOURCE_TYPES)
            types += [t for t in spec.get("namespaceScopedResources") or () if t not in types]
            given["resource_types"] = tuple(types)
        for key, name in (
            ("syncCRDs", "sync_crds"),
            ("scaleToZero", "scale_to_zero"),
            ("preserveNodePorts", "keep_node_ports"),
            ("pruneDeleted", "prune_deleted"),
            ("dryRun", "dry_run"),
        ):
            if key in spec:
                given[name] = bool(spec[key])
        for key, name in (
            ("preserveVolumeAttributes", "preserve_volume_attributes"),
            ("syncPersistentVolumes", "sync_persistent_volumes"),
        ):
            if key in pvc:
                given[name] = bool(pvc[key])
        if immutable.get("defaultHandling"):
            given["default_immutable_handling"] = _handling(
                immutable["defaultHandling"], "spec.immutableResourceConfig.defaultHandling"
            )
        selector = spec.get("labelSelector")
        return cls(
            replication=replication,
            source_cluster=source_cluster,
            storage_class_mappings=_mappings(pvc, "storageClassMappings"),
            access_mode_mappings=_mappings(pvc, "accessModeMappings"),
            namespace_mappings=_namespace_mappings(spec),
            immutable_overrides=_overrides(immutable.get("resourceOverrides") or {}),
            exclude=frozenset(
                (*kind_pattern(str(item.get("kind", ""))), str(item.get("name", "")))
                for item in spec.get("excludeResources") or ()
            ),
            label_selector=_selector(selector, "spec.labelSelector") if selector else None,
            **given,
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
    return _renamed(pairs)


def _renamed(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The (source, destination) namespace pairs whose names differ, for rewriting references."""
    targets: dict[str, set[str]] = {}
    for source, target in pairs:
        targets.setdefault(source, set()).add(target)
    # a namespace copied under two names has no one name for references from other namespaces
    return tuple(
        sorted((source, next(iter(t))) for source, t in targets.items() if len(t) == 1 and source not in t)
    )


def _selector(spec: Mapping[str, Any], path: str) -> LabelSelector:
    """A `labelSelector` dict as the api model, or an error naming the field at fault."""
    try:
        return LabelSelector.model_validate(spec)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        message = error["msg"]
        if error["type"] == PROBLEMS_ERROR:  # a rule across fields names its own field
            field_name, message = error["ctx"]["problems"][0]
            where += f".{field_name}"
        raise _invalid(f"{path}{where}", message) from None


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
