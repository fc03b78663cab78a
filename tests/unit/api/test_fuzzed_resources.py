"""Seeded, generated Replications and RemoteClusters (tests/fixtures/fuzz.py): parsing never
raises anything but `InvalidSpec`, every broken object is refused with an error naming the broken
field, and every valid one is accepted."""

from __future__ import annotations

import random

from tests.fixtures import fuzz
from tests.unit.api.builders import remote_cluster_errors, replication_errors


def test_generated_replications_are_accepted_or_refused_naming_the_broken_field() -> None:
    rng = random.Random(fuzz.SEED)
    for i in range(fuzz.OBJECTS):
        generated = fuzz.replication(rng, f"fuzz-{i}", "dr-system", invalid=rng.random() < 0.5)
        errors = replication_errors(generated.obj)
        if generated.broken is None:
            assert errors == [], (generated.obj, errors)
        else:
            assert any(e.startswith(str(generated.expected_path)) for e in errors), (generated.obj, errors)


def test_generated_remote_clusters_are_accepted_or_refused_naming_the_broken_field() -> None:
    rng = random.Random(fuzz.SEED + 1)
    for i in range(fuzz.OBJECTS):
        generated = fuzz.remote_cluster(rng, f"fuzz-{i}", "dr-system", invalid=rng.random() < 0.5)
        errors = remote_cluster_errors(generated.obj)
        if generated.broken is None:
            assert errors == [], (generated.obj, errors)
        else:
            assert any(e.startswith(str(generated.expected_path)) for e in errors), (generated.obj, errors)
