"""Failback's copy back: what changed in DR since the failover, written back as the user's object."""

from __future__ import annotations

import copy

from drsyncer.api import keys
from drsyncer.sync.copy_back import (
    body_for_source,
    changed_since,
    default_ingress_classes,
    skip_reason,
    without_default_class,
)
from drsyncer.sync.ownership import mark
from drsyncer.sync.standby import release
from drsyncer.sync.transform import for_destination
from tests.unit.sync.factories import DEST_NS, SOURCE_NS, configmap, deployment, rules, secret, service


def dr_copy(source: dict, resource_version: str = "900") -> dict:
    body = copy.deepcopy(for_destination(source, rules(), destination_namespace=DEST_NS))
    mark(body, rules(), source)
    body["metadata"].update(resourceVersion=resource_version, uid="dr-uid", generation=4)
    return body


def test_objects_written_after_the_recorded_version_changed() -> None:
    assert changed_since(dr_copy(configmap(), "1001"), "1000")
    assert not changed_since(dr_copy(configmap(), "1000"), "1000")
    assert not changed_since(dr_copy(configmap(), "999"), "1000")  # compared as numbers, not text
    assert changed_since(dr_copy(configmap(), "opaque-v2"), "1000")  # unknown form: shown, not hidden


def test_copy_back_body_is_the_users_object_without_drsyncer_marks() -> None:
    source = deployment(replicas=3)
    running = dr_copy(source)
    patch = release(running).patch
    assert patch is not None
    running["spec"]["replicas"] = 3
    running["metadata"]["annotations"].update(patch["metadata"]["annotations"])
    body = body_for_source(running)
    assert body["metadata"]["namespace"] == SOURCE_NS  # the namespace the marks name
    assert body["spec"]["replicas"] == 3
    assert keys.LABEL_MANAGED_BY not in body["metadata"].get("labels", {})
    assert not {a for a in body["metadata"].get("annotations", {}) if a.startswith("dr-syncer.io/")}
    assert not {"uid", "resourceVersion", "generation"} & set(body["metadata"])


def test_service_addresses_stay_with_each_cluster() -> None:
    svc = dr_copy(service())
    svc["spec"]["clusterIP"] = "10.1.2.3"
    assert "clusterIP" not in body_for_source(svc)["spec"]


def test_objects_the_dr_cluster_made_itself_are_not_copied_back() -> None:
    root = configmap(keys.ROOT_CA_CONFIGMAP)
    token = secret("t", type=keys.SECRET_TYPE_SA_TOKEN)
    assert skip_reason(root) and skip_reason(token)
    assert skip_reason(configmap()) is None


def _ingress(class_name: str | None = None, annotations: dict[str, str] | None = None) -> dict:
    spec = {"rules": [{"host": "web.example.com"}]} | ({"ingressClassName": class_name} if class_name else {})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop", "annotations": annotations or {}},
        "spec": spec,
    }


def test_the_dr_clusters_default_ingress_class_stays_there_unless_the_source_names_a_class() -> None:
    classes = [
        {"metadata": {"name": "dr-nginx", "annotations": {keys.ANNOTATION_DEFAULT_INGRESS_CLASS: "true"}}},
        {
            "metadata": {
                "name": "old-default",
                "annotations": {keys.ANNOTATION_DEFAULT_INGRESS_CLASS: "false"},
            }
        },
        {"metadata": {"name": "special"}},
    ]
    defaults = default_ingress_classes(classes)
    assert defaults == {"dr-nginx"}
    back = _ingress("dr-nginx")
    # the source names none, or has no such Ingress (made in the DR cluster): the source's own
    # default applies
    assert "ingressClassName" not in without_default_class(back, _ingress(), defaults)["spec"]
    assert "ingressClassName" not in without_default_class(back, None, defaults)["spec"]
    assert back["spec"]["ingressClassName"] == "dr-nginx"  # not changed in place
    # the source names one (field or the older annotation): the DR state wins, as for any change
    assert without_default_class(back, _ingress("alb"), defaults) == back
    old_style = _ingress(annotations={keys.ANNOTATION_INGRESS_CLASS: "alb"})
    assert without_default_class(back, old_style, defaults) == back
    # a class chosen in the DR cluster, not its default, goes back
    assert (
        without_default_class(_ingress("special"), _ingress(), defaults)["spec"]["ingressClassName"]
        == "special"
    )
