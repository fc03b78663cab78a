"""The signature header of a webhook request. Pure.

`X-Drsyncer-Signature: t=<unix seconds>,sha256=<hex>` where the hex is HMAC-SHA256 (RFC 2104) with
the endpoint's signing key over `<t>.` followed by the exact request body. Signing the time with the
body lets a receiver refuse a replayed request (check that `t` is recent).
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Drsyncer-Signature"


def sign(key: bytes, body: bytes, timestamp: int) -> str:
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},sha256={digest}"


def verify(key: bytes, body: bytes, header: str, *, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver does: the header's time is within `tolerance_s` of `now` and the digest matches."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(key, body, timestamp), f"t={timestamp},sha256={fields.get('sha256', '')}")
