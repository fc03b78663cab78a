"""Which destination objects a cleanup deletes: only this Replication's copies of this namespace."""

from __future__ import annotations

from typing import Any

from drsyncer.api import keys
from drsyncer.kube.discovery import offline_ref
from drsyncer.sync.cleanup import select_owned

CM = offline_ref("configmaps")
DEPLOY = offline_ref("deployments")
assert CM is not None and DEPLOY is not None


def _obj(
    name: str,
    replication: str | None = "dr-system/web",
    source_ns: str = "shop",
    managed: bool = True,
    deleting: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "shop",
        "uid": f"uid-{name}",
        "labels": {},
        "annotations": {},
    }
    if managed:
        meta["labels"][keys.LABEL_MANAGED_BY] = keys.MANAGED_BY_VALUE
    if replication:
        meta["annotations"][keys.ANNOTATION_REPLICATION] = replication
    meta["annotations"][keys.ANNOTATION_SOURCE_NAMESPACE] = source_ns
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta}


def test_selects_only_owned_copies_of_the_namespace_dependents_first() -> None:
    objects = [
        (CM, _obj("mine")),
        (DEPLOY, _obj("app")),
        (CM, _obj("other-replication", replication="dr-system/api")),
        (CM, _obj("other-namespace", source_ns="billing")),
        (CM, _obj("unmarked", managed=False)),
        (CM, _obj("going", deleting=True)),
    ]
    chosen = select_owned(objects, "dr-system/web", "shop")
    assert [(d.key.kind, d.key.name) for d in chosen] == [("Deployment", "app"), ("ConfigMap", "mine")]
    assert chosen[1].uid == "uid-mine"
