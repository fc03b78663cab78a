"""Simulated clusters as Python objects: start, stop, go down, come back, inject faults, read counters."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from drsyncer.sim import tls as tls_certs
from drsyncer.sim.discovery import KUBE_VERSION
from drsyncer.sim.faults import Counters, Faults
from drsyncer.sim.loop import run_on_loop, shared_loop
from drsyncer.sim.server import MAX_BODY_BYTES, ApiServer
from drsyncer.sim.store import CRD_ESTABLISHED_DELAY_S, Store
from drsyncer.sim.watch import WatchHub

_BACKLOG = 4096


class SimCluster:
    """One simulated Kubernetes API server on a loopback port (HTTP, or HTTPS with a generated CA).

    `token=True` generates a bearer token; a string uses that token; None serves without authentication.
    `namespace_defaults=True` gives every new namespace the `default` ServiceAccount and the
    `kube-root-ca.crt` ConfigMap, as kube-controller-manager does on a real cluster.
    `crd_established_delay_s`: how long after a CRD create it becomes Established and served
    (0: within the create). `kube_version`: the gitVersion answered on /version (by default the
    pinned reference control plane's); what updates may not change follows it.
    """

    def __init__(
        self,
        name: str,
        tls: bool = False,
        token: str | bool | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        bookmark_interval_s: float = 60.0,
        namespace_defaults: bool = False,
        crd_established_delay_s: float = CRD_ESTABLISHED_DELAY_S,
        kube_version: str = KUBE_VERSION,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.tls = tls
        self.token: str | None = secrets.token_urlsafe(24) if token is True else (token or None)
        self.store = Store(
            namespace_defaults=namespace_defaults,
            crd_established_delay_s=crd_established_delay_s,
            kube_version=kube_version,
        )
        self.faults = Faults()
        self._counters = Counters()
        self._loop, thread = shared_loop()
        self.hub = WatchHub(self._loop, thread)
        self.store.add_listener(self.hub.publish)
        self._cert = tls_certs.server_certificate(host, name) if tls else None
        self._ssl = tls_certs.server_context(self._cert) if self._cert else None
        self.api = ApiServer(
            name,
            self.store,
            self.hub,
            self.faults,
            self._counters,
            self.token,
            lambda: f"{self.host}:{self.port}",
            bookmark_interval_s,
        )
        self.api.admin_down = self._down_for
        self._web: web.Server | None = None
        self._server: asyncio.Server | None = None
        self._closing: asyncio.Future[None] | None = None  # set while `_close` drops connections

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> SimCluster:
        run_on_loop(self._listen())
        return self

    def stop(self) -> None:
        if self._server is not None:
            run_on_loop(self._close())

    def down(self) -> None:
        """Stop listening and drop every open connection: clients get connection refused."""
        run_on_loop(self._close())

    def up(self) -> None:
        """Listen again, on the same port."""
        if self._server is None:
            run_on_loop(self._listen())

    def cut_watches(self, refuse_s: float = 0.0) -> int:
        """Drop every open watch connection mid-stream and cut new watches for `refuse_s` seconds,
        while every other request is served as usual; returns how many were dropped."""

        async def cut() -> int:
            return self.hub.cut(refuse_s)

        return int(run_on_loop(cut()))

    @property
    def is_up(self) -> bool:
        return self._server is not None

    def __enter__(self) -> SimCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def _listen(self) -> None:
        if self._closing is not None:  # the port is free once the close is done
            await asyncio.shield(self._closing)
        if self._server is not None:
            return
        loop = self._loop

        def request_factory(
            message: Any, payload: Any, protocol: Any, writer: Any, task: Any
        ) -> web.BaseRequest:
            return web.BaseRequest(
                message, payload, protocol, writer, task, loop, client_max_size=MAX_BODY_BYTES
            )

        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            # asyncio accepts a burst of connections and sets each up a loop turn or two later, so
            # one accepted as `_close` ran misses its abort: it is dropped at its first request, as
            # a real server that went down would have dropped it
            if self._web is not served:
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=503)
            return await self.api.handle(request)

        served = self._web = web.Server(handle, request_factory=request_factory, access_log=None)
        self._server = await self._loop.create_server(
            self._web, self.host, self.port, ssl=self._ssl, reuse_address=True, backlog=_BACKLOG
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._closing is not None:  # a close under way (the admin endpoint's): down once it is
            await asyncio.shield(self._closing)
            return
        server, web_server = self._server, self._web
        self._server = self._web = None
        if server is None or web_server is None:
            return
        self._closing = self._loop.create_future()
        try:
            await self._drop(server, web_server)
        finally:
            self._closing.set_result(None)
            self._closing = None

    async def _drop(self, server: asyncio.Server, web_server: web.Server) -> None:
        # Stop accepting first and let the connections asyncio accepted already be set up (it
        # accepts a burst at once and attaches each one a loop turn later): closing the server
        # before that strands them half-made, open to the client but never answered or closed.
        for sock in server.sockets:
            self._loop.remove_reader(sock.fileno())
        for _ in range(3):
            await asyncio.sleep(0)
        server.close()
        self.hub.cancel_all()
        for handler in web_server.connections:
            transport = handler.transport
            if transport is not None:
                transport.abort()
        await asyncio.sleep(0)

    def _down_for(self, seconds: float) -> None:
        """Go down after the admin response is sent, and come back after `seconds`."""

        async def cycle() -> None:
            await asyncio.sleep(0.05)
            await self._close()
            await asyncio.sleep(seconds)
            await self._listen()

        self._loop.create_task(cycle())

    # -- addresses and credentials ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def ca_pem(self) -> bytes | None:
        return self._cert.ca_pem if self._cert else None

    def kubeconfig_dict(self) -> dict[str, Any]:
        """A kubeconfig with one context named after the cluster (also the current context)."""
        cluster: dict[str, Any] = {"server": self.url}
        if self._cert is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self._cert.ca_pem).decode()
        user: dict[str, Any] = {"token": self.token} if self.token else {}
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": self.name, "cluster": cluster}],
            "users": [{"name": self.name, "user": user}],
            "contexts": [{"name": self.name, "context": {"cluster": self.name, "user": self.name}}],
            "current-context": self.name,
        }

    def api_client(self) -> Any:
        """A `kubernetes.client.ApiClient` configured for this cluster."""
        from kubernetes import config

        return config.new_client_from_config_dict(self.kubeconfig_dict())

    # -- counters ---------------------------------------------------------------------------------

    def counters(self) -> dict[str, dict[str, int]]:
        """Requests received: {verb: {resource: count}}; subresources appear as e.g. "deployments/status"."""
        return self._counters.snapshot()

    def writes(self) -> int:
        """Create, update, patch, delete and deletecollection requests received, dry runs included."""
        return self._counters.writes()

    def discovery_requests(self) -> int:
        """Discovery requests received: `/api`, `/apis` and each group version's resource list."""
        return self._counters.discovery

    def bytes_sent(self) -> int:
        """Body bytes of the answers sent since the counters were last reset (watch streams excepted)."""
        return self._counters.bytes_sent

    def reset_counters(self) -> None:
        self._counters.reset()

    def __repr__(self) -> str:
        return f"SimCluster({self.name!r}, url={self.url!r}, up={self.is_up})"


def merge_kubeconfigs(configs: Iterable[dict[str, Any]], current: str | None = None) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [],
        "users": [],
        "contexts": [],
    }
    for config in configs:
        for section in ("clusters", "users", "contexts"):
            merged[section].extend(config[section])
        merged.setdefault("current-context", config["current-context"])
    if current is not None:
        merged["current-context"] = current
    return merged


class SimFleet:
    """Several simulated clusters served from this process, each on its own port."""

    def __init__(
        self,
        names: Iterable[str],
        tls: bool = False,
        token: str | bool | None = None,
        host: str = "127.0.0.1",
        base_port: int = 0,
        bookmark_interval_s: float = 60.0,
        namespace_defaults: bool = False,
        crd_established_delay_s: float = CRD_ESTABLISHED_DELAY_S,
        kube_version: str = KUBE_VERSION,
    ) -> None:
        names = list(names)
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"cluster names must be distinct and at least one: {names}")
        self.clusters: dict[str, SimCluster] = {
            name: SimCluster(
                name,
                tls=tls,
                token=token,
                host=host,
                port=base_port + i if base_port else 0,
                bookmark_interval_s=bookmark_interval_s,
                namespace_defaults=namespace_defaults,
                crd_established_delay_s=crd_established_delay_s,
                kube_version=kube_version,
            )
            for i, name in enumerate(names)
        }

    def start(self) -> SimFleet:
        started = []
        try:
            for cluster in self.clusters.values():
                cluster.start()
                started.append(cluster)
        except BaseException:
            for cluster in started:
                cluster.stop()
            raise
        return self

    def stop(self) -> None:
        for cluster in self.clusters.values():
            cluster.stop()

    def __enter__(self) -> SimFleet:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __getitem__(self, name: str) -> SimCluster:
        return self.clusters[name]

    def __iter__(self) -> Iterator[SimCluster]:
        return iter(self.clusters.values())

    def __len__(self) -> int:
        return len(self.clusters)

    def names(self) -> list[str]:
        return list(self.clusters)

    def kubeconfig_dict(self) -> dict[str, Any]:
        return merge_kubeconfigs(c.kubeconfig_dict() for c in self.clusters.values())

    def write_kubeconfig(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(self.kubeconfig_dict(), sort_keys=False))
        target.chmod(0o600)
        return target
