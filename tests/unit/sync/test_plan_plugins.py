"""Plugins in a plan: filters skip, transforms shape the copy inside the source hash, a failing hook
fails its object only, a plugin that is not installed fails the plan, and plugin transforms run
after the built-in transforms and the modifiers."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest
from kubernetes import client as k8s_client

from drsyncer.api import keys
from drsyncer.api.replication import Phase
from drsyncer.errors import CategorisedError, Category
from drsyncer.kube.client import ClusterClient
from drsyncer.plugins import PluginContext
from drsyncer.plugins.contract import ENTRY_POINT_GROUP
from drsyncer.plugins.registry import discover
from drsyncer.sync.execute import execute
from drsyncer.sync.objects import key_of
from drsyncer.sync.plan import Op, Plan, plan
from tests.unit.plugins.registry import sample_line, sample_registry
from tests.unit.sync.factories import DEST_NS, SOURCE_NS, configmap, deployment, rules

REGISTRY = sample_registry()
EXPLODED = (
    f"plugin \"exploding\": transform raised KeyError: 'host' ({sample_line('raise KeyError')}, in "
    "Exploding.transform)"
)


def plan_with(source: list[dict[str, Any]], plugins: list[dict[str, Any]], destination: Any = None) -> Plan:
    return plan(
        source,
        destination or {},
        rules(plugins=plugins),
        source_namespace=SOURCE_NS,
        destination_namespace=DEST_NS,
        prune=True,
        destination_cluster="dr1",
        registry=REGISTRY,
    )


def by_name(the_plan: Plan) -> dict[str, Any]:
    return {a.key.name: a for a in the_plan}


def test_the_copy_is_the_plugin_transformed_object_with_marks() -> None:
    action = by_name(
        plan_with([configmap(data={"host": "a"})], [{"name": "suffix", "parameters": {"suffix": ".dr"}}])
    )["settings"]
    assert action.op == Op.CREATE
    assert action.body["data"] == {"host": "a.dr", "cluster": "dr1"}
    assert action.body["metadata"]["labels"][keys.LABEL_MANAGED_BY] == "drsyncer"


def test_a_plugin_filter_skips_with_its_reason_and_the_skipped_copy_is_not_pruned() -> None:
    kept, local = configmap("kept"), configmap("local", labels={"local-only": "yes"})
    first = plan_with([kept, local], [{"name": "local-only"}])
    existing = {a.key: a.desired for a in first if a.desired}
    # a copy of `local` written before the plugin was named stays: its source still exists
    existing[key_of(local, DEST_NS)] = {**local, "metadata": {**local["metadata"], "namespace": DEST_NS}}
    actions = by_name(plan_with([kept, local], [{"name": "local-only"}], existing))
    assert actions["local"].op == Op.SKIP
    assert actions["local"].reason == 'plugin "local-only": labelled local-only'
    assert actions["kept"].op == Op.UNCHANGED


def test_a_transform_skip_is_a_skip_with_the_plugin_reason() -> None:
    actions = by_name(plan_with([configmap("web")], [{"name": "suffix", "parameters": {"skipName": "web"}}]))
    assert (actions["web"].op, actions["web"].reason) == (Op.SKIP, 'plugin "suffix": not wanted in DR')


def test_a_parameter_change_rewrites_the_copy_and_no_change_writes_nothing() -> None:
    source = [configmap(data={"host": "a"})]
    plugins = [{"name": "suffix", "parameters": {"suffix": ".dr", "note": "one"}}]
    first = plan_with(source, plugins)
    existing = {a.key: a.desired for a in first if a.desired}
    assert [a.op for a in plan_with(source, plugins, existing)] == [Op.UNCHANGED]
    # the output is the same, but the parameters differ: the hash covers them
    changed = [{"name": "suffix", "parameters": {"suffix": ".dr", "note": "two"}}]
    assert [a.op for a in plan_with(source, changed, existing)] == [Op.UPDATE]


def test_copies_without_plugins_keep_the_hash_they_had() -> None:
    with_none = plan_with([configmap()], [])
    assert with_none.actions[0].source_hash == plan_with([configmap()], []).actions[0].source_hash
    with_plugin = plan_with([configmap()], [{"name": "local-only"}])
    assert with_plugin.actions[0].source_hash != with_none.actions[0].source_hash


def test_a_hook_failing_on_one_object_fails_that_object_and_plans_the_others() -> None:
    the_plan = plan_with([configmap("bad"), configmap("good")], [{"name": "exploding"}])
    actions = by_name(the_plan)
    assert actions["bad"].op == Op.FAIL
    assert actions["bad"].reason == EXPLODED
    assert actions["good"].op == Op.CREATE
    assert not actions["bad"].writes
    # what the run reports: counted as failed, listed with the message
    counts = the_plan.counts()["ConfigMap"]
    assert (counts.failed, counts.created) == (1, 1)
    assert str(actions["bad"].failure_record()) == (f"NonRetryable: ConfigMap {DEST_NS}/bad: {EXPLODED}")


def test_a_plugin_that_is_not_installed_fails_the_whole_plan() -> None:
    with pytest.raises(CategorisedError, match=r'spec\.plugins\[0\]\.name: plugin "absent" is not installed'):
        plan_with([configmap()], [{"name": "absent"}])


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_run_reports_the_failed_object_with_its_message_and_writes_nothing_for_it(dry_run: bool) -> None:
    the_plan = plan_with([configmap("bad")], [{"name": "exploding"}])
    # nothing to write: the destination (an address nothing answers on) is never contacted
    unreachable = ClusterClient(
        k8s_client.ApiClient(k8s_client.Configuration(host="https://dr1.invalid")), name="dr1"
    )
    result = execute(the_plan, unreachable, rules(plugins=[{"name": "exploding"}]), dry_run=dry_run)
    assert result.phase is Phase.FAILED
    assert result.totals.failed == 1
    assert [(e.name, e.category, e.message) for e in result.errors] == [
        ("bad", Category.NON_RETRYABLE, EXPLODED)
    ]


class Trail:
    """Appends `parameters.mark` and the replicas it sees to the `trail` annotation."""

    @staticmethod
    def transform(obj: dict[str, Any], context: PluginContext) -> dict[str, Any]:
        annotations = obj["metadata"].setdefault("annotations", {})
        seen = f"{context.parameters['mark']}(replicas={obj['spec']['replicas']})"
        annotations["trail"] = ",".join(filter(None, [annotations.get("trail"), seen]))
        return obj


TRAIL_REGISTRY = discover([EntryPoint("trail", f"{__name__}:Trail", ENTRY_POINT_GROUP)])


def _trail_copy(modifier_mark: str, plugin_mark: str) -> Any:
    # the modifier's `test` fails unless the built-in scale-to-zero ran before it
    modifier = {
        "resources": ["deployments.apps"],
        "jsonPatch": [
            {"op": "test", "path": "/spec/replicas", "value": 0},
            {"op": "add", "path": "/metadata/annotations/trail", "value": modifier_mark},
        ],
    }
    [action] = plan(
        [deployment("web", replicas=3)],
        {},
        rules(modifiers=[modifier], plugins=[{"name": "trail", "parameters": {"mark": plugin_mark}}]),
        source_namespace=SOURCE_NS,
        destination_namespace=DEST_NS,
        prune=False,
        destination_cluster="dr1",
        registry=TRAIL_REGISTRY,
    )
    assert action.op == Op.CREATE, action.reason
    return action


def test_built_in_transforms_then_modifiers_then_plugins_and_the_hash_covers_both() -> None:
    action = _trail_copy("modifier", "plugin")
    assert action.body["metadata"]["annotations"]["trail"] == "modifier,plugin(replicas=0)"
    assert action.body["spec"]["replicas"] == 0
    hashes = {
        _trail_copy(modifier, plugin).source_hash
        for modifier, plugin in [("modifier", "plugin"), ("changed", "plugin"), ("modifier", "changed")]
    }
    assert len(hashes) == 3
    assert _trail_copy("modifier", "plugin").source_hash == action.source_hash
