"""Name rules of the Kubernetes API: DNS-1123 names, label keys and values.

Resource type names are drsyncer/api/resource_types.py's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def check_dns_label(value: str) -> str:
    """A namespace name: lower-case DNS-1123 label, at most 63 characters."""
    if not value:
        raise ValueError("must not be empty")
    if len(value) > 63 or not _DNS1123_LABEL.fullmatch(value):
        raise ValueError(
            f'"{value}" is not a valid name: lower-case letters, digits and "-", '
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return value


def check_dns_subdomain(value: str) -> str:
    """An object name (RemoteCluster, Secret): lower-case DNS-1123 subdomain, at most 253 characters."""
    if not value:
        raise ValueError("must not be empty")
    if len(value) > 253 or not DNS1123_SUBDOMAIN.fullmatch(value):
        raise ValueError(
            f'"{value}" is not a valid name: lower-case letters, digits, "-" and ".", '
            "starting and ending with a letter or digit, at most 253 characters"
        )
    return value


def check_label_key(key: str) -> str:
    """`[prefix/]name` where prefix is a DNS subdomain and name at most 63 characters."""
    return _check_qualified_name(key, "label key")


def check_annotation_key(key: str) -> str:
    """An annotation key: the same syntax as a label key (kube-apiserver
    apimachinery/pkg/api/validation ValidateAnnotations, IsQualifiedName, 1.34), named as such in
    messages."""
    return _check_qualified_name(key, "annotation key")


def _check_qualified_name(key: str, what: str) -> str:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.fullmatch(prefix)):
        raise ValueError(f'{what} "{key}" has an invalid prefix: it must be a DNS subdomain')
    if not name or len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        raise ValueError(
            f'{what} "{key}" is invalid: at most 63 letters, digits, "-", "_" or ".", '
            "starting and ending with a letter or digit"
        )
    return key


def check_label_value(value: str) -> str:
    """Empty, or at most 63 letters, digits, `-`, `_`, `.` starting and ending alphanumeric."""
    if value and (len(value) > 63 or not _LABEL_NAME.fullmatch(value)):
        raise ValueError(
            f'label value "{value}" is invalid: at most 63 letters, digits, "-", "_" or ".", '
            "starting and ending with a letter or digit"
        )
    return value


def unique_in_order(items: Iterable[str]) -> list[str]:
    """Drop repeats, keep the first occurrence's position."""
    return list(dict.fromkeys(items))
