"""`Replication`: what to copy from a source cluster to DR clusters, when, and how it went."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from drsyncer.api.camel import Problem, SpecModel, StatusModel
from drsyncer.api.durations import parse_duration
from drsyncer.api.fieldtypes import (
    Bool,
    Duration,
    Int,
    NamespaceName,
    NonEmpty,
    ObjectName,
    ResourceKind,
    ResourceType,
    Schedule,
)
from drsyncer.api.meta import Conditions, ObjectMeta, status_or_empty
from drsyncer.api.modifiers import ModifierRule, unknown_clusters
from drsyncer.api.names import unique_in_order
from drsyncer.api.plugins import PluginUse, duplicate_plugins
from drsyncer.api.remotecluster import DEFAULT_NAMESPACE, RemoteCluster
from drsyncer.api.resource_types import ALL_TYPES, normalize_resource_type
from drsyncer.api.schedule import DEFAULT_SCHEDULE
from drsyncer.api.selectors import LabelSelector
from drsyncer.api.webhooks import Webhook
from drsyncer.errors import Category

DEFAULT_RESOURCE_TYPES: tuple[str, ...] = (
    "configmaps",
    "secrets",
    "deployments",
    "services",
    "ingresses",
    "persistentvolumeclaims",
)
DEFAULT_BACKGROUND_SYNC_INTERVAL = "1h"


class ReplicationMode(StrEnum):
    SCHEDULED = "Scheduled"
    CONTINUOUS = "Continuous"
    MANUAL = "Manual"


class ImmutableHandling(StrEnum):
    NO_CHANGE = "NoChange"
    RECREATE = "Recreate"
    RECREATE_WITH_POD_DRAIN = "RecreateWithPodDrain"
    PARTIAL_UPDATE = "PartialUpdate"
    FORCE_UPDATE = "ForceUpdate"


class CleanupPolicy(StrEnum):
    ORPHAN = "Orphan"
    DELETE = "Delete"


class AccessMode(StrEnum):
    READ_WRITE_ONCE = "ReadWriteOnce"
    READ_ONLY_MANY = "ReadOnlyMany"
    READ_WRITE_MANY = "ReadWriteMany"
    READ_WRITE_ONCE_POD = "ReadWriteOncePod"


class NamespacePair(SpecModel):
    source: NamespaceName = Field(description="Namespace in the source cluster.")
    destination: NamespaceName | None = Field(
        default=None, description="Namespace in the destination clusters. Default: the source name."
    )

    @property
    def destination_name(self) -> str:
        return self.destination or self.source


class ContinuousConfig(SpecModel):
    background_sync_interval: Duration = Field(
        default=DEFAULT_BACKGROUND_SYNC_INTERVAL,
        description="Full resync interval in Continuous mode, on top of syncing on every change.",
    )


class NamespaceMetadataRule(SpecModel):
    labels: list[NonEmpty] = Field(
        default_factory=list,
        description="Source namespace label keys to copy to the destination namespaces, besides the "
        "Pod Security and sidecar-injection ones always copied; a key ending in `/` or `*` is a prefix "
        "(`example.com/`, `team-*`).",
    )
    annotations: list[NonEmpty] = Field(
        default_factory=list,
        description="Source namespace annotation keys to copy, besides `linkerd.io/inject`; prefixes as "
        "for labels.",
    )


class ExcludedResource(SpecModel):
    kind: ResourceKind = Field(
        description="Kind or resource name, e.g. `Secret`, `configmaps`, `certificates.cert-manager.io`."
    )
    name: NonEmpty = Field(description="Object name; the object is never copied, updated or pruned.")


class StorageClassMapping(SpecModel):
    from_: NonEmpty = Field(alias="from", description="Storage class name in the source cluster.")
    to: NonEmpty = Field(description="Storage class name to use in the destination clusters.")


class AccessModeMapping(SpecModel):
    from_: AccessMode = Field(alias="from", description="Access mode in the source cluster.")
    to: AccessMode = Field(description="Access mode to use in the destination clusters.")


class PVCConfig(SpecModel):
    storage_class_mappings: list[StorageClassMapping] = Field(
        default_factory=list, description="Storage class renames for PVCs; one entry per source class."
    )
    access_mode_mappings: list[AccessModeMapping] = Field(
        default_factory=list, description="Access mode renames for PVCs; one entry per source mode."
    )
    preserve_volume_attributes: Bool = Field(
        default=False,
        description="Keep selector, dataSource and dataSourceRef on created PVCs and claim templates "
        "(volumeMode is always kept).",
    )
    sync_persistent_volumes: Bool = Field(
        default=False,
        description="Keep `spec.volumeName` on created PVCs, for storage that every cluster can attach. "
        "PersistentVolume objects themselves are not copied.",
    )

    def problems(self) -> list[Problem]:
        classes = [m.from_ for m in self.storage_class_mappings]
        modes = [m.from_.value for m in self.access_mode_mappings]
        found = _repeats("storageClassMappings", "from", classes)
        return found + _repeats("accessModeMappings", "from", modes)


class ImmutableResourceConfig(SpecModel):
    default_handling: ImmutableHandling = Field(
        default=ImmutableHandling.NO_CHANGE,
        description="What to do when the destination rejects an update of an immutable field.",
    )
    resource_overrides: dict[ResourceKind, ImmutableHandling] = Field(
        default_factory=dict,
        description="Per resource type (any `resourceTypes` spelling) handling that replaces the default.",
    )


class RetryConfig(SpecModel):
    max_retries: Int = Field(
        default=5, ge=0, description="Retries of a failed sync before waiting for the next scheduled one."
    )
    initial_backoff: Duration = Field(default="5s", description="Wait before the first retry.")
    max_backoff: Duration = Field(default="5m", description="Longest wait between retries.")
    backoff_multiplier: Int = Field(
        default=200, ge=100, le=1000, description="Growth of the wait per retry, in percent (200 doubles it)."
    )

    def problems(self) -> list[Problem]:
        if parse_duration(self.max_backoff) < parse_duration(self.initial_backoff):
            return [("maxBackoff", f"must not be shorter than initialBackoff ({self.initial_backoff})")]
        return []

    def backoff(self, attempt: int) -> timedelta:
        """Wait before retry number `attempt` (1 for the first retry), capped at maxBackoff."""
        grown = parse_duration(self.initial_backoff) * (self.backoff_multiplier / 100) ** max(attempt - 1, 0)
        return min(grown, parse_duration(self.max_backoff))


class ReplicationSpec(SpecModel):
    source_cluster: ObjectName = Field(description="RemoteCluster (same namespace) to copy from.")
    destination_cluster: ObjectName | None = Field(
        default=None, description="RemoteCluster to copy to. Set this and/or `destinationClusters`."
    )
    destination_clusters: list[ObjectName] = Field(
        default_factory=list, description="More RemoteClusters to copy to (fan-out)."
    )
    source_namespace: NamespaceName | None = Field(default=None, description="Namespace to copy.")
    destination_namespace: NamespaceName | None = Field(
        default=None,
        description="Name of the copy of `sourceNamespace` in the destinations. Default: the same name.",
    )
    namespace_mappings: list[NamespacePair] = Field(
        default_factory=list, description="More namespaces to copy, each optionally renamed."
    )
    namespace_selector: LabelSelector | None = Field(
        default=None,
        description="Copy every source namespace whose labels match, under the same name (a "
        "`namespaceMappings` entry for the same source wins).",
    )
    replication_mode: ReplicationMode = Field(
        default=ReplicationMode.SCHEDULED,
        description="Scheduled: on `schedule`. Continuous: on every change, plus a full resync every "
        "`continuous.backgroundSyncInterval`. Manual: only when the `dr-syncer.io/sync-now` annotation "
        "is set.",
    )
    schedule: Schedule | None = Field(
        default=None,
        description="5-field cron or `@every <duration>`, used in Scheduled mode (kept but unused in the "
        "other modes, so switching modes needs no other edit). Default: the source RemoteCluster's "
        f"`defaultSchedule`, else `{DEFAULT_SCHEDULE}`.",
    )
    continuous: ContinuousConfig | None = Field(
        default=None, description="Continuous mode settings (kept but unused in the other modes)."
    )
    paused: Bool = Field(default=False, description="Stop syncing until set back to false.")
    resource_types: list[ResourceType] | None = Field(
        default=None,
        description="Types to copy: plural, singular, kind or short names of built-ins, `resource.group` "
        "for custom resources, `*` for every namespaced type except those the cluster writes itself "
        "(events, pods, endpoints, endpointslices, replicasets, controllerrevisions, leases); a type "
        "named beside `*` is copied too (`endpoints`, `endpointslices`: the hand-made backends of a "
        "Service without a selector; those the endpoints controllers write are skipped). "
        "Namespaced types only: a cluster-scoped one (a ClusterRole, a PriorityClass, a custom "
        "ClusterIssuer) is refused, here for the built-ins and by the run (NonRetryable) for a custom "
        "type the source cluster serves as cluster-scoped. Default: the source RemoteCluster's "
        f"`defaultResourceTypes`, else {', '.join(DEFAULT_RESOURCE_TYPES)}.",
    )
    namespace_scoped_resources: list[ResourceType] = Field(
        default_factory=list,
        description="Legacy spelling for custom resource types; merged into `resourceTypes`.",
    )
    exclude_resources: list[ExcludedResource] = Field(
        default_factory=list, description="Objects never copied, updated or pruned."
    )
    label_selector: LabelSelector | None = Field(
        default=None, description="Copy only objects whose labels match."
    )
    sync_crds: Bool = Field(
        default=False,
        alias="syncCRDs",
        description="Copy the CRDs of the custom resource types being copied first, and wait until "
        "they are Established.",
    )
    scale_to_zero: Bool = Field(
        default=True,
        description="Keep the copies from running in the destinations: Deployment, StatefulSet and "
        "ReplicaSet replicas 0, CronJobs and Jobs suspended, DaemonSets held off every node (unless the "
        "object has a `dr-syncer.io/scale-override` label); the source's values are recorded on the copies.",
    )
    preserve_node_ports: Bool = Field(
        default=False,
        description="Keep Service node ports (and `healthCheckNodePort`) in the copies instead of "
        "letting each destination allocate its own; the ports must be free there.",
    )
    copy_generated_objects: Bool = Field(
        default=False,
        description="Also copy objects generated by another object being copied: those with a "
        "controller ownerReference to a copied kind, and Secrets written by cert-manager for a copied "
        "Certificate or by External Secrets for a copied ExternalSecret. Off, they are skipped because "
        "the operator recreates them from the copied object; turn on where the destination lacks it.",
    )
    namespace_metadata: NamespaceMetadataRule = Field(
        default_factory=NamespaceMetadataRule,
        description="Labels and annotations of each source namespace that its destination namespaces "
        "carry too, kept in step on every sync (docs/sync-semantics.md). Cluster-specific keys "
        "(`kubernetes.io/metadata.name`, `kubectl.kubernetes.io/*`, `dr-syncer.io/*`) are never copied.",
    )
    pvc_config: PVCConfig = Field(default_factory=PVCConfig, description="How PVCs are copied.")
    immutable_resource_config: ImmutableResourceConfig = Field(
        default_factory=ImmutableResourceConfig, description="Handling of immutable-field changes."
    )
    prune_deleted: Bool = Field(
        default=False,
        description="Delete destination objects that this Replication created and whose source is gone.",
    )
    cleanup_on_delete: CleanupPolicy = Field(
        default=CleanupPolicy.ORPHAN,
        description="When the Replication is deleted: Orphan keeps the copies; Delete removes the "
        "objects it created.",
    )
    dry_run: Bool = Field(default=False, description="Plan and report in status; write nothing.")
    retry_config: RetryConfig = Field(default_factory=RetryConfig, description="Retries after a failed sync.")
    modifiers: list[ModifierRule] = Field(
        default_factory=list,
        description="Rules that rewrite the copies, per destination, after the built-in transforms, "
        "in order (docs/modifiers.md).",
    )
    webhooks: list[Webhook] = Field(
        default_factory=list,
        description="Endpoints that receive CloudEvents about this Replication's "
        "runs and failovers (docs/webhooks.md), besides the installation-wide ones.",
    )
    plugins: list[PluginUse] = Field(
        default_factory=list,
        description="Python plugins run on every object copied (docs/plugins.md): their filter hooks "
        "may skip an object, their transform hooks change the copy, in this order, after the built-in "
        "transforms.",
    )

    @field_validator("namespace_selector")
    @classmethod
    def _selector_not_empty(cls, selector: LabelSelector | None) -> LabelSelector | None:
        if selector is not None and selector.is_empty:
            raise ValueError(
                "must set matchLabels or matchExpressions (an empty selector would select every namespace)"
            )
        return selector

    def problems(self) -> list[Problem]:
        found = self._namespace_problems() + self._cluster_problems() + self._modifier_problems()
        if self.resource_types == [] and not self.namespace_scoped_resources:
            found.append(("resourceTypes", "must list at least one type (leave it out for the defaults)"))
        found += duplicate_plugins(self.plugins)
        return found

    def _namespace_problems(self) -> list[Problem]:
        found: list[Problem] = []
        if not (self.source_namespace or self.namespace_mappings or self.namespace_selector):
            found.append(("sourceNamespace", "set sourceNamespace, namespaceMappings or namespaceSelector"))
        if self.destination_namespace and not self.source_namespace:
            found.append(("destinationNamespace", "only allowed together with sourceNamespace"))
        found += destination_namespace_repeats(
            (self.destination_namespace or self.source_namespace) if self.source_namespace else "",
            [p.destination_name for p in self.namespace_mappings],
        )
        return found

    def _cluster_problems(self) -> list[Problem]:
        found: list[Problem] = []
        if not self.destination_cluster and not self.destination_clusters:
            found.append(("destinationCluster", "set destinationCluster or destinationClusters"))
        named = [("destinationCluster", self.destination_cluster)] if self.destination_cluster else []
        named += [(f"destinationClusters[{i}]", c) for i, c in enumerate(self.destination_clusters)]
        seen: set[str] = set()
        for path, cluster in named:
            if cluster == self.source_cluster:
                found.append((path, f'must differ from sourceCluster "{cluster}"'))
            elif cluster in seen:
                found.append((path, f'"{cluster}" is listed more than once'))
            seen.add(cluster)
        return found

    def _modifier_problems(self) -> list[Problem]:
        destinations = {c for c in (self.destination_cluster, *self.destination_clusters) if c}
        return unknown_clusters([r.clusters for r in self.modifiers], destinations, DESTINATION_WORD)


DESTINATION_WORD = "destination of this Replication"


def destinations_as_written(spec: object) -> list[str]:
    """The destination cluster names of a raw `spec` dict, as `Replication.destinations` orders them
    (`destinationCluster` first): for a spec that does not parse, whose names are still worth
    showing (kubectl's Destinations column, `drsyncer status`). Entries that are not names are left
    out; the field errors report them."""
    if not isinstance(spec, Mapping):
        return []
    names = [spec.get("destinationCluster"), *_list_of(spec.get("destinationClusters"))]
    return unique_in_order(n for n in names if isinstance(n, str) and n)


def destination_namespace_repeats(single: str, mapped: Sequence[str | None]) -> list[Problem]:
    """Each destination namespace named twice: `single` (sourceNamespace's, "" for none) and the
    destination name of each `namespaceMappings` item (None: an item too broken to have one)."""
    found: list[Problem] = []
    taken: dict[str, str] = {single: "sourceNamespace"} if single else {}
    for i, name in enumerate(mapped):
        if name is None:
            continue
        if name in taken:
            found.append(
                (
                    f"namespaceMappings[{i}].destination",
                    f'"{name}" is already the destination of {taken[name]}',
                )
            )
        else:
            taken[name] = f"namespaceMappings[{i}]"
    return found


def raw_cross_field_problems(spec: object) -> list[Problem]:
    """The cross-field checks of ReplicationSpec that pydantic skips once any field fails, read from
    a raw `spec` dict (paths relative to it), so a spec with other errors gets them in the same round:
    destination namespaces named twice and modifiers naming clusters that are not destinations.
    Entries of the wrong type are left to the field errors."""
    if not isinstance(spec, Mapping):
        return []
    source = spec.get("sourceNamespace")
    single = (spec.get("destinationNamespace") or source) if source else ""
    mapped = [
        (item.get("destination") or item.get("source")) if isinstance(item, Mapping) else None
        for item in _list_of(spec.get("namespaceMappings"))
    ]
    return destination_namespace_repeats(
        single if isinstance(single, str) else "", [m if isinstance(m, str) and m else None for m in mapped]
    ) + raw_modifier_cluster_problems(spec)


def raw_modifier_cluster_problems(spec: object) -> list[Problem]:
    """The `modifiers[i].clusters[j]` check of ReplicationSpec read from a raw `spec` dict, paths
    relative to it. pydantic skips a model's cross-field checks once any field fails, so the parser
    runs this one itself: a spec with other errors still gets this one reported in the same round.
    Entries of the wrong type are left to the field errors."""
    if not isinstance(spec, Mapping):
        return []
    destinations = [spec.get("destinationCluster"), *_list_of(spec.get("destinationClusters"))]
    rules = [rule for rule in _list_of(spec.get("modifiers"))]
    clusters = [
        [c for c in _list_of(rule.get("clusters")) if isinstance(c, str)] if isinstance(rule, Mapping) else []
        for rule in rules
    ]
    return unknown_clusters(clusters, {c for c in destinations if isinstance(c, str) and c}, DESTINATION_WORD)


def _list_of(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _repeats(field: str, key: str, values: list[str]) -> list[Problem]:
    seen: set[str] = set()
    found: list[Problem] = []
    for i, value in enumerate(values):
        if value in seen:
            found.append((f"{field}[{i}].{key}", f'"{value}" is mapped more than once'))
        seen.add(value)
    return found


# ---- status -------------------------------------------------------------------------------------


class Phase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    PARTIALLY_FAILED = "PartiallyFailed"
    FAILED = "Failed"
    PAUSED = "Paused"


class SyncCounts(StatusModel):
    total: int = Field(default=0, description="Objects considered.")
    created: int = Field(default=0, description="Objects created in a destination.")
    updated: int = Field(default=0, description="Objects updated in a destination.")
    unchanged: int = Field(default=0, description="Objects already in step (nothing written).")
    pruned: int = Field(default=0, description="Objects deleted because their source is gone.")
    skipped: int = Field(default=0, description="Objects left out on purpose (excluded, ignored, ...).")
    failed: int = Field(default=0, description="Objects that could not be written.")
    held_back: int = Field(
        default=0,
        description="Of the skipped: copies left stale because the source "
        "changed a field the destination will not change in place and the immutable "
        "handling is NoChange (see the condition UpToDate).",
    )
    synced: int = Field(
        default=0, description="created + updated + unchanged: objects in step after the run (computed)."
    )

    @model_validator(mode="after")
    def _synced_is_derived(self) -> SyncCounts:
        self.synced = self.created + self.updated + self.unchanged
        return self


class SyncError(StatusModel):
    message: str = Field(description="What went wrong, for a person to act on.")
    category: Category | None = Field(default=None, description="Retryable, NonRetryable or WaitForNextSync.")
    time: datetime | None = Field(default=None, description="When it happened.")
    cluster: str | None = Field(default=None, description="Cluster concerned.")
    resource: str | None = Field(default=None, description="Object concerned, as kind/namespace/name.")


class TargetStatus(StatusModel):
    cluster: str = Field(description="Destination RemoteCluster.")
    source_namespace: str = Field(description="Namespace in the source cluster.")
    destination_namespace: str = Field(description="Namespace in the destination cluster.")
    phase: Phase = Field(default=Phase.PENDING, description="Outcome of the last run for this target.")
    last_sync_time: datetime | None = Field(default=None, description="When the last run for it ended.")
    last_successful_sync_time: datetime | None = Field(
        default=None,
        description="When the last run that completed for it ended: its copies are at least "
        "as recent as the source was then.",
    )
    last_sync_duration: str | None = Field(default=None, description="How long it took, e.g. 1m30s.")
    sync_stats: SyncCounts = Field(default_factory=SyncCounts, description="Object counts of the last run.")
    last_error: SyncError | None = Field(default=None, description="Last error for this target.")


class ResourceGroupStatus(SyncCounts):
    group_kind: str = Field(description="Kind and group, e.g. `Deployment.apps` (`ConfigMap` for core).")


class ErrorCategoryCount(StatusModel):
    category: Category = Field(description="Retryable, NonRetryable or WaitForNextSync.")
    count: int = Field(default=0, description="Errors of this category in the last run.")
    last_occurred: datetime | None = Field(default=None, description="When the latest one happened.")


class RetryStatus(StatusModel):
    next_retry_time: datetime | None = Field(default=None, description="When the failed sync is retried.")
    retries_remaining: int | None = Field(
        default=None, description="Retries left before giving up until the next scheduled sync."
    )
    backoff_duration: str | None = Field(default=None, description="Wait before that retry, e.g. 20s.")


class DeploymentScale(StatusModel):
    cluster: str | None = Field(default=None, description="Destination cluster.")
    namespace: str | None = Field(default=None, description="Destination namespace.")
    kind: str = Field(default="Deployment", description="Deployment or StatefulSet.")
    name: str = Field(description="Object name.")
    original_replicas: int = Field(description="Replicas in the source, recorded before scaling to zero.")
    last_synced_at: datetime | None = Field(default=None, description="When it was last written.")


class RecoveryPoint(StatusModel):
    cluster: str = Field(description="Destination RemoteCluster.")
    last_successful_sync_time: datetime | None = Field(
        default=None,
        description="The recovery point: the oldest last successful sync over the "
        "destination's namespaces (unset while one has never completed). A failover to it now loses the "
        "changes made since.",
    )
    namespaces: int = Field(default=0, description="Destination namespaces of this Replication in it.")
    not_completed: int = Field(default=0, description="Of them, namespaces whose last run did not complete.")
    held_back: int = Field(
        default=0,
        description="Copies left stale by the last run (immutable changes held back under NoChange).",
    )
    failed: int = Field(default=0, description="Objects the last run could not write there.")


class FailoverStatus(StatusModel):
    cluster: str = Field(description="The DR cluster brought up (its kubeconfig context, or `--cluster`).")
    active: bool = Field(
        default=True,
        description="True from the failover until `drsyncer failback`; "
        "while true the Replication is paused so no run puts the copies back in standby.",
    )
    started: datetime | None = Field(
        default=None, description="When the first failover run to this cluster began."
    )
    finished: datetime | None = Field(default=None, description="When the latest failover run ended.")
    workloads: int = Field(
        default=0,
        description="Copies of this Replication the latest run looked at "
        "(Deployments, StatefulSets, ReplicaSets, ReplicationControllers, CronJobs, Jobs, "
        "DaemonSets).",
    )
    brought_up: int = Field(
        default=0,
        description="Of them, copies up because of this failover (brought "
        "up by the latest run or an earlier one).",
    )
    already_up: int = Field(
        default=0,
        description="Of them, copies that were running without a failover "
        "(e.g. copied with scaleToZero false).",
    )
    failed: int = Field(default=0, description="Of them, copies the latest run could not bring up.")
    failed_back: datetime | None = Field(
        default=None,
        description="When `drsyncer failback` put the copies back in standby and resumed the Replication.",
    )


# Entries of `status.targets` and `status.deploymentScales`. However many namespaces a Replication
# selects, its status then stays near 100 KB (tests hold it under 200 KB at 3,000 targets), far
# below etcd's 1.5 MiB request limit, which a status listing every target of 1,400 namespaces into
# 2 clusters passed; and every target of up to 50 namespaces into 2 clusters is still listed.
LISTED_TARGETS = 100
LISTED_SCALES = 100


class ReplicationStatus(StatusModel):
    observed_generation: int | None = Field(
        default=None, description="The generation the status was computed from."
    )
    phase: Phase | None = Field(default=None, description="Outcome of the last run as a whole.")
    last_sync_time: datetime | None = Field(default=None, description="When the last run ended.")
    last_successful_sync_time: datetime | None = Field(
        default=None, description="When the last run without failures ended."
    )
    next_sync_time: datetime | None = Field(
        default=None,
        description="When the next scheduled run (or Continuous full resync) starts, as the last run "
        "reported it; absent while none is due (paused, an invalid spec, no source namespace selected, "
        "Manual mode).",
    )
    last_sync_duration: str | None = Field(default=None, description="How long the last run took.")
    last_sync_request: str | None = Field(
        default=None,
        description="The value of the `dr-syncer.io/sync-now` annotation (the time it was asked, as "
        "`drsyncer sync-now` sets it) of the latest run started on request, written when that run "
        "reports; `drsyncer sync-now --wait` waits for its own.",
    )
    sync_stats: SyncCounts = Field(
        default_factory=SyncCounts,
        description="Object counts of the last run, over every target; a CustomResourceDefinition copied "
        "with syncCRDs counts once per destination cluster (every namespace's sync writes it, and "
        "each target's own syncStats counts it).",
    )
    targets: list[TargetStatus] = Field(
        default_factory=list,
        description=f"Per destination cluster and namespace results of the last run: at most "
        f"{LISTED_TARGETS}, those that did not complete first, then in source namespace order. "
        "`targetsOmitted` counts the others; `syncStats`, `recoveryPoints` and the conditions "
        "cover every target.",
    )
    targets_omitted: int = Field(
        default=0,
        description=f"Targets of the last run not listed in `targets` (beyond its {LISTED_TARGETS} entries).",
    )
    resource_groups: list[ResourceGroupStatus] = Field(
        default_factory=list, description="Per kind counts of the last run."
    )
    error_categories: list[ErrorCategoryCount] = Field(
        default_factory=list, description="Errors of the last run by category."
    )
    last_error: SyncError | None = Field(default=None, description="The most recent error.")
    retry_status: RetryStatus | None = Field(default=None, description="Pending retry of a failed run.")
    deployment_scales: list[DeploymentScale] = Field(
        default_factory=list,
        description="Replica counts recorded on the copies of scaled kinds that the last run wrote "
        "(created or updated); copies it left unchanged, skipped, held back or failed are not listed. "
        f"At most {LISTED_SCALES}, in source namespace order; `deploymentScalesOmitted` counts the "
        "others.",
    )
    deployment_scales_omitted: int = Field(
        default=0,
        description="Copies of scaled kinds the last run wrote that are not listed in "
        f"`deploymentScales` (beyond its {LISTED_SCALES} entries).",
    )
    conditions: Conditions = Field(
        default_factory=list, description="Ready, Synced, UpToDate, InvalidSpec and RemoteClustersFound."
    )
    recovery_points: list[RecoveryPoint] = Field(
        default_factory=list,
        description="Per destination cluster: how recent its copies are and what "
        "the last run left out (written after every run), over all its namespaces, listed in "
        "`targets` or not.",
    )
    failover: FailoverStatus | None = Field(
        default=None, description="The last failover of this Replication's copies (`drsyncer failover`)."
    )
    destinations: str | None = Field(
        default=None,
        description="The destination clusters, comma-separated (`destinationCluster` and "
        "`destinationClusters`), for `kubectl get`; written by the watcher.",
    )


# ---- the object -----------------------------------------------------------------------------------


class Target(NamedTuple):
    """One place a source namespace is copied to."""

    cluster: str
    source_namespace: str
    destination_namespace: str


class Replication(BaseModel):
    """A Replication object as stored in the controller cluster, with its effective settings."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    api_version: Literal["dr-syncer.io/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["Replication", "NamespaceMapping"]  # NamespaceMapping: converted legacy object
    metadata: ObjectMeta
    spec: ReplicationSpec
    status: ReplicationStatus = Field(default_factory=ReplicationStatus)

    @field_validator("status", mode="wrap")
    @classmethod
    def _unreadable_status_is_no_status(
        cls, value: Any, handler: ValidatorFunctionWrapHandler
    ) -> ReplicationStatus:
        return status_or_empty(value, handler, ReplicationStatus)

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or DEFAULT_NAMESPACE

    @property
    def ref(self) -> str:
        """`namespace/name`, the value of the `dr-syncer.io/replication` ownership annotation."""
        return f"{self.namespace}/{self.name}"

    @property
    def generation(self) -> int:
        return self.metadata.generation or 0

    @property
    def namespace_selector(self) -> LabelSelector | None:
        return self.spec.namespace_selector

    def destinations(self) -> list[str]:
        """Every destination cluster: `destinationCluster` first, then `destinationClusters`."""
        first = [self.spec.destination_cluster] if self.spec.destination_cluster else []
        return unique_in_order([*first, *self.spec.destination_clusters])

    def namespace_pairs(
        self,
        source_namespaces: Mapping[str, Mapping[str, str] | None] | None = None,
    ) -> list[tuple[str, str]]:
        """(source, destination) namespace pairs.

        Without `source_namespaces` only the explicit ones (sourceNamespace, namespaceMappings).
        With the source cluster's namespaces (name → labels) also those the selector picks, under
        the same name, unless that source is mapped explicitly or the name is already a destination.
        """
        pairs: list[tuple[str, str]] = []
        if self.spec.source_namespace:
            pairs.append(
                (self.spec.source_namespace, self.spec.destination_namespace or self.spec.source_namespace)
            )
        pairs += [(p.source, p.destination_name) for p in self.spec.namespace_mappings]
        selector = self.spec.namespace_selector
        if selector is not None and source_namespaces is not None:
            sources = {s for s, _ in pairs}
            destinations = {d for _, d in pairs}
            pairs += [
                (ns, ns)
                for ns, labels in sorted(source_namespaces.items())
                if ns not in sources and ns not in destinations and selector.matches(labels)
            ]
        return pairs

    def targets(
        self,
        source_namespaces: Mapping[str, Mapping[str, str] | None] | None = None,
    ) -> list[Target]:
        """Every (destination cluster, source namespace, destination namespace); see namespace_pairs."""
        pairs = self.namespace_pairs(source_namespaces)
        return [Target(cluster, src, dst) for cluster in self.destinations() for src, dst in pairs]

    def schedule(self, source: RemoteCluster | None = None) -> str | None:
        """The effective cron/`@every` schedule in Scheduled mode; None in Continuous and Manual mode."""
        if self.spec.replication_mode is not ReplicationMode.SCHEDULED:
            return None
        if self.spec.schedule is not None:
            return self.spec.schedule
        if source is not None and source.spec.default_schedule:
            return source.spec.default_schedule
        return DEFAULT_SCHEDULE

    def background_sync_interval(self) -> timedelta | None:
        """Full resync interval in Continuous mode; None in the other modes."""
        if self.spec.replication_mode is not ReplicationMode.CONTINUOUS:
            return None
        config = self.spec.continuous or ContinuousConfig()
        return parse_duration(config.background_sync_interval)

    def resource_types(self, source: RemoteCluster | None = None) -> list[str]:
        """Effective types in canonical spelling (`configmaps`, `deployments.apps`, `x.example.com`),
        `namespaceScopedResources` merged in; just `["*"]` when every type is wanted."""
        chosen: Iterable[str] | None = self.spec.resource_types
        if chosen is None and source is not None:
            chosen = source.default_resource_types()
        if chosen is None:
            chosen = DEFAULT_RESOURCE_TYPES
        merged = unique_in_order(
            normalize_resource_type(t) for t in [*chosen, *self.spec.namespace_scoped_resources]
        )
        return [ALL_TYPES] if ALL_TYPES in merged else merged

    def status_dict(self) -> dict:
        """The status as camelCase JSON without unset fields, ready for a `/status` patch."""
        out: dict = self.status.model_dump(mode="json", by_alias=True, exclude_none=True)
        return out

    def spec_dict(self, source: RemoteCluster | None = None) -> dict:
        """The spec as a plain camelCase dict with every effective value filled in.

        `destinationClusters` lists every destination (`destinationCluster` is folded in and null),
        `resourceTypes` is `resource_types()` and `namespaceScopedResources` is empty, destination
        namespaces are explicit, `schedule`/`continuous` are set for their mode only.
        """
        out: dict = self.spec.model_dump(mode="json", by_alias=True)
        out["destinationCluster"] = None
        out["destinationClusters"] = self.destinations()
        if self.spec.source_namespace:
            out["destinationNamespace"] = self.spec.destination_namespace or self.spec.source_namespace
        for pair in out["namespaceMappings"]:
            pair["destination"] = pair["destination"] or pair["source"]
        out["resourceTypes"] = self.resource_types(source)
        out["namespaceScopedResources"] = []
        out["schedule"] = self.schedule(source)
        if self.spec.replication_mode is not ReplicationMode.CONTINUOUS:
            out["continuous"] = None
        elif out["continuous"] is None:
            out["continuous"] = ContinuousConfig().model_dump(mode="json", by_alias=True)
        return out
