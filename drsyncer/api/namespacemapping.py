"""The legacy `NamespaceMapping` kind of the Go operator, converted to a Replication.

Fields that mean the same keep their names. Fields drsyncer has no use for are dropped with a
warning rather than kept and ignored, so a converted spec never promises what will not happen.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from drsyncer.api import keys
from drsyncer.api.parse import InvalidSpec, field_errors, object_ref
from drsyncer.api.replication import DEFAULT_RESOURCE_TYPES, Replication, ReplicationMode
from drsyncer.api.resource_types import ALL_TYPES

# spec fields of the Go NamespaceMapping that drsyncer drops, and why (also listed in docs/migration.md)
DROPPED_FIELDS: dict[str, str] = {
    "tempPodKeySecretRef": "PVC data replication is not part of drsyncer",
    "failureHandling": "errors are categorised (Retryable, NonRetryable, WaitForNextSync) by drsyncer "
    "itself; retries follow retryConfig",
    "ingressConfig": "Ingresses are copied whole: annotations, TLS and backends are kept",
    "namespaceConfig": "destination namespaces are always created, labelled "
    f"{keys.LABEL_SOURCE_NAMESPACE} and {keys.LABEL_MANAGED_BY}",
    "continuous.watchResources": "Continuous mode always watches the source namespaces",
    "pvcConfig.syncData": "PVC data replication is not part of drsyncer; only PVC objects are copied",
    "pvcConfig.dataSyncConfig": "PVC data replication is not part of drsyncer",
    "immutableResourceConfig.drainTimeout": "not configurable in drsyncer",
    "immutableResourceConfig.forceDeleteTimeout": "not configurable in drsyncer",
}
# metadata worth carrying over to a new object; the rest belongs to the old one
_KEPT_METADATA = ("name", "namespace", "labels", "annotations")


@dataclass
class Conversion:
    replication: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def convert_namespace_mapping(obj: Mapping[str, Any]) -> Conversion:
    """A NamespaceMapping dict → an equivalent Replication dict (not yet validated) and warnings.

    Raises InvalidSpec only for what cannot be converted at all (a spec that is not a mapping, or
    clusterMappingRef without sourceCluster/destinationCluster).
    """
    ref = object_ref(obj)
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        raise InvalidSpec(ref, ["spec: required, must be an object"])
    spec = copy.deepcopy(dict(spec))
    warnings: list[str] = []

    for path, reason in DROPPED_FIELDS.items():
        if _pop(spec, path):
            warnings.append(f"spec.{path}: dropped: {reason}")

    if "clusterMappingRef" in spec:
        if not (spec.get("sourceCluster") and spec.get("destinationCluster")):
            raise InvalidSpec(
                ref,
                [
                    "spec.clusterMappingRef: ClusterMapping is not supported; set "
                    "sourceCluster and destinationCluster to the RemoteClusters it names"
                ],
            )
        del spec["clusterMappingRef"]
        warnings.append("spec.clusterMappingRef: dropped: sourceCluster and destinationCluster are used")

    mode = spec.get("replicationMode", ReplicationMode.SCHEDULED.value)
    if "schedule" in spec and mode != ReplicationMode.SCHEDULED.value:
        del spec["schedule"]
        warnings.append(f"spec.schedule: dropped: only used in Scheduled mode (mode is {mode})")
    if "continuous" in spec and mode != ReplicationMode.CONTINUOUS.value:
        del spec["continuous"]
        warnings.append(f"spec.continuous: dropped: only used in Continuous mode (mode is {mode})")

    types = spec.get("resourceTypes")
    # the Go operator read "*" in resourceTypes as "the six defaults"; in drsyncer it means every type
    if isinstance(types, list) and ALL_TYPES in types:
        spec["resourceTypes"] = [*DEFAULT_RESOURCE_TYPES, *(t for t in types if t != ALL_TYPES)]
        warnings.append('spec.resourceTypes: "*" replaced by the default types it meant in dr-syncer')
    if ALL_TYPES in (spec.get("namespaceScopedResources") or []):
        warnings.append(
            'spec.namespaceScopedResources: "*" now selects every namespaced type the '
            "source serves, built-in ones included"
        )

    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else None
    metadata = {k: copy.deepcopy(meta[k]) for k in _KEPT_METADATA if meta and k in meta}
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(keys.ANNOTATION_LAST_APPLIED, None)
    replication = {
        "apiVersion": keys.API_VERSION,
        "kind": keys.KIND_REPLICATION,
        "metadata": metadata,
        "spec": spec,
    }
    return Conversion(replication, warnings)


def parse_namespace_mapping(obj: Mapping[str, Any]) -> Replication:
    """A live NamespaceMapping → a Replication model that keeps `kind: NamespaceMapping` and the
    original metadata (uid, generation), so status is written back to the NamespaceMapping."""
    ref = object_ref(obj)
    if obj.get("apiVersion") != keys.API_VERSION or obj.get("kind") != keys.KIND_NAMESPACE_MAPPING:
        raise InvalidSpec(ref, [f"kind: must be {keys.KIND_NAMESPACE_MAPPING} of {keys.API_VERSION}"])
    converted = convert_namespace_mapping(obj).replication
    converted["kind"] = keys.KIND_NAMESPACE_MAPPING
    converted["metadata"] = obj.get("metadata")
    try:
        return Replication.model_validate(converted)
    except ValidationError as exc:
        raise InvalidSpec(ref, field_errors(exc)) from None


def _pop(spec: dict[str, Any], path: str) -> bool:
    """Remove a dotted path from a nested dict; True if it was there."""
    *parents, last = path.split(".")
    node: Any = spec
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    return False
