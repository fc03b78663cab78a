"""The source-to-copy diff of `drsyncer plan --diff`: what changes shows, Secret values never do."""

from __future__ import annotations

import pytest

from drsyncer.api import keys
from drsyncer.sync.copy_diff import REDACTED, REDACTED_CHANGED, copy_diff, redacted
from drsyncer.sync.plan import create_action
from tests.unit.sync.factories import DEST_NS, configmap, deployment, rules, secret

PASSWORD = "czNjcjN0"  # base64 of the factories' Secret value


def diff_of(source: dict, copy: dict) -> str:
    return copy_diff(source, copy, source_label="prod/shop/X", copy_label="dr1/shop-dr/X")


def test_the_diff_shows_what_the_transforms_change_between_labelled_files() -> None:
    source = deployment(replicas=3)
    copy = create_action(source, rules(), destination_namespace=DEST_NS).desired
    assert copy is not None
    text = diff_of(source, copy)
    lines = text.splitlines()
    assert lines[:2] == ["--- prod/shop/X", "+++ dr1/shop-dr/X"]
    assert "-  replicas: 3" in lines and "+  replicas: 0" in lines
    assert "-  namespace: shop" in lines and "+  namespace: shop-dr" in lines
    assert f"+    {keys.LABEL_MANAGED_BY}: drsyncer" in lines
    assert not any("managedFields" in line for line in lines)  # left out: nothing reads it


def test_objects_that_read_the_same_have_an_empty_diff() -> None:
    assert diff_of(configmap(), configmap()) == ""


@pytest.mark.parametrize(
    ("copied", "shown"),
    [
        ({"password": PASSWORD}, REDACTED),
        ({"password": "b3RoZXI="}, REDACTED_CHANGED),
    ],
)
def test_secret_values_are_redacted_and_a_changed_one_says_so(copied: dict, shown: str) -> None:
    source = secret(annotations={keys.ANNOTATION_LAST_APPLIED: f'{{"data":{{"password":"{PASSWORD}"}}}}'})
    copy = {**secret(), "data": copied, "stringData": {"token": "plain-text-token"}}
    before, after = redacted(source, copy)
    assert before["data"] == {"password": REDACTED}
    assert after["data"] == {"password": shown}
    assert after["stringData"] == {"token": REDACTED_CHANGED}
    assert before["metadata"]["annotations"][keys.ANNOTATION_LAST_APPLIED] == REDACTED
    text = diff_of(source, copy)
    for value in (PASSWORD, "b3RoZXI=", "plain-text-token", "s3cr3t"):
        assert value not in text
    assert ("+  password: <redacted, changed>" in text) == (shown == REDACTED_CHANGED)
    assert source["data"] == {"password": PASSWORD}  # the inputs are left as they were


def test_secret_keys_added_or_removed_show_by_name_only() -> None:
    text = diff_of(secret(data={"old": PASSWORD}), secret(data={"new": PASSWORD}))
    assert "-  old: <redacted>" in text
    assert "+  new: <redacted, changed>" in text
    assert PASSWORD not in text
