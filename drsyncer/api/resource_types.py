"""Resource type names, resolved without a cluster: the one offline resolver.

Everything that turns a name a user wrote (`deploy`, `Deployment.apps`, `certificates.cert-manager.io`,
`"*"`) into a type without asking a server lives here: the built-in table lookup, the canonical
spelling `resourceTypes` is validated and stored in, the (group, kind) patterns of `excludeResources`
and `resourceOverrides`, and which served types `"*"` stands for. A live cluster's discovery
(drsyncer/kube/discovery.py) resolves against what is served, using these rules.
"""

from __future__ import annotations

import difflib
import re

from drsyncer.api.builtin_kinds import BUILTIN_KINDS, OTHER_BUILTIN_KINDS, BuiltinKind
from drsyncer.api.names import DNS1123_SUBDOMAIN

ALL_TYPES = "*"

# Resources `"*"` leaves out: written by the cluster itself or by controllers that recreate them
# (copying them would duplicate or fight the destination's own), or meaningless elsewhere. The
# watcher's Continuous mode and the workers both expand `"*"` through `in_wildcard`, so a change to
# one of these never queues a sync.
WILDCARD_EXCLUDED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "events"),
        ("events.k8s.io", "events"),
        ("", "pods"),
        ("", "endpoints"),
        ("discovery.k8s.io", "endpointslices"),
        ("apps", "controllerrevisions"),
        ("apps", "replicasets"),
        ("coordination.k8s.io", "leases"),
        ("authorization.k8s.io", "localsubjectaccessreviews"),
        ("metrics.k8s.io", "pods"),
    }
)

# every built-in resource known by name: the table drsyncer has rules for, then the rest of 1.34's
_ALL_BUILTINS = BUILTIN_KINDS + OTHER_BUILTIN_KINDS
# the API groups of the built-in resources (not the core group, ""): a `resource.group` name in one of
# them must be a built-in, and kubectl ranks them before other groups for an ambiguous short name
BUILTIN_GROUPS = frozenset(kind.group for kind in _ALL_BUILTINS if kind.group)

# a resource or kind name as written before `.group`: `certificates`, `Certificate`
_RESOURCE_NAME = re.compile(r"[A-Za-z]([-A-Za-z0-9]*[A-Za-z0-9])?")
# every spelling of a namespaced built-in, for suggestions after a typo (`deploymnets`)
_BUILTIN_SPELLINGS = sorted(
    {
        name
        for kind in _ALL_BUILTINS
        if kind.namespaced
        for name in (kind.plural, kind.singular, *kind.short_names)
    }
)


def is_wildcard(name: str) -> bool:
    return name.strip() == ALL_TYPES


def in_wildcard(group: str, plural: str) -> bool:
    """Whether `"*"` covers the type `plural.group` (when it is served, namespaced and listable)."""
    return (group, plural) not in WILDCARD_EXCLUDED


def find_builtin(name: str) -> BuiltinKind | None:
    """Resolve a plural, singular, kind or short name (any case), optionally `name.group`."""
    wanted = name.strip().lower()
    group: str | None = None
    if "." in wanted:
        wanted, group = wanted.split(".", 1)
    for kind in _ALL_BUILTINS:
        if group is not None and kind.group != group:
            continue
        if wanted in (kind.plural, kind.singular, kind.kind.lower(), *kind.short_names):
            return kind
    return None


_VERSION = re.compile(r"v[0-9]+(?:(?:alpha|beta)[0-9]+)?")


def normalize_resource_type(name: str, allow_all: bool = True) -> str:
    """The canonical spelling of a `resourceTypes` entry, or ValueError saying what is wrong.

    Built-ins come back as `plural` (core group) or `plural.group` (`deployments.apps`), whatever
    spelling was used; custom resources as lower-cased `resource.group`; `*` stays `*`.
    """
    text = name.strip()
    if text == ALL_TYPES:
        if not allow_all:
            raise ValueError('"*" is not allowed here')
        return ALL_TYPES
    if not text:
        raise ValueError("must not be empty")
    builtin = find_builtin(text)
    if builtin is not None:
        if not builtin.namespaced:
            hint = "; use syncCRDs to copy CRDs" if builtin.kind == "CustomResourceDefinition" else ""
            raise ValueError(
                f'"{name}" ({builtin.kind}) is cluster-scoped; a Replication copies '
                f"namespaced resources{hint}"
            )
        return builtin.group_resource
    resource, dot, group = text.partition(".")
    if not dot:
        close = difflib.get_close_matches(text.lower(), _BUILTIN_SPELLINGS, n=1, cutoff=0.75)
        hint = f'did you mean "{close[0]}"? ' if close else ""
        raise ValueError(
            f'"{name}" is not a known built-in resource; {hint}write custom resources as '
            '"resource.group" (e.g. "certificates.cert-manager.io")'
        )
    if not _RESOURCE_NAME.fullmatch(resource) or not DNS1123_SUBDOMAIN.fullmatch(group.lower()):
        raise ValueError(f'"{name}" is not a valid "resource.group" name')
    if group.lower() in BUILTIN_GROUPS:
        raise ValueError(f'"{name}": the {group.lower()} group has no resource "{resource}"')
    if _VERSION.fullmatch(group.lower()):
        raise ValueError(
            f'"{name}": "{group}" is an API version, not a group; name a type without its version '
            '(e.g. "configmaps", "deployments.apps")'
        )
    if group.lower() == "extensions":  # served Ingress, Deployment, ... until Kubernetes 1.22
        moved = find_builtin(resource)
        where = f'"{moved.group_resource}"' if moved is not None else "its current group"
        raise ValueError(
            f'"{name}": no cluster serves the extensions group since Kubernetes 1.22; use {where}'
        )
    return f"{resource.lower()}.{group.lower()}"


def kind_pattern(name: str) -> tuple[str, str]:
    """(group, lowercase kind or resource name) for any `resourceTypes` spelling of a type, the key
    `excludeResources` and `resourceOverrides` entries are matched by."""
    builtin = find_builtin(name)
    if builtin is not None:
        return builtin.group, builtin.kind.lower()
    resource, _, group = name.strip().lower().partition(".")
    return group, resource


def kind_names(kind: str) -> tuple[str, ...]:
    """Names a pattern may use for a kind: the kind itself, or its resource (plural) name."""
    return (kind.lower(), *_plural_guesses(kind))


def _plural_guesses(kind: str) -> tuple[str, ...]:
    """Resource names a `resource.group` pattern may use for a kind not in the built-in table."""
    lowered = kind.lower()
    if lowered.endswith("y") and lowered[-2:-1] not in "aeiou":
        return (lowered[:-1] + "ies",)
    if lowered.endswith(("s", "x", "z", "ch", "sh")):
        return (lowered + "es",)
    return (lowered + "s",)
