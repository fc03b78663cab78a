"""The backends of a Service: Endpoints and EndpointSlices written by hand for a Service without a
selector are copied when their types are named; those Kubernetes' endpoints controllers write are
never copied (the destination's controllers write their own for the Service's copy). `"*"` names
neither type: in a namespace with Pods they change with every Pod, and each change would start a
Continuous Replication's sync."""

from __future__ import annotations

from drsyncer.sync.result import Phase
from tests.integration.sync.conftest import Obj, World, read, rules, seed

PORT = {"name": "pg", "port": 5432, "protocol": "TCP"}
EXTERNAL: list[Obj] = [
    # a database outside the cluster, reached through a Service without a selector
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "extdb"}, "spec": {"ports": [PORT]}},
    {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "extdb"},
        "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [PORT]}],
    },
    {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "extdb-1", "labels": {"kubernetes.io/service-name": "extdb"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.1.2.3"]}],
        "ports": [PORT],
    },
]
CONTROLLERS: list[Obj] = [
    # what the endpoints controllers write for a Service with a selector (marked as they mark them)
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP"}]},
    },
    {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "web", "labels": {"endpoints.kubernetes.io/managed-by": "endpoint-controller"}},
        "subsets": [{"addresses": [{"ip": "10.244.0.7"}], "ports": [{"port": 80, "protocol": "TCP"}]}],
    },
    {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-x7k2p",
            "labels": {
                "kubernetes.io/service-name": "web",
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.0.7"]}],
        "ports": [{"port": 80, "protocol": "TCP"}],
    },
]


def test_hand_made_backends_are_copied_when_named_and_the_controllers_own_never(world: World) -> None:
    seed(world, EXTERNAL + CONTROLLERS)
    extdb_endpoints, extdb_slice = EXTERNAL[1], EXTERNAL[2]

    (everything,) = world.sync(rules(resourceTypes=["*"], syncCRDs=False), destinations=("dr1",))
    assert everything.phase == Phase.COMPLETED
    assert read(world, "dr1", EXTERNAL[0]) is not None  # the Service
    assert read(world, "dr1", extdb_endpoints) is None and read(world, "dr1", extdb_slice) is None

    named = rules(resourceTypes=["*", "endpoints", "endpointslices"], syncCRDs=False)
    (result,) = world.sync(named, destinations=("dr1",))

    assert result.phase == Phase.COMPLETED
    assert (read(world, "dr1", extdb_endpoints) or {})["subsets"][0]["addresses"] == [{"ip": "10.1.2.3"}]
    copied = read(world, "dr1", extdb_slice) or {}
    assert copied["endpoints"][0]["addresses"] == ["10.1.2.3"]
    assert copied["metadata"]["labels"]["kubernetes.io/service-name"] == "extdb"
    assert read(world, "dr1", CONTROLLERS[1]) is None and read(world, "dr1", CONTROLLERS[2]) is None
    reasons = {(s.kind, s.name): s.reason for s in result.skips}
    assert reasons[("Endpoints", "web")] == (
        "written by the source's endpoints controller for its Service; the destination's writes its own"
    )
    assert reasons[("EndpointSlice", "web-x7k2p")] == (
        "written by the source's endpointslice-controller.k8s.io for its Service; the destination's writes its own"
    )

    # a second run finds the copies as they are
    (again,) = world.sync(named, destinations=("dr1",))
    assert again.totals.created == again.totals.updated == 0
