"""ServiceAccount token Secrets: which ones the destination makes by itself, and what a copy of the
others must leave out so that the destination issues its own token under the same name.

Kubernetes behaviour this follows (kube-controller-manager pkg/controller/serviceaccount
tokens_controller.go, 1.34): the token controller fills `token`, `ca.crt` and `namespace` into every
Secret of type `kubernetes.io/service-account-token` that names an existing ServiceAccount in its
`kubernetes.io/service-account.name` annotation, and records the account's uid in the
`kubernetes.io/service-account.uid` annotation. Before 1.24 the same controller also created one
such Secret per ServiceAccount, named `<account>-token-<5 random characters>` (apiserver
storage/names SimpleNameGenerator) and listed in the account's `secrets`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from drsyncer.api import keys
from drsyncer.sync.objects import Obj

# the characters apimachinery's random name suffixes are drawn from (util/rand, no vowels or 0/1/3)
_SUFFIX = re.compile(r"[bcdfghjklmnpqrstvwxz2456789]{5}")
# what the source's token controller and API server wrote; the destination writes its own
ISSUED_DATA: tuple[str, ...] = ("token", "ca.crt", "namespace")
ISSUED_ANNOTATIONS: tuple[str, ...] = (keys.ANNOTATION_SA_UID,)
# labels about a long-lived token's use in the source cluster: kube-apiserver marks its last use
# (pkg/serviceaccount/legacy.go), the legacy token cleaner its invalidation
# (pkg/controller/serviceaccount/legacy_serviceaccount_token_cleaner.go), 1.34
ISSUED_LABELS: tuple[str, ...] = (keys.LABEL_LEGACY_TOKEN_LAST_USED, keys.LABEL_LEGACY_TOKEN_INVALID_SINCE)


def is_token_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and obj.get("type") == keys.SECRET_TYPE_SA_TOKEN


def generated_name(account: str, name: str) -> bool:
    """True when `name` is a name the token controller gives the Secrets it creates for `account`."""
    prefix = f"{account}-token-"
    return bool(account) and name.startswith(prefix) and _SUFFIX.fullmatch(name[len(prefix):]) is not None


def generated_by_controller(secret: Mapping[str, Any], referenced: Collection[str] | None) -> bool:
    """A token Secret the token controller created (and the destination's creates again, or no longer
    creates at all): generated name for the account it names, and listed in that account's `secrets`.

    `referenced`: names listed in the `secrets` of the source namespace's ServiceAccounts, or None when
    the ServiceAccounts are not among the objects read (the name alone decides then).
    """
    if not is_token_secret(secret):
        return False
    meta = secret.get("metadata") or {}
    account = (meta.get("annotations") or {}).get(keys.ANNOTATION_SA_NAME) or ""
    name = meta.get("name") or ""
    if not generated_name(account, name):
        return False
    return referenced is None or name in referenced


def referenced_secrets(objects: Collection[Mapping[str, Any]]) -> frozenset[str] | None:
    """Names in the `secrets` of every ServiceAccount among `objects`; None when there is none."""
    found: set[str] = set()
    accounts = 0
    for obj in objects:
        if obj.get("kind") != "ServiceAccount" or obj.get("apiVersion") != "v1":
            continue
        accounts += 1
        found.update(str(ref.get("name") or "") for ref in obj.get("secrets") or ())
    return frozenset(found) if accounts else None


def token_secret(body: Obj) -> None:
    """Leave out of a hand-made token Secret (in place, `body` owning its metadata) what the source's
    token controller issued, so the destination's controller issues a token of its own."""
    data = body.get("data")
    if data:
        body["data"] = {k: v for k, v in data.items() if k not in ISSUED_DATA}
        if not body["data"]:
            del body["data"]
    meta = body["metadata"]
    for annotation in ISSUED_ANNOTATIONS:
        meta["annotations"].pop(annotation, None)
    for label in ISSUED_LABELS:
        meta["labels"].pop(label, None)


def service_account(body: Obj) -> None:
    """Drop from a ServiceAccount's `secrets` the generated token Secrets, which are not copied."""
    account = (body.get("metadata") or {}).get("name") or ""
    refs = body.get("secrets")
    if not refs:
        return
    kept = [ref for ref in refs if not generated_name(account, str(ref.get("name") or ""))]
    if kept:
        body["secrets"] = kept
    else:
        body.pop("secrets", None)


def keep_issued(desired: Mapping[str, Any], existing: Mapping[str, Any]) -> Obj:
    """An update of a token Secret copy keeps the token the destination issued into it (its data
    and uid annotation), so a change elsewhere in the Secret does not revoke it."""
    body: Obj = dict(desired)
    have_data = existing.get("data") or {}
    issued = {k: v for k, v in have_data.items() if k in ISSUED_DATA}
    if issued:
        body["data"] = {**issued, **(desired.get("data") or {})}
    have_annotations = (existing.get("metadata") or {}).get("annotations") or {}
    kept = {k: v for k, v in have_annotations.items() if k in ISSUED_ANNOTATIONS}
    if kept:
        meta = dict(body.get("metadata") or {})
        meta["annotations"] = {**kept, **(meta.get("annotations") or {})}
        body["metadata"] = meta
    return body
