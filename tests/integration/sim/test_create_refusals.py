"""Objects kube-apiserver refuses to create, for what the simulator too must refuse: each a 422
Invalid naming the field. Run on the simulator and on a real kube-apiserver (the authority), so a
test that passes on the simulator does not pass on an object no cluster would take."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from tests.fixtures.backends import World

Obj = dict[str, Any]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _secret(type_: str, data: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": type_,
        "data": {k: _b64(v) for k, v in data.items()},
    }


def _service(ports: list[Obj]) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "spec": {"selector": {"app": "a"}, "ports": ports}}


# (case, object without metadata, the fields its causes name)
REFUSED: list[tuple[str, Obj, set[str]]] = [
    ("tls Secret without its keys", _secret("kubernetes.io/tls", {}), {"data[tls.crt]", "data[tls.key]"}),
    (
        "dockerconfigjson Secret that is not JSON",
        _secret("kubernetes.io/dockerconfigjson", {".dockerconfigjson": "not json"}),
        {"data[.dockerconfigjson]"},
    ),
    (
        "dockerconfigjson Secret without its key",
        _secret("kubernetes.io/dockerconfigjson", {"other": "{}"}),
        {"data[.dockerconfigjson]"},
    ),
    ("ssh-auth Secret without its key", _secret("kubernetes.io/ssh-auth", {}), {"data[ssh-privatekey]"}),
    (
        "Service with two unnamed ports",
        _service([{"port": 80}, {"port": 443}]),
        {"spec.ports[0].name", "spec.ports[1].name"},
    ),
    (
        "Service whose targetPort is a number in a string",
        _service([{"port": 80, "targetPort": "8080"}]),
        {"spec.ports[0].targetPort"},
    ),
    (
        "ConfigMap with over 256 KiB of annotations",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"annotations": {f"a{i}": "x" * 60_000 for i in range(5)}},
        },
        {"metadata.annotations"},
    ),
]


@pytest.mark.parametrize(("case", "obj", "fields"), REFUSED, ids=[c[0] for c in REFUSED])
def test_an_object_kube_apiserver_refuses_to_create_is_refused_naming_the_field(
    kube: Any, case: str, obj: Obj, fields: set[str]
) -> None:
    world: World = kube(["c"])
    namespace = f"refused-{secrets.token_hex(3)}"
    core = world.core("c")
    core.create_namespace({"metadata": {"name": namespace}})
    body = {**obj, "metadata": {**obj.get("metadata", {}), "name": "x"}}
    create = {
        "Secret": core.create_namespaced_secret,
        "Service": core.create_namespaced_service,
        "ConfigMap": core.create_namespaced_config_map,
    }[obj["kind"]]
    with pytest.raises(ApiException) as refused:
        create(namespace, body)
    status = json.loads(refused.value.body)
    assert refused.value.status == 422 and status["reason"] == "Invalid", status
    assert {c["field"] for c in status["details"]["causes"]} >= fields, status["details"]["causes"]
    assert "not json" not in str(refused.value.body)  # a Secret's data is not echoed
