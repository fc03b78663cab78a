"""Watch fan-out: store events go to every open watch of that resource, on the server's event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from drsyncer.sim.store import Event, Key, Obj

Predicate = Callable[[Mapping[str, Any]], bool]


class WatchHub:
    """Keeps the open watches of one cluster; the store calls `publish` for every change."""

    def __init__(self, loop: asyncio.AbstractEventLoop, loop_thread: threading.Thread) -> None:
        self._loop = loop
        self._loop_thread = loop_thread
        self._subscribers: dict[Key, set[asyncio.Queue[Event]]] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        # the connections of open watch streams, for `cut`; and until when new ones are cut at once
        self.transports: set[asyncio.Transport] = set()
        self.cut_until = 0.0

    def subscribe(self, key: Key) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.setdefault(key, set()).add(queue)
        return queue

    def unsubscribe(self, key: Key, queue: asyncio.Queue[Event]) -> None:
        self._subscribers.get(key, set()).discard(queue)

    def publish(self, event: Event) -> None:
        queues = self._subscribers.get(event.key)
        if not queues:
            return
        if threading.current_thread() is self._loop_thread:
            for queue in queues:
                queue.put_nowait(event)
        else:
            # A write from Python (seeding a test) reaches the watches through the loop's own thread.
            for queue in list(queues):
                self._loop.call_soon_threadsafe(queue.put_nowait, event)

    def cut(self, refuse_s: float = 0.0) -> int:
        """Drop every open watch connection mid-stream (no closing chunk, as a proxy or a network cut
        does), and for `refuse_s` seconds cut each new watch as soon as it starts; returns how many
        were dropped. Call on the loop's thread."""
        self.cut_until = time.monotonic() + refuse_s
        dropped = list(self.transports)
        for transport in dropped:
            transport.abort()
        return len(dropped)

    def cutting(self) -> bool:
        return time.monotonic() < self.cut_until

    def cancel_all(self) -> None:
        for task in list(self.tasks):
            task.cancel()


def visible(event: Event, namespace: str | None, predicate: Predicate | None) -> tuple[str, Obj] | None:
    """The event as a watch with this namespace and selector sees it, or None when it sees nothing.

    An object that starts or stops matching a selector shows up as ADDED or DELETED, as on a real server.
    """
    if namespace is not None and event.obj["metadata"].get("namespace") != namespace:
        return None
    if predicate is None:
        return event.type, event.obj
    now_matches = predicate(event.obj)
    if event.type != "MODIFIED":
        return (
            (event.type, event.obj)
            if now_matches or (event.old is not None and predicate(event.old))
            else None
        )
    was_matching = event.old is not None and predicate(event.old)
    if now_matches and was_matching:
        return "MODIFIED", event.obj
    if now_matches:
        return "ADDED", event.obj
    if was_matching:
        return "DELETED", event.obj
    return None


def bookmark(kind: str, api_version: str, rv: int, initial_events_end: bool = False) -> Obj:
    metadata: dict[str, Any] = {"resourceVersion": str(rv), "creationTimestamp": None}
    if initial_events_end:
        metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": kind, "apiVersion": api_version, "metadata": metadata}
