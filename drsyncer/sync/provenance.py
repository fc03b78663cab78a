"""Provenance: what a copy was made from, recorded on the copy, so that a resync can tell from
metadata alone (a PartialObjectMetadataList of both sides) that a copy is still what it would write.

Every copy carries the annotation `dr-syncer.io/synced-from` = `"<uid>/<version>/<check>"`:
- `uid`: the source object's uid (a source deleted and created again under the same name differs);
- `version`: `g<generation>` for kinds whose server counts spec changes in `metadata.generation`,
  else `rv<resourceVersion>`. A generation does not move when only status changes (a Deployment
  scaling in the source), so status churn never makes a copy look stale;
- `check`: 16 hex digits of SHA-256 over the rules digest, the copy's own `dr-syncer.io/source-hash`
  and the source's labels and annotations (which a generation does not count).

A copy is *settled* (`settled`) when its record equals the one its source's metadata gives now, and
its marks say it is this Replication's copy from this namespace, neither being deleted nor failed
over. A settled copy is unchanged without reading either body. Anything else (a source that moved,
a copy that is missing, re-owned, edited in its marks, or made under other rules) is read in full
and decided by `decide.decide` as before.

The rules digest (`rules_digest`) covers every field of `Rules` except those that only choose which
objects are copied or how a write is made (`NOT_IN_COPY`): those are applied on every run from
metadata. A field added to `Rules` is in the digest by default; a value of a type the digest cannot
serialise raises TypeError rather than being left out. `spec.modifiers` enter it per destination
cluster: only the rules that apply there, so a rule for one cluster leaves the others' copies
settled.

A Replication with `spec.plugins` never takes the metadata path (`metadata_decides`): a plugin is
code drsyncer cannot see into, whose filter needs whole objects and whose output may change with
the plugin's version, so every object is read in full and decided as before.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from drsyncer.api import keys
from drsyncer.sync import standby
from drsyncer.sync.objects import annotations_of, group_of
from drsyncer.sync.ownership import owner_of
from drsyncer.sync.rules import Rules
from drsyncer.sync.transform import SCALED_KINDS

# Bump when `transform` or `mark` write something else for the same source and rules: every copy is
# then read and rewritten once.
TRANSFORM_VERSION = 1

# Rules fields that do not change what a copy holds: selection and write handling are applied on
# every run, whatever the records say.
NOT_IN_COPY: frozenset[str] = frozenset(
    {
        "resource_types",
        "sync_crds",
        "exclude",
        "label_selector",
        "copy_generated_objects",
        "prune_deleted",
        "dry_run",
        "adopt_unowned",
        "default_immutable_handling",
        "immutable_overrides",
        "namespace_labels",
        "namespace_annotations",
        # in the digest per destination cluster (below), not as a whole
        "modifiers",
    }
)


# the public fields of `Rules`, the digests' input
_RULES_FIELDS = tuple(f.name for f in dataclasses.fields(Rules) if not f.name.startswith("_"))
# where `_modifier_specs` keeps its list among the fields' canonical forms (no field's name)
_MODIFIER_SPECS = " modifier specs"
_COMPILED = frozenset({"modifiers"})


def rules_digest(rules: Rules, destination_namespace: str, destination_cluster: str = "") -> str:
    """SHA-256 (hex) of what decides a copy's content besides its source: the rules (all fields but
    `NOT_IN_COPY`), the `spec.modifiers` rules that apply in `destination_cluster` (the RemoteCluster
    name), the destination namespace and `TRANSFORM_VERSION`. Computed once per rules object and
    arguments (a run asks for it per destination and per part of a namespace).

    Raises TypeError for a rules field whose value has no canonical form.
    """
    memo = ("copy", destination_namespace, destination_cluster)
    digest = rules._digests.get(memo)
    if digest is None:
        digest = rules._digests[memo] = _rules_digest(rules, destination_namespace, destination_cluster)
    return digest


def _rules_digest(rules: Rules, destination_namespace: str, destination_cluster: str) -> str:
    fields = _canonical_fields(rules, NOT_IN_COPY)
    fields["modifiers"] = [
        spec
        for rule, spec in zip(rules.modifiers, _modifier_specs(rules), strict=True)
        if not rule.clusters or destination_cluster in rule.clusters
    ]
    text = json.dumps(
        [TRANSFORM_VERSION, destination_namespace, fields], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()


def run_digest(
    rules: Rules, source_namespace: str, destination_namespace: str, destination_cluster: str
) -> str:
    """SHA-256 (hex) of everything that decides what a run does to one destination besides the
    objects: every rules field (selection and write handling included), the namespaces, the
    destination cluster (`ClusterClient.identity`) and `TRANSFORM_VERSION`. A watermark made under
    another digest is not trusted (drsyncer.sync.watermark). Computed once per rules object and
    arguments.

    Raises TypeError for a rules field whose value has no canonical form.
    """
    memo = ("run", source_namespace, destination_namespace, destination_cluster)
    digest = rules._digests.get(memo)
    if digest is None:
        digest = rules._digests[memo] = _run_digest(
            rules, source_namespace, destination_namespace, destination_cluster
        )
    return digest


def _run_digest(
    rules: Rules, source_namespace: str, destination_namespace: str, destination_cluster: str
) -> str:
    fields = _canonical_fields(rules, _COMPILED)
    # the rules as written: a compiled rule holds functions, which have no canonical form
    fields["modifiers"] = _modifier_specs(rules)
    text = json.dumps(
        [TRANSFORM_VERSION, source_namespace, destination_namespace, destination_cluster, fields],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def record(source: Mapping[str, Any], digest: str, source_hash: str) -> str:
    """The `synced-from` value of a copy of `source` (a full object or its metadata) made under
    the rules of `digest` with source hash `source_hash`; "" when the source has no uid or version."""
    meta = source.get("metadata") or {}
    uid = meta.get("uid") or ""
    generation = meta.get("generation")
    version = f"g{generation}" if generation else f"rv{meta.get('resourceVersion') or ''}"
    if not uid or version in ("g", "rv"):
        return ""
    check = json.dumps(
        [digest, source_hash, meta.get("labels") or {}, meta.get("annotations") or {}],
        sort_keys=True,
        separators=(",", ":"),
    )
    return f"{uid}/{version}/{hashlib.sha256(check.encode()).hexdigest()[:16]}"


def metadata_decides(rules: Rules) -> bool:
    """Whether a run under `rules` may decide from metadata (skip rules, settled copies): not when the
    Replication names plugins, whose hooks see whole objects."""
    return not rules.plugins


def needs_body(source: Mapping[str, Any]) -> bool:
    """Whether deciding about `source` takes its whole object, not its metadata: ServiceAccounts and
    token Secrets (their `secrets` list and `type` choose what is copied), and kinds whose copy
    reports something on every run (replica counts of scaled kinds and DaemonSets)."""
    gk = (group_of(source), source.get("kind") or "")
    if gk in SCALED_KINDS or gk == ("apps", "DaemonSet") or gk == ("", "ServiceAccount"):
        return True
    # a Secret of type kubernetes.io/service-account-token must name its account in this annotation
    # (kube-apiserver pkg/apis/core/validation ValidateSecret, 1.34)
    return gk == ("", "Secret") and keys.ANNOTATION_SA_NAME in annotations_of(source)


# between the two marks in `copy_marks`' one string: a made-from record has none (uid, version and
# check never hold one); a source hash holding one only makes its copy look unsettled (read in full)
_MARKS_SEP = " "


def copy_marks(existing: Mapping[str, Any], rules: Rules, source_namespace: str) -> str | None:
    """The synced-from record and source hash of a destination object (metadata suffices) that is
    this Replication's copy from `source_namespace`, neither being deleted nor failed over, and
    carries both, as one string (`"<synced-from> <source hash>"`: a resync holds one per copy of a
    namespace, and one string weighs about half what a tuple of two does); None for any other object
    (it is read in full and decided by `decide.decide`)."""
    meta = existing.get("metadata") or {}
    if meta.get("deletionTimestamp") or owner_of(existing) != rules.replication:
        return None
    annotations = meta.get("annotations") or {}
    if annotations.get(keys.ANNOTATION_SOURCE_NAMESPACE) != source_namespace or standby.failed_over(existing):
        return None
    made_from = annotations.get(keys.ANNOTATION_SYNCED_FROM)
    source_hash = annotations.get(keys.ANNOTATION_SOURCE_HASH)
    return f"{made_from}{_MARKS_SEP}{source_hash}" if made_from and source_hash else None


def is_settled(source: Mapping[str, Any], marks: str | None, digest: str) -> bool:
    """Whether the copy with `marks` (`copy_marks`) was made from `source` (metadata suffices) as it
    is now, under the rules of `digest`."""
    if marks is None or needs_body(source):
        return False
    made_from, _, source_hash = marks.partition(_MARKS_SEP)
    wanted = record(source, digest, source_hash)
    return bool(wanted) and wanted == made_from


def settled(
    source: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    digest: str,
    rules: Rules,
    source_namespace: str,
) -> bool:
    """True when the destination object `existing` (metadata suffices) is this Replication's copy of
    `source` (metadata suffices) as the current rules make it: nothing to read or write."""
    marks = None if existing is None else copy_marks(existing, rules, source_namespace)
    return is_settled(source, marks, digest)


def _canonical_fields(rules: Rules, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The canonical form of every public field of `rules` but `leave_out`, by name; each made once
    per rules object. Raises TypeError as `_canonical` (a field that raises is not kept: it raises
    again next time)."""
    memo = rules._canonical
    fields: dict[str, Any] = {}
    for name in _RULES_FIELDS:
        if name in leave_out:
            continue
        if name not in memo:
            memo[name] = _canonical(name, getattr(rules, name))
        fields[name] = memo[name]
    return fields


def _modifier_specs(rules: Rules) -> list[Any]:
    """The canonical form of each `spec.modifiers` rule as written (one per `rules.modifiers`),
    made once per rules object."""
    specs = rules._canonical.get(_MODIFIER_SPECS)
    if specs is None:
        specs = rules._canonical[_MODIFIER_SPECS] = [
            _canonical("modifiers", rule.spec) for rule in rules.modifiers
        ]
    return specs


def _canonical(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return _canonical(name, value.value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _canonical(name, dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _canonical(name, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(name, v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_canonical(name, v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    raise TypeError(
        f"rules field {name}: a {type(value).__name__} has no canonical form for the rules digest"
    )


__all__ = [
    "NOT_IN_COPY",
    "TRANSFORM_VERSION",
    "copy_marks",
    "is_settled",
    "metadata_decides",
    "needs_body",
    "record",
    "rules_digest",
    "run_digest",
    "settled",
]
