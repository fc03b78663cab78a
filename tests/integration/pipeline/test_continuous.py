"""Continuous mode end to end: a change in the source reaches both destinations within seconds."""

from __future__ import annotations

import time

from tests.integration.pipeline.conftest import CONFIGMAPS, Pipeline, eventually


def test_continuous_mode_copies_a_source_change_to_both_destinations_within_ten_seconds(
    pipe: Pipeline,
) -> None:
    pipe.seed("live", 2)
    pipe.apply_replication("live", sourceNamespace="live", replicationMode="Continuous")
    eventually(lambda: pipe.status("live").get("phase") == "Completed", timeout_s=60, what="the first sync")
    eventually(
        lambda: all("cm-00001" in pipe.configmaps(c, "live") for c in ("dr1", "dr2")), what="the first copies"
    )
    # the watcher follows changes with a watch on the source's ConfigMaps, opened after its reconcile
    eventually(
        lambda: pipe.sim("source").counters().get("watch", {}).get("configmaps", 0) >= 1,
        what="the watcher's watch on the source ConfigMaps",
    )

    changed_at = time.monotonic()
    pipe.source.patch(CONFIGMAPS, "live", "cm-00001", {"data": {"value": "changed"}})
    for cluster in ("dr1", "dr2"):
        eventually(
            lambda c=cluster: pipe.configmaps(c, "live")["cm-00001"]["data"]["value"] == "changed",
            timeout_s=10 - (time.monotonic() - changed_at),
            what=f"the change on {cluster}",
        )
    assert time.monotonic() - changed_at < 10
