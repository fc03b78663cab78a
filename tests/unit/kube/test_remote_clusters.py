import pytest

from drsyncer.api.remotecluster import RemoteCluster
from drsyncer.errors import Category
from drsyncer.kube.errors import KubeconfigError
from drsyncer.kube.health import check_cluster
from drsyncer.kube.ratelimit import RateBudget
from drsyncer.kube.remote_clusters import RemoteClusterAccess

RC = {
    "apiVersion": "dr-syncer.io/v1alpha1",
    "kind": "RemoteCluster",
    "metadata": {"name": "dr1", "namespace": "dr-system"},
    "spec": {"kubeconfigSecretRef": {"name": "dr1-kubeconfig"}},
}


def test_defaults_follow_the_api() -> None:
    access = RemoteClusterAccess.from_resource(RC)
    assert access == RemoteClusterAccess(
        "dr1", "dr-system", "dr1-kubeconfig", "dr-system", "kubeconfig", False, RateBudget(50, 100)
    )
    assert access.key == "dr-system/dr1"
    assert access.secret_label == "kubeconfig Secret dr-system/dr1-kubeconfig key 'kubeconfig'"


def test_every_access_field_is_read_from_a_model_too() -> None:
    spec = {
        "kubeconfigSecretRef": {"name": "s", "namespace": "vault", "key": "config"},
        "rateLimit": {"qps": 5, "burst": 10},
        "insecureSkipTLSVerify": True,
    }
    raw = {**RC, "spec": spec}
    expected = RemoteClusterAccess("dr1", "dr-system", "s", "vault", "config", True, RateBudget(5, 10))
    assert RemoteClusterAccess.from_resource(raw) == expected
    assert RemoteClusterAccess.from_resource(RemoteCluster.model_validate(raw)) == expected


def test_a_missing_secret_name_is_a_categorised_error() -> None:
    with pytest.raises(KubeconfigError) as raised:
        RemoteClusterAccess.from_resource({**RC, "spec": {}})
    assert raised.value.category is Category.NON_RETRYABLE
    assert "spec.kubeconfigSecretRef.name is missing" in str(raised.value)


def test_an_invalid_rate_limit_is_reported_field_by_field_as_an_invalid_spec() -> None:
    bad = {**RC, "spec": {**RC["spec"], "rateLimit": {"qps": -5, "burst": "lots"}}}
    with pytest.raises(KubeconfigError) as raised:
        RemoteClusterAccess.from_resource(bad)
    message = raised.value.message
    assert message.startswith("RemoteCluster dr-system/dr1: invalid spec: spec.rateLimit.qps: ")
    assert "spec.rateLimit.burst: " in message and "invalid literal" not in message
    assert raised.value.condition == "InvalidSpec"


def test_a_check_of_a_cluster_whose_spec_is_invalid_checks_nothing_and_says_why() -> None:
    bad = {**RC, "spec": {**RC["spec"], "rateLimit": {"qps": 0}}}

    class Clients:  # never reached: the spec is refused before any client is made
        def get(self, remote: object, current: bool = False) -> None:
            RemoteClusterAccess.from_resource(remote)

    check = check_cluster(Clients(), bad)  # type: ignore[arg-type]

    assert check.health == "Unknown" and not check.healthy and check.category is Category.NON_RETRYABLE
    assert {c.status for c in check.conditions} == {"Unknown"}
    assert all("spec.rateLimit.qps" in c.message for c in check.conditions)


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"kubeconfigSecretRef": {"name": "s"}, "rateLimit": "fast"}, "spec.rateLimit"),
        ({"kubeconfigSecretRef": "s"}, "spec.kubeconfigSecretRef"),
    ],
)
def test_a_spec_part_that_is_not_an_object_is_an_invalid_spec_not_a_crash(spec: dict, named: str) -> None:
    with pytest.raises(KubeconfigError) as raised:
        RemoteClusterAccess.from_resource({**RC, "spec": spec})
    assert raised.value.condition == "InvalidSpec"
    assert f"invalid spec: {named}" in raised.value.message
