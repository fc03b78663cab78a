"""The write journal: what a run wrote, per namespace, bounded."""

from __future__ import annotations

import pytest

from drsyncer.kube import journal


def test_writes_are_noted_inside_recording_only() -> None:
    journal.note("dr1", "configmaps", "shop", "outside", "1")
    with journal.recording() as writes:
        journal.note("dr1", "configmaps", "shop", "a", "5")
        journal.note("dr1", "configmaps", "shop", "a", "6")  # the last write stands
        journal.note("dr1", "configmaps", "shop", "b", journal.DELETED)
        journal.note("dr1", "namespaces", None, "shop", "9")
    assert writes.of("dr1", "configmaps", "shop") == {"a": "6", "b": journal.DELETED}
    assert writes.of("dr1", "namespaces", "") == {"shop": "9"}
    assert writes.of("dr2", "configmaps", "shop") == {}


def test_a_namespace_with_too_many_writes_is_only_known_to_have_many(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "MAX_NAMES", 2)
    with journal.recording() as writes:
        for name in ("a", "b", "c", "d"):
            journal.note("dr1", "configmaps", "big", name, "1")
        journal.note("dr1", "configmaps", "small", "x", "1")
    assert writes.of("dr1", "configmaps", "big") is None
    assert writes.of("dr1", "configmaps", "small") == {"x": "1"}
