"""Clients for RemoteClusters, built from the kubeconfig Secret each one names, and cached.

A lookup re-reads the Secret (at most every `recheck_s`; in workers in the background, so a task
never waits for it) and rebuilds the client when the kubeconfig content or the RemoteCluster's access
settings changed, so rotated credentials are used without a restart. Errors name the RemoteCluster,
the Secret and the key; never the kubeconfig's content.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drsyncer.api.keys import (
    CONDITION_INVALID_SPEC,
    CONDITION_KUBECONFIG_AVAILABLE,
    KIND_REMOTE_CLUSTER,
)
from drsyncer.api.parse import InvalidSpec, parse_remote_cluster
from drsyncer.errors import Category
from drsyncer.kube.client import ClusterClient
from drsyncer.kube.counters import RequestCounters
from drsyncer.kube.discovery import ResourceRef
from drsyncer.kube.discovery_cache import RedisDiscovery
from drsyncer.kube.errors import ApiError, Forbidden, KubeconfigError
from drsyncer.kube.exec_credentials import ExecPolicy
from drsyncer.kube.kubeconfig import DEFAULT_MAX_CONNECTIONS, client_from_access, parse_kubeconfig
from drsyncer.kube.ratelimit import RateBudget, rate_limiter_for, redis_for
from drsyncer.kube.retry import RetryPolicy
from drsyncer.kube.secret_reads import SharedSecretReads

log = logging.getLogger(__name__)

SECRETS = ResourceRef("", "v1", "Secret", "secrets", True, "secret")
DEFAULT_SECRET_KEY = "kubeconfig"


@dataclass(frozen=True)
class RemoteClusterAccess:
    """The parts of a RemoteCluster that say how to reach it."""

    name: str
    namespace: str
    secret_name: str
    secret_namespace: str
    secret_key: str = DEFAULT_SECRET_KEY
    insecure_skip_tls_verify: bool = False
    rate: RateBudget = field(default_factory=RateBudget)
    context: str | None = None  # the kubeconfig's current-context unless set

    @property
    def key(self) -> str:
        """`namespace/name` of the RemoteCluster: the cache key and the shared rate-limit key."""
        return f"{self.namespace}/{self.name}"

    @property
    def secret_label(self) -> str:
        return f"kubeconfig Secret {self.secret_namespace}/{self.secret_name} key {self.secret_key!r}"

    @classmethod
    def from_resource(cls, obj: Mapping[str, Any] | Any) -> RemoteClusterAccess:
        """From a RemoteCluster as a dict (or a pydantic model, dumped by alias)."""
        if not isinstance(obj, Mapping) and hasattr(obj, "model_dump"):
            obj = obj.model_dump(by_alias=True, mode="json")
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        name, namespace = str(metadata.get("name", "")), str(metadata.get("namespace") or "default")
        ref = spec.get("kubeconfigSecretRef") or {} if isinstance(spec, Mapping) else None
        limits = spec.get("rateLimit") or {} if isinstance(spec, Mapping) else None
        if not isinstance(ref, Mapping) or not isinstance(limits, Mapping):
            # the field errors as the watcher reports them (InvalidSpec); nothing to check with
            raise KubeconfigError(
                Category.NON_RETRYABLE,
                f"{KIND_REMOTE_CLUSTER} {namespace}/{name}: invalid spec: {_spec_errors(obj)}",
                condition=CONDITION_INVALID_SPEC,
            )
        if not ref.get("name"):
            raise KubeconfigError(
                Category.NON_RETRYABLE,
                f"{KIND_REMOTE_CLUSTER} {namespace}/{name}: spec.kubeconfigSecretRef.name is missing",
                condition=CONDITION_KUBECONFIG_AVAILABLE,
            )
        try:
            rate = RateBudget(float(limits.get("qps", 50)), int(limits.get("burst", 100)))
        except (TypeError, ValueError):
            # the field errors as the watcher reports them (InvalidSpec), every one of them
            raise KubeconfigError(
                Category.NON_RETRYABLE,
                f"{KIND_REMOTE_CLUSTER} {namespace}/{name}: invalid spec: {_spec_errors(obj, 'spec.rateLimit')}",
                condition=CONDITION_INVALID_SPEC,
            ) from None
        return cls(
            name=name,
            namespace=namespace,
            secret_name=str(ref["name"]),
            secret_namespace=str(ref.get("namespace") or namespace),
            secret_key=str(ref.get("key") or DEFAULT_SECRET_KEY),
            insecure_skip_tls_verify=bool(spec.get("insecureSkipTLSVerify", False)),
            rate=rate,
        )


def _spec_errors(obj: Mapping[str, Any], field: str = "spec") -> str:
    """`spec.rateLimit.qps: ...; spec.rateLimit.burst: ...`: the RemoteCluster's errors under `field`,
    as the watcher words them."""
    try:
        parse_remote_cluster(obj)
    except InvalidSpec as exc:
        found = [e for e in exc.errors if e.startswith(field)]
        if found:
            return "; ".join(found)
    return f"{field} is not valid"


@dataclass(frozen=True)
class KubeconfigRead:
    """A kubeconfig as read from its Secret: the bytes under the key, and the Secret's
    `metadata.resourceVersion` ("" when the server gave none)."""

    content: bytes
    resource_version: str


def read_kubeconfig_secret(controller: ClusterClient, access: RemoteClusterAccess) -> KubeconfigRead:
    """The kubeconfig from the Secret a RemoteCluster names, read with the controller's client."""
    owner = f"{KIND_REMOTE_CLUSTER} {access.key}"
    secret_ref = f"Secret {access.secret_namespace}/{access.secret_name}"
    try:
        secret = controller.get(SECRETS, access.secret_namespace, access.secret_name)
    except Forbidden as exc:
        raise KubeconfigError(
            Category.NON_RETRYABLE,
            f"{owner}: not allowed to read kubeconfig {secret_ref} ({exc.api_message})",
            condition="KubeconfigAvailable",
        ) from None
    except ApiError as exc:
        raise KubeconfigError(
            exc.category,
            f"{owner}: reading kubeconfig {secret_ref} failed: {exc.message}",
            condition=CONDITION_KUBECONFIG_AVAILABLE,
        ) from None
    if secret is None:
        raise KubeconfigError(
            Category.WAIT_FOR_NEXT_SYNC,
            f"{owner}: kubeconfig {secret_ref} not found (spec.kubeconfigSecretRef)",
            condition=CONDITION_KUBECONFIG_AVAILABLE,
        )
    data = secret.get("data") or {}
    if access.secret_key not in data:
        keys = ", ".join(sorted(str(k) for k in data)) or "none"
        raise KubeconfigError(
            Category.WAIT_FOR_NEXT_SYNC,
            f"{owner}: kubeconfig {secret_ref} has no key {access.secret_key!r} "
            f"(keys: {keys}; spec.kubeconfigSecretRef.key)",
            condition=CONDITION_KUBECONFIG_AVAILABLE,
        )
    try:
        content = base64.b64decode(str(data[access.secret_key]), validate=True)
    except (binascii.Error, ValueError):
        raise KubeconfigError(
            Category.NON_RETRYABLE, f"{owner}: {access.secret_label} is not valid base64"
        ) from None
    return KubeconfigRead(content, str((secret.get("metadata") or {}).get("resourceVersion") or ""))


@dataclass
class _Entry:
    client: ClusterClient
    fingerprint: tuple[Any, ...]
    checked_at: float
    resource_version: str  # of the Secret the client was built from, or last found unchanged
    rereading: int = 0  # the process id re-reading its Secret in the background, 0: none


class ClusterClients:
    """`ClusterClient`s per RemoteCluster, kept while their kubeconfig Secret is unchanged.

    `redis_url` set: each cluster's `spec.rateLimit` is shared by every process using that Redis, and
    so is its discovery and the controller's (drsyncer.kube.discovery_cache: one process per 300 s
    reads it), and so are the Secrets' re-reads (drsyncer.kube.secret_reads: one process per
    `recheck_s` reads an unchanged Secret; `secret_reads` replaces that sharing, e.g. with a clock).
    `exec_policy`: the credential plugins a kubeconfig Secret's exec user may run (None: none).
    `background_rechecks`: a lookup that finds the Secret due for its re-read (`recheck_s`) gets the
    client it has, and one thread re-reads the Secret (a worker's task never waits for it); a lookup
    asking for `current` still waits. Without it, every due lookup waits.
    """

    def __init__(
        self,
        controller: ClusterClient,
        *,
        redis_url: str | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        retry: RetryPolicy | None = None,
        counters: RequestCounters | None = None,
        recheck_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        exec_policy: ExecPolicy | None = None,
        background_rechecks: bool = False,
        secret_reads: SharedSecretReads | None = None,
    ) -> None:
        self.controller = controller
        self.background_rechecks = background_rechecks
        self.exec_policy = exec_policy
        self.counters = counters or RequestCounters()
        self._redis_url = redis_url
        self._max_connections = max_connections
        self._retry = retry
        self._recheck_s = recheck_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        if redis_url and controller.shared_discovery is None:
            controller.shared_discovery = RedisDiscovery(redis_for(redis_url), controller.identity)
        if secret_reads is None and redis_url and recheck_s > 0:
            secret_reads = SharedSecretReads(redis_for(redis_url), controller.identity, recheck_s)
        self._secret_reads = secret_reads

    def get(
        self, remote: RemoteClusterAccess | Mapping[str, Any] | Any, *, current: bool = False
    ) -> ClusterClient:
        """The client for a RemoteCluster (a `RemoteClusterAccess`, a RemoteCluster dict or model).
        `current`: from the Secret as it is now (re-read first when due), as a health check needs.
        Raises `KubeconfigError` (naming the RemoteCluster, the Secret and the key)."""
        access = (
            remote if isinstance(remote, RemoteClusterAccess) else RemoteClusterAccess.from_resource(remote)
        )
        now = self._clock()
        with self._lock:
            entry = self._entries.get(access.key)
            settings = (
                access.secret_namespace,
                access.secret_name,
                access.secret_key,
                access.insecure_skip_tls_verify,
                access.rate,
                access.context,
            )
            if entry and entry.fingerprint[:-1] == settings:
                if now - entry.checked_at < self._recheck_s:
                    return entry.client
                if self.background_rechecks and not current:
                    if entry.rereading != os.getpid():  # (a forked child's flag is its parent's)
                        entry.rereading = os.getpid()
                        threading.Thread(
                            target=self._reread, args=(access, entry), name="kubeconfig-reread", daemon=True
                        ).start()
                    return entry.client
                if not current and self._read_elsewhere(access, entry, now):
                    return entry.client
            try:
                read = self._read(access)
            except KubeconfigError as exc:
                if entry is None or exc.category is not Category.RETRYABLE:
                    raise
                # the controller cluster is briefly unreachable: the last good client still works
                log.warning("%s %s: keeping the current client: %s", KIND_REMOTE_CLUSTER, access.key, exc)
                return entry.client
            return self._take(access, entry, settings, read, now)

    def _read(self, access: RemoteClusterAccess) -> KubeconfigRead:
        """Read the Secret, and tell the processes sharing the reads that it was read."""
        read = read_kubeconfig_secret(self.controller, access)
        if self._secret_reads is not None:
            self._secret_reads.record(access.secret_namespace, access.secret_name, read.resource_version)
        return read

    def _read_elsewhere(self, access: RemoteClusterAccess, entry: _Entry, now: float) -> bool:
        """Whether another process read `entry`'s Secret less than `recheck_s` ago and found the
        version `entry` was built from; if so `entry` is current from that read's time (so as
        current as it, never more)."""
        if self._secret_reads is None or not entry.resource_version:
            return False
        seen = self._secret_reads.seen(access.secret_namespace, access.secret_name)
        if seen is None or seen[0] != entry.resource_version:
            return False
        entry.checked_at = now - seen[1]
        return True

    def _take(
        self,
        access: RemoteClusterAccess,
        entry: _Entry | None,
        settings: tuple[Any, ...],
        read: KubeconfigRead,
        now: float,
    ) -> ClusterClient:
        """The client for the kubeconfig `read` just now: `entry`'s own while the content and the
        access settings are unchanged (current again from `now`), else a new one in its place. Called
        holding the lock; raises `KubeconfigError` when the content cannot make a client."""
        fingerprint = (*settings, hashlib.sha256(read.content).hexdigest())
        if entry and entry.fingerprint == fingerprint:
            entry.checked_at = now
            entry.resource_version = read.resource_version
            return entry.client
        client = self._build(access, read.content)
        if entry:
            # the old client may be mid-request in another thread; it is closed when dropped
            log.info("kubeconfig for %s %s changed; using a new client", KIND_REMOTE_CLUSTER, access.key)
        self._entries[access.key] = _Entry(client, fingerprint, now, read.resource_version)
        return client

    def _reread(self, access: RemoteClusterAccess, entry: _Entry) -> None:
        """Re-read the Secret behind `entry` off the caller's path: unchanged, the entry is current
        again; changed, a new client replaces it; gone or unusable, the entry goes, so the next lookup
        reads the Secret itself and raises why; unreachable, it stays due (the next lookup tries).
        Another process's read of the same version, when there is one, does instead; while another
        process is reading it, the entry stays due and the next lookup takes that read."""
        shared = self._secret_reads
        try:
            if self._read_elsewhere(access, entry, self._clock()) or (
                shared is not None and not shared.claim(access.secret_namespace, access.secret_name)
            ):
                with self._lock:
                    entry.rereading = 0
                return
            read = self._read(access)
        except KubeconfigError as exc:
            if shared is not None:
                shared.release(access.secret_namespace, access.secret_name)
            with self._lock:
                entry.rereading = 0
                if exc.category is not Category.RETRYABLE and self._entries.get(access.key) is entry:
                    del self._entries[access.key]
            if exc.category is Category.RETRYABLE:
                log.warning("%s %s: keeping the current client: %s", KIND_REMOTE_CLUSTER, access.key, exc)
            return
        except Exception:  # never lose the flag: the next due lookup tries again
            if shared is not None:
                shared.release(access.secret_namespace, access.secret_name)
            with self._lock:
                entry.rereading = 0
            log.exception("%s %s: re-reading the kubeconfig Secret failed", KIND_REMOTE_CLUSTER, access.key)
            return
        with self._lock:
            entry.rereading = 0
            if self._entries.get(access.key) is not entry:
                return  # replaced meanwhile by a lookup of its own
            try:
                self._take(access, entry, entry.fingerprint[:-1], read, self._clock())
            except KubeconfigError:
                del self._entries[access.key]  # the next lookup builds it and raises why

    def _build(self, access: RemoteClusterAccess, content: bytes) -> ClusterClient:
        origin = access.secret_label
        label = f"{KIND_REMOTE_CLUSTER} {access.key}: {origin}"
        parsed = parse_kubeconfig(content, context=access.context, origin=label)
        limiter = rate_limiter_for(access.key, access.rate, self._redis_url)
        client = client_from_access(
            parsed,
            name=access.name,
            origin=origin,
            insecure_skip_tls_verify=access.insecure_skip_tls_verify,
            limiter=limiter,
            retry=self._retry,
            counters=self.counters,
            max_connections=self._max_connections,
            exec_policy=self.exec_policy,
            label=label,
        )
        if self._redis_url:
            client.shared_discovery = RedisDiscovery(redis_for(self._redis_url), client.identity)
        return client

    def invalidate(self, key: str) -> None:
        """Forget the client of RemoteCluster `namespace/name` (deleted, or known to be stale)."""
        with self._lock:
            self._entries.pop(key, None)

    def close(self) -> None:
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            entry.client.close()
