"""The executor's second decision (after a write met 409 or AlreadyExists) is the planner's decision
about the object as it is then: `decide(wanted_again(planned), fresh)` equals a fresh plan's action."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from drsyncer.api import keys
from drsyncer.sync.decide import decide, wanted_again
from drsyncer.sync.objects import key_of
from drsyncer.sync.plan import Action, Op, plan
from tests.unit.sync.factories import DEST_NS, SOURCE_NS, Obj, configmap, deployment, obj, rules

SYNC_RULES = rules(resourceTypes=["configmaps", "deployments"])


def _planned(source: Obj, destination: Obj | None) -> Action:
    dest = {} if destination is None else {key_of(destination): destination}
    (action,) = plan(
        [source], dest, SYNC_RULES, source_namespace=SOURCE_NS, destination_namespace=DEST_NS, prune=False
    )
    return action


def _copy_of(source: Obj) -> Obj:
    """The copy a previous sync wrote, as the destination serves it."""
    body = copy.deepcopy(_planned(source, None).body)
    assert body is not None
    body["metadata"].update(uid="dest-uid", resourceVersion="7")
    return body


def _being_deleted(obj: Obj) -> None:
    obj["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z", finalizers=["example.com/hold"])


def _other_replication(obj: Obj) -> None:
    obj["metadata"]["annotations"][keys.ANNOTATION_REPLICATION] = "other/replication"


def _other_namespace(obj: Obj) -> None:
    obj["metadata"]["annotations"][keys.ANNOTATION_SOURCE_NAMESPACE] = "elsewhere"


def _unmarked(obj: Obj) -> None:
    obj["metadata"]["annotations"] = {}
    obj["metadata"]["labels"] = {}


def _same_source(_obj: Obj) -> None:
    """Leaves the copy as planned: another run already wrote this very copy."""


def _selector_changed(obj: Obj) -> None:
    """A copy of an older source whose selector differed (immutable in apps/v1)."""
    obj["metadata"]["annotations"][keys.ANNOTATION_SOURCE_HASH] = "older"
    obj["spec"]["selector"] = {"matchLabels": {"app": "old"}}
    obj["spec"]["template"]["metadata"]["labels"] = {"app": "old"}


CHANGES: dict[str, Callable[[Obj], None]] = {
    "being deleted": _being_deleted,
    "owned by another Replication": _other_replication,
    "copied from another source namespace": _other_namespace,
    "without marks": _unmarked,
    "already this copy": _same_source,
    "immutable field differs": _selector_changed,
}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("planned_op", [Op.CREATE, Op.UPDATE])
def test_deciding_again_on_a_fresh_read_gives_what_a_fresh_plan_gives(planned_op: Op, change: str) -> None:
    source = deployment("web")
    older = copy.deepcopy(source)
    older["spec"]["replicas"] = 1
    planned = _planned(source, None if planned_op == Op.CREATE else _copy_of(older))
    assert planned.op == planned_op
    fresh = _copy_of(source)
    CHANGES[change](fresh)

    again = decide(wanted_again(planned), fresh, SYNC_RULES, source_namespace=SOURCE_NS, server_version=None)

    assert again == _planned(source, fresh)


def test_an_absent_object_is_created() -> None:
    planned = _planned(configmap(), None)
    assert decide(planned, None, SYNC_RULES, source_namespace=SOURCE_NS, server_version=None) == planned


def test_an_ingress_copy_differing_only_by_the_destinations_default_class_is_unchanged() -> None:
    ingress_rules = rules(resourceTypes=["ingresses"])
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    source = obj("networking.k8s.io/v1", "Ingress", "web", spec={"defaultBackend": backend})

    def planned(source: Obj, held: Obj | None) -> Action:
        dest = {} if held is None else {key_of(held): held}
        (action,) = plan(
            [source],
            dest,
            ingress_rules,
            source_namespace=SOURCE_NS,
            destination_namespace=DEST_NS,
            prune=False,
        )
        return action

    held = copy.deepcopy(planned(source, None).body)
    assert held is not None
    held["metadata"].update(uid="dest-uid", resourceVersion="7")
    held["spec"]["ingressClassName"] = "dr-nginx"  # as the destination's DefaultIngressClass admission set it

    assert planned(source, held).op == Op.UNCHANGED
    relabelled = copy.deepcopy(source)
    relabelled["metadata"]["labels"] = {"team": "a"}
    update = planned(relabelled, held)
    assert update.op == Op.UPDATE and update.immutable is None
    assert update.body is not None and update.body["spec"]["ingressClassName"] == "dr-nginx"
