"""What a task reads of the controller cluster, kept cheap: a task of an unchanged namespace does
little else (docs/sync-semantics.md, "Scheduled resyncs"), so these reads decide how long a
scheduled resync of many namespaces takes.

- The Replication (or NamespaceMapping) is read as metadata only (`PartialObjectMetadata`: a few
  hundred bytes, where the whole object carries a status entry per namespace and destination). Its
  spec is parsed once per (uid, generation) and kept by the process: kube-apiserver increments
  `metadata.generation` on every change of a custom resource's spec when the CRD has a status
  subresource, as drsyncer's CRDs have (apiextensions-apiserver pkg/registry/customresource
  strategy.go PrepareForUpdate, 1.34), so the spec kept under the generation the metadata shows is
  the object's spec, `paused` included. Any other generation reads the whole object once.
- RemoteClusters come from an informer per namespace (list, then watch: drsyncer.kube.informer),
  so a task reads none of them; a change reaches the copy as its watch event arrives. While the
  informer has not listed yet or its watch failed, and for a name it does not hold, the object is
  read with a GET, as before. Each one is parsed once per resourceVersion.

- The sync rules made of a Replication's model and its source RemoteCluster's are kept while both
  models are (`KeptRules`): rules are frozen and carry the digests computed from them, so a task of
  an unchanged Replication makes neither again.

The kubeconfig Secrets behind the RemoteClusters are `ClusterClients`' business (re-read every 5 s).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from drsyncer.api import keys
from drsyncer.api.namespacemapping import parse_namespace_mapping
from drsyncer.api.parse import InvalidSpec, parse_remote_cluster, parse_replication
from drsyncer.api.remotecluster import RemoteCluster
from drsyncer.api.replication import Replication
from drsyncer.errors import CategorisedError, Category
from drsyncer.kube import ClusterClient
from drsyncer.kube.informer import Informer
from drsyncer.sync.rules import Rules
from drsyncer.task_contract import ReplicationRef
from workers.guards import Drop, drop_reason

log = logging.getLogger(__name__)

REMOTE_CLUSTERS = f"remoteclusters.{keys.GROUP}"
SPECS_KEPT = 256  # parsed specs a process keeps, least recently used dropped first (10 to 30 KB each)
PARTIAL = "PartialObjectMetadata"

# what a Replication's spec says for its tasks: the model to sync with, or why none runs
Spec = Replication | Drop


def parse_object(obj: Mapping[str, Any]) -> Replication:
    """A Replication or NamespaceMapping dict → model; raises `InvalidSpec`."""
    if obj.get("kind") == keys.KIND_NAMESPACE_MAPPING:
        return parse_namespace_mapping(obj)
    return parse_replication(obj)


def spec_of(live: Mapping[str, Any]) -> Spec:
    """What the whole object's spec makes of a task: its model, `Drop.PAUSED` or `Drop.INVALID`. The
    status (the workers' own report, one entry per namespace and destination) is not parsed."""
    spec = live.get("spec") or {}
    if spec.get("paused") is True or str(spec.get("paused")).lower() == "true":
        return Drop.PAUSED
    try:
        return parse_object({k: v for k, v in live.items() if k != "status"})
    except InvalidSpec:
        return Drop.INVALID


def spec_key(live: Mapping[str, Any]) -> tuple[str, int] | None:
    """(uid, generation) that names an object's spec; None when the object shows no generation (then
    nothing is kept: only a generation says the spec did not change)."""
    meta = live.get("metadata") or {}
    generation = int(meta.get("generation") or 0)
    uid = str(meta.get("uid") or "")
    return (uid, generation) if uid and generation > 0 else None


class Replications:
    """Checks a task's Replication against the live object; parsed specs kept by (uid, generation)."""

    def __init__(self, controller: ClusterClient, kept: int = SPECS_KEPT) -> None:
        self.controller = controller
        self.kept = kept
        self._specs: OrderedDict[tuple[str, int], Spec] = OrderedDict()
        self._lock = threading.Lock()
        self.full_reads = 0  # whole objects read (a spec not kept yet)

    def check(self, ref: ReplicationRef) -> tuple[Replication | None, Drop | None]:
        """The model to run `ref`'s task with, or why the task is dropped (workers.guards.Drop).

        A task planned from an older generation is dropped as `paused` when the newer spec pauses
        the Replication, else as `stale`. The metadata read first carries no spec, so that newer spec
        is read once per process and kept, as for the tasks planned from it."""
        api_ref = self.controller.resolve(ref.resource)
        live = self.controller.get(api_ref, ref.namespace, ref.name, metadata_only=True)
        reason = drop_reason(live, ref)
        if live is None or reason not in (None, Drop.STALE):
            return None, reason or Drop.DELETED
        spec = self._kept(spec_key(live))
        if spec is None:
            if live.get("kind") == PARTIAL:  # else the server sent the whole object
                self.full_reads += 1
                live = self.controller.get(api_ref, ref.namespace, ref.name)
                reason = drop_reason(live, ref)
                if live is None or reason not in (None, Drop.STALE):
                    return None, reason or Drop.DELETED
            spec = spec_of(live)
            self._keep(spec_key(live), spec)
        if reason is Drop.STALE:
            return None, Drop.PAUSED if spec is Drop.PAUSED else Drop.STALE
        return (None, spec) if isinstance(spec, Drop) else (spec, None)

    def _kept(self, key: tuple[str, int] | None) -> Spec | None:
        if key is None:
            return None
        with self._lock:
            spec = self._specs.get(key)
            if spec is not None:
                self._specs.move_to_end(key)
            return spec

    def _keep(self, key: tuple[str, int] | None, spec: Spec) -> None:
        if key is None:
            return
        with self._lock:
            self._specs[key] = spec
            while len(self._specs) > self.kept:
                self._specs.popitem(last=False)


class KeptRules:
    """`Rules.from_replication` per (model, source model) pair, kept by identity: `Replications` keeps
    one model per (uid, generation) and `RemoteClusters` one per resourceVersion, so a pair seen
    again is the same spec and the same RemoteCluster."""

    def __init__(self, kept: int = SPECS_KEPT) -> None:
        self.kept = kept
        # the models are held with their rules, so their ids are not reused while kept
        self._rules: OrderedDict[tuple[int, int], tuple[Replication, RemoteCluster | None, Rules]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def of(self, model: Replication, source: RemoteCluster | None) -> Rules:
        key = (id(model), id(source))
        with self._lock:
            kept = self._rules.get(key)
            if kept is not None and kept[0] is model and kept[1] is source:
                self._rules.move_to_end(key)
                return kept[2]
        rules = Rules.from_replication(model, source)
        with self._lock:
            self._rules[key] = (model, source, rules)
            while len(self._rules) > self.kept:
                self._rules.popitem(last=False)
        return rules


class RemoteClusters:
    """RemoteClusters by namespace and name, from an informer per namespace (started on first use)."""

    def __init__(self, controller: ClusterClient, *, relist_s: float = 300.0) -> None:
        self.controller = controller
        self.relist_s = relist_s
        self._informers: dict[str, Informer] = {}
        self._parsed: dict[tuple[str, str], tuple[str, RemoteCluster | CategorisedError]] = {}
        self._lock = threading.Lock()
        self.gets = 0  # RemoteClusters read with a GET (the informer could not tell)

    def read(self, namespace: str, name: str) -> tuple[dict[str, Any], RemoteCluster]:
        """The RemoteCluster `namespace/name` and its model. Raises `CategorisedError`: not found
        (WaitForNextSync) or invalid (NonRetryable, naming the fields)."""
        obj = self._held(namespace, name)
        if obj is None:
            self.gets += 1
            obj = self.controller.get(self.controller.resolve(REMOTE_CLUSTERS), namespace, name)
        if obj is None:
            raise CategorisedError(Category.WAIT_FOR_NEXT_SYNC, f"RemoteCluster {namespace}/{name} not found")
        return obj, self._model(namespace, name, obj)

    def listed(self, namespace: str | None, wait_s: float) -> list[dict[str, Any]]:
        """Every RemoteCluster in `namespace` (None: all namespaces), following each namespace that has
        one from now on. In one namespace, its informer's list, waited for up to `wait_s` (an empty
        list after that); in all, one list of its own finds them and their namespaces. Raises
        `ApiError` when that list fails."""
        if namespace is not None:
            informer = self._informer(namespace)
            if informer is None or not informer.synced.wait(wait_s):
                return []
            return list(informer.objects().values())
        found = list(self.controller.list(self.controller.resolve(REMOTE_CLUSTERS), None))
        for ns in sorted({str((o.get("metadata") or {}).get("namespace") or "") for o in found}):
            if ns:
                self._informer(ns)
        return found

    def _held(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The informer's copy when the informer is current (listed, its watch not failing)."""
        informer = self._informer(namespace)
        if informer is None or not informer.synced.is_set() or informer.last_error:
            return None
        return informer.get((namespace, name))

    def _informer(self, namespace: str) -> Informer | None:
        with self._lock:
            informer = self._informers.get(namespace)
            if informer is None:
                try:
                    ref = self.controller.resolve(REMOTE_CLUSTERS)
                except Exception as exc:  # the GET that follows reports what is wrong
                    log.debug("RemoteClusters of %s: not followed: %s", namespace, exc)
                    return None
                informer = Informer(
                    self._client,
                    ref,
                    namespace,
                    _unused,
                    name=f"remoteclusters in {namespace}",
                    relist_s=self.relist_s,
                )
                self._informers[namespace] = informer.start()
            return informer

    def _client(self) -> ClusterClient:
        return self.controller

    def _model(self, namespace: str, name: str, obj: Mapping[str, Any]) -> RemoteCluster:
        version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        with self._lock:
            kept = self._parsed.get((namespace, name))
        if kept is None or not version or kept[0] != version:
            try:
                model: RemoteCluster | CategorisedError = parse_remote_cluster(obj)
            except InvalidSpec as exc:  # the watcher marks it InvalidSpec too; the target says why
                model = CategorisedError(
                    Category.NON_RETRYABLE, f"RemoteCluster {namespace}/{name}: {'; '.join(exc.errors)}"
                )
            kept = (version, model)
            with self._lock:
                self._parsed[(namespace, name)] = kept
        if isinstance(kept[1], CategorisedError):
            raise CategorisedError(kept[1].category, kept[1].message)
        return kept[1]

    def close(self) -> None:
        with self._lock:
            informers, self._informers = list(self._informers.values()), {}
        for informer in informers:
            informer.stop()


def _unused() -> None:
    """The informer's change callback: a task looks at the copy when it needs it."""
