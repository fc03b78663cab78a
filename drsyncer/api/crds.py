"""CustomResourceDefinitions generated from the models, so the schema and the validation never drift.

The schemas are structural (every node typed, no `$ref`, no `anyOf`), which is what
apiextensions.k8s.io/v1 requires for defaulting and pruning. pydantic's own JSON schema is not used:
it produces `$ref` and `anyOf` for optional fields.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from drsyncer.api import keys
from drsyncer.api.remotecluster import RemoteClusterSpec, RemoteClusterStatus
from drsyncer.api.replication import ReplicationSpec, ReplicationStatus
from drsyncer.api.schema_hints import OpenAPI

Schema = dict[str, Any]

CATEGORY = "dr-syncer"
HEADER = "# Generated from drsyncer/api by `drsyncer crds`. Do not edit; regenerate.\n"
DEPRECATION_WARNING = (
    f"{keys.API_VERSION} {keys.KIND_NAMESPACE_MAPPING} is deprecated; "
    f"use {keys.KIND_REPLICATION} (see docs/migration.md)"
)


# ---- model → OpenAPI v3 ----------------------------------------------------------------------------


def model_schema(model: type[BaseModel], defaults: bool = True) -> Schema:
    """The structural schema of a model; `defaults` adds field defaults (spec, not status)."""
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        properties[key] = field_schema(info, defaults)
        if info.is_required():
            required.append(key)
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def field_schema(info: FieldInfo, defaults: bool) -> Schema:
    schema = _type_schema(info.annotation, list(info.metadata), defaults)
    if info.description:
        schema = {"description": info.description, **schema}
    if defaults:
        default = _default_of(info)
        if default is not None:
            schema["default"] = default
    return schema


def _type_schema(annotation: Any, metadata: list[Any], defaults: bool) -> Schema:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return _type_schema(inner, [*metadata, *extra], defaults)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) != 1:
            raise TypeError(f"unions other than Optional have no structural schema: {annotation}")
        return _type_schema(members[0], metadata, defaults)
    if annotation is Any:
        # any JSON value (a patch's value): kept as written, which a structural schema allows only so;
        # nullable, or kube-apiserver drops a null (a test for null, a merge patch's null) on write
        return {"x-kubernetes-preserve-unknown-fields": True, "nullable": True}
    if origin is dict and typing.get_args(annotation)[1] is Any:
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if origin is list:
        (item,) = typing.get_args(annotation)
        schema: Schema = {"type": "array", "items": _type_schema(item, [], defaults)}
    elif origin is dict:
        _, value = typing.get_args(annotation)
        schema = {"type": "object", "additionalProperties": _type_schema(value, [], defaults)}
    elif origin is Literal:
        schema = {"type": "string", "enum": list(typing.get_args(annotation))}
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        schema = model_schema(annotation, defaults)
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        schema = {"type": "string", "enum": [member.value for member in annotation]}
    elif annotation is bool:
        schema = {"type": "boolean"}
    elif annotation is int:
        schema = {"type": "integer"}
    elif annotation is float:
        schema = {"type": "number"}
    elif annotation is str:
        schema = {"type": "string"}
    elif annotation is datetime:
        schema = {"type": "string", "format": "date-time"}
    else:
        raise TypeError(f"no CRD schema for {annotation!r}")
    for item in metadata:
        schema.update(_constraint(item))
    return schema


def _constraint(item: Any) -> Schema:
    if isinstance(item, annotated_types.Ge):
        return {"minimum": item.ge}
    if isinstance(item, annotated_types.Gt):
        return {"minimum": item.gt, "exclusiveMinimum": True}
    if isinstance(item, annotated_types.Le):
        return {"maximum": item.le}
    if isinstance(item, OpenAPI):
        hint: Schema = {"pattern": item.pattern} if item.pattern else {}
        if item.list_map_keys:
            hint["x-kubernetes-list-type"] = "map"
            hint["x-kubernetes-list-map-keys"] = list(item.list_map_keys)
        return hint
    return {}


def _default_of(info: FieldInfo) -> Any:
    """A JSON default for the CRD, or None when the API server should leave the field absent.

    Nested objects default to `{}` so the API server then fills their own defaults in; empty lists
    and maps are left out rather than written into every object.
    """
    if info.default_factory is not None:
        value = info.get_default(call_default_factory=True, validated_data={})
        return {} if isinstance(value, BaseModel) else None
    value = info.default
    if value is PydanticUndefined or value is None:
        return None
    return value.value if isinstance(value, Enum) else value


# ---- the CRDs ------------------------------------------------------------------------------------


def _column(
    name: str, json_path: str, kind: str = "string", priority: int = 0, description: str = ""
) -> Schema:
    column: Schema = {"name": name, "type": kind, "jsonPath": json_path}
    if priority:
        column["priority"] = priority
    if description:
        column["description"] = description
    return column


_AGE = _column("Age", ".metadata.creationTimestamp", "date")
_READY = f'.status.conditions[?(@.type=="{keys.CONDITION_READY}")]'


def _crd(
    kind: str,
    plural: str,
    short_names: list[str],
    description: str,
    spec: Schema,
    status: Schema,
    columns: list[Schema],
    deprecated: bool = False,
) -> Schema:
    version: Schema = {
        "name": keys.VERSION,
        "served": True,
        "storage": True,
    }
    if deprecated:
        version["deprecated"] = True
        version["deprecationWarning"] = DEPRECATION_WARNING
    version.update(
        {
            "schema": {
                "openAPIV3Schema": {
                    "description": description,
                    "type": "object",
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": spec,
                        "status": status,
                    },
                    "required": ["spec"],
                }
            },
            "subresources": {"status": {}},
            "additionalPrinterColumns": columns,
        }
    )
    names: Schema = {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()}
    if short_names:
        names["shortNames"] = short_names
    names["categories"] = [CATEGORY]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{keys.GROUP}"},
        "spec": {"group": keys.GROUP, "scope": "Namespaced", "names": names, "versions": [version]},
    }


def remote_cluster_crd() -> Schema:
    return _crd(
        keys.KIND_REMOTE_CLUSTER,
        "remoteclusters",
        ["rcl"],
        "A cluster drsyncer reads from or writes to, reached through a kubeconfig stored in a Secret.",
        model_schema(RemoteClusterSpec),
        model_schema(RemoteClusterStatus, defaults=False),
        [
            _column("Health", ".status.health"),
            _column("Version", ".status.serverVersion"),
            _column("Last Check", ".status.lastCheckTime", "date"),
            _column("Message", ".status.message", priority=1),
            _AGE,
        ],
    )


def replication_crd() -> Schema:
    return _crd(
        keys.KIND_REPLICATION,
        "replications",
        ["repl"],
        "What to copy from a source cluster to DR clusters, when, and how the last runs went.",
        model_schema(ReplicationSpec),
        model_schema(ReplicationStatus, defaults=False),
        # a `date` column is an age, so a future time (the next sync) is a plain string; a list would
        # print as JSON, so the destinations are a string the watcher writes into status
        [
            _column("Source", ".spec.sourceCluster"),
            _column(
                "Destinations",
                ".status.destinations",
                description="Destination clusters (destinationCluster and destinationClusters).",
            ),
            _column("Mode", ".spec.replicationMode"),
            _column("Phase", ".status.phase"),
            _column(
                "Reason",
                f"{_READY}.reason",
                description="Why it is (not) ready: SyncCompleted, SyncFailed, InvalidSpec, Paused, ...",
            ),
            _column("Last Sync", ".status.lastSyncTime", "date"),
            _column("Synced", ".status.syncStats.synced", "integer"),
            _column("Failed", ".status.syncStats.failed", "integer"),
            _column("Source Namespace", ".spec.sourceNamespace", priority=1),
            _column(
                "Next Sync", ".status.nextSyncTime", priority=1, description="When the next run is due (UTC)."
            ),
            _column("Message", f"{_READY}.message", priority=1),
            _AGE,
        ],
    )


def namespace_mapping_crd() -> Schema:
    # The spec is kept open on purpose: existing objects carry Go operator fields that the API server
    # must not reject or prune; drsyncer converts and validates them, reporting InvalidSpec in status.
    spec = {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "description": "The Go dr-syncer's NamespaceMapping spec; converted to a Replication spec.",
    }
    return _crd(
        keys.KIND_NAMESPACE_MAPPING,
        "namespacemappings",
        [],
        "Deprecated: the Go dr-syncer's replication kind, accepted and converted to a Replication.",
        spec,
        model_schema(ReplicationStatus, defaults=False),
        [
            _column("Source", ".spec.sourceNamespace"),
            _column("Destination", ".spec.destinationNamespace"),
            _column("Phase", ".status.phase"),
            _column("Last Sync", ".status.lastSyncTime", "date"),
            _AGE,
        ],
        deprecated=True,
    )


def all_crds() -> list[Schema]:
    return [remote_cluster_crd(), replication_crd(), namespace_mapping_crd()]


def crd_filename(crd: Schema) -> str:
    return f"{crd['metadata']['name']}.yaml"


def render(crd: Schema) -> str:
    return HEADER + yaml.safe_dump(crd, sort_keys=False, width=100)


def render_all() -> str:
    """Every CRD as one multi-document YAML stream."""
    return "---\n".join(render(crd) for crd in all_crds())


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for crd in all_crds():
        path = directory / crd_filename(crd)
        path.write_text(render(crd))
        written.append(path)
    return written
