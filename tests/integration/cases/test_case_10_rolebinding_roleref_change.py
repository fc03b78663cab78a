"""Case 10: a RoleBinding's roleRef changed in the source (data/10-rolebinding-roleref-change/expect.md).
kube-apiserver refuses an in-place roleRef change ("cannot change roleRef", not "immutable"), so the
copy is held back naming roleRef by default, and deleted and created pointing at `editor` with the
recreate handling; a second run writes nothing; the simulator refuses the change with the same 422."""

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

CASE = "10-rolebinding-roleref-change"
NS = "c10"
TYPES = ("--types", "roles,rolebindings")
BINDING = ("rbac.authorization.k8s.io/v1", "RoleBinding")
ROLE = ("rbac.authorization.k8s.io/v1", "Role")


def binding(world: Any, cluster: str) -> dict[str, Any]:
    found = get(world, cluster, *BINDING, NS, "app-access")
    assert found is not None
    return found


def test_case_10_a_changed_role_ref_is_held_back_naming_it_or_recreated_by_handling(kube: Any) -> None:
    world = kube(["src", "dst"])
    apply(world, "src", load(CASE, "source.yaml"))
    first = sync(world, NS, *TYPES)
    assert first.returncode == 0, first.stdout + first.stderr
    assert binding(world, "dst")["roleRef"]["name"] == "reader"

    # the source owner points the binding at editor: delete and create, as the API server requires
    delete(world, "src", *BINDING, NS, "app-access")
    apply(world, "src", load(CASE, "source-v2.yaml"))

    held = sync(world, NS, *TYPES)
    assert held.returncode == 0, held.stdout + held.stderr
    assert table_row(held.stdout, "RoleBinding")["skipped"] == 1
    assert table_row(held.stdout, "RoleBinding")["failed"] == 0
    assert f"RoleBinding {NS}/app-access: held back: immutable field(s) roleRef changed" in held.stdout
    assert binding(world, "dst")["roleRef"]["name"] == "reader"

    mark = Writes.mark(world, NS, BINDING, ROLE)
    again = sync(world, NS, *TYPES)
    assert again.returncode == 0 and "held back" in again.stdout
    assert mark.none_since()

    before = binding(world, "dst")["metadata"]["uid"]
    label(world, "src", *BINDING, NS, "app-access", {keys.LABEL_IMMUTABLE_HANDLING: "recreate"})
    recreated = sync(world, NS, *TYPES)
    assert recreated.returncode == 0, recreated.stdout + recreated.stderr
    assert table_row(recreated.stdout, "RoleBinding")["updated"] == 1
    after = binding(world, "dst")
    assert after["roleRef"]["name"] == "editor" and after["metadata"]["uid"] != before

    mark = Writes.mark(world, NS, BINDING, ROLE)
    resync = sync(world, NS, *TYPES)
    assert resync.returncode == 0 and table_row(resync.stdout, "RoleBinding")["unchanged"] == 1
    assert mark.none_since()


def test_case_10_an_in_place_role_ref_change_is_refused_with_422_cannot_change_role_ref(kube: Any) -> None:
    world = kube(["src", "dst"])
    apply(world, "dst", load(CASE, "source.yaml"))

    with pytest.raises(ApiException) as refused:
        patch(world, "dst", *BINDING, NS, "app-access", {"roleRef": {"name": "editor"}})

    assert refused.value.status == 422
    assert "roleRef: Invalid value: " in refused.value.body and "cannot change roleRef" in refused.value.body
    assert '"field":"roleRef"' in refused.value.body.replace(" ", "")
    assert binding(world, "dst")["roleRef"]["name"] == "reader"
