"""What kube-apiserver refuses to change in place, per kind and per Kubernetes version, as one table.

`refused(group, kind, version, desired, existing)` names every field whose change an update of
`existing` to `desired` would be refused for (422 Invalid, or a Forbidden field error), with the
field and message kube-apiserver would answer. It is the one home of this knowledge: the planner
(drsyncer/sync/immutable.py) holds such changes back or recreates, and the simulator
(drsyncer/sim/kinds.py) refuses them as the real server does.

Comparisons are made as the server makes them, after its defaulting: a field the server defaults
(a StatefulSet's `podManagementPolicy`, a claim's `volumeMode`) counts with its default when left
out, and quantities (resource requests and limits, claim sizes) compare by value, whatever form
each side was written in ("1000m" and "1", "1024Mi" and "1Gi"; drsyncer.api.quantities). Fields
the destination fills in by itself (a claim's bound `volumeName` and default `storageClassName`, a
Job's generated selector and its controller labels) count only when `desired` states them, since
an update that leaves them out keeps them (drsyncer's update bodies carry them over).

Sources (kube-apiserver, read at v1.30.0, v1.31.0, v1.32.0, v1.33.0 and v1.34.4):
pkg/apis/apps/validation (ValidateStatefulSetUpdate, ValidateDeploymentUpdate,
ValidateDaemonSetSpecUpdate, ValidateReplicaSetUpdate), pkg/apis/batch/validation
(ValidateJobSpecUpdate), pkg/apis/core/validation (ValidatePersistentVolumeClaimUpdate,
ValidatePersistentVolumeUpdate, ValidateServiceUpdate, ValidateSecretUpdate,
ValidateConfigMapUpdate, ValidateResourceQuotaUpdate), pkg/apis/rbac/validation
(ValidateRoleBindingUpdate, ValidateClusterRoleBindingUpdate), pkg/apis/storage/validation
(ValidateStorageClassUpdate), apiextensions-apiserver pkg/apis/apiextensions/validation
(validateCustomResourceDefinitionSpecUpdate, ValidateCustomResourceDefinitionStoredVersions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from drsyncer.api.quantities import comparable_quantities, parse_quantity

Version = tuple[int, int]  # (major, minor), e.g. (1, 32)
# what a server of unknown version is taken to be: the newest rows apply (a refusal they miss is
# still caught at run time, from the server's 422)
NEWEST_KNOWN: Version = (1, 34)

_VERSION = re.compile(r"v?(\d+)\.(\d+)")


def parse_version(git_version: str | None) -> Version | None:
    """`v1.32.0-drsyncer-sim`, `v1.34.4`, `1.29+` → (1, 32)...; None when unreadable or empty."""
    match = _VERSION.match((git_version or "").strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class Refusal:
    """One field an update may not change in place.

    `path`: the dotted path of what changed (`spec.revisionHistoryLimit`), what drsyncer reports and
    what a partial update leaves as it is. `field` and `message`: the error kube-apiserver answers
    (`spec`, `Forbidden: updates to statefulset spec for fields other than ...`); several paths may
    share one error.
    """

    path: str
    field: str
    message: str


Obj = Mapping[str, Any]
Check = Callable[[Version, Obj, Obj], list[Refusal]]


@dataclass(frozen=True)
class Row:
    """One line of the table: for a kind, from `since` (inclusive) to `until` (exclusive)."""

    group: str
    kind: str
    fields: str  # what it covers, for people (docs/sync-semantics.md shows the same)
    check: Check
    source: str  # the upstream function
    since: Version = (1, 0)
    until: Version | None = None

    def applies(self, version: Version) -> bool:
        return self.since <= version and (self.until is None or version < self.until)


# -- reading values ---------------------------------------------------------------------------------

_MISSING = object()


def _get(obj: Any, path: str, default: Any = None) -> Any:
    for part in path.split("."):
        if not isinstance(obj, Mapping) or part not in obj:
            return default
        obj = obj[part]
    return obj


def _go_value(value: Any) -> str:
    """A value as kube-apiserver prints it in `Invalid value: ...` (strings quoted, the rest as JSON)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


def _immutable(
    path: str, value: Any, field: str | None = None, detail: str = "field is immutable"
) -> Refusal:
    return Refusal(path, field or path, f"Invalid value: {_go_value(value)}: {detail}")


def _forbidden(path: str, detail: str, field: str | None = None) -> Refusal:
    return Refusal(path, field or path, f"Forbidden: {detail}")


def _field_check(
    path: str,
    *,
    default: Any = None,
    stated_only: bool = False,
    field: str | None = None,
    forbidden: str | None = None,
) -> Check:
    """A field that may never change: compared with `default` when left out; with `stated_only`,
    only when `desired` states it."""

    def check(_: Version, desired: Obj, existing: Obj) -> list[Refusal]:
        want = _get(desired, path, _MISSING)
        if want is _MISSING and stated_only:
            return []
        want = default if want is _MISSING or want is None else want
        have = _get(existing, path, default)
        have = default if have is None else have
        if want == have:
            return []
        if forbidden is not None:
            return [_forbidden(path, forbidden, field)]
        return [_immutable(path, want, field)]

    return check


# -- quantities -------------------------------------------------------------------------------------


def _same_quantity(a: Any, b: Any) -> bool:
    if a == b:
        return True
    qa, qb = parse_quantity(a), parse_quantity(b)
    return qa is not None and qa == qb


# -- apps -------------------------------------------------------------------------------------------

_STS_UPDATABLE_TO_1_32 = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
_STS_UPDATABLE_1_33 = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
# apps/v1 SetDefaults_StatefulSet: what a left-out field is compared as
_STS_DEFAULTS: dict[str, Any] = {
    "podManagementPolicy": "OrderedReady",
    "revisionHistoryLimit": 10,
    "serviceName": "",
    "volumeClaimTemplates": [],
}


def _claim_template(template: Obj) -> dict[str, Any]:
    # as stored: apiVersion, kind and status (phase Pending) are filled in, volumeMode defaulted
    meta = template.get("metadata") or {}
    spec = dict(template.get("spec") or {})
    spec.setdefault("volumeMode", "Filesystem")
    return {
        "name": meta.get("name"),
        "labels": meta.get("labels") or {},
        "annotations": meta.get("annotations") or {},
        "spec": spec,
    }


def _sts_value(spec: Obj, key: str) -> Any:
    value = spec.get(key)
    if value is None:
        value = _STS_DEFAULTS.get(key)
    if key == "volumeClaimTemplates":
        return [_claim_template(t) for t in value or ()]
    return value


def _statefulset(updatable: tuple[str, ...]) -> Check:
    listed = ", ".join(f"'{f}'" for f in updatable[:-1]) + f" and '{updatable[-1]}'"
    detail = f"updates to statefulset spec for fields other than {listed} are forbidden"

    def check(_: Version, desired: Obj, existing: Obj) -> list[Refusal]:
        want, have = desired.get("spec") or {}, existing.get("spec") or {}
        keys = sorted((set(want) | set(have)) - set(updatable))
        return [
            _forbidden(f"spec.{k}", detail, "spec")
            for k in keys
            if _sts_value(want, k) != _sts_value(have, k)
        ]

    return check


# -- batch ------------------------------------------------------------------------------------------

# set by the Job controller from the Job's uid (batch/v1); a copy never states them
_JOB_CONTROLLER_LABELS = frozenset(
    {"controller-uid", "job-name", "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name"}
)
_JOB_IMMUTABLE = ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy")


# the pod template's scheduling directives, which may change while a Job is suspended and has never
# started (validatePodTemplateUpdate, AllowMutableSchedulingDirectives; GA in 1.27): with the
# template's labels and annotations, and the node affinity within `affinity`
_JOB_SCHEDULING_DIRECTIVES = ("nodeSelector", "tolerations", "schedulingGates")


def _job_template(spec: Obj, scheduling_mutable: bool = False) -> dict[str, Any]:
    """What of a Job's pod template must stay as it is; with `scheduling_mutable`, less the
    scheduling directives a suspended Job that never started may change."""
    template = spec.get("template") or {}
    meta = template.get("metadata") or {}
    pod = template.get("spec")
    if not scheduling_mutable:
        labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in _JOB_CONTROLLER_LABELS}
        return {"labels": labels, "annotations": meta.get("annotations") or {}, "spec": pod}
    pod = {k: v for k, v in (pod or {}).items() if k not in _JOB_SCHEDULING_DIRECTIVES}
    affinity = {k: v for k, v in (pod.pop("affinity", None) or {}).items() if k != "nodeAffinity"}
    if affinity:
        pod["affinity"] = affinity
    return {"spec": pod}


def _job(version: Version, desired: Obj, existing: Obj) -> list[Refusal]:
    want, have = desired.get("spec") or {}, existing.get("spec") or {}
    refusals: list[Refusal] = []
    # the selector is generated unless manualSelector: only a stated one counts
    if want.get("selector") is not None and want.get("selector") != have.get("selector"):
        refusals.append(_immutable("spec.selector", want.get("selector")))
    # the existing Job decides (pkg/registry/batch/job strategy.go): suspended and not started yet
    mutable = have.get("suspend") is True and not _get(existing, "status.startTime")
    if _job_template(want, mutable) != _job_template(have, mutable):
        refusals.append(_immutable("spec.template", want.get("template")))
    defaults = {"completionMode": "NonIndexed"}
    for key in _JOB_IMMUTABLE:
        if key not in want and key not in defaults:
            continue  # left out: the server keeps (or defaults) what it has
        value, held = want.get(key, defaults.get(key)), have.get(key, defaults.get(key))
        if value != held:
            refusals.append(_immutable(f"spec.{key}", value))
    refusals += _job_completions(version, want, have)
    return refusals


def _job_counts(spec: Obj) -> tuple[Any, Any]:
    """(completions, parallelism) as batch/v1 defaulting (SetDefaults_Job) leaves them: both 1 when
    both are left out, else a left-out parallelism 1."""
    completions, parallelism = spec.get("completions"), spec.get("parallelism")
    if completions is None and parallelism is None:
        return 1, 1
    return completions, 1 if parallelism is None else parallelism


def _job_completions(version: Version, want: Obj, have: Obj) -> list[Refusal]:
    # validateCompletions: fixed on a NonIndexed Job; on an Indexed one (ElasticIndexedJob, on by
    # default from 1.27) it may change only to the new parallelism
    completions, parallelism = _job_counts(want)
    if completions == _job_counts(have)[0]:
        return []
    if want.get("completionMode") != "Indexed" or version < (1, 27):
        return [_immutable("spec.completions", completions)]
    if completions is not None and completions != parallelism:
        detail = "can only be modified in tandem with spec.parallelism"
        return [_immutable("spec.completions", completions, detail=detail)]
    return []


# -- core -------------------------------------------------------------------------------------------

_PVC_DETAIL = (
    "spec is immutable after creation except resources.requests and volumeAttributesClassName "
    "for bound claims"
)
# the binding, and what admission or defaulting fills in: left out, the server keeps what it has
_PVC_FILLED = ("volumeName", "storageClassName", "dataSourceRef")
_VAC = "volumeAttributesClassName"


def _pvc(version: Version, desired: Obj, existing: Obj) -> list[Refusal]:
    want, have = dict(desired.get("spec") or {}), dict(existing.get("spec") or {})
    # on an update the new object carries the old status, so "bound" is the existing claim's phase
    bound = _get(existing, "status.phase") == "Bound"
    refusals: list[Refusal] = []
    for key in _PVC_FILLED:
        if want.get(key) is None:
            want[key] = have.get(key)
        elif have.get(key) is None:
            have[key] = want[key]  # set once: a claim without a volume (or a class) may be given one
    # kube-apiserver names a volumeMode change twice: as such, and within the whole spec
    want["volumeMode"] = want.get("volumeMode") or "Filesystem"
    have["volumeMode"] = have.get("volumeMode") or "Filesystem"
    if want["volumeMode"] != have["volumeMode"]:
        refusals.append(_immutable("spec.volumeMode", want["volumeMode"], "volumeMode"))
    want_size, have_size = _get(want, "resources.requests.storage"), _get(have, "resources.requests.storage")
    wanted, held = parse_quantity(want_size), parse_quantity(have_size)
    if wanted is not None and held is not None and wanted < held:
        capacity = parse_quantity(_get(existing, "status.capacity.storage") or 0)
        if version < (1, 32):  # RecoverVolumeExpansionFailure is on by default from 1.32
            refusals.append(
                _forbidden("spec.resources.requests.storage", "field can not be less than previous value")
            )
        elif capacity is not None and wanted <= capacity:
            refusals.append(
                _forbidden("spec.resources.requests.storage", "field can not be less than status.capacity")
            )
    if want_size is None or bound or _same_quantity(want_size, have_size):
        _set_size(want, have_size)  # the size request may change on a Bound claim only
    if _VAC not in want:
        want[_VAC] = have.get(_VAC)
    elif want.get(_VAC) != have.get(_VAC):
        if version < (1, 34):  # VolumeAttributesClass is beta and off by default before 1.34
            refusals.append(
                _forbidden(
                    f"spec.{_VAC}",
                    "update is forbidden when the VolumeAttributesClass feature gate is disabled",
                )
            )
            want[_VAC] = have.get(_VAC)
        elif bound:
            want[_VAC] = have.get(_VAC)
    refusals += [_forbidden(path, _PVC_DETAIL, "spec") for path in _spec_paths(want, have)]
    return refusals


def _set_size(spec: dict[str, Any], size: Any) -> None:
    resources = dict(spec.get("resources") or {})
    requests = dict(resources.get("requests") or {})
    if size is None:
        requests.pop("storage", None)
    else:
        requests["storage"] = size
    resources["requests"] = requests
    spec["resources"] = resources


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""


def _spec_paths(want: Obj, have: Obj) -> list[str]:
    """Where two claim specs differ: `spec.<field>`, or `spec.resources.requests.<name>` for requests."""
    paths: list[str] = []
    for key in sorted(set(want) | set(have)):
        a, b = want.get(key), have.get(key)
        if a == b or (_empty(a) and _empty(b)):
            continue
        if key != "resources" or not isinstance(a, Mapping) or not isinstance(b, Mapping):
            paths.append(f"spec.{key}")
            continue
        for sub in sorted(set(a) | set(b)):
            if sub != "requests":
                if not (a.get(sub) == b.get(sub) or (_empty(a.get(sub)) and _empty(b.get(sub)))):
                    paths.append(f"spec.resources.{sub}")
                continue
            ra, rb = a.get("requests") or {}, b.get("requests") or {}
            paths += [
                f"spec.resources.requests.{n}"
                for n in sorted(set(ra) | set(rb))
                if not _same_quantity(ra.get(n), rb.get(n))
            ]
    return paths


_PV_NOT_SOURCE = frozenset(
    {
        "capacity",
        "accessModes",
        "claimRef",
        "persistentVolumeReclaimPolicy",
        "storageClassName",
        "mountOptions",
        "volumeMode",
        "nodeAffinity",
        "volumeAttributesClassName",
    }
)


def _pv(_: Version, desired: Obj, existing: Obj) -> list[Refusal]:
    want, have = desired.get("spec") or {}, existing.get("spec") or {}
    refusals: list[Refusal] = []
    for key in sorted((set(want) | set(have)) - _PV_NOT_SOURCE):
        if want.get(key) != have.get(key):
            refusals.append(
                _forbidden(
                    f"spec.{key}",
                    "spec.persistentvolumesource is immutable after creation",
                    "spec.persistentvolumesource",
                )
            )
    if want.get("volumeMode", "Filesystem") != have.get("volumeMode", "Filesystem"):
        refusals.append(_immutable("spec.volumeMode", want.get("volumeMode", "Filesystem"), "volumeMode"))
    if have.get("nodeAffinity") is not None and want.get("nodeAffinity") != have.get("nodeAffinity"):
        refusals.append(
            _immutable(
                "spec.nodeAffinity",
                want.get("nodeAffinity"),
                "nodeAffinity",
                "field is immutable, except for updating from beta label to GA",
            )
        )
    return refusals


def _headless(spec: Obj) -> bool:
    return spec.get("clusterIP") == "None" or (spec.get("clusterIPs") or [None])[0] == "None"


def _service(_: Version, desired: Obj, existing: Obj) -> list[Refusal]:
    want, have = desired.get("spec") or {}, existing.get("spec") or {}
    refusals: list[Refusal] = []
    kinds = (want.get("type") or "ClusterIP", have.get("type") or "ClusterIP")
    if "ExternalName" not in kinds:
        # a copy leaves allocated addresses out, so an absent clusterIP asks for an allocated one
        if _headless(want) != _headless(have) and have.get("clusterIP"):
            ips = want.get("clusterIPs") or ([want["clusterIP"]] if want.get("clusterIP") else [])
            message = f"Invalid value: {_go_value(ips)}: may not change once set"
            refusals += [
                Refusal(p, "spec.clusterIPs[0]", message) for p in ("spec.clusterIP", "spec.clusterIPs")
            ]
        elif want.get("clusterIP") and have.get("clusterIP") and want["clusterIP"] != have["clusterIP"]:
            shown = _go_value([want["clusterIP"]])
            refusals.append(
                Refusal(
                    "spec.clusterIP", "spec.clusterIPs[0]", f"Invalid value: {shown}: may not change once set"
                )
            )
    lb_class = want.get("loadBalancerClass"), have.get("loadBalancerClass")
    if kinds == ("LoadBalancer", "LoadBalancer") and lb_class[0] != lb_class[1]:
        refusals.append(
            _immutable(
                "spec.loadBalancerClass", want.get("loadBalancerClass"), detail="may not change once set"
            )
        )
    health = [
        s.get("type") == "LoadBalancer" and s.get("externalTrafficPolicy") == "Local" for s in (want, have)
    ]
    if all(health) and want.get("healthCheckNodePort") not in (None, have.get("healthCheckNodePort")):
        refusals.append(_forbidden("spec.healthCheckNodePort", "field is immutable"))
    return refusals


def _frozen_data(fields: tuple[str, ...]) -> Check:
    """ConfigMap and Secret with `immutable: true`: nothing of the payload may change, nor the flag."""

    def check(_: Version, desired: Obj, existing: Obj) -> list[Refusal]:
        if not existing.get("immutable"):
            return []
        detail = "field is immutable when `immutable` is set"
        refusals = [] if desired.get("immutable") else [_forbidden("immutable", detail)]
        refusals += [
            _forbidden(f, detail) for f in fields if (desired.get(f) or {}) != (existing.get(f) or {})
        ]
        return refusals

    return check


def _resource_quota(_: Version, desired: Obj, existing: Obj) -> list[Refusal]:
    want = sorted(_get(desired, "spec.scopes") or [])
    if want != sorted(_get(existing, "spec.scopes") or []):
        return [_immutable("spec.scopes", _get(desired, "spec.scopes"))]
    return []


# -- rbac, storage, apiextensions -------------------------------------------------------------------


def _role_ref(_: Version, desired: Obj, existing: Obj) -> list[Refusal]:
    want, have = desired.get("roleRef") or {}, existing.get("roleRef") or {}
    if all(want.get(k) == have.get(k) for k in ("apiGroup", "kind", "name")):
        return []
    shown = (
        f'rbac.RoleRef{{APIGroup:"{want.get("apiGroup", "")}", Kind:"{want.get("kind", "")}", '
        f'Name:"{want.get("name", "")}"}}'
    )
    return [Refusal("roleRef", "roleRef", f"Invalid value: {shown}: cannot change roleRef")]


def _storage_class(_: Version, desired: Obj, existing: Obj) -> list[Refusal]:
    refusals: list[Refusal] = []
    if (desired.get("parameters") or {}) != (existing.get("parameters") or {}):
        refusals.append(_forbidden("parameters", "updates to parameters are forbidden."))
    if desired.get("provisioner") != existing.get("provisioner"):
        refusals.append(_forbidden("provisioner", "updates to provisioner are forbidden."))
    if (desired.get("reclaimPolicy") or "Delete") != (existing.get("reclaimPolicy") or "Delete"):
        refusals.append(_forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
    return refusals + _field_check("volumeBindingMode", default="Immediate")((1, 0), desired, existing)


def _established(crd: Obj) -> bool:
    return any(
        c.get("type") == "Established" and c.get("status") == "True"
        for c in _get(crd, "status.conditions") or ()
    )


def _crd(version: Version, desired: Obj, existing: Obj) -> list[Refusal]:
    refusals: list[Refusal] = []
    paths = ["spec.group", "spec.names.plural"]
    if _established(existing):  # storage depends on these once served
        paths += ["spec.scope", "spec.names.kind"]
    for path in paths:
        refusals += _field_check(path)(version, desired, existing)
    served = {v.get("name") for v in _get(desired, "spec.versions") or ()}
    for i, stored in enumerate(_get(existing, "status.storedVersions") or ()):
        if served and stored not in served:
            refusals.append(
                Refusal(
                    "spec.versions",
                    f"status.storedVersions[{i}]",
                    f"Invalid value: {_go_value(stored)}: must appear in spec.versions",
                )
            )
    return refusals


_POD_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be "
    "set to 1 if it was previously negative)"
)


# Pod fields the cluster a Pod is created in fills in (1.34): `nodeName`, the scheduler's binding;
# `priority` and `preemptionPolicy`, computed by the Priority admission plugin from the
# PriorityClass (plugin/pkg/admission/priority: a value that differs from what it computes is
# refused with 403 "must not be provided in pod spec"); `ephemeralContainers`, added through their
# subresource only (ValidatePodCreate refuses them on create). A copy leaves them to the
# destination (drsyncer.sync.transform), an update keeps the destination's (drsyncer.sync.merge),
# and their being left out of a copy is no change of it.
POD_ASSIGNED_FIELDS: tuple[str, ...] = ("nodeName", "priority", "preemptionPolicy", "ephemeralContainers")


def pod_spec_kept(want: Mapping[str, Any], have: Mapping[str, Any]) -> dict[str, Any]:
    """The Pod spec `want` with what the destination's own Pod `have` got from its cluster and `want`
    leaves out: the `POD_ASSIGNED_FIELDS`, and each container's `resources` entries (a limit or a
    request of a resource `want` states none of) that LimitRanger admission filled in from the
    destination namespace's LimitRanges on create (plugin/pkg/admission/limitranger, 1.34); an update
    may not change a container's resources, so they are kept, as the others are. A new dict; neither
    argument is modified."""
    out: dict[str, Any] = dict(want)
    for key in POD_ASSIGNED_FIELDS:
        if key in have and key not in want:
            out[key] = have[key]
    for key in ("containers", "initContainers"):
        theirs = {c.get("name"): c for c in have.get(key) or () if isinstance(c, Mapping)}
        if isinstance(want.get(key), list) and theirs:
            out[key] = [_resources_kept(c, theirs.get(c.get("name"))) for c in want[key]]
    return out


def _resources_kept(mine: Any, theirs: Mapping[str, Any] | None) -> Any:
    if not isinstance(mine, Mapping) or theirs is None:
        return mine
    have = theirs.get("resources") or {}
    want = mine.get("resources") or {}
    merged = dict(want)
    for part in ("limits", "requests"):
        filled = {k: v for k, v in (have.get(part) or {}).items() if k not in (want.get(part) or {})}
        if filled:
            merged[part] = {**(want.get(part) or {}), **filled}
    return {**mine, "resources": merged} if merged != want else mine


def _pod_fixed(spec: Obj) -> dict[str, Any]:
    """A Pod spec without what an update may change; tolerations only grow, so those kept must stay."""
    fixed = {
        k: v
        for k, v in spec.items()
        if k
        not in ("activeDeadlineSeconds", "terminationGracePeriodSeconds", "tolerations", "schedulingGates")
    }
    for key in ("containers", "initContainers"):
        if key in fixed:
            fixed[key] = [{k: v for k, v in c.items() if k != "image"} for c in fixed[key] or []]
    return fixed


def _pod(_: Version, desired: Obj, existing: Obj) -> list[Refusal]:
    have = existing.get("spec") or {}
    # what the destination filled in and the copy leaves out is kept by the update (merge.update_body)
    want = pod_spec_kept(desired.get("spec") or {}, have)
    kept = all(t in (want.get("tolerations") or []) for t in have.get("tolerations") or [])
    fixed_want, fixed_have = _pod_fixed(want), _pod_fixed(have)
    if fixed_want == fixed_have and kept:
        return []
    # one refusal (kube-apiserver's one error on `spec`) per field that differs, so the report names it
    moved = sorted(k for k in fixed_want.keys() | fixed_have.keys() if fixed_want.get(k) != fixed_have.get(k))
    if not kept:
        moved.append("tolerations")
    return [_forbidden(f"spec.{key}", _POD_MESSAGE, "spec") for key in moved]


def _none(_: Version, __: Obj, ___: Obj) -> list[Refusal]:
    return []


_SELECTOR = _field_check("spec.selector")
_APPS = "pkg/apis/apps/validation"
_CORE = "pkg/apis/core/validation"

TABLE: tuple[Row, ...] = (
    Row(
        "apps",
        "StatefulSet",
        "spec except replicas, ordinals, template, updateStrategy, "
        "persistentVolumeClaimRetentionPolicy, minReadySeconds",
        _statefulset(_STS_UPDATABLE_TO_1_32),
        f"{_APPS} ValidateStatefulSetUpdate",
        until=(1, 33),
    ),
    Row(
        "apps",
        "StatefulSet",
        "spec except replicas, ordinals, template, updateStrategy, "
        "revisionHistoryLimit, persistentVolumeClaimRetentionPolicy, minReadySeconds",
        _statefulset(_STS_UPDATABLE_1_33),
        f"{_APPS} ValidateStatefulSetUpdate",
        (1, 33),
    ),
    Row("apps", "Deployment", "spec.selector", _SELECTOR, f"{_APPS} ValidateDeploymentUpdate"),
    Row("apps", "DaemonSet", "spec.selector", _SELECTOR, f"{_APPS} ValidateDaemonSetSpecUpdate"),
    Row("apps", "ReplicaSet", "spec.selector", _SELECTOR, f"{_APPS} ValidateReplicaSetUpdate"),
    Row(
        "batch",
        "Job",
        "spec.selector (a stated one), spec.template (but its labels, annotations, nodeSelector, "
        "tolerations, schedulingGates and node affinity while suspended and never started), "
        "spec.completions (but, from 1.27, an Indexed Job's may change to equal the new "
        "spec.parallelism), spec.completionMode, podFailurePolicy, backoffLimitPerIndex, managedBy, "
        "successPolicy",
        _job,
        "pkg/apis/batch/validation ValidateJobSpecUpdate",
    ),
    Row("batch", "CronJob", "nothing", _none, "pkg/apis/batch/validation ValidateCronJobUpdate"),
    Row(
        "",
        "PersistentVolumeClaim",
        "spec, except resources.requests on a Bound claim (never below the "
        "previous request; from 1.32 never at or below status.capacity) and, from 1.34, "
        "volumeAttributesClassName on a Bound claim; volumeName and storageClassName may be set once",
        _pvc,
        f"{_CORE} ValidatePersistentVolumeClaimUpdate",
    ),
    Row(
        "",
        "PersistentVolume",
        "the volume source, volumeMode, nodeAffinity once set",
        _pv,
        f"{_CORE} ValidatePersistentVolumeUpdate",
    ),
    Row(
        "",
        "Service",
        "switching between headless and an allocated clusterIP, a set clusterIP; "
        "loadBalancerClass while LoadBalancer; healthCheckNodePort while it is needed",
        _service,
        f"{_CORE} ValidateServiceUpdate",
    ),
    Row(
        "",
        "Pod",
        "spec, except container and init container images, activeDeadlineSeconds, "
        "terminationGracePeriodSeconds and added tolerations",
        _pod,
        f"{_CORE} ValidatePodUpdate",
    ),
    Row("", "Secret", "type", _field_check("type", default="Opaque"), f"{_CORE} ValidateSecretUpdate"),
    Row(
        "",
        "Secret",
        "data and immutable, once immutable is true",
        _frozen_data(("data",)),
        f"{_CORE} ValidateSecretUpdate",
    ),
    Row(
        "",
        "ConfigMap",
        "data, binaryData and immutable, once immutable is true",
        _frozen_data(("data", "binaryData")),
        f"{_CORE} ValidateConfigMapUpdate",
    ),
    Row("", "ResourceQuota", "spec.scopes", _resource_quota, f"{_CORE} ValidateResourceQuotaUpdate"),
    Row("", "Namespace", "nothing", _none, f"{_CORE} ValidateNamespaceUpdate"),
    Row("", "ServiceAccount", "nothing", _none, f"{_CORE} ValidateServiceAccountUpdate"),
    Row(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "roleRef",
        _role_ref,
        "pkg/apis/rbac/validation ValidateRoleBindingUpdate",
    ),
    Row(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "roleRef",
        _role_ref,
        "pkg/apis/rbac/validation ValidateClusterRoleBindingUpdate",
    ),
    Row("rbac.authorization.k8s.io", "Role", "nothing", _none, "pkg/apis/rbac/validation ValidateRoleUpdate"),
    Row(
        "rbac.authorization.k8s.io",
        "ClusterRole",
        "nothing",
        _none,
        "pkg/apis/rbac/validation ValidateClusterRoleUpdate",
    ),
    Row(
        "storage.k8s.io",
        "StorageClass",
        "parameters, provisioner, reclaimPolicy, volumeBindingMode",
        _storage_class,
        "pkg/apis/storage/validation ValidateStorageClassUpdate",
    ),
    Row(
        "networking.k8s.io",
        "IngressClass",
        "spec.controller",
        _field_check("spec.controller"),
        "pkg/apis/networking/validation ValidateIngressClassUpdate",
    ),
    Row(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "spec.group, spec.names.plural; spec.scope and "
        "spec.names.kind once Established; removing a version listed in status.storedVersions",
        _crd,
        "apiextensions-apiserver validateCustomResourceDefinitionSpecUpdate",
    ),
    Row(
        "networking.k8s.io",
        "Ingress",
        "nothing",
        _none,
        "pkg/apis/networking/validation ValidateIngressUpdate",
    ),
    Row(
        "networking.k8s.io",
        "NetworkPolicy",
        "nothing",
        _none,
        "pkg/apis/networking/validation ValidateNetworkPolicyUpdate",
    ),
    Row(
        "autoscaling",
        "HorizontalPodAutoscaler",
        "nothing",
        _none,
        "pkg/apis/autoscaling/validation ValidateHorizontalPodAutoscalerUpdate",
    ),
    Row(
        "policy",
        "PodDisruptionBudget",
        "nothing (the spec is mutable since 1.15)",
        _none,
        "pkg/apis/policy/validation ValidatePodDisruptionBudget",
    ),
    Row(
        "coordination.k8s.io",
        "Lease",
        "nothing",
        _none,
        "pkg/apis/coordination/validation ValidateLeaseUpdate",
    ),
    Row("", "Endpoints", "nothing", _none, f"{_CORE} ValidateEndpointsUpdate"),
    Row(
        "discovery.k8s.io",
        "EndpointSlice",
        "addressType",
        _field_check("addressType"),
        "pkg/apis/discovery/validation ValidateEndpointSliceUpdate",
    ),
)

_BY_KIND: dict[tuple[str, str], tuple[Row, ...]] = {}
for _row in TABLE:
    _BY_KIND[(_row.group, _row.kind)] = (*_BY_KIND.get((_row.group, _row.kind), ()), _row)


def rows_for(group: str, kind: str, version: Version | None = None) -> tuple[Row, ...]:
    """The rows of a kind that apply at `version` (the newest when None)."""
    at = version or NEWEST_KNOWN
    return tuple(r for r in _BY_KIND.get((group, kind), ()) if r.applies(at))


def refused(
    group: str, kind: str, version: Version | None, desired: Obj, existing: Obj
) -> tuple[Refusal, ...]:
    """Every change from `existing` to `desired` that kube-apiserver `version` refuses in place.

    `group`/`kind`: the object's API group ("" for core) and kind; `version`: the destination's
    (major, minor) from its /version, None when unknown (the newest known rows apply). Kinds not in
    the table (custom resources) have no refusals here. Pure; neither object is modified.
    """
    rows = rows_for(group, kind, version)
    if not rows:
        return ()
    # the server stores quantities rewritten ("1024Mi" as "1Gi") and compares them by value
    desired = comparable_quantities(desired, group, kind)
    existing = comparable_quantities(existing, group, kind)
    found: list[Refusal] = []
    for row in rows:
        found += row.check(version or NEWEST_KNOWN, desired, existing)
    return tuple(found)


def refused_paths(
    group: str, kind: str, version: Version | None, desired: Obj, existing: Obj
) -> tuple[str, ...]:
    """The dotted paths of `refused(...)`, each once, in table order."""
    return tuple(dict.fromkeys(r.path for r in refused(group, kind, version, desired, existing)))


__all__ = [
    "NEWEST_KNOWN",
    "TABLE",
    "Refusal",
    "Row",
    "Version",
    "parse_quantity",
    "parse_version",
    "pod_spec_kept",
    "refused",
    "refused_paths",
    "rows_for",
]
