"""Generated Replications, valid and invalid (tests/fixtures/fuzz.py), applied to the controller
with the watcher, beat and workers running: nothing crashes or stops reconciling, every invalid
object gets `InvalidSpec` naming the broken field (or is refused by the API server's schema, naming
it), and every valid one is scheduled.

40 objects in CI; `DRSYNCER_RELIABILITY_LONG=1` applies `DRSYNCER_FUZZ_OBJECTS` (default 1000).
"""

from __future__ import annotations

import random

from drsyncer.kube.errors import ApiError
from tests.fixtures import fuzz, reliability
from tests.integration.pipeline.conftest import NS, Pipeline, eventually

COUNT = reliability.sized(40, fuzz.OBJECTS)


def _scheduled(pipe: Pipeline) -> set[str]:
    members = {m.decode() for m in pipe.redis().zrange("redbeat::schedule", 0, -1)}
    return {m.split(f"{NS}/", 1)[1].split(":", 1)[0] for m in members if f"{NS}/" in m}


def test_generated_replications_are_scheduled_or_marked_invalid_naming_the_field(pipe: Pipeline) -> None:
    rng = random.Random(fuzz.SEED)
    ref = pipe.resolve("replications.dr-syncer.io")
    valid, invalid, refused = [], {}, 0
    for i in range(COUNT):
        generated = fuzz.replication(rng, f"fuzz-{i}", NS, invalid=rng.random() < 0.5)
        try:
            pipe.controller.create(ref, NS, generated.obj)
        except ApiError as exc:
            # the CRD's schema refused it before drsyncer saw it; it must say which field
            assert generated.broken is not None and exc.status == 422, (generated.obj, exc)
            assert generated.broken in str(exc), (generated.obj, str(exc))
            refused += 1
            continue
        pipe.created.append(generated.obj["metadata"]["name"])
        if generated.broken is None:
            valid.append(generated.obj["metadata"]["name"])
        else:
            invalid[generated.obj["metadata"]["name"]] = str(generated.expected_path)

    def invalid_marked() -> bool:
        for name, path in invalid.items():
            condition = pipe.condition(name, "InvalidSpec")
            assert condition.get("status") == "True", (name, condition)
            assert path in condition.get("message", ""), (name, path, condition)
        return True

    eventually(invalid_marked, timeout_s=120, what="InvalidSpec on every invalid Replication")
    eventually(lambda: set(valid) <= _scheduled(pipe), timeout_s=120,
               what="a schedule entry for every valid Replication")
    for name in valid:
        assert pipe.condition(name, "InvalidSpec").get("status") != "True", name
    for name in ("watcher", "beat", "worker-1", "worker-2"):
        assert pipe.procs[name].alive, f"{name} exited:\n{pipe.procs[name].tail()}"
    print(f"seed {fuzz.SEED}: {len(valid)} valid, {len(invalid)} invalid, {refused} refused by the schema")
    reliability.record("generated Replications, valid and invalid", converged=True, objects=COUNT,
                       seed=fuzz.SEED)
