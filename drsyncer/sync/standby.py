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
"""

from __future__ import annotations

import json

from drsyncer.api import keys
from drsyncer.sync.objects import Obj


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
        original, sort_keys=True, separators=(",", ":"))
    pod["nodeSelector"] = {**original, keys.LABEL_STANDBY_NODE: keys.STANDBY_NODE_VALUE}
    template["spec"] = pod
    spec["template"] = template
    body["spec"] = spec
