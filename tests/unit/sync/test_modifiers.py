"""spec.modifiers applied to copies: every operation, every condition, the failures, and the hash."""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

import pytest
import yaml

from drsyncer.api import keys
from drsyncer.api.modifiers import ImageRewrite
from drsyncer.errors import CategorisedError, Category
from drsyncer.sync.modifiers import rewrite_image, split_image
from drsyncer.sync.objects import key_of
from drsyncer.sync.plan import Op, plan
from tests.unit.sync.factories import DEST_NS, SOURCE_NS, configmap, deployment, obj, rules

Obj = dict[str, Any]


def _ingress(name: str = "web", host: str = "shop.example.com", **kw: Any) -> Obj:
    return obj("networking.k8s.io/v1", "Ingress", name, spec={"rules": [{"host": host}]}, **kw)


def _copy(source: Obj, modifiers: list[Obj], cluster: str = "dr1") -> Obj:
    """The body planned for `cluster`, which must be a create."""
    [action] = plan(
        [source],
        {},
        rules(modifiers=modifiers),
        source_namespace=SOURCE_NS,
        destination_namespace=DEST_NS,
        prune=False,
        destination_cluster=cluster,
    )
    assert action.op == Op.CREATE, action.reason
    assert action.body is not None
    return action.body


def _failure(source: Obj, modifiers: list[Obj], cluster: str = "dr1") -> str:
    [action] = plan(
        [source],
        {},
        rules(modifiers=modifiers),
        source_namespace=SOURCE_NS,
        destination_namespace=DEST_NS,
        prune=False,
        destination_cluster=cluster,
    )
    assert action.op == Op.FAIL
    return action.reason


HOST = "/spec/rules/0/host"
REPLACE_HOST = {"jsonPatch": [{"op": "replace", "path": HOST, "value": "dr.example.com"}]}

# (operation fields of a rule, the source, a function of the copy, what it must give)
OPERATIONS: list[tuple[str, Obj, Obj, Any, Any]] = [
    (
        "jsonPatch replace",
        REPLACE_HOST,
        _ingress(),
        lambda c: c["spec"]["rules"][0]["host"],
        "dr.example.com",
    ),
    (
        "jsonPatch add",
        {"jsonPatch": [{"op": "add", "path": "/spec/ingressClassName", "value": "dr"}]},
        _ingress(),
        lambda c: c["spec"]["ingressClassName"],
        "dr",
    ),
    (
        "jsonPatch remove",
        {"jsonPatch": [{"op": "remove", "path": "/spec/rules/0/host"}]},
        _ingress(),
        lambda c: c["spec"]["rules"][0],
        {},
    ),
    (
        "jsonPatch copy",
        {"jsonPatch": [{"op": "copy", "from": HOST, "path": "/spec/rules/1"}]},
        _ingress(),
        lambda c: c["spec"]["rules"][1],
        "shop.example.com",
    ),
    (
        "jsonPatch move",
        {"jsonPatch": [{"op": "move", "from": "/data/mode", "path": "/data/role"}]},
        configmap(),
        lambda c: c["data"],
        {"role": "dr"},
    ),
    (
        "jsonPatch test then replace",
        {
            "jsonPatch": [
                {"op": "test", "path": HOST, "value": "shop.example.com"},
                {"op": "replace", "path": HOST, "value": "dr.example.com"},
            ]
        },
        _ingress(),
        lambda c: c["spec"]["rules"][0]["host"],
        "dr.example.com",
    ),
    (
        "mergePatch sets and removes (null)",
        {"mergePatch": {"data": {"mode": None, "region": "eu-dr"}}},
        configmap(),
        lambda c: c["data"],
        {"region": "eu-dr"},
    ),
    (
        "strategicMergePatch merges containers by name",
        {
            "resources": ["deployments.apps"],
            "strategicMergePatch": {
                "spec": {
                    "template": {
                        "spec": {"containers": [{"name": "c", "env": [{"name": "DR", "value": "1"}]}]}
                    }
                }
            },
        },
        deployment(),
        lambda c: (
            len(c["spec"]["template"]["spec"]["containers"]),
            c["spec"]["template"]["spec"]["containers"][0]["env"],
        ),
        (1, [{"name": "DR", "value": "1"}]),
    ),
    (
        "image registry mirror",
        {"image": {"matchRegistry": "docker.io", "registry": "mirror.dr.example.com"}},
        deployment(),
        lambda c: c["spec"]["template"]["spec"]["containers"][0]["image"],
        "mirror.dr.example.com/i",
    ),
    (
        "labels set and remove",
        {"labels": {"set": {"site": "dr"}, "remove": ["app"]}},
        configmap(labels={"app": "shop", "tier": "web"}),
        lambda c: {k: v for k, v in c["metadata"]["labels"].items() if not k.startswith("dr-syncer.io/")},
        {"tier": "web", "site": "dr"},
    ),
    (
        "annotations removed",
        {"annotations": {"remove": ["service.beta.kubernetes.io/aws-load-balancer-type"]}},
        configmap(annotations={"service.beta.kubernetes.io/aws-load-balancer-type": "nlb", "team": "a"}),
        lambda c: "service.beta.kubernetes.io/aws-load-balancer-type" in c["metadata"]["annotations"],
        False,
    ),
    (
        "embedded yaml merge patch",
        {"embedded": [{"field": "/data/app.yaml", "mergePatch": {"db": {"host": "db.dr"}}}]},
        configmap(data={"app.yaml": "db:\n  host: db.prod\n  port: 5432\n"}),
        lambda c: yaml.safe_load(c["data"]["app.yaml"]),
        {"db": {"host": "db.dr", "port": 5432}},
    ),
    (
        "embedded json patch",
        {
            "embedded": [
                {
                    "field": "/data/app.json",
                    "format": "json",
                    "jsonPatch": [{"op": "replace", "path": "/endpoint", "value": "https://api.dr"}],
                }
            ]
        },
        configmap(data={"app.json": '{"endpoint":"https://api.prod","retries":3}'}),
        lambda c: c["data"]["app.json"],
        '{"endpoint":"https://api.dr","retries":3}',
    ),
]


@pytest.mark.parametrize(
    ("operation", "source", "read", "expected"),
    [case[1:] for case in OPERATIONS],
    ids=[case[0] for case in OPERATIONS],
)
def test_each_operation_rewrites_the_copy_and_leaves_the_source_alone(
    operation: Obj, source: Obj, read: Any, expected: Any
) -> None:
    before = copy.deepcopy(source)
    assert read(_copy(source, [operation])) == expected
    assert source == before


# (condition fields, does the rule apply to the Ingress `web` labelled app=shop in SOURCE_NS, to dr1)
CONDITIONS: list[tuple[str, Obj, bool]] = [
    ("no condition", {}, True),
    ("resources by resource.group", {"resources": ["ingresses.networking.k8s.io"]}, True),
    ("resources by kind", {"resources": ["Ingress"]}, True),
    ("resources other type", {"resources": ["services"]}, False),
    ("names", {"names": ["web"]}, True),
    ("names other", {"names": ["api"]}, False),
    ("nameRegex", {"nameRegex": "^w"}, True),
    ("nameRegex no match", {"nameRegex": "^api$"}, False),
    ("namespaces", {"namespaces": [SOURCE_NS]}, True),
    ("namespaces (destination name does not count)", {"namespaces": [DEST_NS]}, False),
    ("labelSelector", {"labelSelector": {"matchLabels": {"app": "shop"}}}, True),
    (
        "labelSelector other",
        {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}},
        False,
    ),
    ("fieldMatches value", {"fieldMatches": [{"path": HOST, "value": "shop.example.com"}]}, True),
    ("fieldMatches regex", {"fieldMatches": [{"path": HOST, "regex": r"\.example\.com$"}]}, True),
    ("fieldMatches other value", {"fieldMatches": [{"path": HOST, "value": "x"}]}, False),
    (
        "fieldMatches absent field",
        {"fieldMatches": [{"path": "/spec/tls/0/secretName", "regex": "."}]},
        False,
    ),
    ("clusters", {"clusters": ["dr1"]}, True),
    ("clusters other", {"clusters": ["dr2"]}, False),
    (
        "all together",
        {"resources": ["Ingress"], "names": ["web"], "clusters": ["dr1"], "namespaces": [SOURCE_NS]},
        True,
    ),
    ("one of them fails", {"resources": ["Ingress"], "names": ["web"], "clusters": ["dr2"]}, False),
]


@pytest.mark.parametrize(
    ("condition", "applies"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS]
)
def test_conditions_decide_whether_a_rule_applies(condition: Obj, applies: bool) -> None:
    copied = _copy(_ingress(labels={"app": "shop"}), [{**condition, **REPLACE_HOST}])
    host = copied["spec"]["rules"][0]["host"]
    assert host == ("dr.example.com" if applies else "shop.example.com")


FAILURES: list[tuple[str, Obj, Obj, str]] = [
    (
        "replace of a missing path",
        {"jsonPatch": [{"op": "replace", "path": "/spec/rules/3/host", "value": "x"}]},
        _ingress(),
        "spec.modifiers[1].jsonPatch[0] (/spec/rules/3/host): path not found",
    ),
    (
        "remove of a missing path",
        {"jsonPatch": [{"op": "remove", "path": "/spec/tls"}]},
        _ingress(),
        "spec.modifiers[1].jsonPatch[0] (/spec/tls): path not found",
    ),
    (
        "failed test",
        {"jsonPatch": [{"op": "test", "path": HOST, "value": "other"}]},
        _ingress(),
        f"spec.modifiers[1].jsonPatch[0] ({HOST}): test failed: the value differs",
    ),
    (
        "embedded field absent",
        {"embedded": [{"field": "/data/app.yaml", "mergePatch": {"a": 1}}]},
        configmap(),
        "spec.modifiers[1].embedded[0] (/data/app.yaml): path not found",
    ),
    (
        "embedded yaml not parseable",
        {"embedded": [{"field": "/data/mode", "mergePatch": {"a": 1}}]},
        configmap(data={"mode": "a: [1,\n"}),
        "spec.modifiers[1].embedded[0] (/data/mode): not valid yaml",
    ),
    (
        "embedded json not parseable",
        {"embedded": [{"field": "/data/mode", "format": "json", "mergePatch": {"a": 1}}]},
        configmap(data={"mode": "s3cr3t-not-json"}),
        "spec.modifiers[1].embedded[0] (/data/mode): not valid json",
    ),
]


# what a rule's result holds that no API server takes: the object fails, naming the rule
FAILURES += [
    (
        "labels made a string",
        {"mergePatch": {"metadata": {"labels": "oops"}}},
        configmap(),
        "spec.modifiers[1]: the result's metadata.labels is not a map",
    ),
    (
        "a label value not a string",
        {"jsonPatch": [{"op": "add", "path": "/metadata/labels/tier", "value": 5}]},
        configmap(),
        "spec.modifiers[1]: the result's metadata.labels tier: not a string",
    ),
    (
        "NaN",
        {"jsonPatch": [{"op": "add", "path": "/data/ratio", "value": float("nan")}]},
        configmap(),
        "spec.modifiers[1]: the result holds NaN or infinity",
    ),
    (
        "a date, as YAML reads an unquoted 2024-01-01",
        {"jsonPatch": [{"op": "add", "path": "/data/day", "value": datetime.date(2024, 1, 1)}]},
        configmap(),
        "spec.modifiers[1]: the result holds a value JSON cannot carry (Object of type date",
    ),
]


@pytest.mark.parametrize(
    ("operation", "source", "message"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES]
)
def test_a_failing_modifier_fails_the_object_naming_rule_and_path(
    operation: Obj, source: Obj, message: str
) -> None:
    harmless = {"names": ["someone-else"], "labels": {"set": {"a": "b"}}}
    reason = _failure(source, [harmless, operation])
    assert reason.startswith(message), reason
    assert "s3cr3t" not in reason and "shop.example.com" not in reason  # values are never quoted


def test_a_failed_object_is_counted_failed_and_its_existing_copy_is_not_pruned() -> None:
    existing = _copy(_ingress(), [])
    the_plan = plan(
        [_ingress()],
        {(key := key_of(existing)): existing},
        rules(modifiers=[{"jsonPatch": [{"op": "remove", "path": "/spec/tls"}]}], pruneDeleted=True),
        source_namespace=SOURCE_NS,
        destination_namespace=DEST_NS,
        prune=True,
        destination_cluster="dr1",
    )
    assert [(a.op, a.key) for a in the_plan] == [(Op.FAIL, key)]
    assert [c.failed for c in the_plan.counts().values()] == [1]


def test_rules_apply_in_order_each_seeing_the_earlier_ones() -> None:
    first = {"jsonPatch": [{"op": "replace", "path": HOST, "value": "stage.example.com"}]}
    second = {"fieldMatches": [{"path": HOST, "value": "stage.example.com"}], **REPLACE_HOST}
    assert _copy(_ingress(), [first, second])["spec"]["rules"][0]["host"] == "dr.example.com"
    assert _copy(_ingress(), [second, first])["spec"]["rules"][0]["host"] == "stage.example.com"


def test_two_destinations_get_their_own_values_from_one_source() -> None:
    per_cluster = [
        {"clusters": ["dr1"], "jsonPatch": [{"op": "replace", "path": HOST, "value": "dr1.example.com"}]},
        {"clusters": ["dr2"], "jsonPatch": [{"op": "replace", "path": HOST, "value": "dr2.example.com"}]},
    ]
    hosts = {c: _copy(_ingress(), per_cluster, c)["spec"]["rules"][0]["host"] for c in ("dr1", "dr2", "dr3")}
    assert hosts == {"dr1": "dr1.example.com", "dr2": "dr2.example.com", "dr3": "shop.example.com"}


def test_the_source_hash_covers_the_modifiers() -> None:
    def digest(modifiers: list[Obj]) -> str:
        return str(_copy(_ingress(), modifiers)["metadata"]["annotations"][keys.ANNOTATION_SOURCE_HASH])

    assert digest([REPLACE_HOST]) == digest([REPLACE_HOST])
    assert digest([REPLACE_HOST]) != digest([])
    changed = {"jsonPatch": [{"op": "replace", "path": HOST, "value": "other.example.com"}]}
    assert digest([REPLACE_HOST]) != digest([changed])
    # a rule that matches nothing leaves the hash as it was
    assert digest([{"names": ["nobody"], **REPLACE_HOST}]) == digest([])


def test_an_unchanged_modifier_plans_nothing_to_write() -> None:
    modifiers = [REPLACE_HOST]
    existing = _copy(_ingress(), modifiers)
    [action] = plan(
        [_ingress()],
        {key_of(existing): existing},
        rules(modifiers=modifiers),
        source_namespace=SOURCE_NS,
        destination_namespace=DEST_NS,
        prune=False,
        destination_cluster="dr1",
    )
    assert action.op == Op.UNCHANGED


IMAGES: list[tuple[str, Obj, str]] = [
    ("nginx:1.27", {"matchRegistry": "docker.io", "registry": "mirror.io"}, "mirror.io/nginx:1.27"),
    (
        "docker.io/library/nginx",
        {"matchRegistry": "docker.io", "registry": "mirror.io"},
        "mirror.io/library/nginx",
    ),
    ("quay.io/app/web:2", {"matchRegistry": "docker.io", "registry": "mirror.io"}, "quay.io/app/web:2"),
    ("localhost:5000/web:2", {"registry": "registry.dr:5000"}, "registry.dr:5000/web:2"),
    ("quay.io/app/web:2", {"matchRepository": "app/web", "tag": "dr"}, "quay.io/app/web:dr"),
    ("quay.io/app/api:2", {"matchRepository": "app/web", "tag": "dr"}, "quay.io/app/api:2"),
    ("quay.io/app/web@sha256:abc", {"repository": "mirror/web"}, "quay.io/mirror/web@sha256:abc"),
    ("quay.io/app/web:1@sha256:abc", {"tag": "2"}, "quay.io/app/web:2"),
]


@pytest.mark.parametrize(("image", "rule", "expected"), IMAGES)
def test_image_rewrite_matches_by_registry_and_repository(image: str, rule: Obj, expected: str) -> None:
    assert rewrite_image(image, ImageRewrite.model_validate(rule)) == expected


def test_image_reference_parts() -> None:
    assert split_image("nginx") == ("", "nginx", "", "")
    assert split_image("registry:5000/a/b:t@sha256:1") == ("registry:5000", "a/b", "t", "sha256:1")


def test_image_rewrite_reaches_init_containers_and_cronjob_templates() -> None:
    pod_spec = {
        "initContainers": [{"name": "i", "image": "busybox"}],
        "containers": [{"name": "c", "image": "app:1"}],
    }
    cronjob = obj(
        "batch/v1",
        "CronJob",
        "nightly",
        spec={"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": pod_spec}}}},
    )
    copied = _copy(cronjob, [{"image": {"registry": "mirror.io"}}])
    spec = copied["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert [c["image"] for c in spec["initContainers"] + spec["containers"]] == [
        "mirror.io/busybox",
        "mirror.io/app:1",
    ]


def test_embedded_multi_line_json_stays_indented() -> None:
    text = json.dumps({"endpoint": "a", "n": 1}, indent=2) + "\n"
    copied = _copy(
        configmap(data={"c.json": text}),
        [{"embedded": [{"field": "/data/c.json", "format": "json", "mergePatch": {"endpoint": "b"}}]}],
    )
    assert copied["data"]["c.json"] == json.dumps({"endpoint": "b", "n": 1}, indent=2) + "\n"


def test_modifiers_given_as_a_dict_spec_are_validated_naming_every_rule_and_field() -> None:
    bad = [
        {"nameRegex": "a(", "labels": {"set": {"a": "b"}}},
        {"jsonPatch": [{"op": "add", "path": "x", "value": 1}]},
    ]
    with pytest.raises(CategorisedError) as raised:
        rules(modifiers=bad)
    assert raised.value.category == Category.NON_RETRYABLE
    assert "spec.modifiers[0].nameRegex: invalid regular expression 'a('" in raised.value.message
    assert "spec.modifiers[1].jsonPatch[0].path: invalid JSON Pointer 'x'" in raised.value.message


@pytest.mark.parametrize(
    ("operation", "field"),
    [
        ({"jsonPatch": [{"op": "replace", "path": "/metadata/name", "value": "b"}]}, "jsonPatch[0].path"),
        ({"jsonPatch": [{"op": "remove", "path": "/metadata"}]}, "jsonPatch[0].path"),
        ({"jsonPatch": [{"op": "replace", "path": "/kind", "value": "Secret"}]}, "jsonPatch[0].path"),
        (
            {"jsonPatch": [{"op": "move", "from": "/metadata/namespace", "path": "/data/n"}]},
            "jsonPatch[0].from",
        ),
        ({"mergePatch": {"metadata": {"namespace": "other"}}}, "mergePatch"),
        ({"mergePatch": {"apiVersion": "v2"}}, "mergePatch"),
        (
            {"resources": ["configmaps"], "strategicMergePatch": {"metadata": {"name": "b"}}},
            "strategicMergePatch",
        ),
    ],
)
def test_a_rule_that_would_change_what_a_copy_is_a_copy_of_is_refused(operation: Obj, field: str) -> None:
    """A copy is found, updated and pruned by its apiVersion, kind, name and namespace: a rule that
    changed one would write another object (or the copy of another source object) every run."""
    with pytest.raises(CategorisedError) as raised:
        rules(modifiers=[operation])
    assert f"spec.modifiers[0].{field}: " in raised.value.message
    assert "may change anything but a copy's apiVersion, kind, metadata.name" in raised.value.message
    # reading them is fine
    copied = _copy(
        configmap(), [{"jsonPatch": [{"op": "copy", "from": "/metadata/name", "path": "/data/n"}]}]
    )
    assert copied["data"]["n"] == copied["metadata"]["name"]


def test_the_standby_records_survive_a_rule_that_drops_every_annotation() -> None:
    """Failover brings a standby copy up from what the transform recorded on it."""
    drop_all = {"resources": ["deployments"], "mergePatch": {"metadata": {"annotations": None}}}
    copied = _copy(deployment(replicas=3, annotations={"team": "a"}), [drop_all])
    annotations = copied["metadata"]["annotations"]
    assert "team" not in annotations and annotations[keys.ANNOTATION_ORIGINAL_REPLICAS] == "3"
    assert copied["spec"]["replicas"] == 0


def test_an_embedded_yaml_patch_writes_every_value_it_does_not_touch_as_it_was() -> None:
    """YAML 1.1 readers turn `NO` into false and `0755` into 493: a patch of one key must not."""
    text = (
        "# settings\n"
        "database:\n"
        "  host: db.prod.internal   # primary\n"
        "  port: 5432\n"
        "country: NO\n"
        "mode: 0755\n"
        "time: 12:30\n"
        "on: yes\n"
        "version: 1.10\n"
        "id: 0x1F\n"
        'quoted: "text"\n'
        f"long: {'x' * 200}\n"
    )
    rule = {"embedded": [{"field": "/data/app.yaml", "mergePatch": {"database": {"host": "db.dr.internal"}}}]}
    copied = _copy(configmap(data={"app.yaml": text}), [rule])
    assert copied["data"]["app.yaml"] == text.replace("db.prod.internal  ", "db.dr.internal    ")


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e400"])
def test_an_embedded_json_document_holding_what_json_has_not_fails_the_object(number: str) -> None:
    rule = {"embedded": [{"field": "/data/app.json", "format": "json", "mergePatch": {"a": 1}}]}
    reason = _failure(configmap(data={"app.json": f'{{"ratio": {number}}}'}), [rule])
    assert reason.startswith("spec.modifiers[0].embedded[0] (/data/app.json): not valid json"), reason


def test_the_replica_report_says_what_a_rule_made_a_copy_run() -> None:
    two = {
        "resources": ["deployments"],
        "jsonPatch": [{"op": "replace", "path": "/spec/replicas", "value": 2}],
    }
    [action] = plan(
        [deployment(replicas=3)],
        {},
        rules(modifiers=[two]),
        source_namespace=SOURCE_NS,
        destination_namespace=DEST_NS,
        prune=False,
        destination_cluster="dr1",
    )
    assert action.body is not None and action.body["spec"]["replicas"] == 2
    assert action.scale is not None and (action.scale.original, action.scale.replicas) == (3, 2)


def test_a_move_into_a_child_of_what_it_moves_is_refused_at_validation() -> None:
    """RFC 6902 4.4; at run time it read as a path not found."""
    with pytest.raises(CategorisedError) as raised:
        rules(modifiers=[{"jsonPatch": [{"op": "move", "from": "/data", "path": "/data/x"}]}])
    assert "spec.modifiers[0].jsonPatch[0].path: /data/x: a move into a child of what it moves (/data)" in (
        raised.value.message
    )
    moved = _copy(
        configmap(data={"a": "1"}), [{"jsonPatch": [{"op": "move", "from": "/data/a", "path": "/data/ab"}]}]
    )
    assert moved["data"] == {"ab": "1"}  # a sibling whose name starts the same is no child
