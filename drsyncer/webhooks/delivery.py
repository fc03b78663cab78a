"""Sending one event to one endpoint: CloudEvents 1.0 structured-mode JSON (the `cloudevents`
SDK builds the request) over HTTP POST with `requests`, signed and authenticated from the endpoint's
Secret. One attempt per call; the caller (a Celery task) retries.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests

from drsyncer.api.webhooks import BEARER_TOKEN, SIGNING_KEY
from drsyncer.errors import CategorisedError, DrsyncerError
from drsyncer.kube import ClusterClient
from drsyncer.kube.discovery import offline_ref
from drsyncer.webhooks import signing

TIMEOUT_S = (3.0, 5.0)  # connect, read: an endpoint that hangs must not hold a worker process long
USER_AGENT = "drsyncer-webhooks"


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # worth trying again: no answer, 408, 425, 429 or 5xx
    FAILED = "failed"  # the endpoint refused it (another 4xx): trying again would not help


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    status: int | None  # HTTP status, None when no answer came
    message: str


@dataclass(frozen=True)
class Credentials:
    signing_key: bytes | None = None
    token: str | None = None

    def __repr__(self) -> str:  # never show the key or token in a log line or a traceback
        key, token = "set" if self.signing_key else None, "set" if self.token else None
        return f"Credentials(signing_key={key}, token={token})"


def shown(url: str) -> str:
    """The URL as logs and messages show it: scheme and host only, since chat services put their
    credentials in the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}/..."


def outcome_of(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status in (408, 425, 429) or status >= 500:
        return Outcome.RETRY
    return Outcome.FAILED


def read_credentials(controller: ClusterClient, secret_ref: Mapping[str, Any] | None) -> Credentials:
    """The signing key and bearer token from the endpoint's Secret; DrsyncerError naming the Secret
    and key when it cannot be used."""
    if not secret_ref:
        return Credentials()
    namespace, name = str(secret_ref.get("namespace") or ""), str(secret_ref.get("name") or "")
    ref = offline_ref("secrets")
    assert ref is not None
    try:
        secret = controller.get(ref, namespace, name)
    except CategorisedError as exc:
        raise DrsyncerError(f"reading webhook Secret {namespace}/{name} failed: {exc.message}") from None
    if secret is None:
        raise DrsyncerError(f"webhook Secret {namespace}/{name} not found")
    data = secret.get("data") or {}
    if SIGNING_KEY not in data:
        raise DrsyncerError(f"webhook Secret {namespace}/{name} has no key {SIGNING_KEY!r}")
    token = base64.b64decode(data[BEARER_TOKEN]).decode().strip() if data.get(BEARER_TOKEN) else None
    return Credentials(base64.b64decode(data[SIGNING_KEY]), token)


def request_for(
    event: Mapping[str, Any], credentials: Credentials, *, now: float
) -> tuple[dict[str, str], bytes]:
    """Headers and body of the POST: the structured-mode CloudEvent, its signature and bearer token."""
    try:  # imported here: only a process that sends webhooks needs the SDK
        from cloudevents.core.bindings.http import to_structured_event
        from cloudevents.core.v1.event import CloudEvent
    except ImportError:
        raise DrsyncerError("the cloudevents package is not installed (pip install cloudevents)") from None

    attributes = {k: event[k] for k in ("id", "type", "source", "subject") if event.get(k)}
    attributes["time"] = datetime.fromisoformat(str(event["time"]))
    attributes["datacontenttype"] = "application/json"
    message = to_structured_event(CloudEvent(attributes, dict(event.get("data") or {})))
    headers = {**message.headers, "User-Agent": USER_AGENT}
    if credentials.signing_key:
        headers[signing.HEADER] = signing.sign(credentials.signing_key, message.body, int(now))
    if credentials.token:
        headers["Authorization"] = f"Bearer {credentials.token}"
    return headers, message.body


def deliver(
    url: str, event: Mapping[str, Any], credentials: Credentials, *, session: requests.Session | None = None
) -> Attempt:
    """POST the event once; the outcome says whether to try again."""
    try:
        headers, body = request_for(event, credentials, now=time.time())
    except DrsyncerError as exc:
        return Attempt(Outcome.FAILED, None, str(exc))
    post = (session or requests).post
    try:
        response = post(url, data=body, headers=headers, timeout=TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as exc:
        return Attempt(Outcome.RETRY, None, f"POST {shown(url)}: {type(exc).__name__}")
    outcome = outcome_of(response.status_code)
    return Attempt(outcome, response.status_code, f"POST {shown(url)}: {response.status_code}")
