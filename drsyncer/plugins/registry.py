"""The plugins installed beside drsyncer, found through `importlib.metadata` entry points.

`installed()` loads them once per process (workers call it at start, before forking, so every pool
process has them); a plugin whose import fails is kept with its error, so it can be listed and a
Replication naming it fails with that message rather than with "not installed". Loading logs
nothing about a broken plugin; the worker and the watcher call `log_unusable` once at start.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from drsyncer.plugins.contract import ENTRY_POINT_GROUP, HOOKS, FilterHook, TransformHook, ValidateHook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstalledPlugin:
    """One entry point of the `drsyncer.plugins` group and what loading it gave."""

    name: str
    distribution: str  # the package that declares it ("" when unknown)
    version: str
    value: str  # "module:attribute" the entry point names
    transform: TransformHook | None = None
    filter: FilterHook | None = None
    validate: ValidateHook | None = None
    error: str = ""  # why it cannot be used (import failed, no hooks); "" when usable

    @property
    def hooks(self) -> tuple[str, ...]:
        return tuple(h for h in HOOKS if getattr(self, h) is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "entryPoint": self.value,
            "hooks": list(self.hooks),
            "error": self.error,
        }


Registry = Mapping[str, InstalledPlugin]


def load(entry: EntryPoint) -> InstalledPlugin:
    """Import one entry point and pick its hooks; never raises (the error is kept instead)."""
    dist = entry.dist
    plugin = InstalledPlugin(
        name=entry.name,
        distribution=dist.metadata["Name"] if dist is not None else "",
        version=dist.version if dist is not None else "",
        value=entry.value,
    )
    try:
        target = entry.load()
        plugin = replace(
            plugin,
            transform=_callable(target, "transform"),
            filter=_callable(target, "filter"),
            validate=_callable(target, "validate"),
        )
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a broken plugin (sys.exit on import too) must not stop the worker
        # kept, not logged: a command that never uses it (`drsyncer plan`) should not warn about it;
        # long-running processes log it once at start (log_unusable)
        return replace(plugin, error=f"failed to load {entry.value}: {type(exc).__name__}: {exc}")
    if plugin.transform is None and plugin.filter is None:
        return replace(plugin, error=f"{entry.value} has neither a transform nor a filter hook")
    return plugin


def _callable(target: object, name: str) -> Any:
    hook = getattr(target, name, None)
    return hook if callable(hook) else None


def discover(entries: Iterable[EntryPoint] | None = None) -> dict[str, InstalledPlugin]:
    """Every plugin of the group, by name; the first of two entry points with one name wins (with a
    warning), as `importlib.metadata` lists them."""
    found: dict[str, InstalledPlugin] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP) if entries is None else entries:
        if entry.name in found:
            log.warning("plugin %s is declared twice; %s is used", entry.name, found[entry.name].value)
            continue
        found[entry.name] = load(entry)
    return found


def log_unusable(registry: Registry) -> None:
    """One warning per plugin of `registry` that cannot be used (import failed, no hook), for a
    worker or watcher starting; a Replication naming one is refused with the same reason."""
    for plugin in registry.values():
        if plugin.error:
            log.warning("plugin %s cannot be used: %s", plugin.name, plugin.error)


@functools.cache
def installed() -> Registry:
    """This process's plugins, loaded on first use and kept for the life of the process."""
    return discover()
