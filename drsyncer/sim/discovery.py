"""Legacy discovery documents: /version, /api, /api/v1, /apis, /apis/<group>[/<version>].

Clients that prefer aggregated discovery fall back to these when the response is plain JSON.
"""

from __future__ import annotations

from typing import Any

from drsyncer.sim.resources import Registry

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
