"""What is said about a plugin's failure or reason: a Secret's data values masked, as stored and decoded."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from drsyncer.plugins.messages import masked


def secret(kind: str = "Secret", **data: str) -> dict[str, Any]:
    return {"kind": kind, "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


KEY = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----\n"


@pytest.mark.parametrize(
    ("obj", "message", "expected"),
    [
        (secret(password="hunter22"), "bad hunter22", "bad ***"),
        (secret(password="hunter22"), "bad aHVudGVyMjI=", "bad ***"),  # as stored
        (secret(key=KEY), "line 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'", "line '***'"),  # one line of it
        (secret(a="hunter22", b="hunter22-and-more"), "hunter22-and-more", "***"),  # longest first
        (secret(flag="on"), "turned on", "turned on"),  # too short to mask without masking words
        ({"kind": "Secret", "stringData": {"token": "abcd1234"}}, "token abcd1234", "token ***"),
        ({"kind": "Secret", "data": {"odd": "not base64!", "n": 5}}, "not base64!", "***"),
        (secret("ConfigMap", password="hunter22"), "bad hunter22", "bad hunter22"),  # not a Secret
    ],
)
def test_masked_hides_each_secret_value_long_enough_to_tell(obj: Any, message: str, expected: str) -> None:
    assert masked(message, obj) == expected
