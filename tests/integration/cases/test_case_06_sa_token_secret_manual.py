"""Case 06: a hand-made ServiceAccount token Secret mounted by a workload.

The copy must exist under the same name, so the copied Deployment can mount it, but without the
source's token, CA and uid: the destination's token controller issues its own into it. Reports:
velero-io/velero#2524, fixed by velero-io/velero#5843.
"""

from __future__ import annotations

import base64
from typing import Any

from kubernetes import client as k8s

from drsyncer.api import keys
from tests.fixtures.backends import World
from tests.fixtures.polling import eventually
from tests.integration.cases.sync_driver import drsyncer_sync, seed, writes_nothing

CASE = "06-sa-token-secret-manual"
NS = "c06"
TYPES = ("--namespace", NS, "--types", "serviceaccounts,secrets,deployments")


def _as_created_by_hand(doc: dict[str, Any]) -> dict[str, Any]:
    """The Secret as a user creates it: a real source cluster's token controller fills in the rest (and
    deletes a token Secret whose uid annotation names another account)."""
    if doc.get("type") == keys.SECRET_TYPE_SA_TOKEN:
        doc = {**doc, "data": {}}
        doc["metadata"] = {**doc["metadata"], "annotations": {keys.ANNOTATION_SA_NAME: "app-user"}}
    return doc


def _secret(world: World, cluster: str) -> k8s.V1Secret:
    return k8s.CoreV1Api(world.api(cluster)).read_namespaced_secret("app-user-token", NS)


def test_hand_made_token_secret_is_copied_for_the_destination_to_fill(kube) -> None:
    world = kube(["src", "dst"])
    seed(world, CASE, edit=_as_created_by_hand if world.backend == "real" else None)
    source = eventually(
        lambda: (s := _secret(world, "src")).data and "token" in s.data and s,
        30,
        "the source's token in the Secret",
    )

    drsyncer_sync(world, *TYPES)

    core = k8s.CoreV1Api(world.api("dst"))
    assert core.read_namespaced_service_account("app-user", NS).automount_service_account_token is False
    copy = _secret(world, "dst")
    assert copy.type == keys.SECRET_TYPE_SA_TOKEN
    assert copy.metadata.annotations[keys.ANNOTATION_SA_NAME] == "app-user"
    deployment = k8s.AppsV1Api(world.api("dst")).read_namespaced_deployment("app", NS)
    assert deployment.spec.template.spec.volumes[0].secret.secret_name == "app-user-token"
    source_uid = source.metadata.annotations[keys.ANNOTATION_SA_UID]
    if world.backend == "sim":
        # no token controller: what the source issued is simply not there
        assert not copy.data
        assert keys.ANNOTATION_SA_UID not in copy.metadata.annotations
    else:
        # the destination's token controller issues its own token for its own account
        account_uid = core.read_namespaced_service_account("app-user", NS).metadata.uid
        copy = eventually(
            lambda: (s := _secret(world, "dst")).data and "token" in s.data and s,
            30,
            "the destination's token in the copy",
        )
        assert copy.metadata.annotations[keys.ANNOTATION_SA_UID] == account_uid != source_uid
        assert copy.data["token"] != source.data["token"]
        assert base64.b64decode(copy.data["namespace"]).decode() == NS

    # what the destination issued is not drift: the next run leaves the copy (and its token) alone
    with writes_nothing(world, NS):
        drsyncer_sync(world, *TYPES)
