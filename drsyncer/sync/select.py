"""Which source objects are copied: every rule that skips an object, each with a reason a user can read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drsyncer.api import keys
from drsyncer.sync import tokens
from drsyncer.sync.objects import group_of, labels_of
from drsyncer.sync.rules import Rules

# Owners whose controller recreates the owned object from its own template in the destination; a
# copy would be orphaned there (ownerReferences are stripped) and fight the real one.
RECREATING_OWNERS: frozenset[tuple[str, str]] = frozenset(
    {
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
        ("", "Service"),  # Endpoints and EndpointSlices
    }
)


def skip_reason(
    obj: Mapping[str, Any], rules: Rules, *, service_accounts: tokens.Accounts | None = None
) -> str | None:
    """None when the object is copied, otherwise why it is not. The first rule that applies wins.

    `service_accounts`: the ServiceAccounts copied with the object (tokens.accounts_of), None when
    none is; token Secrets depend on them.
    """
    meta = obj.get("metadata") or {}
    kind = obj.get("kind") or ""
    name = meta.get("name") or ""
    labels = labels_of(obj)
    if labels.get(keys.LABEL_IGNORE) == "true":
        return f"labelled {keys.LABEL_IGNORE}=true"
    if kind == "ConfigMap" and name == keys.ROOT_CA_CONFIGMAP and not group_of(obj):
        return f"{keys.ROOT_CA_CONFIGMAP} is created in every namespace by the destination cluster"
    if kind == "Secret" and (token := tokens.skip_reason(obj, service_accounts)) is not None:
        return token
    if meta.get("deletionTimestamp"):
        return "being deleted in the source"
    owner = _recreating_owner(meta)
    if owner is not None:
        return f"owned by {owner}, whose controller recreates it in the destination"
    if rules.is_excluded(group_of(obj), kind, name):
        return "listed in excludeResources"
    if rules.label_selector is not None and not rules.label_selector.matches(labels):
        return "does not match labelSelector"
    return None


def _recreating_owner(meta: Mapping[str, Any]) -> str | None:
    for ref in meta.get("ownerReferences") or ():
        if not ref.get("controller"):
            continue
        group = (ref.get("apiVersion") or "").rpartition("/")[0]
        if (group, ref.get("kind")) in RECREATING_OWNERS:
            return f"{ref.get('kind')} {ref.get('name')}"
    return None
