"""Planning the schedule: one job per (Replication, source namespace), entries only for periodic ones."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.api.parse import InvalidSpec, parse_remote_cluster
from drsyncer.api.remotecluster import RemoteCluster
from scheduler.entries import (
    Target,
    Trigger,
    entry_name,
    jobs_for,
    plan,
    read_remote_clusters,
    read_replication,
)
from tests.unit.api.builders import DROP, remote_cluster_dict, replication_dict
from tests.unit.plugins.registry import sample_registry

PROD = "dr-system/prod"
NAMESPACES = {"prod": {"web": {"team": "a"}, "shop": {"team": "a", "tier": "1"}, "ops": {"team": "b"}}}


def _remote(**spec: Any) -> dict[str, RemoteCluster]:
    return read_remote_clusters([remote_cluster_dict(**spec)])


def _obj(meta: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    obj = replication_dict(**spec)
    obj["metadata"].update({"uid": "u-1", "generation": 3, **(meta or {})})
    return obj


def _entries(
    *objs: dict[str, Any],
    remote: dict[str, RemoteCluster] | None = None,
    namespaces: dict[str, Any] | None = None,
) -> dict[str, Any]:
    remote = remote if remote is not None else _remote()
    spaces = {PROD: NAMESPACES["prod"]} if namespaces is None else namespaces
    reads = [read_replication(o, remote) for o in objs]
    return plan(reads, remote, spaces).entries


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, {"web"}),
        ({"namespaceMappings": [{"source": "shop", "destination": "shop-dr"}]}, {"web", "shop"}),
        ({"sourceNamespace": DROP, "namespaceSelector": {"matchLabels": {"team": "a"}}}, {"web", "shop"}),
        (
            {
                "sourceNamespace": DROP,
                "namespaceSelector": {"matchLabels": {"tier": "1"}},
                "namespaceMappings": [{"source": "ops"}],
            },
            {"shop", "ops"},
        ),
        ({"sourceNamespace": DROP, "namespaceSelector": {"matchLabels": {"team": "nobody"}}}, set()),
    ],
)
def test_one_entry_per_source_namespace(spec: dict[str, Any], expected: set[str]) -> None:
    entries = _entries(_obj(**spec))
    assert set(entries) == {entry_name("Replication", "dr-system", "web", ns) for ns in expected}
    assert {job.source_namespace for job in entries.values()} == expected


def test_entry_carries_generation_uid_targets_mode_and_schedule() -> None:
    obj = _obj(destinationClusters=["dr2"], destinationNamespace="web-dr", schedule="@every 10s")
    (job,) = _entries(obj).values()
    assert job.name == "drsyncer:dr-system/web:web"
    kwargs = job.task_kwargs()
    assert kwargs == {
        "replication": {
            "kind": "Replication",
            "namespace": "dr-system",
            "name": "web",
            "uid": "u-1",
            "generation": 3,
        },
        "source_cluster": "prod",
        "source_namespace": "web",
        "targets": [{"cluster": "dr1", "namespace": "web-dr"}, {"cluster": "dr2", "namespace": "web-dr"}],
        "mode": "Scheduled",
        "run_id": None,
        "trigger": "schedule",
    }
    assert job.schedule == "@every 10s"
    assert job.targets == (Target("dr1", "web-dr"), Target("dr2", "web-dr"))


@pytest.mark.parametrize(
    ("spec", "remote_spec", "schedule"),
    [
        ({}, {}, "*/5 * * * *"),
        ({}, {"defaultSchedule": "0 * * * *"}, "0 * * * *"),
        ({"schedule": "@daily"}, {"defaultSchedule": "0 * * * *"}, "@daily"),
        ({"replicationMode": "Continuous"}, {}, "@every 1h"),
        (
            {"replicationMode": "Continuous", "continuous": {"backgroundSyncInterval": "90s"}},
            {},
            "@every 1m30s",
        ),
    ],
)
def test_schedule_comes_from_the_spec_the_source_cluster_or_the_default(
    spec: dict[str, Any], remote_spec: dict[str, Any], schedule: str
) -> None:
    (job,) = _entries(_obj(**spec), remote=_remote(**remote_spec)).values()
    assert job.schedule == schedule


def test_continuous_entry_is_a_background_resync() -> None:
    (job,) = _entries(_obj(replicationMode="Continuous")).values()
    assert job.trigger is Trigger.BACKGROUND
    assert job.task_kwargs()["mode"] == "Continuous"


@pytest.mark.parametrize(
    ("spec", "meta"),
    [
        ({"paused": True}, {}),
        ({"replicationMode": "Manual"}, {}),
        ({"schedule": "not a cron"}, {}),
        ({"schedule": "0 0 * * 7"}, {}),  # croniter takes 7 for Sunday, Celery's crontab does not
        ({"destinationCluster": "prod"}, {}),
        ({}, {"deletionTimestamp": "2026-01-01T00:00:00Z"}),
    ],
)
def test_no_entries_for_paused_manual_invalid_or_deleted(spec: dict[str, Any], meta: dict[str, Any]) -> None:
    assert _entries(_obj(meta, **spec)) == {}


def test_invalid_spec_is_read_with_field_errors() -> None:
    read = read_replication(_obj(schedule="61 * * * *"), {})
    assert read.model is None
    assert any(e.startswith("spec.schedule") for e in read.errors)


def test_a_default_schedule_beat_cannot_run_makes_the_remote_cluster_invalid_naming_the_field() -> None:
    # refused where the RemoteCluster is validated (its check reports it), not first by the watcher
    # in each Replication that inherits it
    with pytest.raises(InvalidSpec) as refused:
        parse_remote_cluster(remote_cluster_dict(defaultSchedule="0 0 * * 7"))
    assert refused.value.errors == [
        'spec.defaultSchedule: "0 0 * * 7" is not a valid cron expression: day of week "7": 0-6 or '
        "SUN-SAT, Sunday is 0"
    ]
    assert _remote(defaultSchedule="0 0 * * 7") == {}


def test_manual_mode_still_has_jobs_to_send_on_request() -> None:
    read = read_replication(_obj(replicationMode="Manual"), {})
    result = plan([read], {}, {})
    assert result.entries == {}
    (job,) = result.jobs[("Replication", "dr-system", "web")]
    assert job.schedule is None and job.task_kwargs(Trigger.SYNC_NOW, "r1")["trigger"] == "sync-now"


@pytest.mark.parametrize(
    ("spec", "trigger"),
    [
        # a switch of mode by a patch of replicationMode alone leaves the other mode's settings behind
        ({"replicationMode": "Manual", "schedule": "*/5 * * * *"}, None),
        ({"replicationMode": "Manual", "continuous": {"backgroundSyncInterval": "2h"}}, None),
        ({"replicationMode": "Continuous", "schedule": "*/5 * * * *"}, Trigger.BACKGROUND),
        ({"replicationMode": "Scheduled", "continuous": {"backgroundSyncInterval": "2h"}}, Trigger.SCHEDULE),
    ],
)
def test_settings_left_from_another_mode_do_not_stop_the_replication(
    spec: dict[str, Any], trigger: Trigger | None
) -> None:
    read = read_replication(_obj(**spec), {})
    assert read.model is not None, read.errors
    result = plan([read], {}, {})
    (job,) = result.jobs[("Replication", "dr-system", "web")]
    if trigger is None:
        assert result.entries == {} and job.schedule is None
    else:
        assert [e.trigger for e in result.entries.values()] == [trigger]


def test_selector_without_known_namespaces_plans_only_explicit_ones() -> None:
    obj = _obj(namespaceSelector={"matchLabels": {"team": "a"}}, sourceNamespace="ops")
    result = plan([read_replication(obj, {})], {}, {})
    assert {j.source_namespace for j in result.entries.values()} == {"ops"}
    assert result.selector_sources == {PROD}


def test_legacy_namespace_mapping_gets_its_own_entry_names() -> None:
    legacy = {
        "apiVersion": "dr-syncer.io/v1alpha1",
        "kind": "NamespaceMapping",
        "metadata": {"name": "web", "namespace": "dr-system", "uid": "u-2", "generation": 1},
        "spec": {"sourceCluster": "prod", "destinationCluster": "dr1", "sourceNamespace": "web"},
    }
    entries = _entries(legacy, _obj())
    assert set(entries) == {"drsyncer:dr-system/web:web", "drsyncer:dr-system/NamespaceMapping/web:web"}
    assert entries["drsyncer:dr-system/NamespaceMapping/web:web"].replication.kind == "NamespaceMapping"


def test_jobs_for_uses_the_source_clusters_namespaces() -> None:
    model = read_replication(
        _obj(sourceNamespace=DROP, namespaceSelector={"matchLabels": {"team": "b"}}), {}
    ).model
    assert model is not None
    assert [j.source_namespace for j in jobs_for(model, {}, {PROD: NAMESPACES["prod"]})] == ["ops"]
    assert jobs_for(model, {}, {}) == []


def test_a_namespace_copied_under_two_names_is_one_entry_writing_both() -> None:
    obj = _obj(destinationClusters=["dr2"], namespaceMappings=[{"source": "web", "destination": "web-copy"}])
    (job,) = _entries(obj).values()
    assert job.targets == (
        Target("dr1", "web"),
        Target("dr2", "web"),
        Target("dr1", "web-copy"),
        Target("dr2", "web-copy"),
    )


def test_a_missing_plugin_is_reported_in_the_same_round_as_the_spec_s_other_errors() -> None:
    obj = _obj(schedule="every day", resourceTypes=["deploymnets"], plugins=[{"name": "gone"}, {"name": 5}])
    read = read_replication(obj, {}, sample_registry())
    assert read.model is None
    fields = [error.split(":")[0] for error in read.errors]
    assert "spec.schedule" in fields and "spec.resourceTypes[0]" in fields, read.errors
    # the entry that parses is checked against what is installed; the one that does not is a field error
    assert 'spec.plugins[0].name: plugin "gone" is not installed' in "\n".join(read.errors), read.errors
    assert "spec.plugins[1].name" in fields, read.errors


def test_a_plugin_not_installed_or_rejecting_its_parameters_makes_the_spec_invalid() -> None:
    registry = sample_registry()
    missing = read_replication(_obj(plugins=[{"name": "suffix"}, {"name": "gone"}]), {}, registry)
    assert missing.model is None
    assert missing.errors == (
        'spec.plugins[1].name: plugin "gone" is not installed (installed plugins: exploding, local-only, '
        "missing-module, no-hooks, renaming, returns-nothing, strict, suffix; see `drsyncer plugins`)",
    )
    rejected = read_replication(_obj(plugins=[{"name": "suffix", "parameters": {"suffix": 5}}]), {}, registry)
    assert rejected.errors == ("spec.plugins[0].parameters.suffix: must be a string",)
    fine = read_replication(_obj(plugins=[{"name": "suffix", "parameters": {"suffix": ".dr"}}]), {}, registry)
    assert fine.model is not None
