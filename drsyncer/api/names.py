"""Name rules of the Kubernetes API (DNS-1123 names, label keys and values) and of `resourceTypes`."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from drsyncer.api.builtin_kinds import BUILTIN_KINDS, find_builtin

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
# a resource or kind name as written before `.group`: `certificates`, `Certificate`
_RESOURCE_NAME = re.compile(r"[A-Za-z]([-A-Za-z0-9]*[A-Za-z0-9])?")

ALL_TYPES = "*"
# every spelling of a namespaced built-in, for suggestions after a typo (`deploymnets`)
_BUILTIN_SPELLINGS = sorted({name for kind in BUILTIN_KINDS if kind.namespaced
                             for name in (kind.plural, kind.singular, *kind.short_names)})
BUILTIN_GROUPS = frozenset(kind.group for kind in BUILTIN_KINDS if kind.group)


def check_dns_label(value: str) -> str:
    """A namespace name: lower-case DNS-1123 label, at most 63 characters."""
    if not value:
        raise ValueError("must not be empty")
    if len(value) > 63 or not _DNS1123_LABEL.fullmatch(value):
        raise ValueError(f'"{value}" is not a valid name: lower-case letters, digits and "-", '
                         "starting and ending with a letter or digit, at most 63 characters")
    return value


def check_dns_subdomain(value: str) -> str:
    """An object name (RemoteCluster, Secret): lower-case DNS-1123 subdomain, at most 253 characters."""
    if not value:
        raise ValueError("must not be empty")
    if len(value) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(value):
        raise ValueError(f'"{value}" is not a valid name: lower-case letters, digits, "-" and ".", '
                         "starting and ending with a letter or digit, at most 253 characters")
    return value


def check_label_key(key: str) -> str:
    """`[prefix/]name` where prefix is a DNS subdomain and name at most 63 characters."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        raise ValueError(f'label key "{key}" has an invalid prefix: it must be a DNS subdomain')
    if not name or len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        raise ValueError(f'label key "{key}" is invalid: at most 63 letters, digits, "-", "_" or ".", '
                         "starting and ending with a letter or digit")
    return key


def check_label_value(value: str) -> str:
    """Empty, or at most 63 letters, digits, `-`, `_`, `.` starting and ending alphanumeric."""
    if value and (len(value) > 63 or not _LABEL_NAME.fullmatch(value)):
        raise ValueError(f'label value "{value}" is invalid: at most 63 letters, digits, "-", "_" or ".", '
                         "starting and ending with a letter or digit")
    return value


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
            raise ValueError(f'"{name}" ({builtin.kind}) is cluster-scoped; a Replication copies '
                             f"namespaced resources{hint}")
        return builtin.group_resource
    resource, dot, group = text.partition(".")
    if not dot:
        close = difflib.get_close_matches(text.lower(), _BUILTIN_SPELLINGS, n=1, cutoff=0.75)
        hint = f'did you mean "{close[0]}"? ' if close else ""
        raise ValueError(f'"{name}" is not a known built-in resource; {hint}write custom resources as '
                         '"resource.group" (e.g. "certificates.cert-manager.io")')
    if not _RESOURCE_NAME.fullmatch(resource) or not _DNS1123_SUBDOMAIN.fullmatch(group.lower()):
        raise ValueError(f'"{name}" is not a valid "resource.group" name')
    if group.lower() in BUILTIN_GROUPS:
        raise ValueError(f'"{name}": the {group.lower()} group has no resource "{resource}"')
    return f"{resource.lower()}.{group.lower()}"


def unique_in_order(items: Iterable[str]) -> list[str]:
    """Drop repeats, keep the first occurrence's position."""
    return list(dict.fromkeys(items))
