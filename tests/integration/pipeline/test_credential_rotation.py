"""A kubeconfig Secret rotated in place reaches every worker process, though they share their
re-reads of it through Redis (drsyncer.kube.secret_reads): real watcher, beat and two workers of two
pool processes; clusters that ask for bearer tokens."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import yaml

from tests.fixtures.polling import eventually
from tests.integration.pipeline.conftest import SECRETS, Pipeline

NAMESPACES = [f"rotate-{i}" for i in range(6)]
NEW_TOKEN = "rotated-dr1-token"


@pytest.fixture(scope="module")
def pipeline_credentials() -> bool:
    return True


def _dr1_has(pipe: Pipeline, name: str) -> bool:
    return all(name in pipe.configmaps("dr1", ns) for ns in NAMESPACES)


def test_a_token_rotated_in_the_secret_reaches_every_worker_process(pipe: Pipeline) -> None:
    for namespace in NAMESPACES:
        pipe.seed(namespace, 2)
    pipe.apply_replication(
        "rotate",
        namespaceMappings=[{"source": ns} for ns in NAMESPACES],
        destinationClusters=["dr1"],
        schedule="@every 2s",
    )
    eventually(lambda: _dr1_has(pipe, "cm-00001"), timeout_s=60, what="the first copy to dr1")

    # dr1 takes a new token only: every process's client, built from the old Secret, is refused
    dr1 = pipe.sim("dr1")
    dr1.api.token = NEW_TOKEN
    pipe.credentials.append(NEW_TOKEN)
    for namespace in NAMESPACES:
        pipe.seed(namespace, 3)  # cm-00002 is new in every namespace
    eventually(
        lambda: re.search(r"\b401\b|Unauthorized", str(pipe.status("rotate"))),
        timeout_s=60,
        what="runs refused by dr1",
    )
    assert not any("cm-00002" in pipe.configmaps("dr1", ns) for ns in NAMESPACES)

    # the operator puts the new token in the Secret, in place
    config = dr1.kubeconfig_dict()
    config["users"][0]["user"]["token"] = NEW_TOKEN
    secret: dict[str, Any] = pipe.controller.get(SECRETS, pipe.ns, "dr1-kubeconfig")
    secret["data"] = {"kubeconfig": base64.b64encode(yaml.safe_dump(config).encode()).decode()}
    pipe.controller.replace(SECRETS, pipe.ns, secret)

    # every namespace, whichever process syncs it, reaches dr1 again within a few re-read intervals
    eventually(lambda: _dr1_has(pipe, "cm-00002"), timeout_s=60, what="every namespace copied again")
    # and a whole run, every namespace in it, completes: no process is left with the old token
    eventually(
        lambda: pipe.status("rotate").get("phase") == "Completed", timeout_s=60, what="a Completed run"
    )
    logs = pipe.logs()
    assert NEW_TOKEN not in logs
    assert "changed; using a new client" in logs
