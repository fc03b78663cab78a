"""Generated Replications, NamespaceMappings and RemoteClusters (tests/fixtures/fuzz.py, hypothesis):
parsing never raises anything but `InvalidSpec`, every broken object is refused with an error naming
the broken field, and every valid one is accepted."""

from __future__ import annotations

import copy

from hypothesis import given

from drsyncer.api.namespacemapping import parse_namespace_mapping
from drsyncer.api.parse import InvalidSpec
from tests.fixtures import fuzz
from tests.unit.api.builders import remote_cluster_errors, replication_errors

EXAMPLES = 100


def _namespace_mapping_errors(obj: dict) -> list[str]:
    try:
        parse_namespace_mapping(copy.deepcopy(obj))
    except InvalidSpec as exc:
        return exc.errors
    return []


def _check(generated: fuzz.Generated, errors: list[str]) -> None:
    if generated.broken is None:
        assert errors == [], (generated.obj, errors)
    else:
        assert any(e.startswith(generated.broken) for e in errors), (generated.broken, generated.obj, errors)


@fuzz.fixed(EXAMPLES)
@given(fuzz.replications("dr-system"))
def test_generated_replications_are_accepted_or_refused_naming_the_broken_field(
    generated: fuzz.Generated,
) -> None:
    _check(generated, replication_errors(generated.obj))


@fuzz.fixed(EXAMPLES)
@given(fuzz.namespace_mappings("dr-system"))
def test_generated_namespace_mappings_are_accepted_or_refused_naming_the_broken_field(
    generated: fuzz.Generated,
) -> None:
    _check(generated, _namespace_mapping_errors(generated.obj))


@fuzz.fixed(EXAMPLES)
@given(fuzz.remote_clusters("dr-system"))
def test_generated_remote_clusters_are_accepted_or_refused_naming_the_broken_field(
    generated: fuzz.Generated,
) -> None:
    _check(generated, remote_cluster_errors(generated.obj))
