"""Changes the API server refuses to apply in place, and how a Replication wants them handled.

`immutable_changes` compares the object drsyncer wants with the copy in the destination and names
the fields an update would be refused for, by the destination's Kubernetes version. The knowledge
itself (which fields, which versions, what kube-apiserver answers) is the table in
`drsyncer.api.immutability`; this module applies it to planning and adds the handling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drsyncer.api import keys
from drsyncer.api.immutability import Version, parse_quantity, refused_paths
from drsyncer.sync.objects import group_of, labels_of
from drsyncer.sync.rules import ImmutableHandling, Rules, handling_from_label

# where an object's handling came from (`decided_by`), as messages say it: what a user changes to
# choose another (`drsyncer sync` has no Replication, so the label is the one way there)
_ORIGIN = {
    "label": f"from label {keys.LABEL_IMMUTABLE_HANDLING}",
    "resourceOverrides": "from spec.immutableResourceConfig.resourceOverrides",
    "defaultHandling": (
        f"the default; label {keys.LABEL_IMMUTABLE_HANDLING} or spec.immutableResourceConfig chooses another"
    ),
}


def described_handling(handling: ImmutableHandling, decided_by: str) -> str:
    """`handling NoChange (the default; ...)`: a handling and where it came from, for messages."""
    return f"handling {handling.value} ({_ORIGIN.get(decided_by, decided_by)})"


@dataclass(frozen=True)
class ImmutableChange:
    """An update that the API server would reject, with the handling this object gets."""

    fields: tuple[str, ...]  # dotted paths, e.g. ("spec.selector",)
    handling: ImmutableHandling
    decided_by: str  # "label", "resourceOverrides", "defaultHandling"

    @property
    def held_back(self) -> bool:
        """Nothing is written: the destination copy stays as it is (NoChange)."""
        return self.handling == ImmutableHandling.NO_CHANGE

    def describe(self) -> str:
        return (
            f"immutable field(s) {', '.join(self.fields)} changed; "
            f"{described_handling(self.handling, self.decided_by)}"
        )


def resolve_handling(source: Mapping[str, Any], rules: Rules) -> tuple[ImmutableHandling, str, str | None]:
    """Handling for one object: its label, else `resourceOverrides`, else `defaultHandling` (NoChange).

    Returns (handling, where it came from, warning about an unusable label value or None).
    """
    warning = None
    value = labels_of(source).get(keys.LABEL_IMMUTABLE_HANDLING)
    if value is not None:
        from_label = handling_from_label(value)
        if from_label is not None:
            return from_label, "label", None
        warning = (
            f"label {keys.LABEL_IMMUTABLE_HANDLING}={value!r} is not one of no-change, recreate, "
            "recreate-with-drain, partial-update, force-update; ignored"
        )
    override = rules.override_for(group_of(source), source.get("kind") or "")
    if override is not None:
        return override, "resourceOverrides", warning
    return rules.default_immutable_handling, "defaultHandling", warning


def immutable_changes(
    desired: Mapping[str, Any], existing: Mapping[str, Any], version: Version | None = None
) -> tuple[str, ...]:
    """Dotted paths of fields whose change an in-place update of `existing` would be refused for by
    a destination running Kubernetes `version` ((major, minor); None: unknown, the newest rules)."""
    return refused_paths(group_of(desired), str(desired.get("kind") or ""), version, desired, existing)


__all__ = ["ImmutableChange", "described_handling", "immutable_changes", "parse_quantity", "resolve_handling"]
