"""Minimal /openapi/v3 documents.

They declare, for every served kind, the PATCH operation with its `fieldValidation` query parameter:
that is what makes kubectl leave validation to the server instead of asking for full schemas. Schemas
are open objects (`x-kubernetes-preserve-unknown-fields`), so no field is rejected.
"""

from __future__ import annotations

import hashlib
from typing import Any

from drsyncer.sim.resources import Registry, ResourceType

_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def index(registry: Registry) -> dict[str, Any]:
    gvs = {(rt.group, rt.version) for rt in registry}
    paths = {}
    for group, version in sorted(gvs):
        path = _gv_path(group, version)
        digest = hashlib.sha256(
            repr(sorted(rt.plural for rt in registry if (rt.group, rt.version) == (group, version))).encode()
        ).hexdigest()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest[:32].upper()}"}
    return {"paths": paths}


def _schema_name(rt: ResourceType) -> str:
    group = ".".join(reversed(rt.group.split("."))) if rt.group else "io.k8s.api.core"
    return f"{group}.{rt.version}.{rt.kind}"


def _gvk(rt: ResourceType) -> dict[str, str]:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _operation(rt: ResourceType, action: str, with_body: bool) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{action}{rt.kind}",
        "parameters": [
            {"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for p in _QUERY_PARAMS
        ],
        "responses": {
            "200": {
                "description": "OK",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{_schema_name(rt)}"}}
                },
            }
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(rt),
    }
    if with_body:
        # Strategic merge patch is left out on purpose: listing it makes kubectl compute client-side
        # patches from these (schema-less) documents; without it kubectl uses its compiled-in types.
        media = [
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json",
        ]
        op["requestBody"] = {"content": {m: {"schema": {"type": "object"}} for m in media}}
    return op


def group_version(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = [rt for rt in registry if rt.group == group and rt.version == version]
    if not types:
        return None
    base = "/" + _gv_path(group, version)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for rt in types:
        scope = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
        paths[scope] = {"get": _operation(rt, "list", False), "post": _operation(rt, "post", False)}
        paths[f"{scope}/{{name}}"] = {
            "get": _operation(rt, "get", False),
            "put": _operation(rt, "put", False),
            "patch": _operation(rt, "patch", True),
            "delete": _operation(rt, "delete", False),
        }
        schemas[_schema_name(rt)] = {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "x-kubernetes-group-version-kind": [_gvk(rt)],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.34.4"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
