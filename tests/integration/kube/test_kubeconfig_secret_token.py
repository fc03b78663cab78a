"""A kubeconfig Secret holding a ServiceAccount token that a real API server issued (TokenRequest), and
the same token once the ServiceAccount is gone."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import pytest
from kubernetes import client as k8s

from drsyncer.errors import Category
from drsyncer.kube import ApiError, ClusterClients, client_from_kubeconfig
from tests.fixtures.backends import World
from tests.fixtures.polling import eventually
from tests.integration.kube.conftest import NAMESPACES, kubeconfig_text, put_secret


def test_a_service_account_token_reaches_the_cluster_and_once_revoked_is_named_never_shown(
    kube: Callable[..., World], caplog: pytest.LogCaptureFixture
) -> None:
    world = kube(["controller", "dr1"])
    if world.backend == "sim":
        pytest.skip("the simulator issues no ServiceAccount tokens")
    caplog.set_level(logging.DEBUG)
    ns = f"dr-token-{uuid.uuid4().hex[:8]}"
    # in dr1: a ServiceAccount allowed to read ConfigMaps of its namespace, and a token for it
    dr1 = world.core("dr1")
    dr1.create_namespace({"metadata": {"name": ns}})
    dr1.create_namespaced_service_account(ns, {"metadata": {"name": "drsyncer"}})
    rbac = k8s.RbacAuthorizationV1Api(world.api("dr1"))
    rbac.create_namespaced_role(
        ns,
        {
            "metadata": {"name": "read-configmaps"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        ns,
        {
            "metadata": {"name": "drsyncer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-configmaps"},
            "subjects": [{"kind": "ServiceAccount", "name": "drsyncer", "namespace": ns}],
        },
    )
    token = dr1.create_namespaced_service_account_token(
        "drsyncer", ns, {"spec": {"expirationSeconds": 3600}}
    ).status.token
    config = world["dr1"].kubeconfig_dict(token=token, user="drsyncer")

    # in the controller: the kubeconfig Secret, and the RemoteCluster naming it
    controller = client_from_kubeconfig(world["controller"].kubeconfig_dict(), name="controller")
    controller.create(NAMESPACES, None, {"metadata": {"name": ns}})
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(config)}, namespace=ns)
    remote = {
        "apiVersion": "dr-syncer.io/v1alpha1",
        "kind": "RemoteCluster",
        "metadata": {"name": "dr1", "namespace": ns},
        "spec": {"kubeconfigSecretRef": {"name": "dr1-kubeconfig"}},
    }
    clients = ClusterClients(controller, recheck_s=0)
    client = clients.get(remote)

    assert client.server_version().startswith("v1.34")
    configmaps = client.resolve("configmaps")
    # kube-root-ca.crt is published into the namespace by kube-controller-manager
    names = eventually(
        lambda: [o["metadata"]["name"] for o in client.list(configmaps, ns)],
        what="kube-root-ca.crt listed with the ServiceAccount's token",
    )
    assert names == ["kube-root-ca.crt"]

    dr1.delete_namespaced_service_account("drsyncer", ns)  # a bound token dies with its account

    def rejected() -> ApiError | None:
        try:
            list(client.list(configmaps, ns))
        except ApiError as exc:
            return exc
        return None

    # kube-apiserver keeps a token's successful authentication cached for 10 s, so the rejection can
    # take a little longer than that
    error = eventually(rejected, timeout_s=60, what="the token to be rejected")
    assert error.status == 401 and error.category is Category.NON_RETRYABLE
    named = f"credentials from kubeconfig Secret {ns}/dr1-kubeconfig key 'kubeconfig' were rejected"
    assert named in str(error)
    assert token not in str(error) and token not in caplog.text
    clients.close()
    controller.close()
