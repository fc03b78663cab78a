"""Clients built from kubeconfig Secrets in a (simulated) controller cluster."""

from __future__ import annotations

import logging

import pytest

from drsyncer.errors import Category
from drsyncer.kube import (
    ApiError,
    ClusterClient,
    ClusterClients,
    KubeconfigError,
    RetryPolicy,
    client_from_kubeconfig,
)
from drsyncer.kube.health import check_cluster
from drsyncer.sim import SimCluster
from tests.fixtures.polling import eventually
from tests.integration.kube.conftest import SECRETS, kubeconfig_text, put_secret, remote_cluster

TOKEN = "t0k-dr1-secret"


def _no_secret_in(text: str) -> None:
    assert TOKEN not in text
    assert "certificate-authority-data" not in text or "BEGIN" not in text


def test_a_secret_kubeconfig_reaches_a_tls_cluster_with_a_bearer_token(
    controller: ClusterClient, dr1: SimCluster
) -> None:
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(dr1.kubeconfig_dict())})
    clients = ClusterClients(controller)
    client = clients.get(remote_cluster("dr1", "dr1-kubeconfig"))
    assert client.server_version().startswith("v1.")
    assert client.resolve("ns").kind == "Namespace"
    assert clients.get(remote_cluster("dr1", "dr1-kubeconfig")) is client  # cached
    clients.close()


def test_a_missing_secret_is_named_and_waits_for_the_next_sync(controller: ClusterClient) -> None:
    with pytest.raises(KubeconfigError) as raised:
        ClusterClients(controller).get(remote_cluster("dr1", "nowhere"))
    assert raised.value.category is Category.WAIT_FOR_NEXT_SYNC
    assert raised.value.condition == "KubeconfigAvailable"
    assert str(raised.value) == (
        "WaitForNextSync: RemoteCluster dr-system/dr1: kubeconfig Secret "
        "dr-system/nowhere not found (spec.kubeconfigSecretRef)"
    )


def test_a_missing_key_names_the_secret_the_key_and_the_keys_there_are(
    controller: ClusterClient, dr1: SimCluster
) -> None:
    put_secret(controller, "dr1-kubeconfig", {"config": kubeconfig_text(dr1.kubeconfig_dict())})
    with pytest.raises(KubeconfigError) as raised:
        ClusterClients(controller).get(remote_cluster("dr1", "dr1-kubeconfig"))
    assert str(raised.value) == (
        "WaitForNextSync: RemoteCluster dr-system/dr1: kubeconfig Secret dr-system/dr1-kubeconfig has no "
        "key 'kubeconfig' (keys: config; spec.kubeconfigSecretRef.key)"
    )
    # the key named in the RemoteCluster is used
    client = ClusterClients(controller).get(remote_cluster("dr1", "dr1-kubeconfig", key="config"))
    assert client.server_version()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (f"users:\n- {{token: {TOKEN}\n", "is not valid YAML (line 3"),
        (f"just-a-token-{TOKEN}", "is not a kubeconfig"),
        ("apiVersion: v1\nkind: Config\nclusters: []\n", "no context given and current-context is not set"),
    ],
)
def test_a_garbage_kubeconfig_is_a_clear_error_without_its_content(
    controller: ClusterClient, content: str, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": content})
    with pytest.raises(KubeconfigError) as raised:
        ClusterClients(controller).get(remote_cluster("dr1", "dr1-kubeconfig"))
    message = str(raised.value)
    assert message.startswith(
        "NonRetryable: RemoteCluster dr-system/dr1: kubeconfig Secret "
        "dr-system/dr1-kubeconfig key 'kubeconfig': "
    )
    assert says in message
    assert raised.value.condition == "KubeconfigValid"
    _no_secret_in(message)
    _no_secret_in(caplog.text)


def test_a_rejected_token_names_the_secret_and_never_the_token(
    controller: ClusterClient, dr1: SimCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = dr1.kubeconfig_dict()
    config["users"][0]["user"]["token"] = "wrong-" + TOKEN
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(config)})
    client = ClusterClients(controller).get(remote_cluster("dr1", "dr1-kubeconfig"))
    with pytest.raises(ApiError) as raised:
        client.server_version()
    assert raised.value.status == 401
    assert raised.value.category is Category.NON_RETRYABLE
    assert str(raised.value) == (
        "NonRetryable: get server version on dr1: 401 Unauthorized: the credentials from kubeconfig Secret "
        "dr-system/dr1-kubeconfig key 'kubeconfig' were rejected (expired or revoked token, or an "
        "untrusted client certificate)"
    )
    _no_secret_in(caplog.text)


def test_an_unknown_certificate_authority_fails_tls_unless_the_remote_cluster_skips_verification(
    controller: ClusterClient, dr1: SimCluster
) -> None:
    config = dr1.kubeconfig_dict()
    del config["clusters"][0]["cluster"]["certificate-authority-data"]
    # the kubeconfig's own flag does not turn verification off: only the RemoteCluster does
    config["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(config)})
    clients = ClusterClients(controller)
    with pytest.raises(ApiError) as raised:
        clients.get(remote_cluster("dr1", "dr1-kubeconfig")).server_version()
    assert raised.value.reason == "TLSError"
    assert raised.value.category is Category.NON_RETRYABLE
    assert "kubeconfig Secret dr-system/dr1-kubeconfig" in str(raised.value)
    assert "spec.insecureSkipTLSVerify" in str(raised.value)
    insecure = clients.get(remote_cluster("dr1", "dr1-kubeconfig", insecureSkipTLSVerify=True))
    assert insecure.server_version()


def test_a_rotated_token_is_used_at_the_next_lookup(controller: ClusterClient, dr1: SimCluster) -> None:
    config = dr1.kubeconfig_dict()
    config["users"][0]["user"]["token"] = "revoked-token"
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(config)})
    clients = ClusterClients(controller, recheck_s=0)
    rc = remote_cluster("dr1", "dr1-kubeconfig")
    old = clients.get(rc)
    with pytest.raises(ApiError, match="401"):
        old.server_version()
    assert clients.get(rc) is old  # unchanged Secret: same client

    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(dr1.kubeconfig_dict())})
    new = clients.get(rc)
    assert new is not old
    assert new.server_version()
    clients.close()


def test_lookups_within_the_recheck_interval_do_not_reread_the_secret(
    controller: ClusterClient, dr1: SimCluster
) -> None:
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(dr1.kubeconfig_dict())})
    clients = ClusterClients(controller, recheck_s=3600)
    rc = remote_cluster("dr1", "dr1-kubeconfig")
    before = controller.counters.get("controller", "requests")
    for _ in range(5):
        clients.get(rc)
    assert controller.counters.get("controller", "requests") == before + 1


def test_the_last_good_client_is_kept_while_the_controller_is_unreachable(dr1: SimCluster) -> None:
    with SimCluster("controller", tls=True, token=True) as controller_sim:
        controller = client_from_kubeconfig(
            controller_sim.kubeconfig_dict(), name="controller", retry=RetryPolicy(max_attempts=1)
        )
        controller.create(controller.resolve("ns"), None, {"metadata": {"name": "dr-system"}})
        put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(dr1.kubeconfig_dict())})
        clients = ClusterClients(controller, recheck_s=0)
        rc = remote_cluster("dr1", "dr1-kubeconfig")
        client = clients.get(rc)
        controller_sim.down()
        assert clients.get(rc) is client
        assert client.server_version()
        clients.invalidate("dr-system/dr1")
        with pytest.raises(KubeconfigError) as raised:
            clients.get(rc)
        assert raised.value.category is Category.RETRYABLE
        assert "reading kubeconfig Secret dr-system/dr1-kubeconfig failed" in str(raised.value)


def test_a_health_check_reports_each_condition(controller: ClusterClient, dr1: SimCluster) -> None:
    clients = ClusterClients(controller, recheck_s=0, retry=RetryPolicy(max_attempts=2, base_delay_s=0.01))
    rc = remote_cluster("dr1", "dr1-kubeconfig")
    missing = check_cluster(clients, rc)
    assert missing.health == "Unhealthy"
    assert [(c.type, c.status) for c in missing.conditions] == [
        ("KubeconfigAvailable", "False"),
        ("KubeconfigValid", "Unknown"),
        ("ClusterAvailable", "Unknown"),
    ]
    assert "not found" in missing.message and missing.category is Category.WAIT_FOR_NEXT_SYNC

    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": "clusters: []"})
    invalid = check_cluster(clients, rc)
    assert [c.status for c in invalid.conditions] == ["True", "False", "Unknown"]

    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(dr1.kubeconfig_dict())})
    healthy = check_cluster(clients, rc)
    assert healthy.health == "Healthy" and healthy.server_version and healthy.category is None
    assert [c.status for c in healthy.conditions] == ["True", "True", "True"]

    dr1.down()
    down = check_cluster(clients, rc)
    assert [c.status for c in down.conditions] == ["True", "True", "False"]
    assert down.conditions[2].reason == "ConnectionError"


def test_with_background_rechecks_a_due_lookup_never_waits_and_a_rotated_or_deleted_secret_still_lands(
    controller: ClusterClient, dr1: SimCluster
) -> None:
    config = dr1.kubeconfig_dict()
    config["users"][0]["user"]["token"] = "revoked-token"
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(config)})
    clients = ClusterClients(controller, recheck_s=0, background_rechecks=True)
    rc = remote_cluster("dr1", "dr1-kubeconfig")
    old = clients.get(rc)
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(dr1.kubeconfig_dict())})
    reads = controller.counters.get("controller", "requests")

    # due at every lookup (recheck_s=0): the caller gets the client it has, without a request of its
    # own; a thread reads the Secret meanwhile, and a later lookup gets the rotated credential
    assert clients.get(rc) is old
    new = eventually(lambda: clients.get(rc) if clients.get(rc) is not old else None, what="the rotation")
    assert new.server_version()
    assert controller.counters.get("controller", "requests") > reads

    # a health check asks for the Secret as it is now: it waits for the read and sees it gone
    controller.delete(SECRETS, "dr-system", "dr1-kubeconfig")
    missing = check_cluster(clients, rc)
    assert missing.conditions[0].status == "False" and "not found" in missing.message
    # and a task's lookup, which never waits, raises it once the background read saw it

    def refused() -> KubeconfigError | None:
        try:
            clients.get(rc)
        except KubeconfigError as exc:
            return exc
        return None

    raised = eventually(refused, what="the deleted Secret to reach a task's lookup")
    assert "kubeconfig Secret dr-system/dr1-kubeconfig not found" in str(raised)
    clients.close()
