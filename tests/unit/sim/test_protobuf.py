"""Protobuf bodies as kubectl's imperative create sends them (bytes captured from kubectl v1.32)."""

from __future__ import annotations

import pytest

from drsyncer.sim.errors import ApiError
from drsyncer.sim.protobuf import decode

NAMESPACE = (
    b'k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1b\n\x13\n\x03foo\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00'
    b'\x12\x00\x1a\x02\n\x00\x1a\x00"\x00'
)
SECRET = (
    b'k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12#\n\x11\n\x01s\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12\x06'
    b'\n\x01a\x12\x01b\x1a\x06Opaque\x1a\x00"\x00'
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "foo"}}),
        (
            SECRET,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s"},
                "data": {"a": "Yg=="},
                "type": "Opaque",
            },
        ),
    ],
)
def test_kubectl_protobuf_bodies_decode_to_the_json_shape(body: bytes, expected: dict[str, object]) -> None:
    assert decode(body) == expected


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not protobuf", 400),
        (NAMESPACE[:20], 400),
        (b"k8s\x00\n\x10\n\x02v1\x12\nDeployment", 415),
    ],
)
def test_unreadable_protobuf_bodies_are_refused(body: bytes, code: int) -> None:
    with pytest.raises(ApiError) as err:
        decode(body)
    assert err.value.code == code
