"""Case 13: a chart upgrade changed the selector of a Deployment and a DaemonSet in the source
(data/13-deployment-selector-change/expect.md). The change is seen before writing: by default each
copy is held back naming spec.selector and nothing of it is half-applied (the image stays); with the
recreate handling both are recreated with the new selector and image; a second run writes nothing;
the simulator refuses an in-place selector change with 422 "field is immutable"."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from drsyncer.api import keys
from tests.integration.cases.sync_driver import (
    Writes,
    apply,
    delete,
    get,
    label,
    load,
    patch,
    sync,
    table_row,
)

CASE = "13-deployment-selector-change"
NS = "c13"
TYPES = ("--types", "deployments,daemonsets")
DEPLOY = ("apps/v1", "Deployment")
DS = ("apps/v1", "DaemonSet")


def read(world: Any, kind: tuple[str, str], name: str) -> dict[str, Any]:
    found = get(world, "dst", *kind, NS, name)
    assert found is not None
    return found


def image(obj: dict[str, Any]) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def test_case_13_selector_changes_are_held_back_whole_or_recreated_by_handling(kube: Any) -> None:
    world = kube(["src", "dst"])
    apply(world, "src", load(CASE, "source.yaml"))
    first = sync(world, NS, *TYPES)
    assert first.returncode == 0, first.stdout + first.stderr

    delete(world, "src", *DEPLOY, NS, "web")
    delete(world, "src", *DS, NS, "agent")
    apply(world, "src", load(CASE, "source-v2.yaml"))

    held = sync(world, NS, *TYPES)
    assert held.returncode == 0, held.stdout + held.stderr
    for kind, name in (("Deployment", "web"), ("DaemonSet", "agent")):
        assert f"{kind} {NS}/{name}: held back: immutable field(s) spec.selector changed" in held.stdout
        assert table_row(held.stdout, kind)["skipped"] == 1 and table_row(held.stdout, kind)["failed"] == 0
    web = read(world, DEPLOY, "web")
    assert web["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert image(web) == "registry.example/web:1"  # nothing of the change half-applied

    mark = Writes.mark(world, NS, DEPLOY, DS)
    again = sync(world, NS, *TYPES)
    assert again.returncode == 0 and mark.none_since()

    for kind, name in ((DEPLOY, "web"), (DS, "agent")):
        label(world, "src", *kind, NS, name, {keys.LABEL_IMMUTABLE_HANDLING: "recreate"})
    recreated = sync(world, NS, *TYPES)
    assert recreated.returncode == 0, recreated.stdout + recreated.stderr
    new_labels = {"app": "web", "app.kubernetes.io/instance": "web"}
    web = read(world, DEPLOY, "web")
    assert web["spec"]["selector"]["matchLabels"] == new_labels
    assert image(web) == "registry.example/web:2" and web["spec"]["replicas"] == 0
    agent = read(world, DS, "agent")
    assert agent["spec"]["selector"]["matchLabels"] == {"app": "agent", "app.kubernetes.io/instance": "agent"}

    mark = Writes.mark(world, NS, DEPLOY, DS)
    resync = sync(world, NS, *TYPES)
    assert resync.returncode == 0 and mark.none_since()
    assert table_row(resync.stdout, "Deployment")["unchanged"] == 1


def test_case_13_an_in_place_selector_change_is_refused_with_422_field_is_immutable(kube: Any) -> None:
    world = kube(["src", "dst"])
    apply(world, "dst", load(CASE, "source.yaml"))

    change = {
        "spec": {
            "selector": {"matchLabels": {"app": "web", "x": "y"}},
            "template": {"metadata": {"labels": {"x": "y"}}},
        }
    }
    with pytest.raises(ApiException) as refused:
        patch(world, "dst", *DEPLOY, NS, "web", change)

    assert refused.value.status == 422
    assert "spec.selector: Invalid value: " in refused.value.body
    assert "field is immutable" in refused.value.body
    assert read(world, DEPLOY, "web")["spec"]["selector"] == {"matchLabels": {"app": "web"}}
