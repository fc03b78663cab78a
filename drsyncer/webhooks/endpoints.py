"""Which endpoints get which event: a Replication's `spec.webhooks` and the installation-wide list
(`DRSYNCER_WEBHOOKS`). Pure: endpoints come out as plain dicts, ready to be a task's arguments
(a URL and a Secret's name, never its contents)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from drsyncer.api.webhooks import Webhook
from drsyncer.errors import DrsyncerError

_LIST = TypeAdapter(list[Webhook])


def parse_global(text: str) -> list[Webhook]:
    """The installation-wide endpoints from `DRSYNCER_WEBHOOKS` (a JSON or YAML list of the
    `spec.webhooks` shape); DrsyncerError naming the item and field when one is wrong."""
    if not text.strip():
        return []
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DrsyncerError(f"DRSYNCER_WEBHOOKS is not JSON or YAML: {exc}") from None
    try:
        return _LIST.validate_python(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"DRSYNCER_WEBHOOKS[{'.'.join(str(p) for p in e['loc'])}]: {e['msg']}" for e in exc.errors()
        )
        raise DrsyncerError(problems) from None


def endpoint(webhook: Webhook, default_namespace: str) -> dict[str, Any]:
    ref = webhook.secret_ref
    return {
        "url": webhook.url,
        "secretRef": None
        if ref is None
        else {"namespace": ref.namespace or default_namespace, "name": ref.name},
    }


def targets(
    event_kind: str, replication: Mapping[str, Any], installation: Sequence[Webhook], *, watch_namespace: str
) -> list[dict[str, Any]]:
    """The endpoints (as task arguments) that want an event of `event_kind` about `replication` (the
    object as read: its spec.webhooks); an invalid spec.webhooks contributes none (the watcher
    reports it)."""
    namespace = str((replication.get("metadata") or {}).get("namespace") or "")
    own: Iterable[Webhook] = ()
    try:
        own = _LIST.validate_python((replication.get("spec") or {}).get("webhooks") or [])
    except ValidationError:
        own = ()
    found = [endpoint(w, namespace) for w in own if event_kind in w.events]
    found += [endpoint(w, watch_namespace or namespace) for w in installation if event_kind in w.events]
    unique = {json.dumps(e, sort_keys=True): e for e in found}  # one delivery per endpoint and event
    return list(unique.values())
