"""The task contract between the watcher and the workers survives a JSON round trip."""

import json

from drsyncer.task_contract import ReplicationRef, SyncJob, Target

JOB = SyncJob(
    ReplicationRef("Replication", "dr-system", "web", "u1", 4),
    "prod",
    "shop",
    (Target("dr1", "shop"), Target("dr2", "shop-dr")),
)


def test_kwargs_match_the_documented_contract() -> None:
    assert JOB.to_kwargs() == {
        "replication": {
            "kind": "Replication",
            "namespace": "dr-system",
            "name": "web",
            "uid": "u1",
            "generation": 4,
        },
        "source_cluster": "prod",
        "source_namespace": "shop",
        "targets": [{"cluster": "dr1", "namespace": "shop"}, {"cluster": "dr2", "namespace": "shop-dr"}],
        "mode": "Scheduled",
        "run_id": None,
        "trigger": "schedule",
    }


def test_a_job_survives_json_both_ways_and_attempt_is_sent_only_on_retries() -> None:
    assert SyncJob.from_kwargs(json.loads(json.dumps(JOB.to_kwargs()))) == JOB
    retry = SyncJob(JOB.replication, "prod", "shop", JOB.targets, run_id="r", trigger="retry", attempt=2)
    assert retry.to_kwargs()["attempt"] == 2
    assert SyncJob.from_kwargs(retry.to_kwargs()) == retry


def test_unknown_keys_are_ignored_and_missing_optional_ones_defaulted() -> None:
    job = SyncJob.from_kwargs(
        {
            "replication": {"namespace": "a", "name": "b"},
            "source_cluster": "s",
            "source_namespace": "n",
            "added_later": True,
        }
    )
    assert job.replication == ReplicationRef("Replication", "a", "b", "", 0)
    defaults = ((), "Scheduled", None, "schedule", 0)
    assert (job.targets, job.mode, job.run_id, job.trigger, job.attempt) == defaults
    assert job.replication.resource == "replications.dr-syncer.io"
    assert ReplicationRef("NamespaceMapping", "a", "b", "", 0).resource == "namespacemappings.dr-syncer.io"
