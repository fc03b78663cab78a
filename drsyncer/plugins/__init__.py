"""Python plugins: custom filters and transforms a Replication names in `spec.plugins[]`.

What a plugin author imports lives here: `PluginContext` (what a hook is told) and `Skip` (what a
transform hook returns to leave an object out). The contract is described in docs/plugins.md.
"""

from drsyncer.plugins.contract import ENTRY_POINT_GROUP, PluginContext, Skip

__all__ = ["ENTRY_POINT_GROUP", "PluginContext", "Skip"]
