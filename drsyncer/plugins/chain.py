"""The plugins of one Replication bound to one destination, run over plain object dicts.

`PluginSetting` is a `spec.plugins[]` entry as `Rules` holds it (hashable). `chain_for` looks each
one up among the installed plugins and checks its parameters, then `Chain` runs the hooks: filters
on the source object (`skip_reason`), transforms on the copy in `spec.plugins` order (`apply`).
Whatever a hook raises (`SystemExit` included; only `KeyboardInterrupt` stops the process) becomes a
`CategorisedError` naming the plugin; the planner turns it into that object's failure. What is said
about a hook never quotes a Secret's data (drsyncer.plugins.messages).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from drsyncer.errors import CategorisedError, Category
from drsyncer.plugins import messages
from drsyncer.plugins.contract import FilterHook, PluginContext, Skip, TransformHook, identity
from drsyncer.plugins.readonly import ReadOnlyDict
from drsyncer.plugins.registry import InstalledPlugin, Registry


@dataclass(frozen=True)
class PluginSetting:
    """One `spec.plugins[]` entry: the name and the parameters as canonical JSON (so it hashes)."""

    name: str
    parameters_json: str = "{}"

    @classmethod
    def of(cls, name: str, parameters: Mapping[str, Any] | None) -> PluginSetting:
        return cls(name, canonical(parameters or {}))

    def parameters(self) -> dict[str, Any]:
        """A fresh copy of the parameters."""
        value: dict[str, Any] = json.loads(self.parameters_json)
        return value


def settings_of(uses: Iterable[Any]) -> tuple[PluginSetting, ...]:
    """The settings of `spec.plugins` entries (drsyncer.api.plugins.PluginUse: `.name`, `.parameters`)."""
    return tuple(PluginSetting.of(use.name, use.parameters) for use in uses)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(settings: Iterable[PluginSetting]) -> str:
    """What of the plugin settings goes into the source hash; "" without plugins (so copies written
    before plugins existed keep their hash)."""
    items = [[s.name, json.loads(s.parameters_json)] for s in settings]
    return canonical(items) if items else ""


def setting_problems(index: int, setting: PluginSetting, registry: Registry) -> list[str]:
    """Why `spec.plugins[index]` cannot run here, one `path: message` per problem; [] when it can."""
    path = f"spec.plugins[{index}]"
    plugin = registry.get(setting.name)
    if plugin is None:
        available = ", ".join(sorted(registry)) or "none"
        return [
            f'{path}.name: plugin "{setting.name}" is not installed (installed plugins: {available}; '
            "see `drsyncer plugins`)"
        ]
    if plugin.error:
        return [f'{path}.name: plugin "{setting.name}" cannot be used: {plugin.error}']
    if plugin.validate is None:
        return []
    try:
        found = list(plugin.validate(setting.parameters()) or ())
    except ValueError as exc:
        return [f"{path}.parameters: {exc}"]
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the validator's own failure (sys.exit too) is the plugin's fault
        return [f"{path}.parameters: {messages.hook_failed(setting.name, 'validator', exc)}"]
    return [f"{path}.parameters{_joined(where)}: {message}" for where, message in found]


def _joined(where: str) -> str:
    where = str(where)
    if not where:
        return ""
    return where if where.startswith("[") else f".{where}"


def problems(settings: Iterable[PluginSetting], registry: Registry) -> list[str]:
    """Every problem of a spec's `plugins` against the installed `registry` (watcher, validate)."""
    return [p for i, s in enumerate(settings) for p in setting_problems(i, s, registry)]


@dataclass(frozen=True)
class Place:
    """Where a chain runs: the Replication and one (source namespace, destination) pair."""

    replication: str
    source_cluster: str
    source_namespace: str
    destination_cluster: str
    destination_namespace: str


@dataclass(frozen=True)
class Chain:
    """The bound hooks of one Replication for one destination, in `spec.plugins` order."""

    filters: tuple[tuple[FilterHook, PluginContext], ...] = ()
    transforms: tuple[tuple[TransformHook, PluginContext], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.filters or self.transforms)

    def skip_reason(self, obj: Mapping[str, Any]) -> str | None:
        """The first filter's reason to leave the source object out, or None to keep it. The filters
        get a deep read-only view of `obj` (drsyncer.plugins.readonly): what they read is what is
        written, so they must not change it."""
        shown = ReadOnlyDict(obj)
        for hook, context in self.filters:
            verdict = _run(hook, shown, context, "filter", obj)
            if isinstance(verdict, Skip):
                verdict = verdict.reason or "no reason given"
            if verdict:
                return messages.reason(context.plugin, verdict, obj)
        return None

    def apply(self, body: Mapping[str, Any]) -> dict[str, Any] | Skip:
        """The copy after every transform hook, or the first `Skip` one returns (its reason prefixed
        with the plugin's name). `body` is not changed: the hooks work on a deep copy."""
        current: dict[str, Any] = copy.deepcopy(dict(body))
        before = identity(current)
        for hook, context in self.transforms:
            out = _run(hook, current, context, "transform", body, current)
            if isinstance(out, Skip):
                return Skip(messages.reason(context.plugin, out.reason or "no reason given", body, current))
            if not isinstance(out, dict):
                raise CategorisedError(
                    Category.NON_RETRYABLE,
                    f'plugin "{context.plugin}": transform returned {type(out).__name__}, '
                    "not an object or Skip",
                )
            if identity(out) != before:
                raise CategorisedError(
                    Category.NON_RETRYABLE,
                    f'plugin "{context.plugin}": transform changed apiVersion, kind, name or namespace '
                    "of the object; a plugin may change anything else",
                )
            current = out
        return current


# raised inside a hook, these stop what runs it (the process, the task), not the object the hook was
# on: Ctrl-C, and what the runner adds (`stop_on`; the workers: Celery's soft time limit)
_STOPPING: tuple[type[BaseException], ...] = (KeyboardInterrupt,)


def stop_on(kind: type[BaseException]) -> None:
    """Let `kind`, raised inside a hook, go on up to what runs the hooks rather than fail the object
    (a worker's soft time limit is delivered as an exception in whatever code runs when it fires,
    a plugin's filter as well as drsyncer's own)."""
    global _STOPPING
    if kind not in _STOPPING:
        _STOPPING = (*_STOPPING, kind)


def _own_parameters(context: PluginContext) -> PluginContext:
    """`context` with a copy of its parameters of the call's own, read-only at the top level.

    Every object of a destination shares the bound context, and a hook may still change what its
    parameters hold (append to a list in them) or put a part of them into the copy it returns, which
    drsyncer then changes (its marks in `metadata.annotations`): either would reach the objects
    after it. A deep read-only view instead would fail such a copy when it is written as JSON. A
    copy of a few hundred bytes costs microseconds, next to the object's own deep copy."""
    if not context.parameters:
        return context
    return replace(context, parameters=MappingProxyType(copy.deepcopy(dict(context.parameters))))


def _run(hook: Any, obj: Any, context: PluginContext, name: str, *seen: Mapping[str, Any]) -> Any:
    """What `hook(obj, context)` returns; `CategorisedError` naming the plugin for whatever it raises
    (`seen`: the object the message must not quote a Secret's data of)."""
    try:
        return hook(obj, _own_parameters(context))
    except _STOPPING:  # the process or the task is being stopped, not the plugin failing
        raise
    except BaseException as exc:  # SystemExit too: a plugin's sys.exit fails this object only
        message = messages.hook_failed(context.plugin, name, exc, *seen)
    # raised outside the handler, so it carries neither the hook's exception (its text may quote
    # Secret data; log.exception and Celery would show it as the context) nor its frames' locals
    raise CategorisedError(Category.NON_RETRYABLE, message)


def chain_for(settings: Iterable[PluginSetting], registry: Registry, place: Place) -> Chain:
    """Bind `settings` to the installed plugins for `place`.

    Raises `CategorisedError(NonRetryable)` naming `spec.plugins[i]` when a plugin is not installed,
    failed to load, or rejects its parameters: the whole target fails, nothing is written unfiltered
    or untransformed.
    """
    settings = tuple(settings)
    found = problems(settings, registry)
    if found:
        raise CategorisedError(Category.NON_RETRYABLE, "; ".join(found))
    filters: list[tuple[FilterHook, PluginContext]] = []
    transforms: list[tuple[TransformHook, PluginContext]] = []
    for setting in settings:
        plugin: InstalledPlugin = registry[setting.name]
        context = PluginContext(
            plugin=setting.name,
            replication=place.replication,
            source_cluster=place.source_cluster,
            source_namespace=place.source_namespace,
            destination_cluster=place.destination_cluster,
            destination_namespace=place.destination_namespace,
            parameters=MappingProxyType(setting.parameters()),
        )
        if plugin.filter is not None:
            filters.append((plugin.filter, context))
        if plugin.transform is not None:
            transforms.append((plugin.transform, context))
    return Chain(tuple(filters), tuple(transforms))
