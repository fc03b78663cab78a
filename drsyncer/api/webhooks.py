"""Event webhooks: where drsyncer POSTs CloudEvents about a Replication's syncs and failovers.

The same shape serves `spec.webhooks` of a Replication and the installation-wide list
(`DRSYNCER_WEBHOOKS`, chart value `webhooks`). The payload is documented in docs/webhooks.md.
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from drsyncer.api.camel import SpecModel
from drsyncer.api.fieldtypes import NonEmpty, ObjectName


class WebhookEvent(StrEnum):
    SYNC_FAILED = "SyncFailed"
    SYNC_RECOVERED = "SyncRecovered"
    SYNC_COMPLETED = "SyncCompleted"
    DESTINATION_UNREACHABLE = "DestinationUnreachable"
    FAILOVER_STARTED = "FailoverStarted"
    FAILOVER_ENDED = "FailoverEnded"


# a completed run is the normal case: sent only to endpoints that list it
DEFAULT_EVENTS: tuple[WebhookEvent, ...] = tuple(
    e for e in WebhookEvent if e is not WebhookEvent.SYNC_COMPLETED
)
SIGNING_KEY = "signingKey"  # keys of the webhook Secret
BEARER_TOKEN = "token"


class WebhookSecretRef(SpecModel):
    name: ObjectName = Field(
        description=f"Secret with `{SIGNING_KEY}` (HMAC-SHA256 key of the "
        f"`X-Drsyncer-Signature` header) and optionally `{BEARER_TOKEN}` (sent as "
        "`Authorization: Bearer`)."
    )
    namespace: ObjectName | None = Field(
        default=None,
        description="Its namespace (default: the "
        "Replication's; for the installation-wide list, the watch namespace).",
    )


class Webhook(SpecModel):
    url: NonEmpty = Field(description="http or https URL the events are POSTed to.")
    events: list[WebhookEvent] = Field(
        default_factory=lambda: list(DEFAULT_EVENTS),
        description="Events to send: SyncFailed, SyncRecovered, SyncCompleted, DestinationUnreachable, "
        "FailoverStarted, FailoverEnded (default: all but SyncCompleted).",
    )
    secret_ref: WebhookSecretRef | None = Field(
        default=None,
        description="Secret holding the signing key and bearer token; without it the "
        "requests are neither signed nor authenticated.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"must be an http:// or https:// URL with a host, not {url!r}")
        return url
