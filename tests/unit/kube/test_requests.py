import pytest

from drsyncer.kube.discovery import offline_ref
from drsyncer.kube.requests import object_name, query_string, resource_path

DEPLOY = offline_ref("deployments")
NAMESPACE = offline_ref("namespaces")
CM = offline_ref("configmaps")
assert DEPLOY and NAMESPACE and CM


@pytest.mark.parametrize(
    ("args", "path"),
    [
        ((DEPLOY, "app", "web", None), "/apis/apps/v1/namespaces/app/deployments/web"),
        ((DEPLOY, "app", "web", "status"), "/apis/apps/v1/namespaces/app/deployments/web/status"),
        ((DEPLOY, "app", None, None), "/apis/apps/v1/namespaces/app/deployments"),
        ((DEPLOY, None, None, None), "/apis/apps/v1/deployments"),
        ((CM, "app", "a b", None), "/api/v1/namespaces/app/configmaps/a%20b"),
        ((NAMESPACE, "ignored", "app", None), "/api/v1/namespaces/app"),
    ],
)
def test_resource_paths(args: tuple, path: str) -> None:  # type: ignore[type-arg]
    assert resource_path(*args) == path


def test_resource_path_rejects_a_subresource_without_a_name() -> None:
    with pytest.raises(ValueError):
        resource_path(DEPLOY, "app", None, "status")


def test_query_strings_keep_only_set_parameters() -> None:
    assert query_string({"limit": 500, "continue": None, "labelSelector": "a=b,c in (d)", "force": True}) == (
        "?limit=500&labelSelector=a%3Db%2Cc+in+%28d%29&force=true"
    )
    assert query_string({"dryRun": None}) == ""


def test_object_name_needs_metadata_name() -> None:
    assert object_name({"metadata": {"name": "x"}}) == "x"
    with pytest.raises(ValueError):
        object_name({"metadata": {}})
