"""The watcher against a simulated controller and source cluster and a real Redis."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from celery.schedules import crontab, schedule
from prometheus_client import REGISTRY

from drsyncer.api import keys
from drsyncer.task_contract import TASK_CLEANUP_NAMESPACE, TASK_SYNC_NAMESPACE
from scheduler.store import ScheduleStore
from tests.fixtures.remote_clusters import remote_cluster
from tests.integration.scheduler.conftest import (
    CONFIGMAPS,
    EVENTS,
    LEASES,
    NAMESPACES,
    NS,
    REPLICASETS,
    RunningWatcher,
    World,
    eventually,
    replication,
)

StartWatcher = Callable[..., RunningWatcher]


def _entry_names(name: str, *source_namespaces: str) -> set[str]:
    return {f"drsyncer:{NS}/{name}:{ns}" for ns in source_namespaces}


def _status(world: World, name: str) -> dict[str, Any]:
    obj = world.get(name)
    return (obj or {}).get("status") or {}


def _metadata(world: World, name: str) -> dict[str, Any]:
    return dict((world.get(name) or {}).get("metadata") or {})


def _condition(world: World, name: str, type_: str) -> dict[str, Any]:
    return next((c for c in _status(world, name).get("conditions", []) if c["type"] == type_), {})


def test_replication_every_10s_gets_exactly_its_entries_as_beat_loads_them(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher()
    world.apply(
        replication(
            "web",
            namespaceMappings=[{"source": "shop", "destination": "shop-dr"}],
            destinationClusters=["dr2"],
        )
    )
    expected = _entry_names("web", "web", "shop")
    eventually(lambda: world.entries() == expected, what="the two entries")

    entry = world.entry(f"drsyncer:{NS}/web:shop")
    assert entry.task == TASK_SYNC_NAMESPACE
    assert isinstance(entry.schedule, schedule) and entry.schedule.run_every == timedelta(seconds=10)
    assert entry.options == {
        "queue": "sync",
        "kwargsrepr": repr(
            {
                "replication": f"{NS}/web",
                "source": "source/shop",
                "destinations": "dr1/shop-dr, dr2/shop-dr",
                "trigger": "schedule",
            }
        ),
    }
    uid = (world.get("web") or {})["metadata"]["uid"]
    assert entry.kwargs == {
        "replication": {"kind": "Replication", "namespace": NS, "name": "web", "uid": uid, "generation": 1},
        "source_cluster": "source",
        "source_namespace": "shop",
        "targets": [{"cluster": "dr1", "namespace": "shop-dr"}, {"cluster": "dr2", "namespace": "shop-dr"}],
        "mode": "Scheduled",
        "run_id": None,
        "trigger": "schedule",
    }
    assert entry.is_due()[0], "a new entry runs at beat's next tick"
    eventually(lambda: _status(world, "web").get("phase") == "Pending", what="phase Pending")
    assert _condition(world, "web", "InvalidSpec")["status"] == "False"


def test_editing_types_and_schedule_updates_entries_and_deleting_removes_them(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher()
    world.apply(replication("web"))
    name = f"drsyncer:{NS}/web:web"
    eventually(lambda: world.entries() == {name}, what="the entry")

    world.patch("web", {"spec": {"resourceTypes": ["configmaps"]}})
    eventually(
        lambda: world.entry(name).kwargs["replication"]["generation"] == 2,
        what="the entry to carry generation 2",
    )

    world.patch("web", {"spec": {"schedule": "*/2 * * * *"}})
    eventually(lambda: isinstance(world.entry(name).schedule, crontab), what="the cron schedule")
    assert world.entry(name).schedule == crontab(minute="*/2")

    world.patch("web", {"spec": {"namespaceMappings": [{"source": "ops"}]}})
    eventually(lambda: world.entries() == _entry_names("web", "web", "ops"), what="the ops entry")

    world.delete("web")
    eventually(lambda: world.entries() == set(), what="the entries to go")


def test_paused_removes_entries_and_sets_phase_paused(world: World, start_watcher: StartWatcher) -> None:
    start_watcher()
    world.apply(replication("web"))
    eventually(lambda: world.entries() == _entry_names("web", "web"), what="the entry")

    world.patch("web", {"spec": {"paused": True}})
    eventually(lambda: world.entries() == set(), what="no entries while paused")
    eventually(lambda: _status(world, "web").get("phase") == "Paused", what="phase Paused")

    world.patch("web", {"spec": {"paused": False}})
    eventually(lambda: world.entries() == _entry_names("web", "web"), what="the entry back")
    eventually(lambda: _status(world, "web").get("phase") == "Pending", what="phase Pending again")


def test_invalid_cron_yields_invalid_spec_and_no_entries(world: World, start_watcher: StartWatcher) -> None:
    start_watcher()
    world.apply(replication("broken", schedule="61 * * * *"))
    world.apply(replication("fine", sourceNamespace="ops"))
    eventually(lambda: world.entries() == _entry_names("fine", "ops"), what="only the valid one's entry")
    condition = eventually(lambda: _condition(world, "broken", "InvalidSpec"), what="InvalidSpec")
    assert condition["status"] == "True" and condition["message"].startswith("spec.schedule:")
    assert condition["observedGeneration"] == 1
    assert _status(world, "broken")["phase"] == "Failed"

    world.patch("broken", {"spec": {"schedule": "@every 1m"}})
    eventually(
        lambda: world.entries() == _entry_names("fine", "ops") | _entry_names("broken", "web"),
        what="the fixed one's entry",
    )
    eventually(
        lambda: _condition(world, "broken", "InvalidSpec").get("status") == "False", what="InvalidSpec False"
    )


def _gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_invalid_spec_is_told_by_a_warning_event_a_log_line_per_problem_and_gauges(
    world: World, start_watcher: StartWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="scheduler.watcher")
    errors_before = _gauge("dr_syncer_watcher_reconcile_errors_total") or 0.0
    start_watcher()
    world.apply(
        replication(
            "typos", schedule="every tuesday", resourceTypes=["deploymnets"], destinationNamespace="Bad_Name"
        )
    )
    world.apply(replication("fine", sourceNamespace="ops", replicationMode="Manual", schedule=None))
    label = f"{NS}/typos"
    eventually(
        lambda: _gauge("dr_syncer_replication_invalid", replication=label) == 1, what="the invalid gauge"
    )
    warnings = eventually(
        lambda: [
            e
            for e in world.controller.list(EVENTS, NS)
            if e["involvedObject"]["name"] == "typos" and e["type"] == "Warning"
        ],
        what="a Warning Event",
    )
    assert [e["reason"] for e in warnings] == ["InvalidSpec"]
    assert warnings[0]["involvedObject"]["kind"] == "Replication" and warnings[0]["involvedObject"]["uid"]
    for field in ("spec.schedule", "spec.resourceTypes[0]", "spec.destinationNamespace"):
        assert field in warnings[0]["message"], field
    assert warnings[0]["source"]["component"] == "drsyncer-watcher"

    lines = [r.getMessage() for r in caplog.records if "typos" in r.getMessage()]
    assert len(lines) == 3 and all("invalid spec" in line for line in lines), lines
    assert (_gauge("dr_syncer_watcher_reconcile_errors_total") or 0) - errors_before == 3
    assert _gauge("dr_syncer_replication_phase", replication=label, phase="Failed") == 1
    assert _gauge("dr_syncer_replication_phase", replication=label, phase="Pending") == 0
    assert _gauge("dr_syncer_replication_ready", replication=label) == 0
    assert _gauge("dr_syncer_replication_invalid", replication=f"{NS}/fine") == 0
    # Manual mode waits for nobody; the valid scheduled one would
    assert _gauge("dr_syncer_replication_awaiting_first_sync", replication=f"{NS}/fine") == 0

    # later reconciles (another object changing) repeat neither the lines nor the Event
    world.patch("fine", {"metadata": {"labels": {"touched": "yes"}}})
    world.apply(replication("later"))
    eventually(
        lambda: _gauge("dr_syncer_replication_awaiting_first_sync", replication=f"{NS}/later") == 1,
        what="the new Replication's gauges",
    )
    assert len([r for r in caplog.records if "typos" in r.getMessage()]) == 3
    assert len([e for e in world.controller.list(EVENTS, NS) if e["involvedObject"]["name"] == "typos"]) == 1

    world.delete("typos")
    eventually(
        lambda: _gauge("dr_syncer_replication_invalid", replication=label) is None,
        what="the deleted Replication's series to go",
    )


def test_namespace_added_to_source_that_matches_the_selector_gets_an_entry(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher()
    world.apply(replication("team-a", sourceNamespace=None, namespaceSelector={"matchLabels": {"team": "a"}}))
    eventually(lambda: world.entries() == _entry_names("team-a", "web", "shop"), what="selected namespaces")

    world.source.create(NAMESPACES, None, {"metadata": {"name": "billing", "labels": {"team": "a"}}})
    eventually(
        lambda: world.entries() == _entry_names("team-a", "web", "shop", "billing"),
        what="the new namespace's entry",
    )

    world.source.patch(NAMESPACES, None, "shop", {"metadata": {"labels": {"team": "c"}}})
    eventually(
        lambda: world.entries() == _entry_names("team-a", "web", "billing"),
        what="the relabelled namespace's entry to go",
    )
    # its copies stay in the destinations, no longer kept in step: said where an operator looks
    dropped = eventually(
        lambda: [
            e
            for e in world.controller.list(EVENTS, NS)
            if e["involvedObject"]["name"] == "team-a" and e["reason"] == "SourceNamespacesDropped"
        ],
        what="a SourceNamespacesDropped Event",
    )
    assert [e["type"] for e in dropped] == ["Warning"]
    assert dropped[0]["message"].startswith(
        "source namespace(s) shop no longer selected by spec.namespaceSelector (deleted, or their labels "
        "changed): their copies in dr1 stay as they are and are no longer kept in step"
    )
    # nothing is said of the namespaces that came or stayed
    world.source.create(NAMESPACES, None, {"metadata": {"name": "support", "labels": {"team": "a"}}})
    eventually(
        lambda: world.entries() == _entry_names("team-a", "web", "billing", "support"), what="another entry"
    )
    assert (
        len([e for e in world.controller.list(EVENTS, NS) if e["reason"] == "SourceNamespacesDropped"]) == 1
    )


def test_selector_matching_no_namespace_says_so_in_ready_until_one_matches(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher()
    world.apply(replication("nobody", sourceNamespace=None, namespaceSelector={"matchLabels": {"team": "z"}}))
    ready = eventually(
        lambda: (c := _condition(world, "nobody", "Ready")).get("reason") == "NoSourceNamespaces" and c,
        what="Ready to say no namespace matches",
    )
    assert ready["status"] == "False"
    assert ready["message"] == (
        "spec.namespaceSelector matches no namespace of source cluster source; "
        "nothing is synced until one does"
    )
    assert _status(world, "nobody")["phase"] == "Pending"
    assert _gauge("dr_syncer_replication_awaiting_first_sync", replication=f"{NS}/nobody") == 1

    world.source.create(NAMESPACES, None, {"metadata": {"name": "zeta", "labels": {"team": "z"}}})
    eventually(
        lambda: world.entries() == _entry_names("nobody", "zeta"), what="the matching namespace's entry"
    )
    ready = eventually(
        lambda: (c := _condition(world, "nobody", "Ready")).get("reason") == "Pending" and c,
        what="Ready back to waiting",
    )
    assert ready["message"] == "waiting for the first sync"


def test_sync_now_annotation_sends_every_namespace_with_the_documented_kwargs_and_disappears(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher()
    world.apply(
        replication("manual", replicationMode="Manual", schedule=None, namespaceMappings=[{"source": "shop"}])
    )
    eventually(lambda: _status(world, "manual").get("phase") == "Pending", what="the watcher to see it")
    assert world.entries() == set(), "Manual mode has no periodic entry"

    world.patch("manual", {"metadata": {"annotations": {keys.ANNOTATION_SYNC_NOW: "now"}}})
    eventually(
        lambda: keys.ANNOTATION_SYNC_NOW not in _metadata(world, "manual").get("annotations", {}),
        what="the annotation to be removed",
    )
    sent = eventually(lambda: world.queued(), what="the queued tasks")
    assert {m["task"] for m in sent} == {TASK_SYNC_NAMESPACE}
    assert sorted(m["kwargs"]["source_namespace"] for m in sent) == ["shop", "web"]
    kwargs = sent[0]["kwargs"]
    assert set(kwargs) == {
        "replication",
        "source_cluster",
        "source_namespace",
        "targets",
        "mode",
        "run_id",
        "trigger",
        "request",
    }
    assert kwargs["trigger"] == "sync-now" and kwargs["mode"] == "Manual" and kwargs["run_id"]
    assert kwargs["request"] == "now"  # the annotation's value, which the run's status reports
    assert len({m["kwargs"]["run_id"] for m in sent}) == 1, "one run id for the whole run"
    assert kwargs["replication"]["generation"] == 1


def test_cleanup_on_delete_adds_the_finalizer_and_sends_cleanup_before_letting_go(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher()
    world.apply(replication("web", cleanupOnDelete="Delete"))
    eventually(
        lambda: keys.FINALIZER_CLEANUP in _metadata(world, "web").get("finalizers", []), what="the finalizer"
    )

    world.delete("web")
    eventually(lambda: world.get("web") is None, what="the Replication to be gone")
    (message,) = world.queued()
    assert message["task"] == TASK_CLEANUP_NAMESPACE
    assert message["kwargs"]["trigger"] == "cleanup" and message["kwargs"]["source_namespace"] == "web"
    assert world.entries() == set()


def test_a_second_reconcile_of_a_settled_state_changes_nothing(
    world: World, start_watcher: StartWatcher
) -> None:
    service = start_watcher().service
    world.apply(replication("web", namespaceMappings=[{"source": "shop"}]))
    world.apply(replication("broken", schedule="61 * * * *"))
    world.apply(replication("paused", paused=True))
    eventually(lambda: world.entries() == _entry_names("web", "web", "shop"), what="the entries")
    eventually(lambda: _status(world, "paused").get("phase") == "Paused", what="phase Paused")
    eventually(lambda: _status(world, "broken").get("phase") == "Failed", what="phase Failed")
    watcher = service.watcher
    assert watcher is not None

    def settled() -> bool:
        report = watcher.reconcile()
        return report.schedule.empty and not report.status_written and not report.errors

    eventually(settled, what="a reconcile that writes nothing")
    report = watcher.reconcile()
    assert report.schedule.empty and report.status_written == [] and report.triggered == []


def test_remote_cluster_health_checks_are_sent_to_the_health_queue(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher(health_check_interval="1")

    def checked() -> set[str]:
        return {
            f"{m['kwargs']['namespace']}/{m['kwargs']['name']}"
            for m in world.queued("health")
            if m["task"] == "drsyncer.check_remote_cluster"
        }

    # the world holds two RemoteClusters, "source" and "dr1"; a check is sent for each every interval
    eventually(lambda: len(world.queued("health")) >= 4, what="repeated check tasks")
    assert checked() == {f"{NS}/source", f"{NS}/dr1"}
    # health checks never wait behind syncs: nothing about them is in the sync queue
    assert not [m for m in world.queued() if m["task"] == "drsyncer.check_remote_cluster"]


def test_a_new_or_changed_remote_cluster_is_checked_at_once_not_at_the_next_interval(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher(health_check_interval="3600")

    def checks(name: str) -> int:
        return sum(
            1
            for m in world.queued("health")
            if m["task"] == "drsyncer.check_remote_cluster" and m["kwargs"]["name"] == name
        )

    # at start every RemoteCluster is checked; the next round is an hour away
    eventually(lambda: checks("source") == 1, what="the check of the RemoteCluster there at start")
    remote = world.controller.resolve("remoteclusters.dr-syncer.io")

    def create_remote_cluster(name: str) -> None:
        world.controller.create(remote, NS, remote_cluster(name, NS))

    create_remote_cluster("dr9")
    eventually(lambda: checks("dr9") == 1, what="the new RemoteCluster's check")
    # its Secret fixed: checked again; a status write (no new generation) is no reason to
    world.controller.patch(remote, NS, "dr9", {"spec": {"kubeconfigSecretRef": {"name": "dr9-fixed"}}})
    eventually(lambda: checks("dr9") == 2, what="the changed RemoteCluster's check")
    world.controller.patch(remote, NS, "dr9", {"status": {"phase": "Unhealthy"}}, subresource="status")
    world.controller.patch(remote, NS, "source", {"metadata": {"labels": {"team": "a"}}})
    # a RemoteCluster created after those writes is checked once the watcher has seen them too
    create_remote_cluster("dr10")
    eventually(lambda: checks("dr10") == 1, what="the later RemoteCluster's check")
    assert (checks("source"), checks("dr9")) == (1, 2)


def test_a_remote_cluster_named_but_missing_is_told_at_once_and_cleared_when_created(
    world: World, start_watcher: StartWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    # a Manual Replication never runs until asked: without the watcher saying so, nothing would
    caplog.set_level(logging.WARNING, logger="scheduler.watcher")
    start_watcher()
    world.apply(
        replication(
            "to-dr3",
            replicationMode="Manual",
            schedule=None,
            destinationCluster=None,
            destinationClusters=["dr1", "dr3"],
        )
    )
    ready = eventually(
        lambda: (c := _condition(world, "to-dr3", "Ready")).get("reason") == "RemoteClusterNotFound" and c,
        what="Ready to name the missing RemoteCluster",
    )
    message = f"spec.destinationClusters[1]: RemoteCluster {NS}/dr3 not found; the copies to it fail until it is created"
    assert (ready["status"], ready["message"]) == ("False", message)
    found = _condition(world, "to-dr3", "RemoteClustersFound")
    assert (found["status"], found["reason"], found["message"]) == ("False", "RemoteClusterNotFound", message)
    warnings = eventually(
        lambda: [e for e in world.controller.list(EVENTS, NS) if e["involvedObject"]["name"] == "to-dr3"],
        what="a Warning Event",
    )
    assert [(e["type"], e["reason"], e["message"]) for e in warnings] == [
        ("Warning", "RemoteClusterNotFound", message)
    ]
    assert [r.getMessage() for r in caplog.records if "to-dr3" in r.getMessage()] == [
        f"Replication {NS}/to-dr3: {message}"
    ]

    remote = world.controller.resolve("remoteclusters.dr-syncer.io")
    world.controller.create(remote, NS, remote_cluster("dr3", NS, secret="dr3"))
    ready = eventually(
        lambda: (c := _condition(world, "to-dr3", "Ready")).get("reason") == "Pending" and c,
        what="Ready back to waiting once dr3 exists",
    )
    assert ready["message"].startswith("waiting for the first sync (Manual mode")
    assert _condition(world, "to-dr3", "RemoteClustersFound")["status"] == "True"

    # deleted again: told again, by the condition, an Event and a line
    world.controller.delete(remote, NS, "dr3")
    eventually(
        lambda: _condition(world, "to-dr3", "Ready").get("reason") == "RemoteClusterNotFound",
        what="Ready to name it again",
    )
    eventually(
        lambda: (
            [e["count"] for e in world.controller.list(EVENTS, NS) if e["involvedObject"]["name"] == "to-dr3"]
            == [2]
        ),
        what="the Event counted again",
    )


def test_legacy_namespace_mapping_is_scheduled_and_its_status_written(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher()
    ref = world.controller.resolve("namespacemappings.dr-syncer.io")
    world.controller.create(
        ref,
        NS,
        {
            "apiVersion": "dr-syncer.io/v1alpha1",
            "kind": "NamespaceMapping",
            "metadata": {"name": "legacy", "namespace": NS},
            "spec": {
                "sourceCluster": "source",
                "destinationCluster": "dr1",
                "sourceNamespace": "ops",
                "schedule": "@every 30s",
            },
        },
    )
    name = f"drsyncer:{NS}/NamespaceMapping/legacy:ops"
    eventually(lambda: world.entries() == {name}, what="the NamespaceMapping's entry")
    assert world.entry(name).kwargs["replication"]["kind"] == "NamespaceMapping"
    eventually(
        lambda: (
            ((world.controller.get(ref, NS, "legacy") or {}).get("status") or {}).get("phase") == "Pending"
        ),
        what="its status",
    )


def test_objects_outside_the_watch_namespace_are_left_alone(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher()
    world.controller.create(NAMESPACES, None, {"metadata": {"name": "elsewhere"}})
    other = replication("other")
    other["metadata"]["namespace"] = "elsewhere"
    world.controller.create(world.replications, "elsewhere", other)
    world.apply(replication("web"))
    eventually(lambda: world.entries() == _entry_names("web", "web"), what="the watched one's entry")
    eventually(lambda: _status(world, "web").get("phase") == "Pending", what="the watched one's status")
    assert (world.controller.get(world.replications, "elsewhere", "other") or {}).get("status") is None
    assert ScheduleStore(world.app).names() == _entry_names("web", "web")


def test_continuous_mode_sends_one_debounced_sync_per_burst_of_source_changes(
    world: World, start_watcher: StartWatcher
) -> None:
    service = start_watcher().service
    world.apply(
        replication(
            "live",
            replicationMode="Continuous",
            schedule=None,
            continuous={"backgroundSyncInterval": "1h"},
            resourceTypes=["configmaps"],
        )
    )
    eventually(lambda: world.entries() == _entry_names("live", "web"), what="the background resync entry")
    assert world.entry(f"drsyncer:{NS}/live:web").kwargs["trigger"] == "background"
    eventually(
        lambda: (
            service.watcher is not None
            and service.watcher.changes.watching() == [f"configmaps of {NS}/source"]
        ),
        what="the source configmaps to be watched",
    )

    for i in range(3):
        world.source.create(CONFIGMAPS, "web", {"metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}})
    sent = eventually(lambda: world.queued(), what="the sync for the burst")
    assert len(sent) == 1, "one sync for a burst of changes within the debounce time"
    message = sent[0]
    kwargs = message["kwargs"]
    assert message["task"] == TASK_SYNC_NAMESPACE
    assert kwargs["trigger"] == "change" and kwargs["source_namespace"] == "web" and kwargs["run_id"]
    assert kwargs["mode"] == "Continuous"

    # a change in a namespace the Replication does not copy sends nothing; the next one in web does
    world.source.create(CONFIGMAPS, "ops", {"metadata": {"name": "elsewhere"}, "data": {}})
    world.source.patch(CONFIGMAPS, "web", "cm-0", {"data": {"i": "changed"}})
    sent = eventually(lambda: len(world.queued()) >= 2 and world.queued(), what="the second sync")
    assert [m["kwargs"]["source_namespace"] for m in sent] == ["web", "web"]


def test_continuous_star_follows_exactly_the_types_a_worker_syncs(
    world: World, start_watcher: StartWatcher
) -> None:
    service = start_watcher().service
    world.apply(
        replication(
            "all",
            replicationMode="Continuous",
            schedule=None,
            sourceNamespace=None,
            namespaceSelector={"matchLabels": {"team": "a"}},
            continuous={"backgroundSyncInterval": "1h"},
            resourceTypes=["*"],
        )
    )
    synced = sorted(f"{r.group_resource} of {NS}/source" for r in world.source.discovery.resolve_many(["*"]))
    eventually(
        lambda: service.watcher is not None and service.watcher.changes.watching() == synced,
        what="the watches of every type a worker syncs",
    )
    watched = {name.split(" of ")[0] for name in service.watcher.changes.watching()}  # type: ignore[union-attr]
    assert not watched & {
        "events",
        "events.events.k8s.io",
        "leases.coordination.k8s.io",
        "replicasets.apps",
        "pods",
    }
    assert "configmaps" in watched

    # objects the cluster and its controllers write change in a followed namespace: no sync for it;
    # a ConfigMap created after them in the other followed namespace is the only sync sent
    world.source.create(
        EVENTS,
        "web",
        {
            "metadata": {"name": "ev"},
            "reason": "Tested",
            "involvedObject": {"kind": "ConfigMap", "namespace": "web", "name": "x"},
        },
    )
    world.source.create(
        REPLICASETS,
        "web",
        {
            "metadata": {"name": "rs"},
            "spec": {
                "selector": {"matchLabels": {"app": "x"}},
                "template": {
                    "metadata": {"labels": {"app": "x"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        },
    )
    world.source.create(LEASES, "web", {"metadata": {"name": "lease"}, "spec": {"holderIdentity": "me"}})
    world.source.create(CONFIGMAPS, "shop", {"metadata": {"name": "cm"}, "data": {}})
    sent = eventually(lambda: world.queued(), what="the sync for the ConfigMap")
    assert [m["kwargs"]["source_namespace"] for m in sent] == ["shop"]
    assert sent[0]["kwargs"]["trigger"] == "change"


def test_sync_now_on_a_paused_replication_waits_until_it_is_resumed(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher()
    paused = replication("web", paused=True)
    paused["metadata"]["annotations"] = {keys.ANNOTATION_SYNC_NOW: "please"}
    world.apply(paused)
    # the phase is written in the same reconcile that passed over the annotation
    eventually(lambda: _status(world, "web").get("phase") == "Paused", what="phase Paused")
    assert keys.ANNOTATION_SYNC_NOW in _metadata(world, "web")["annotations"]
    assert world.queued() == []

    world.patch("web", {"spec": {"paused": False}})
    eventually(
        lambda: keys.ANNOTATION_SYNC_NOW not in _metadata(world, "web").get("annotations", {}),
        what="the annotation to be used",
    )
    (message,) = world.queued()
    assert message["kwargs"]["trigger"] == "sync-now"


def test_switching_to_orphan_drops_the_finalizer_and_deletion_sends_no_cleanup(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher()
    world.apply(replication("web", cleanupOnDelete="Delete"))
    eventually(
        lambda: keys.FINALIZER_CLEANUP in _metadata(world, "web").get("finalizers", []), what="the finalizer"
    )
    world.patch("web", {"spec": {"cleanupOnDelete": "Orphan"}})
    eventually(
        lambda: keys.FINALIZER_CLEANUP not in _metadata(world, "web").get("finalizers", []),
        what="the finalizer to go",
    )
    world.delete("web")
    eventually(lambda: world.get("web") is None, what="the Replication to be gone")
    assert world.queued() == []


def test_sync_now_set_right_after_create_is_sent_without_waiting_for_the_full_reconcile(
    world: World, start_watcher: StartWatcher
) -> None:
    # the annotation lands while the watcher writes the new Replication's first status: that write
    # conflicts, is made again on a fresh read that holds the annotation, and must not count the
    # annotation as handled (the full reconcile, 5 minutes away here, would be the next to see it)
    start_watcher(resync_interval="300")
    # a watcher already watching: it sees the new object's ADDED event before the annotation's
    world.apply(replication("first", replicationMode="Manual", schedule=None))
    eventually(lambda: _status(world, "first").get("phase") == "Pending", what="the watcher to watch")
    # every controller request takes 300 ms: the annotation, sent right after the create, lands
    # while the watcher's status write for the create's ADDED event is on its way
    world.fleet["controller"].faults.set(latency_ms=300)
    world.apply(
        replication("eager", replicationMode="Manual", schedule=None, namespaceMappings=[{"source": "shop"}])
    )
    world.patch("eager", {"metadata": {"annotations": {keys.ANNOTATION_SYNC_NOW: "now"}}})
    world.fleet["controller"].faults.set(latency_ms=0)
    # the run's tasks (one per source namespace) are sent one after another: wait for both
    sent = eventually(
        lambda: (queued := world.queued()) and len(queued) >= 2 and queued,
        timeout_s=15,
        what="the sync-now run to be sent",
    )
    assert {m["kwargs"]["trigger"] for m in sent} == {"sync-now"}
    assert sorted(m["kwargs"]["source_namespace"] for m in sent) == ["shop", "web"]
    eventually(
        lambda: keys.ANNOTATION_SYNC_NOW not in _metadata(world, "eager").get("annotations", {}),
        what="the annotation to be removed",
    )
    eventually(lambda: _status(world, "eager").get("phase") == "Pending", what="its first status")
