"""The write journal: which objects a block of code wrote, and the resourceVersion each write left.

A resync that trusts the change feed (drsyncer.sync.watermark) must tell its own writes from anyone
else's: the feed records every change to a destination namespace, the journal records the ones this
run made. `recording()` collects, in a context variable, every successful non-dry-run write that
`ClusterClient` sends inside the block (threads started with `contextvars.copy_context`, as the sync
executor's are, record into the same journal). Bodies are never kept, only names and versions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType

# what a deletion leaves in the journal and in the change feed: the object is gone, whatever version
DELETED = "-"


# names kept per namespace; past this a namespace's writes are only known to be many (a large
# namespace's first copy), and no watermark is made of them: a worker's memory stays flat
MAX_NAMES = 10_000


@dataclass
class Journal:
    """Writes per (cluster, group resource, namespace): name → resourceVersion after the write
    (`DELETED` for a deletion), up to `MAX_NAMES` names per namespace. Thread-safe."""

    writes: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    overflowed: set[tuple[str, str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note(self, cluster: str, resource: str, namespace: str, name: str, version: str) -> None:
        key = (cluster, resource, namespace)
        with self._lock:
            if key in self.overflowed:
                return
            names = self.writes.setdefault(key, {})
            names[name] = version
            if len(names) > MAX_NAMES:
                self.overflowed.add(key)
                del self.writes[key]

    def of(self, cluster: str, resource: str, namespace: str) -> Mapping[str, str] | None:
        """The writes in one namespace (a read-only view: never copied); None when there were more
        than `MAX_NAMES`."""
        key = (cluster, resource, namespace)
        with self._lock:
            if key in self.overflowed:
                return None
            return MappingProxyType(self.writes.get(key, {}))


_journal: ContextVar[Journal | None] = ContextVar("drsyncer_write_journal", default=None)


@contextmanager
def recording() -> Iterator[Journal]:
    """Writes sent inside the block are noted in the journal it yields."""
    journal = Journal()
    token = _journal.set(journal)
    try:
        yield journal
    finally:
        _journal.reset(token)


def note(cluster: str, resource: str, namespace: str | None, name: str | None, version: str) -> None:
    """Note one write (no-op outside `recording`); `cluster` is `ClusterClient.identity`."""
    journal = _journal.get()
    if journal is not None and name:
        journal.note(cluster, resource, namespace or "", name, version)
