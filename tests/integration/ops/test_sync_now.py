"""`drsyncer sync-now` against a simulated controller cluster. The watcher and a worker are stood in
for by a thread that answers the annotation the way they do: remove it, phase Running, then the
run's status."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from drsyncer.api import keys
from drsyncer.cli import main
from tests.integration.ops.conftest import NS, Controller, replication


class StandIn:
    """Answers one sync-now request with a run of the given phase."""

    def __init__(self, controller: Controller, name: str, phase: str, under_way: bool = False) -> None:
        self.controller, self.name, self.phase = controller, name, phase
        self.under_way = under_way  # a run started before the request ends first
        self.stop = threading.Event()
        self.answered = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        client = self.controller.client()
        while not self.stop.wait(0.05):  # poll interval
            obj = self.controller.get(self.name) or {}
            request = (obj["metadata"].get("annotations") or {}).get(keys.ANNOTATION_SYNC_NOW)
            if request is None:
                continue
            client.patch(
                self.controller.replications,
                NS,
                self.name,
                {"metadata": {"annotations": {keys.ANNOTATION_SYNC_NOW: None}}},
            )
            self.controller.write_status(self.name, {"phase": "Running"})
            if self.under_way:  # it ends now, after the request, reporting what it copied before it
                done = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                self.controller.write_status(self.name, {"phase": "Completed", "lastSyncTime": done})
                if self.stop.wait(1.0):  # what the command sees meanwhile must not end its wait
                    return
                self.controller.write_status(self.name, {"phase": "Running"})
            # the stand-in's run lasts a moment, so the command sees it Running before it ends
            if self.stop.wait(0.3):
                return
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.controller.write_status(
                self.name,
                {
                    "phase": self.phase,
                    "lastSyncTime": now,
                    "lastSyncDuration": "0s",
                    "lastSyncRequest": request,
                    "syncStats": {"created": 4, "failed": 0 if self.phase == "Completed" else 1},
                    "targets": [
                        {
                            "cluster": "dr1",
                            "sourceNamespace": "shop",
                            "destinationNamespace": "shop",
                            "phase": self.phase,
                            "syncStats": {"created": 4},
                        }
                    ],
                },
            )
            self.answered.set()
            return


@pytest.fixture
def stand_in(controller: Controller) -> Iterator[type[StandIn]]:
    started: list[StandIn] = []

    def start(name: str, phase: str = "Completed", under_way: bool = False) -> StandIn:
        s = StandIn(controller, name, phase, under_way)
        s.thread.start()
        started.append(s)
        return s

    yield start  # type: ignore[misc]
    for s in started:
        s.stop.set()
        s.thread.join(5)


def test_sync_now_sets_the_annotation_and_returns(controller: Controller, capsys) -> None:
    controller.apply(replication("web"))

    assert main(["sync-now", *controller.flags, "web"]) == 0

    annotations = controller.get("web")["metadata"]["annotations"]
    assert annotations[keys.ANNOTATION_SYNC_NOW].endswith("Z")
    assert "sync requested" in capsys.readouterr().out


def test_sync_now_wait_follows_the_run_until_its_status_shows_it_finished(
    controller: Controller, stand_in, capsys
) -> None:
    # a finished run from before the request must not count as the answer
    controller.apply(replication("web"))
    controller.write_status("web", {"phase": "Completed", "lastSyncTime": "2020-01-01T00:00:00Z"})
    fake = stand_in("web")

    assert main(["sync-now", *controller.flags, "web", "--wait", "--timeout", "20"]) == 0

    assert fake.answered.is_set()
    out = capsys.readouterr().out
    assert "phase           Completed" in out


def test_sync_now_wait_does_not_take_a_run_already_under_way_for_its_own(
    controller: Controller, stand_in, capsys
) -> None:
    # the creation run, say: started before the request, it ends after it
    controller.apply(replication("web"))
    fake = stand_in("web", phase="Failed", under_way=True)

    assert main(["sync-now", *controller.flags, "web", "--wait", "--timeout", "20"]) == 1

    assert fake.answered.is_set()  # it waited for the run that answered it, which failed
    assert "phase           Failed" in capsys.readouterr().out


def test_sync_now_wait_exits_1_when_the_run_did_not_complete(
    controller: Controller, stand_in, capsys
) -> None:
    controller.apply(replication("web"))
    stand_in("web", phase="PartiallyFailed")

    assert main(["sync-now", *controller.flags, "web", "--wait", "--timeout", "20"]) == 1
    assert "PartiallyFailed" in capsys.readouterr().out


def test_sync_now_wait_gives_up_after_the_timeout(controller: Controller, capsys) -> None:
    controller.apply(replication("web"))

    started = time.monotonic()
    assert main(["sync-now", *controller.flags, "web", "--wait", "--timeout", "1"]) == 1

    assert time.monotonic() - started < 10
    err = capsys.readouterr().err.strip()
    assert err.startswith("drsyncer sync-now: no run finished within 1s")
    assert "waiting for the watcher" in err


def test_sync_now_wait_on_a_paused_replication_says_so_at_once_off_a_terminal(
    controller: Controller, capsys
) -> None:
    # piped output (CI, a script) draws no spinner: the user still learns at once why nothing runs
    controller.apply(replication("web", paused=True))

    assert main(["sync-now", *controller.flags, "web", "--wait", "--timeout", "1"]) == 1

    captured = capsys.readouterr()
    assert "warning: it is paused (spec.paused); the run starts when it is resumed" in captured.out
    assert "waiting: the Replication is paused; the run starts when it is resumed" in captured.out
    assert "no run finished within 1s" in captured.err


def test_sync_now_wait_prints_each_stage_once_off_a_terminal(
    controller: Controller, stand_in, capsys
) -> None:
    controller.apply(replication("web"))
    stand_in("web")

    assert main(["sync-now", *controller.flags, "web", "--wait", "--timeout", "20"]) == 0

    out = capsys.readouterr().out
    # the command polls every half second for a few seconds: one line per stage, not per poll, and
    # no frame of a progress bar (its bar and spinner glyphs)
    assert out.count("waiting for the watcher to send the run") == 1
    assert "finished: Completed\n" in out
    assert "━" not in out and "⠋" not in out
    assert "phase           Completed" in out


def test_sync_now_of_an_unknown_replication_is_one_line_and_exit_1(controller: Controller, capsys) -> None:
    assert main(["sync-now", *controller.flags, "missing"]) == 1
    assert capsys.readouterr().err.strip() == "drsyncer sync-now: Replication dr-system/missing not found"


def test_sync_now_wait_refuses_an_invalid_replication_at_once(controller: Controller, capsys) -> None:
    controller.apply(replication("typo", schedule="every tuesday"))

    started = time.monotonic()
    assert main(["sync-now", *controller.flags, "typo", "--wait", "--timeout", "60"]) == 1

    assert time.monotonic() - started < 10
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        "drsyncer sync-now: Replication dr-system/typo would never run: its spec is invalid: spec.schedule:"
    )
    assert keys.ANNOTATION_SYNC_NOW not in (controller.get("typo")["metadata"].get("annotations") or {})


def test_sync_now_wait_refuses_a_selector_that_matches_no_namespace(controller: Controller, capsys) -> None:
    controller.apply(_selector_replication("empty"))
    message = (
        "spec.namespaceSelector matches no namespace of source cluster source; "
        "nothing is synced until one does"
    )
    controller.write_status(
        "empty",
        {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "NoSourceNamespaces",
                    "message": message,
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                    "observedGeneration": 1,
                }
            ],
        },
    )

    assert main(["sync-now", *controller.flags, "empty", "--wait", "--timeout", "60"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"drsyncer sync-now: Replication dr-system/empty would never run: {message}"


def test_sync_now_without_wait_on_an_invalid_replication_sets_the_annotation_and_warns(
    controller: Controller, capsys
) -> None:
    controller.apply(replication("typo", schedule="every tuesday"))

    assert main(["sync-now", *controller.flags, "typo"]) == 0

    assert keys.ANNOTATION_SYNC_NOW in controller.get("typo")["metadata"]["annotations"]
    assert "warning: it runs only once this is fixed: its spec is invalid" in capsys.readouterr().out


def _selector_replication(name: str) -> dict:
    """A Replication whose namespaceSelector matches no namespace of the source."""
    obj = replication(name, namespaceSelector={"matchLabels": {"dr": "nothing-has-this"}})
    del obj["spec"]["sourceNamespace"]
    return obj
