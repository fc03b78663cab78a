"""The chart's RBAC on a real controller cluster: every permission it grants is one the watcher or a
worker needs, and without any one of them something fails with a message naming the verb and resource.

The chart is rendered by real Helm (default values: the custom-resource rules in a ClusterRole) and
its ServiceAccount, Roles, ClusterRoles and bindings are applied to a real kube-apiserver that
authorizes with RBAC. The components run in this process on a token of that ServiceAccount from
the TokenRequest API: `WatcherService` (leader election on a real Lease, informers, finalizers,
status, the sync-now annotation) and the workers' task bodies (`run_sync`, `run_check`: reading the
Replication, the RemoteCluster and its kubeconfig Secret, status, Events).
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
import yaml
from celery import Celery

from drsyncer.api import keys
from drsyncer.config import load_settings
from drsyncer.kube import ClusterClient
from drsyncer.task_contract import ReplicationRef, Target
from scheduler.celery_app import make_app
from scheduler.service import WatcherService
from tests.fixtures.helm import render
from tests.fixtures.polling import builtin_ref
from tests.fixtures.redis_server import RedisServer
from tests.integration.rbac.conftest import (
    Atom,
    LogCollector,
    RealCluster,
    Subject,
    atoms_of,
    install_crds,
    poll_until,
    refusals,
    unique,
    without,
)
from workers.jobs import Context, SyncJob, run_check, run_sync

REDIS_DB = 11
CONFIGMAPS = builtin_ref("configmaps")
SECRETS = builtin_ref("secrets")
EVENTS = builtin_ref("events")
LEASES = builtin_ref("leases")
RBAC_KINDS = ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
KINDS = {"Replication": "replications.dr-syncer.io", "NamespaceMapping": "namespacemappings.dr-syncer.io"}

# Every permission the chart grants, and what fails without it. "resources" is the role holding the
# custom-resource rules (a ClusterRole, or a Role in config.watchNamespace); "release" is the Role in
# the release namespace; "secrets" the Role for kubeconfig Secrets in config.watchNamespace.
DEFAULT_NEEDED: dict[tuple[str, str, str, str], str] = {
    ("resources", "dr-syncer.io", "remoteclusters", "get"): "a worker reads the RemoteClusters of a job",
    ("resources", "dr-syncer.io", "remoteclusters", "list"): "RemoteCluster informers (watcher, workers)",
    ("resources", "dr-syncer.io", "remoteclusters", "watch"): "RemoteCluster informers (watcher, workers)",
    ("resources", "dr-syncer.io", "replications", "get"): "a worker checks the Replication of a job",
    ("resources", "dr-syncer.io", "replications", "list"): "the watcher's Replication informer",
    ("resources", "dr-syncer.io", "replications", "watch"): "the watcher's Replication informer",
    (
        "resources",
        "dr-syncer.io",
        "replications",
        "patch",
    ): "the watcher adds and removes the cleanup finalizer and removes the sync-now annotation",
    (
        "resources",
        "dr-syncer.io",
        "namespacemappings",
        "get",
    ): "a worker checks the NamespaceMapping of a job",
    ("resources", "dr-syncer.io", "namespacemappings", "list"): "the watcher's NamespaceMapping informer",
    ("resources", "dr-syncer.io", "namespacemappings", "watch"): "the watcher's NamespaceMapping informer",
    (
        "resources",
        "dr-syncer.io",
        "namespacemappings",
        "patch",
    ): "the watcher adds and removes the cleanup finalizer and removes the sync-now annotation",
    ("resources", "dr-syncer.io", "remoteclusters/status", "patch"): "a worker writes a health check",
    (
        "resources",
        "dr-syncer.io",
        "replications/status",
        "patch",
    ): "the watcher writes Pending/InvalidSpec, a worker writes a run's outcome",
    (
        "resources",
        "dr-syncer.io",
        "namespacemappings/status",
        "patch",
    ): "the watcher writes Pending/InvalidSpec, a worker writes a run's outcome",
    ("resources", "", "events", "create"): "a worker posts SyncStarted and SyncCompleted Events",
    (
        "resources",
        "",
        "events",
        "get",
    ): "a worker reads the Event another worker posted, to count a repeat on it",
    ("resources", "", "events", "patch"): "a worker counts a repeated Event on the one already there",
    ("release", "coordination.k8s.io", "leases", "get"): "the watcher's leader election",
    ("release", "coordination.k8s.io", "leases", "create"): "the watcher's leader election",
    ("release", "coordination.k8s.io", "leases", "update"): "the watcher's leader election",
    ("release", "", "secrets", "get"): "a worker reads the kubeconfig Secret of a RemoteCluster",
}
NEEDED = {
    "defaults": DEFAULT_NEEDED,
    "watchNamespace": {
        **DEFAULT_NEEDED,
        ("secrets", "", "secrets", "get"): "a worker reads a kubeconfig Secret in config.watchNamespace",
    },
}


def role_key(atom: Atom) -> str:
    name = atom.role.rsplit("/", 1)[-1].rsplit(" ", 1)[-1]
    return (
        "resources" if name.endswith("-resources") else "secrets" if name.endswith("-secrets") else "release"
    )


def key_of(atom: Atom) -> tuple[str, str, str, str]:
    return (role_key(atom), atom.group, atom.resource, atom.verb)


def rbac_objects(
    values: dict[str, Any], release_namespace: str, namespaces: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The chart's ServiceAccount and RBAC objects, rendered by Helm for `values`."""
    rendered = render(values, release="dr", namespace=release_namespace, namespaces=namespaces)
    return [o for o in rendered.objects if o["kind"] in RBAC_KINDS]


def service_account(objects: list[dict[str, Any]]) -> Subject:
    (sa,) = [o for o in objects if o["kind"] == "ServiceAccount"]
    return Subject(sa["metadata"]["namespace"], sa["metadata"]["name"])


def kubeconfig_secret(name: str, kubeconfig: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "data": {"kubeconfig": base64.b64encode(yaml.safe_dump(kubeconfig).encode()).decode()},
    }


@dataclass
class Evidence:
    """What a journey saw: every message drsyncer produced and what did not happen."""

    messages: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def denied(self, atom: Atom) -> list[str]:
        return [m for m in self.messages if atom.denial in m]

    def forbidden(self) -> list[str]:
        return refusals(self.messages)


@dataclass
class Setup:
    controller: RealCluster
    source: RealCluster
    dr1: RealCluster
    objects: list[dict[str, Any]]
    subject: Subject
    source_namespace: str
    redis_url: str
    app: Celery
    namespace: str  # of the Replications, RemoteClusters and Events; the Lease is in the release namespace

    def custom(self, kind: str, name: str) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "sourceCluster": "source",
            "destinationCluster": "dr1",
            "sourceNamespace": self.source_namespace,
            "destinationNamespace": f"{name}-copy",
            "resourceTypes": ["configmaps"],
            "cleanupOnDelete": "Delete",
            "replicationMode": "Manual",
        }
        return {
            "apiVersion": keys.API_VERSION,
            "kind": kind,
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "annotations": {keys.ANNOTATION_SYNC_NOW: "now"},
            },
            "spec": spec,
        }

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        admin = self.controller.admin
        return admin.get(admin.resolve(KINDS[kind]), self.namespace, name)


# the value sets checked: the defaults (custom-resource rules in a ClusterRole; everything in the
# release namespace) and config.watchNamespace (a Role there, with the kubeconfig Secrets it reads:
# the source's Secret is in the release namespace, dr1's in the watch namespace)
VARIANTS = ("defaults", "watchNamespace")


def make_setup(
    variant: str, controller: RealCluster, source: RealCluster, dr1: RealCluster, redis_url: str
) -> Setup:
    install_crds(controller)
    release_namespace = unique("drs-chart")
    namespace = release_namespace if variant == "defaults" else unique("drs-chart-apps")
    values = {} if variant == "defaults" else {"config": {"watchNamespace": namespace}}
    objects = rbac_objects(values, release_namespace, namespaces=(namespace,))
    subject = service_account(objects)
    controller.namespace(release_namespace)
    controller.namespace(namespace)
    controller.apply(objects)
    source_namespace = source.namespace(unique("drs-chart-src"))
    for i in range(3):
        source.admin.create(
            CONFIGMAPS, source_namespace, {"metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}}
        )
    remote_clusters = controller.admin.resolve("remoteclusters.dr-syncer.io")
    for cluster, secret_namespace in ((source, release_namespace), (dr1, namespace)):
        controller.admin.create(
            SECRETS,
            secret_namespace,
            kubeconfig_secret(f"{cluster.name}-kubeconfig", cluster.plane.kubeconfig_dict()),
        )
        controller.admin.create(
            remote_clusters,
            namespace,
            {
                "apiVersion": keys.API_VERSION,
                "kind": "RemoteCluster",
                "metadata": {"name": cluster.name, "namespace": namespace},
                "spec": {
                    "kubeconfigSecretRef": {
                        "name": f"{cluster.name}-kubeconfig",
                        "namespace": secret_namespace,
                    }
                },
            },
        )
    return Setup(
        controller, source, dr1, objects, subject, source_namespace, redis_url, make_app(redis_url), namespace
    )


@pytest.fixture(scope="module")
def setups(
    real: Callable[[str], RealCluster], redis_server: RedisServer, helm_library: None
) -> Iterator[Callable[[str], Setup]]:
    """`setups(variant)`: the chart's RBAC of that value set applied to the controller cluster, once."""
    redis_url = f"redis://{redis_server.host}:{redis_server.port}/{REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    made: dict[str, Setup] = {}

    def get(variant: str) -> Setup:
        if variant not in made:
            made[variant] = make_setup(variant, real("controller"), real("source"), real("dr1"), redis_url)
        return made[variant]

    yield get
    redis.Redis.from_url(redis_url).flushdb()
    for setup in made.values():
        setup.controller.delete_namespace(setup.namespace)
        setup.controller.delete_namespace(setup.subject.namespace)
        setup.source.delete_namespace(setup.source_namespace)


def journey(setup: Setup, client: ClusterClient) -> Evidence:
    """The controller-side work of one Replication and one NamespaceMapping, start to end."""
    seen = Evidence()
    settings = load_settings(
        {
            "DRSYNCER_REDIS_URL": setup.redis_url,
            "DRSYNCER_WATCH_NAMESPACE": setup.namespace,
            "DRSYNCER_LEASE_NAMESPACE": setup.subject.namespace,
            "DRSYNCER_LEASE_NAME": unique("lease"),
            "DRSYNCER_LEASE_DURATION": "3",
            "DRSYNCER_RESYNC_INTERVAL": "3600",
            "DRSYNCER_HEALTH_CHECK_INTERVAL": "3600",
            "DRSYNCER_IDENTITY": "rbac-check",
        }
    )
    names = {"Replication": unique("rep"), "NamespaceMapping": unique("map")}
    admin = setup.controller.admin
    for kind, name in names.items():
        admin.create(admin.resolve(KINDS[kind]), setup.namespace, setup.custom(kind, name))
    with LogCollector() as logs:
        seen.messages = logs.messages
        failed = lambda: bool(seen.forbidden())  # noqa: E731 - a failure is already on record
        service = WatcherService(settings, client, setup.app, watch_timeout_s=2)
        stop = threading.Event()
        thread = threading.Thread(target=service.run, args=(stop,), name="rbac-watcher", daemon=True)
        thread.start()
        try:
            if not poll_until(lambda: service.is_leader, 10, failed):
                seen.missing.append("the watcher did not lead")

            def renewed() -> bool:
                lease = admin.get(LEASES, settings.lease_namespace, settings.lease_name) or {}
                spec = lease.get("spec") or {}
                return spec.get("holderIdentity") == settings.identity and spec.get("renewTime") != spec.get(
                    "acquireTime"
                )

            if not poll_until(renewed, 10, failed):
                seen.missing.append("the watcher did not renew its Lease")

            def reconciled(kind: str, name: str) -> bool:
                obj = setup.get(kind, name) or {}
                meta = obj.get("metadata") or {}
                return (
                    keys.FINALIZER_CLEANUP in (meta.get("finalizers") or [])
                    and keys.ANNOTATION_SYNC_NOW not in (meta.get("annotations") or {})
                    and (obj.get("status") or {}).get("phase") is not None
                )

            for kind, name in names.items():
                if not poll_until(lambda k=kind, n=name: reconciled(k, n), 15, failed):
                    seen.missing.append(f"the watcher did not reconcile {kind} {name}")

            _work(setup, client, settings, names, seen)

            for kind, name in names.items():
                obj = setup.get(kind, name)
                if obj is not None:
                    admin.delete(admin.resolve(KINDS[kind]), setup.namespace, name)
            for kind, name in names.items():
                if not poll_until(lambda k=kind, n=name: setup.get(k, n) is None, 15, failed):
                    seen.missing.append(f"{kind} {name} was not let go (finalizer kept)")
        finally:
            stop.set()
            thread.join(15)
            assert not thread.is_alive(), "the watcher did not stop"
            for kind, name in names.items():  # whatever a failed run left: no finalizer holds it
                if setup.get(kind, name) is not None:
                    admin.patch(
                        admin.resolve(KINDS[kind]), setup.namespace, name, {"metadata": {"finalizers": None}}
                    )
                    admin.delete(admin.resolve(KINDS[kind]), setup.namespace, name)
                setup.dr1.delete_namespace(f"{name}-copy")
    return seen


def _work(setup: Setup, client: ClusterClient, settings: Any, names: dict[str, str], seen: Evidence) -> None:
    """What the workers do: a sync-now run of each object, then the same again by another worker
    process (a client of its own: its Events are counted on the first run's, read and patched), then
    a health check."""
    connection = redis.Redis.from_url(setup.redis_url)
    other = setup.controller.client(setup.subject)
    other.counters.observers += client.counters.observers
    contexts = [
        Context.assemble(settings, client, connection, worker="rbac-check"),
        Context.assemble(settings, other, connection, worker="rbac-check-2"),
    ]
    try:
        for runs, ctx in enumerate(contexts, 1):
            for kind, name in names.items():
                _sync(setup, ctx, kind, name, runs, seen)
        try:
            check = run_check(contexts[0], setup.namespace, "source")
            if check.get("health") != "Healthy":
                seen.messages.append(str(check.get("message")))
                seen.missing.append(f"health check of source: {check}")
        except Exception as exc:
            seen.messages.append(str(exc))
            seen.missing.append("the health check task failed")
    finally:
        for ctx in contexts:
            ctx.close()
        other.close()


def _sync(setup: Setup, ctx: Context, kind: str, name: str, runs: int, seen: Evidence) -> None:
    """A sync-now run of `kind` `name`, the `runs`-th: its status written and its Events counted."""
    live = setup.get(kind, name)
    if live is None:
        seen.missing.append(f"{kind} {name} vanished before its sync")
        return
    meta = live["metadata"]
    job = SyncJob(
        ReplicationRef(kind, setup.namespace, name, meta["uid"], meta["generation"]),
        "source",
        setup.source_namespace,
        (Target("dr1", f"{name}-copy"),),
        mode="Manual",
        run_id=uuid.uuid4().hex,
        trigger="sync-now",
    )
    try:
        outcome = run_sync(ctx, job, uuid.uuid4().hex)
    except Exception as exc:  # what a task failing would log
        seen.messages.append(str(exc))
        seen.missing.append(f"the sync task of {kind} {name} failed")
        return
    record = outcome.record
    results = record.targets if record is not None else []
    seen.messages += [r.error for r in results if r.error]
    seen.messages += [str(e) for r in results for e in r.errors]
    if outcome.to_dict().get("phase") != "Completed" or not outcome.reported:
        seen.missing.append(f"the run of {kind} {name} was not Completed and reported: {outcome.to_dict()}")
    status = (setup.get(kind, name) or {}).get("status") or {}
    if status.get("phase") != "Completed":
        seen.missing.append(f"{kind} {name} status.phase is {status.get('phase')!r}")
    counts = {
        e.get("reason"): e.get("count")
        for e in setup.controller.admin.list(EVENTS, setup.namespace)
        if (e.get("involvedObject") or {}).get("name") == name
    }
    if counts.get("SyncStarted") != runs or counts.get("SyncCompleted") != runs:
        seen.missing.append(f"Events of {kind} {name} after {runs} run(s), by reason: {counts}")


def apply_grants(setup: Setup, objects: list[dict[str, Any]], removed: Atom | None = None) -> None:
    setup.controller.apply(objects)
    setup.controller.await_in_force(setup.subject, atoms_of(setup.objects), removed)


@pytest.mark.parametrize("variant", VARIANTS)
def test_chart_grants_exactly_the_permissions_the_components_use(
    setups: Callable[[str], Setup], variant: str
) -> None:
    needed = NEEDED[variant]
    granted = {key_of(a) for a in atoms_of(setups(variant).objects)}
    unused = sorted(granted - set(needed))
    assert not unused, f"the chart grants permissions no drsyncer code path needs: {unused}"
    assert not set(needed) - granted, f"the chart lacks: {sorted(set(needed) - granted)}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_watcher_and_worker_do_their_whole_job_with_the_chart_rbac_and_no_403(
    setups: Callable[[str], Setup], variant: str
) -> None:
    setup = setups(variant)
    apply_grants(setup, setup.objects)
    client = setup.controller.client(setup.subject)
    # every answer the controller cluster gave (the Lease has a client of its own; its failures are logged)
    statuses: list[int] = []
    client.counters.observers.append(lambda _cluster, _verb, status: statuses.append(status))
    try:
        seen = journey(setup, client)
    finally:
        client.close()
    assert not seen.missing, f"{seen.missing}\nmessages: {seen.messages}"
    assert not seen.forbidden(), seen.forbidden()
    assert len(statuses) > 20 and 403 not in statuses, statuses


@pytest.mark.parametrize(
    "variant,key",
    # the watchNamespace variant differs from the defaults in where Secrets are read; the rest is the same
    [(v, k) for v in VARIANTS for k in NEEDED[v] if v == "defaults" or k[2] == "secrets"],
    ids=lambda v: v if isinstance(v, str) else f"{v[0]}:{v[2]}:{v[3]}",
)
def test_without_one_chart_permission_something_fails_naming_verb_and_resource(
    setups: Callable[[str], Setup], variant: str, key: tuple[str, str, str, str]
) -> None:
    setup = setups(variant)
    (atom,) = [a for a in atoms_of(setup.objects) if key_of(a) == key]
    apply_grants(setup, without(setup.objects, atom), removed=atom)
    client = setup.controller.client(setup.subject)
    try:
        seen = journey(setup, client)
    finally:
        client.close()
        apply_grants(setup, setup.objects)
    assert seen.missing, f"nothing failed without {atom} ({NEEDED[variant][key]})"
    assert seen.denied(atom), f"no message names {atom.denial!r}; messages: {seen.messages}"
