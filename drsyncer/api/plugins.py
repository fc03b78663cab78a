"""`spec.plugins[]`: the Python plugins a Replication runs on every copied object (docs/plugins.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError

from drsyncer.api.camel import SpecModel
from drsyncer.api.schema_hints import OpenAPI
from drsyncer.plugins.chain import PluginSetting, setting_problems
from drsyncer.plugins.registry import Registry

# an entry point name as packaging writes it: letters, digits and `-_.`, starting with a letter or digit
PLUGIN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
_PLUGIN_NAME = re.compile(PLUGIN_NAME_PATTERN)


def _plugin_name(value: str) -> str:
    if not _PLUGIN_NAME.match(value):
        raise ValueError(
            f"must be an entry point name (letters, digits, '.', '_', '-', starting with a letter or "
            f"digit), not {value!r}"
        )
    return value


PluginName = Annotated[str, AfterValidator(_plugin_name), OpenAPI(pattern=PLUGIN_NAME_PATTERN)]


class PluginUse(SpecModel):
    name: PluginName = Field(
        description="Name of an installed plugin: an entry point in the `drsyncer.plugins` group of a "
        "package installed beside drsyncer (`drsyncer plugins` lists them). A name that is not "
        "installed makes the spec invalid."
    )
    # any JSON object: the CRD keeps it as written (drsyncer.api.crds), the plugin's validator checks it
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Free-form settings handed to the plugin's hooks; the plugin's own validator, if "
        "it has one, checks them. Part of the source hash: changing them rewrites every copy.",
    )


def duplicate_plugins(plugins: list[PluginUse]) -> list[tuple[str, str]]:
    """(path, message) for each plugin named twice: its hooks would run twice on every object."""
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for i, use in enumerate(plugins):
        if use.name in seen:
            found.append((f"plugins[{i}].name", f'plugin "{use.name}" is listed more than once'))
        seen.add(use.name)
    return found


def problems_as_written(obj: Mapping[str, Any], registry: Callable[[], Registry]) -> list[str]:
    """Why the `spec.plugins` entries of an object whose spec did not parse as a whole cannot run
    here, so that a missing plugin is reported in the same round as the spec's other errors. Each
    entry that parses on its own is checked against `registry()` (called only when there is one);
    an entry that does not parse is one of those other errors already."""
    spec = obj.get("spec")
    items = spec.get("plugins") if isinstance(spec, Mapping) else None
    if not isinstance(items, list):
        return []
    entries: list[tuple[int, PluginSetting]] = []
    for i, item in enumerate(items):
        try:
            use = PluginUse.model_validate(item)
        except ValidationError:
            continue
        entries.append((i, PluginSetting.of(use.name, use.parameters)))
    if not entries:
        return []
    installed = registry()
    return [p for i, setting in entries for p in setting_problems(i, setting, installed)]
