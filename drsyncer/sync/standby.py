"""Keeping standby copies from running: with `scaleToZero`, workloads other than Deployments and
StatefulSets (whose replicas go to zero, see transform.scale_for) are written so that they start
nothing in the DR cluster, and what the source said is recorded on the copy so failover can restore
it.

- CronJob and Job: `spec.suspend: true`; the source's value in `dr-syncer.io/original-suspend`.
  Both fields are updatable (kube-apiserver pkg/apis/batch/validation ValidateJobUpdate and
  ValidateCronJobUpdate, 1.34), so resuming is an update, not a recreate.
- DaemonSet: it has no replica count and no suspend switch, so the pod template's `nodeSelector`
  gains `dr-syncer.io/standby-node: none`, a label no node carries: the DaemonSet controller schedules
  no Pod. The source's nodeSelector is recorded as JSON in `dr-syncer.io/original-node-selector`
  (`{}` when it had none); restoring it, or removing the added key, brings the DaemonSet up. The
  template is updatable (ValidateDaemonSetUpdate), so both directions are plain updates.

The inverse lives here too, one home for what the annotations mean: `release` plans the write that
brings a standby copy up (what `drsyncer failover` sends), `restore` the write that puts back the
standby values `release` replaced (what `drsyncer failback` sends). Both read only the copy, so they
work with nothing but the DR cluster reachable; both are pure and return JSON merge patches (RFC 7386).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from drsyncer.api import keys
from drsyncer.sync.objects import Obj, annotations_of, group_of, labels_of

# the kinds whose copies the standby transform changes (Deployments and the like by replicas)
REPLICATED_KINDS: frozenset[tuple[str, str]] = frozenset(
    {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "ReplicaSet"), ("", "ReplicationController")}
)
SUSPENDED_KINDS: frozenset[tuple[str, str]] = frozenset({("batch", "CronJob"), ("batch", "Job")})
HELD_KINDS: frozenset[tuple[str, str]] = frozenset({("apps", "DaemonSet")})
STANDBY_KINDS: frozenset[tuple[str, str]] = REPLICATED_KINDS | SUSPENDED_KINDS | HELD_KINDS
# what a standby copy records of its source, which failover brings it up from
RECORDS: tuple[str, ...] = (
    keys.ANNOTATION_ORIGINAL_REPLICAS,
    keys.ANNOTATION_ORIGINAL_SUSPEND,
    keys.ANNOTATION_ORIGINAL_NODE_SELECTOR,
)
_DIGITS = re.compile(r"[0-9]+")
_INT32_MAX = 2**31 - 1


def override_replicas(labels: Mapping[str, str]) -> int | None:
    """The replicas a `dr-syncer.io/scale-override` label asks for; None when absent or not a whole
    number of replicas within int32 (the range of `spec.replicas`)."""
    value = labels.get(keys.LABEL_SCALE_OVERRIDE)
    if value is None or not _DIGITS.fullmatch(value) or int(value) > _INT32_MAX:
        return None
    return int(value)


def suspend(body: Obj) -> None:
    """A CronJob or Job copy that does not run; `body` owns its metadata (the spec is copied)."""
    spec: Obj = dict(body.get("spec") or {})
    original = "true" if spec.get("suspend") else "false"
    body["metadata"]["annotations"][keys.ANNOTATION_ORIGINAL_SUSPEND] = original
    spec["suspend"] = True
    body["spec"] = spec


def hold_daemonset(body: Obj) -> None:
    """A DaemonSet copy whose Pods fit no node; `body` owns its metadata (the spec path is copied)."""
    spec: Obj = dict(body.get("spec") or {})
    template: Obj = dict(spec.get("template") or {})
    pod: Obj = dict(template.get("spec") or {})
    original = pod.get("nodeSelector") or {}
    body["metadata"]["annotations"][keys.ANNOTATION_ORIGINAL_NODE_SELECTOR] = json.dumps(
        original, sort_keys=True, separators=(",", ":")
    )
    pod["nodeSelector"] = {**original, keys.LABEL_STANDBY_NODE: keys.STANDBY_NODE_VALUE}
    template["spec"] = pod
    spec["template"] = template
    body["spec"] = spec


FAILED_OVER_REASON = (
    "brought up by drsyncer failover (dr-syncer.io/failover-standby): neither updated nor "
    "pruned until drsyncer failback"
)


def failed_over(copy: Mapping[str, Any]) -> bool:
    """A copy `release` brought up and `restore` has not put back: a sync leaves it alone (it must not
    put it back in standby while the DR cluster serves; failback does)."""
    return keys.ANNOTATION_FAILOVER_STANDBY in annotations_of(copy)


class Outcome(StrEnum):
    """What `release` or `restore` found a copy to need."""

    CHANGE = "change"  # the patch brings it up (release) or back to standby (restore)
    DONE = "done"  # already up (release) or already in standby (restore): nothing to write
    NOT_STANDBY = "not-standby"  # nothing recorded to undo (e.g. copied with scaleToZero false)
    INVALID = "invalid"  # a recorded value is unreadable: left alone, the reason says which


@dataclass(frozen=True)
class Step:
    """The planned write for one copy: a JSON merge patch when `outcome` is CHANGE, else None;
    `detail` says what changes (`replicas 0 -> 3`) or why nothing does, for tables and logs."""

    outcome: Outcome
    detail: str
    patch: Obj | None = None


def release(copy: Mapping[str, Any]) -> Step:
    """The write that brings a standby copy up: the exact inverse of what the standby transform did.

    - Deployment, StatefulSet, ReplicaSet, ReplicationController: `spec.replicas` to the recorded
      `dr-syncer.io/original-replicas`, or to a larger `dr-syncer.io/scale-override` (the copy then
      already runs that many): a failover never lowers a count, and a copy already at or above its
      target is left as it is.
    - CronJob, Job: `spec.suspend` back to the recorded `dr-syncer.io/original-suspend`.
    - DaemonSet: the `dr-syncer.io/standby-node` key removed from the pod template's nodeSelector and
      the recorded `dr-syncer.io/original-node-selector` entries put back.

    The values replaced are recorded on the copy (`dr-syncer.io/failover-standby`, JSON) for `restore`;
    a record already there is kept, so the first failover's values are the ones failback restores.
    """
    gk = (group_of(copy), str(copy.get("kind") or ""))
    annotations = annotations_of(copy)
    spec = copy.get("spec") or {}
    if gk in REPLICATED_KINDS:
        recorded = annotations.get(keys.ANNOTATION_ORIGINAL_REPLICAS)
        if recorded is None:
            return Step(Outcome.NOT_STANDBY, f"no {keys.ANNOTATION_ORIGINAL_REPLICAS} annotation")
        if not _DIGITS.fullmatch(recorded) or int(recorded) > _INT32_MAX:
            return Step(
                Outcome.INVALID,
                f"annotation {keys.ANNOTATION_ORIGINAL_REPLICAS}={recorded!r} "
                "is not a whole number of replicas",
            )
        target = max(int(recorded), override_replicas(labels_of(copy)) or 0)
        current = 1 if spec.get("replicas") is None else int(spec["replicas"])
        if current >= target:
            return Step(Outcome.DONE, f"replicas {current} (original {recorded})")
        return Step(
            Outcome.CHANGE,
            f"replicas {current} -> {target}",
            _with_record(annotations, {"replicas": current}, {"spec": {"replicas": target}}),
        )
    if gk in SUSPENDED_KINDS:
        recorded = annotations.get(keys.ANNOTATION_ORIGINAL_SUSPEND)
        if recorded is None:
            return Step(Outcome.NOT_STANDBY, f"no {keys.ANNOTATION_ORIGINAL_SUSPEND} annotation")
        if recorded not in ("true", "false"):
            return Step(
                Outcome.INVALID,
                f"annotation {keys.ANNOTATION_ORIGINAL_SUSPEND}={recorded!r} is neither true nor false",
            )
        wanted = recorded == "true"
        suspended = bool(spec.get("suspend"))
        if suspended == wanted:
            return Step(Outcome.DONE, f"suspend {str(suspended).lower()} (original {recorded})")
        return Step(
            Outcome.CHANGE,
            f"suspend {str(suspended).lower()} -> {recorded}",
            _with_record(annotations, {"suspend": suspended}, {"spec": {"suspend": wanted}}),
        )
    if gk in HELD_KINDS:
        recorded = annotations.get(keys.ANNOTATION_ORIGINAL_NODE_SELECTOR)
        if recorded is None:
            return Step(Outcome.NOT_STANDBY, f"no {keys.ANNOTATION_ORIGINAL_NODE_SELECTOR} annotation")
        original = _json_map(recorded)
        if original is None:
            return Step(
                Outcome.INVALID,
                f"annotation {keys.ANNOTATION_ORIGINAL_NODE_SELECTOR} is not a JSON map of node labels",
            )
        selector = _node_selector(copy)
        if keys.LABEL_STANDBY_NODE not in selector:
            return Step(Outcome.DONE, "schedulable (no standby node label in its nodeSelector)")
        restored = {k: v for k, v in selector.items() if k != keys.LABEL_STANDBY_NODE} | original
        patch = _selector_patch(selector, restored)
        return Step(
            Outcome.CHANGE,
            f"nodeSelector without {keys.LABEL_STANDBY_NODE}",
            _with_record(annotations, {"nodeSelector": selector}, patch),
        )
    return Step(Outcome.NOT_STANDBY, "not a kind the standby transform changes")


def restore(copy: Mapping[str, Any]) -> Step:
    """The write that puts a copy `release` brought up back into standby: the values recorded in
    `dr-syncer.io/failover-standby` are written back and the record removed. A copy without the record
    was not brought up by a failover and is left alone (the next sync keeps it in step)."""
    recorded = annotations_of(copy).get(keys.ANNOTATION_FAILOVER_STANDBY)
    if recorded is None:
        return Step(Outcome.DONE, f"no {keys.ANNOTATION_FAILOVER_STANDBY} record: not brought up by failover")
    record = _json_map(recorded, values=(int, bool, dict))
    if record is None:
        return Step(Outcome.INVALID, f"annotation {keys.ANNOTATION_FAILOVER_STANDBY} is not a JSON map")
    spec_patch: Obj = {}
    changes: list[str] = []
    spec = copy.get("spec") or {}
    if isinstance(record.get("replicas"), int):
        spec_patch["replicas"] = record["replicas"]
        changes.append(f"replicas {spec.get('replicas')} -> {record['replicas']}")
    if isinstance(record.get("suspend"), bool):
        spec_patch["suspend"] = record["suspend"]
        was, back = str(bool(spec.get("suspend"))).lower(), str(record["suspend"]).lower()
        changes.append(f"suspend {was} -> {back}")
    patch: Obj = {"metadata": {"annotations": {keys.ANNOTATION_FAILOVER_STANDBY: None}}}
    if isinstance(record.get("nodeSelector"), dict):
        patch = _merge(patch, _selector_patch(_node_selector(copy), record["nodeSelector"]))
        changes.append("nodeSelector back to standby")
    if spec_patch:
        patch = _merge(patch, {"spec": spec_patch})
    return Step(Outcome.CHANGE, ", ".join(changes) or "record removed", patch)


def _with_record(annotations: Mapping[str, str], standby: Obj, patch: Obj) -> Obj:
    if keys.ANNOTATION_FAILOVER_STANDBY in annotations:
        return patch
    record = json.dumps(standby, sort_keys=True, separators=(",", ":"))
    return {"metadata": {"annotations": {keys.ANNOTATION_FAILOVER_STANDBY: record}}, **patch}


def _node_selector(copy: Mapping[str, Any]) -> dict[str, str]:
    pod = ((copy.get("spec") or {}).get("template") or {}).get("spec") or {}
    return dict(pod.get("nodeSelector") or {})


def _selector_patch(current: Mapping[str, str], wanted: Mapping[str, str]) -> Obj:
    if not wanted:
        # no selector at all, as the source had; the API server stores an empty map as none
        return {"spec": {"template": {"spec": {"nodeSelector": None}}}}
    # a merge patch removes a map key by setting it to null
    selector: dict[str, str | None] = {k: None for k in current if k not in wanted}
    selector.update({k: v for k, v in wanted.items() if current.get(k) != v})
    return {"spec": {"template": {"spec": {"nodeSelector": selector}}}}


def _json_map(text: str, values: tuple[type, ...] = (str,)) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, values) for v in value.values()):
        return None
    return value


def _merge(a: Obj, b: Obj) -> Obj:
    out = dict(a)
    for key, value in b.items():
        out[key] = (
            _merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
        )
    return out
