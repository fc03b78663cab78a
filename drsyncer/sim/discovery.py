"""Discovery documents: /version, /api, /api/v1, /apis, /apis/<group>[/<version>], and aggregated
discovery (apidiscovery.k8s.io/v2) at /api and /apis for clients whose Accept asks for it.
"""

from __future__ import annotations

from typing import Any

from drsyncer.sim.resources import Registry, ResourceType

# the version the simulator answers for unless told otherwise: the reference control plane's
# (hack/kube/go.mod), so a behaviour that changed between versions is the same on both
KUBE_VERSION = "v1.34.4-drsyncer-sim"

_VERSION_INFO = {
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def version(git_version: str = KUBE_VERSION) -> dict[str, Any]:
    """`/version` for a server of `git_version` (`v1.32.0-...`)."""
    major, minor = git_version.lstrip("v").split(".")[:2]
    return {"major": major, "minor": minor, "gitVersion": git_version, **_VERSION_INFO}


def core_versions(address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: Registry) -> dict[str, Any]:
    groups = registry.groups()
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(name, versions) for name, versions in sorted(groups.items())],
    }


def group(registry: Registry, name: str) -> dict[str, Any] | None:
    versions = registry.groups().get(name)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def resource_list(registry: Registry, group_name: str, version_name: str) -> dict[str, Any] | None:
    resources = [
        entry
        for rt in registry
        if rt.group == group_name and rt.version == version_name
        for entry in rt.discovery_entries()
    ]
    if not resources:
        return None
    group_version = f"{group_name}/{version_name}" if group_name else version_name
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": sorted(resources, key=lambda r: r["name"]),
    }


def root_paths(registry: Registry) -> dict[str, Any]:
    paths = ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3", "/readyz", "/version"]
    for name, versions in registry.groups().items():
        paths.append(f"/apis/{name}")
        paths.extend(f"/apis/{name}/{v}" for v in versions)
    return {"paths": sorted(paths)}


# aggregated discovery (apidiscovery.k8s.io/v2, GA in 1.30): `/api` and `/apis` answer every group
# version's resources in one document to a client whose Accept asks for it
AGGREGATED_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    """Whether an Accept header asks for aggregated discovery v2 in one of its clauses."""
    for clause in accept.split(","):
        params = dict(p.strip().partition("=")[::2] for p in clause.split(";")[1:])
        if (params.get("g"), params.get("v"), params.get("as")) == (
            "apidiscovery.k8s.io",
            "v2",
            "APIGroupDiscoveryList",
        ):
            return True
    return False


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _aggregated_resource(rt: ResourceType) -> dict[str, Any]:
    entries = rt.discovery_entries()
    main = entries[0]
    resource: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": _gvk(rt.group, rt.version, rt.kind),
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": main["verbs"],
    }
    if main.get("shortNames"):
        resource["shortNames"] = main["shortNames"]
    if main.get("categories"):
        resource["categories"] = main["categories"]
    subresources = [
        {
            "subresource": entry["name"].partition("/")[2],
            "responseKind": _gvk(
                entry.get("group", rt.group), entry.get("version", rt.version), entry["kind"]
            ),
            "verbs": entry["verbs"],
        }
        for entry in entries[1:]
    ]
    if subresources:
        resource["subresources"] = subresources
    return resource


def aggregated(registry: Registry, core: bool) -> dict[str, Any]:
    """`APIGroupDiscoveryList` of `/api` (`core`) or `/apis`: groups as `/apis` orders them, versions
    preferred first, resources by name (k8s.io/api apidiscovery/v2 types.go, 1.34)."""
    groups = {"": ["v1"]} if core else dict(sorted(registry.groups().items()))
    by_gv: dict[tuple[str, str], list[ResourceType]] = {}
    for rt in registry:
        by_gv.setdefault((rt.group, rt.version), []).append(rt)
    items = []
    for name, versions in groups.items():
        entries = [
            {
                "version": version,
                "resources": [
                    _aggregated_resource(rt)
                    for rt in sorted(by_gv.get((name, version), []), key=lambda r: r.plural)
                ],
                "freshness": "Current",
            }
            for version in versions
        ]
        items.append({"metadata": {"name": name, "creationTimestamp": None}, "versions": entries})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
