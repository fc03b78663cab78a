"""The hook contract between drsyncer and a plugin (docs/plugins.md has the guide).

A plugin is an entry point in the group `drsyncer.plugins`; the entry point's name is the name a
Replication uses in `spec.plugins[].name`, and it loads an object (a module, a class instance, any
object) with some of these attributes:

- `transform(obj: dict, context: PluginContext) -> dict | Skip`: the copy about to be written (after
  the built-in transforms, without drsyncer's ownership marks; the plugin's own deep copy, free to
  change in place) → the copy to write, or `Skip("why")` to leave the object out. Anything may
  change except the object's `identity` (apiVersion, kind, name, namespace): that names which object
  the copy is.
- `filter(obj: Mapping, context: PluginContext) -> str | Skip | None`: the source object (a deep
  read-only view, drsyncer.plugins.readonly) → None (or "") to keep it, a reason (or `Skip`) to
  leave it out.
- `validate(parameters: dict) -> Iterable[tuple[str, str]] | None`: problems with the parameters as
  (path inside `parameters`, message); raising `ValueError` is one problem about all of them.

At least one of `transform` and `filter` is required. Whatever a hook raises (`SystemExit` too; only
`KeyboardInterrupt` stops the process) fails that one object: nothing is written for it, and it is
reported with the plugin's name, the exception's type, the plugin's line and, except for a Secret,
the exception's message (drsyncer.plugins.messages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ENTRY_POINT_GROUP = "drsyncer.plugins"
HOOKS: tuple[str, ...] = ("transform", "filter", "validate")


@dataclass(frozen=True)
class PluginContext:
    """What a hook knows besides the object: where the copy goes and the plugin's parameters.

    `parameters` is the plugin's `spec.plugins[].parameters` (an empty mapping when not given),
    read-only at the top level; each call gets a copy of its own, so what a hook changes inside it,
    or puts from it into the copy it returns, never reaches another object.
    """

    plugin: str  # the plugin's name, as the Replication names it
    replication: str  # "<namespace>/<name>" of the Replication
    source_cluster: str
    source_namespace: str
    destination_cluster: str
    destination_namespace: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class Skip:
    """Returned by a hook: leave this object out of the destination, for `reason` (shown to users)."""

    reason: str


def identity(obj: Mapping[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(apiVersion, kind, metadata.name, metadata.namespace) of `obj`, what no transform (a plugin's or
    a Replication's `spec.modifiers` rule) may change. Never raises: metadata that is not an object
    counts as having no name or namespace (a result the caller refuses anyway)."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    return (obj.get("apiVersion"), obj.get("kind"), meta.get("name"), meta.get("namespace"))


TransformHook = Callable[[dict[str, Any], PluginContext], Any]
FilterHook = Callable[[Mapping[str, Any], PluginContext], Any]
ValidateHook = Callable[[dict[str, Any]], Iterable[tuple[str, str]] | None]
