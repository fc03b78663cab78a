from collections.abc import Mapping
from typing import Any

import pytest

from drsyncer.errors import CategorisedError, Category
from drsyncer.kube.discovery import (
    Discovery,
    ResourceRef,
    ServedResources,
    offline_ref,
    parse_resource_list,
    read_served_resources,
)
from drsyncer.kube.discovery_cache import dump_served, load_served

ALL_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def resource(
    name: str, kind: str, namespaced: bool = True, short: tuple[str, ...] = (), verbs: list[str] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "namespaced": namespaced,
        "singularName": kind.lower(),
        "shortNames": list(short),
        "verbs": ALL_VERBS if verbs is None else verbs,
    }


def server(
    extra_groups: list[dict[str, Any]] | None = None,
    extra_lists: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Mapping[str, Any]]:
    docs: dict[str, Mapping[str, Any]] = {
        "/api": {"kind": "APIVersions", "versions": ["v1"]},
        "/api/v1": {
            "resources": [
                resource("configmaps", "ConfigMap", short=("cm",)),
                resource("namespaces", "Namespace", False, ("ns",)),
                resource("namespaces/status", "Namespace", False),
                resource("pods", "Pod", short=("po",)),
                resource("pods/log", "Pod"),
                resource("bindings", "Binding", verbs=["create"]),
                resource("events", "Event", short=("ev",)),
            ]
        },
        "/apis": {
            "groups": [
                {
                    "name": "apps",
                    "versions": [{"groupVersion": "apps/v1"}],
                    "preferredVersion": {"groupVersion": "apps/v1"},
                },
                {
                    "name": "autoscaling",
                    "versions": [{"groupVersion": "autoscaling/v2"}, {"groupVersion": "autoscaling/v1"}],
                    "preferredVersion": {"groupVersion": "autoscaling/v2"},
                },
                {
                    "name": "events.k8s.io",
                    "versions": [{"groupVersion": "events.k8s.io/v1"}],
                    "preferredVersion": {"groupVersion": "events.k8s.io/v1"},
                },
                *(extra_groups or []),
            ]
        },
        "/apis/apps/v1": {
            "resources": [
                resource("deployments", "Deployment", short=("deploy",)),
                resource("deployments/status", "Deployment"),
                resource("deployments/scale", "Scale"),
            ]
        },
        "/apis/autoscaling/v2": {
            "resources": [resource("horizontalpodautoscalers", "HorizontalPodAutoscaler", short=("hpa",))]
        },
        "/apis/autoscaling/v1": {
            "resources": [resource("horizontalpodautoscalers", "HorizontalPodAutoscaler", short=("hpa",))]
        },
        "/apis/events.k8s.io/v1": {"resources": [resource("events", "Event", short=("ev",))]},
    }
    for path, resources in (extra_lists or {}).items():
        docs[path] = {"resources": resources}
    return docs


class FakeServer:
    def __init__(self, docs: dict[str, Mapping[str, Any]]) -> None:
        self.docs = docs
        self.calls: list[str] = []

    def __call__(self, path: str) -> Mapping[str, Any]:
        self.calls.append(path)
        return self.docs[path]


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_resource_lists_carry_subresources_and_skip_subresource_entries() -> None:
    refs = parse_resource_list("apps/v1", server()["/apis/apps/v1"])
    assert [r.plural for r in refs] == ["deployments"]
    deploy = refs[0]
    assert (deploy.group, deploy.version, deploy.kind) == ("apps", "v1", "Deployment")
    assert deploy.namespaced
    assert deploy.subresources == frozenset({"status", "scale"})
    assert deploy.base_path == "/apis/apps/v1"


@pytest.mark.parametrize(
    ("name", "api_version", "plural"),
    [
        ("configmaps", "v1", "configmaps"),
        ("ConfigMap", "v1", "configmaps"),
        ("configmap", "v1", "configmaps"),
        ("cm", "v1", "configmaps"),
        ("deploy", "apps/v1", "deployments"),
        ("deployments.apps", "apps/v1", "deployments"),
        ("Deployment.apps", "apps/v1", "deployments"),
        ("hpa", "autoscaling/v2", "horizontalpodautoscalers"),  # the preferred version
        ("horizontalpodautoscalers.v1.autoscaling", "autoscaling/v1", "horizontalpodautoscalers"),
        ("events", "v1", "events"),  # core before other groups
        ("events.events.k8s.io", "events.k8s.io/v1", "events"),
    ],
)
def test_names_resolve_like_kubectl(name: str, api_version: str, plural: str) -> None:
    ref = Discovery(FakeServer(server())).resolve(name)
    assert (ref.api_version, ref.plural) == (api_version, plural)


def test_star_means_every_namespaced_listable_creatable_resource_once_but_what_the_cluster_writes() -> None:
    refs = Discovery(FakeServer(server())).resolve_many(["*", "configmaps"])
    # pods and both events are the cluster's own (WILDCARD_EXCLUDED); a named one is still resolved
    assert [r.group_resource for r in refs] == [
        "configmaps",
        "deployments.apps",
        "horizontalpodautoscalers.autoscaling",
    ]
    named = Discovery(FakeServer(server())).resolve_many(["*", "events"])
    assert "events" in [r.group_resource for r in named]
    assert next(r for r in refs if r.plural == "horizontalpodautoscalers").version == "v2"


def test_unknown_names_are_a_categorised_error() -> None:
    with pytest.raises(CategorisedError, match="resource type 'widgets' is not served by cluster dr1"):
        Discovery(FakeServer(server()), cluster="dr1").resolve("widgets")


def test_a_named_cluster_scoped_type_is_refused_whatever_its_group() -> None:
    # a sync copies namespaces' objects: writing a cluster-wide type would overwrite what every
    # namespace of the destination shares; a custom type's scope is known from discovery alone
    clusterissuers = resource("clusterissuers", "ClusterIssuer", namespaced=False)
    discovery = Discovery(
        FakeServer(
            server(
                [
                    {
                        "name": "cert-manager.io",
                        "versions": [{"groupVersion": "cert-manager.io/v1"}],
                        "preferredVersion": {"groupVersion": "cert-manager.io/v1"},
                    }
                ],
                {"/apis/cert-manager.io/v1": [clusterissuers]},
            )
        ),
        cluster="src",
    )
    for name, shown in (
        ("ns", "Namespace"),
        ("clusterissuers.cert-manager.io", "ClusterIssuer.cert-manager.io"),
    ):
        with pytest.raises(CategorisedError) as raised:
            discovery.resolve_many(["configmaps", name])
        assert raised.value.category == Category.NON_RETRYABLE
        assert raised.value.message == (
            f"resource type {name!r} ({shown}) is served as cluster-scoped by cluster src: "
            "resourceTypes (--types) name namespaced types only (CRDs are copied with syncCRDs)"
        )
    assert [r.plural for r in discovery.resolve_many(["*"])] == [
        "configmaps",
        "deployments",
        "horizontalpodautoscalers",
    ]


@pytest.mark.parametrize(
    ("typo", "meant"), [("deploymnets", "'deployments'"), ("configmap", None), ("confgmaps", "'configmaps'")]
)
def test_a_mistyped_resource_type_gets_a_did_you_mean(typo: str, meant: str | None) -> None:
    discovery = Discovery(FakeServer(server()), cluster="dr1")
    if meant is None:  # a singular is a name kubectl knows too: no error at all
        assert discovery.resolve(typo).plural == "configmaps"
        return
    with pytest.raises(CategorisedError, match=f"did you mean {meant}"):
        discovery.resolve(typo)


def serve_widgets(docs: dict[str, Any]) -> None:
    """The server starts serving example.com/v1 Widgets (short name `wg`), as once a CRD is established."""
    docs["/apis"]["groups"].append(
        {
            "name": "example.com",
            "versions": [{"groupVersion": "example.com/v1"}],
            "preferredVersion": {"groupVersion": "example.com/v1"},
        }
    )
    docs["/apis/example.com/v1"] = {"resources": [resource("widgets", "Widget", short=("wg",))]}


def widgets_after_a_reading() -> tuple[FakeServer, Clock, Discovery]:
    """A discovery read at time 0 (ConfigMaps resolved), after which the server serves Widgets."""
    docs = server()
    fake, clock = FakeServer(docs), Clock()
    discovery = Discovery(fake, ttl_s=300, miss_refresh_s=2, clock=clock)
    discovery.resolve("configmaps")
    serve_widgets(docs)
    return fake, clock, discovery


def test_a_new_crd_resolves_on_a_cache_miss_after_the_refresh_interval() -> None:
    _, clock, discovery = widgets_after_a_reading()
    with pytest.raises(CategorisedError):
        discovery.resolve("widgets")  # the snapshot was read this very moment: not read again
    clock.now = 3
    assert discovery.resolve("wg").group_resource == "widgets.example.com"


def test_a_crd_established_after_a_recent_reading_resolves_at_its_first_miss() -> None:
    # a sync-now sent right after the CRD is established, within a second of the worker's reading
    fake, clock, discovery = widgets_after_a_reading()
    clock.now = 1.0
    walks = fake.calls.count("/api")
    assert discovery.resolve("widgets").group_resource == "widgets.example.com"
    assert fake.calls.count("/api") == walks + 1

    # a name that stays missing is read for once, then no more often than every miss_refresh_s
    clock.now = 1.5
    for now, reads in ((1.5, 1), (1.6, 0), (2.5, 0), (3.6, 1)):
        clock.now = now
        walks = fake.calls.count("/api")
        with pytest.raises(CategorisedError, match="'gizmos' is not served"):
            discovery.resolve("gizmos")
        assert fake.calls.count("/api") == walks + reads, now


def test_invalidate_forces_a_fresh_walk() -> None:
    fake = FakeServer(server())
    discovery = Discovery(fake)
    discovery.resolve("cm")
    walks = fake.calls.count("/api")
    discovery.resolve("deploy")
    assert fake.calls.count("/api") == walks
    discovery.invalidate()
    discovery.resolve("deploy")
    assert fake.calls.count("/api") == walks + 1


def test_objects_map_to_their_resource_by_api_version_and_kind() -> None:
    discovery = Discovery(FakeServer(server()))
    ref = discovery.for_object({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler"})
    assert (ref.version, ref.plural) == ("v1", "horizontalpodautoscalers")
    with pytest.raises(CategorisedError, match=r"Widget \(example.com/v1\) is not served"):
        discovery.for_object({"apiVersion": "example.com/v1", "kind": "Widget"})


def test_offline_refs_come_from_the_builtin_table() -> None:
    ref = offline_ref("deploy")
    assert ref == ResourceRef("apps", "v1", "Deployment", "deployments", True, "deployment", ("deploy",))
    assert ref is not None and "scale" in ref.subresources
    assert offline_ref("widgets") is None


def aggregated_of(docs: dict[str, Mapping[str, Any]], root: str) -> dict[str, Any]:
    """The APIGroupDiscoveryList (apidiscovery.k8s.io/v2) a 1.30+ server answers at `root` for `docs`."""
    if root == "/api":
        groups = [("", [("v1", "/api/v1")])]
    else:
        groups = [
            (
                g["name"],
                [(v["groupVersion"].split("/")[1], f"/apis/{v['groupVersion']}") for v in g["versions"]],
            )
            for g in docs["/apis"]["groups"]
        ]
    items = []
    for name, versions in groups:
        entries = []
        for version, path in versions:
            listed = docs[path]["resources"]
            resources = [
                {
                    "resource": r["name"],
                    "responseKind": {"group": name, "version": version, "kind": r["kind"]},
                    "scope": "Namespaced" if r["namespaced"] else "Cluster",
                    "singularResource": r["singularName"],
                    "shortNames": r["shortNames"],
                    "verbs": r["verbs"],
                    "subresources": [
                        {"subresource": s["name"].split("/")[1], "verbs": s["verbs"]}
                        for s in listed
                        if s["name"].startswith(r["name"] + "/")
                    ],
                }
                for r in listed
                if "/" not in r["name"]
            ]
            entries.append({"version": version, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": name}, "versions": entries})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "items": items}


def described(served: ServedResources) -> set[tuple[Any, ...]]:
    return {(r, r.singular, r.short_names, r.verbs, r.subresources) for r in served.refs}


def test_aggregated_discovery_reads_everything_in_two_requests_as_the_walk_would() -> None:
    docs = server()
    walked = read_served_resources(FakeServer(docs))
    roots = FakeServer({root: aggregated_of(docs, root) for root in ("/api", "/apis")})
    group_versions = FakeServer({})
    served = read_served_resources(group_versions, roots)
    assert roots.calls == ["/api", "/apis"] and group_versions.calls == []
    assert described(served) == described(walked)
    assert served.preferred == walked.preferred == {"v1", "apps/v1", "autoscaling/v2", "events.k8s.io/v1"}
    assert served.candidates("hpa")[0].version == "v2"
    assert served.candidates("deploy")[0].subresources == {"status", "scale"}


def test_a_server_without_aggregated_discovery_is_walked_group_version_by_group_version() -> None:
    docs = server()
    fake = FakeServer(docs)
    # a server before 1.26 (or one ignoring the Accept) answers the roots with the plain documents
    served = read_served_resources(fake, fake)
    assert fake.calls[:2] == ["/api", "/api/v1"] and "/apis/autoscaling/v1" in fake.calls
    assert described(served) == described(read_served_resources(FakeServer(docs)))


class Kept:
    """A SharedDiscovery held in memory, with its copy's age set by the test."""

    def __init__(self) -> None:
        self.copy: tuple[ServedResources, float] | None = None
        self.saves = 0
        self.abandoned = False

    def load(self, max_age_s: float) -> tuple[ServedResources, float] | None:
        return self.copy if self.copy and self.copy[1] <= max_age_s else None

    def peek(self, max_age_s: float) -> tuple[ServedResources, float] | None:
        return self.load(max_age_s)

    def save(self, served: ServedResources) -> None:
        self.copy, self.saves = (served, 0.0), self.saves + 1

    def abandon(self) -> None:
        self.abandoned = True


def test_a_shared_reading_younger_than_the_ttl_is_used_and_an_older_one_is_read_again() -> None:
    kept, clock = Kept(), Clock()
    first = FakeServer(server())
    Discovery(first, shared=kept, clock=clock).resolve("cm")
    assert kept.saves == 1 and first.calls

    second = FakeServer(server())
    assert Discovery(second, shared=kept, clock=clock).resolve("deploy").group == "apps"
    assert second.calls == []

    assert kept.copy is not None
    kept.copy = (kept.copy[0], 301.0)  # past the TTL
    third = FakeServer(server())
    Discovery(third, shared=kept, clock=clock).resolve("cm")
    assert third.calls and kept.saves == 2


def test_a_miss_reads_the_server_unless_the_shared_reading_is_that_recent_and_invalidate_skips_it() -> None:
    kept, clock = Kept(), Clock()
    docs = server()
    fake = FakeServer(docs)
    discovery = Discovery(fake, shared=kept, clock=clock, miss_refresh_s=2)
    discovery.resolve("cm")
    clock.now = 10
    assert kept.copy is not None
    kept.copy = (kept.copy[0], 10.0)
    walks = fake.calls.count("/api")
    with pytest.raises(CategorisedError):
        discovery.resolve("widgets")
    assert fake.calls.count("/api") == walks + 1 and kept.saves == 2  # read again, and shared
    discovery.resolve("deploy")
    discovery.invalidate()
    discovery.resolve("deploy")
    assert fake.calls.count("/api") == walks + 2  # not the shared copy, as old as the forgotten one


def test_a_shared_reading_survives_its_round_trip_through_the_document() -> None:
    served = read_served_resources(FakeServer(server()))
    loaded = load_served(dump_served(served, 1234.5))
    assert loaded is not None
    assert described(loaded[0]) == described(served) and loaded[0].preferred == served.preferred
    assert loaded[1] == 1234.5
    assert load_served(b'{"format": 0}') is None  # another format reads as absent


def test_a_failed_reading_tells_the_other_processes_not_to_wait_for_it() -> None:
    kept = Kept()

    def down(path: str) -> Mapping[str, Any]:
        raise ConnectionError(path)

    with pytest.raises(ConnectionError):
        Discovery(down, shared=kept).resolve("cm")
    assert kept.abandoned and kept.saves == 0
