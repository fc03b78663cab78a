"""ServiceAccount token Secrets: generated ones are left to the destination, hand-made ones are copied
without what the source's token controller issued into them."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.sync.merge import update_body
from drsyncer.sync.objects import Obj
from drsyncer.sync.plan import Op, plan
from drsyncer.sync.select import skip_reason
from drsyncer.sync.tokens import generated_name
from drsyncer.sync.transform import for_destination
from tests.unit.sync.factories import DEST_NS, SOURCE_NS, obj, rules

ISSUED = {"token": "dG9rZW4=", "ca.crt": "Y2E=", "namespace": "c2hvcA=="}


def token_secret(name: str, account: str = "app", data: dict[str, str] | None = None, **kw: Any) -> Obj:
    annotations = {keys.ANNOTATION_SA_NAME: account, keys.ANNOTATION_SA_UID: "11111111-2222"}
    annotations.update(kw.pop("annotations", {}))
    return obj("v1", "Secret", name, type=keys.SECRET_TYPE_SA_TOKEN, annotations=annotations,
               data=dict(ISSUED) if data is None else data, **kw)


def account(name: str = "app", secrets: list[str] | None = None) -> Obj:
    extra: dict[str, Any] = {"secrets": [{"name": s} for s in secrets]} if secrets is not None else {}
    return obj("v1", "ServiceAccount", name, **extra)


@pytest.mark.parametrize(("account_name", "name", "generated"), [
    ("app", "app-token-x7k2p", True),
    ("default", "default-token-b9zq4", True),
    ("app", "app-token", False),  # hand-made: no random suffix
    ("app", "app-token-abcde", False),  # vowels are never in a generated suffix
    ("app", "app-token-x7k2", False),  # four characters
    ("app", "app-token-x7k2pq", False),  # six characters
    ("app", "other-token-x7k2p", False),  # another account's name
    ("", "-token-x7k2p", False),
])
def test_generated_names_are_the_token_controllers(account_name: str, name: str, generated: bool) -> None:
    assert generated_name(account_name, name) is generated


@pytest.mark.parametrize(("secret", "listed", "skipped"), [
    # (Secret, names the ServiceAccounts list in `secrets` (None: not read), skipped?)
    (token_secret("app-token-x7k2p"), None, True),
    (token_secret("app-token-x7k2p"), ["app-token-x7k2p"], True),
    (token_secret("app-token-x7k2p"), [], False),  # not the account's: made by someone else
    (token_secret("app-user-token"), None, False),
    (token_secret("app-user-token"), ["app-user-token"], False),
    (token_secret("ci-token-x7k2p", account="app"), None, False),  # named for another account
])
def test_only_generated_token_secrets_are_skipped(secret: Obj, listed: list[str] | None,
                                                  skipped: bool) -> None:
    reason = skip_reason(secret, rules(), token_secrets=None if listed is None else frozenset(listed))
    assert (reason is not None) is skipped, reason


def test_hand_made_token_secret_is_copied_without_what_the_source_issued() -> None:
    source = token_secret("app-user-token", data={**ISSUED, "extra": "eA=="},
                          labels={keys.LABEL_LEGACY_TOKEN_LAST_USED: "2026-01-01", "team": "a"},
                          annotations={"note": "kept"})
    out = for_destination(source, rules(), destination_namespace=DEST_NS)
    assert out["type"] == keys.SECRET_TYPE_SA_TOKEN
    assert out["data"] == {"extra": "eA=="}
    assert out["metadata"]["annotations"] == {keys.ANNOTATION_SA_NAME: "app", "note": "kept"}
    assert out["metadata"]["labels"] == {"team": "a"}
    assert source["data"] == {**ISSUED, "extra": "eA=="}  # the source object is untouched


def test_token_secret_with_only_issued_data_is_copied_without_data() -> None:
    out = for_destination(token_secret("app-user-token"), rules(), destination_namespace=DEST_NS)
    assert "data" not in out


def test_service_account_copy_lists_no_generated_token_secret() -> None:
    src = account("app", ["app-token-x7k2p", "app-user-token"])
    out = for_destination(src, rules(), destination_namespace=DEST_NS)
    assert out["secrets"] == [{"name": "app-user-token"}]
    only_generated = for_destination(account("app", ["app-token-x7k2p"]), rules(),
                                     destination_namespace=DEST_NS)
    assert "secrets" not in only_generated


def test_plan_copies_the_hand_made_token_and_skips_the_generated_one() -> None:
    source = [account("app", ["app-token-x7k2p"]), token_secret("app-token-x7k2p"),
              token_secret("app-user-token")]
    actions = {a.key.name: a for a in plan(source, {}, rules(), source_namespace=SOURCE_NS,
                                           destination_namespace=DEST_NS, prune=False)}
    assert actions["app-token-x7k2p"].op is Op.SKIP
    assert actions["app-user-token"].op is Op.CREATE
    assert actions["app"].op is Op.CREATE


def test_an_update_keeps_the_token_the_destination_issued() -> None:
    desired = for_destination(token_secret("app-user-token", labels={"v": "2"}), rules(),
                              destination_namespace=DEST_NS)
    issued = {"token": "ZGVzdA==", "ca.crt": "ZGNh", "namespace": "ZHI="}
    existing = token_secret("app-user-token", data=issued,
                            annotations={keys.ANNOTATION_SA_UID: "dest-uid"})
    body = update_body(desired, existing)
    assert body["data"] == issued
    assert body["metadata"]["annotations"][keys.ANNOTATION_SA_UID] == "dest-uid"
    assert body["metadata"]["labels"]["v"] == "2"
