"""Building Kubernetes API requests: paths, query strings, content types. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from urllib.parse import quote, urlencode

from drsyncer.kube.discovery import ResourceRef

PatchType = Literal["merge", "json", "strategic", "apply"]

PATCH_CONTENT_TYPES: Mapping[str, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",  # JSON is YAML, so the body is sent as JSON
}

DEFAULT_FIELD_MANAGER = "drsyncer"


def resource_path(
    ref: ResourceRef, namespace: str | None = None, name: str | None = None, subresource: str | None = None
) -> str:
    """`/apis/apps/v1/namespaces/ns/deployments/web/status`; the namespace is dropped for
    cluster-scoped resources and omitted for a list across all namespaces."""
    parts = [ref.base_path]
    if ref.namespaced and namespace:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    parts.append(ref.plural)
    if name is not None:
        if not name:
            raise ValueError(f"an empty name for {ref.group_resource}")
        parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
    elif subresource:
        raise ValueError("a subresource needs an object name")
    return "/".join(parts)


def query_string(params: Mapping[str, str | int | bool | None]) -> str:
    """`?a=1&b=x` from the parameters that are set (booleans as `true`), or ""."""
    pairs = [
        (k, ("true" if v else "false") if isinstance(v, bool) else str(v))
        for k, v in params.items()
        if v is not None and v != ""
    ]
    return "?" + urlencode(pairs) if pairs else ""


def write_params(dry_run: bool, field_manager: str | None) -> dict[str, str | int | bool | None]:
    return {"dryRun": "All" if dry_run else None, "fieldManager": field_manager}


def object_name(body: Mapping[str, object]) -> str:
    metadata = body.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ValueError("the object has no metadata.name")
    return name
