"""The chart through real Helm: lint, values schema, Kubernetes 1.30 schemas, installing into a
simulated cluster, and what the rendered objects promise (Secrets, RBAC, probes, scaling)."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError

from drsyncer.cli import build_parser
from drsyncer.config import SETTINGS
from drsyncer.sim import SimCluster
from tests.fixtures.helm import CHART, THIRD_PARTY_KINDS, Helm, HelmError, Release
from tests.integration.helm.conftest import (
    EVERYTHING,
    EXTERNAL_REDIS,
    SECRETS_NAMESPACE,
    SENTINEL_URL,
    VALUE_SETS,
    WATCH_NAMESPACE,
    prepare,
)

KUBERNETES_VERSION = "1.30.0"
THIRD_PARTY_GROUPS = {group for group, *_ in THIRD_PARTY_KINDS}
# Helm's lint severities (support.Severity): 1 info, 2 warning, 3 error
LINT_WARNING = 2


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"] if obj["kind"] != "Pod" else obj["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def _workloads(release: Release) -> list[dict[str, Any]]:
    return [o for o in release.objects + release.hooks if o["kind"] in ("Deployment", "StatefulSet", "Pod")]


def test_lint_reports_no_errors_or_warnings(helm: Helm) -> None:
    result = helm.lint(CHART)
    assert result["TotalChartsLinted"] == 1
    assert not result["Errors"]
    assert [m for m in result["Messages"] if m["Severity"] >= LINT_WARNING] == []


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        both_maps = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merged(out[key], value) if both_maps else value
    return out


@pytest.mark.parametrize("name", ["everything", "external-redis", "external-sentinel"])
def test_lint_with_optional_features_on_reports_no_errors(helm: Helm, tmp_path: Path, name: str) -> None:
    # the lint entry point takes no values: lint a copy whose values.yaml switches the features on
    chart = tmp_path / "drsyncer"
    shutil.copytree(CHART, chart)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    (chart / "values.yaml").write_text(yaml.safe_dump(_merged(defaults, VALUE_SETS[name])))
    result = helm.lint(chart)
    assert not result["Errors"]
    assert [m for m in result["Messages"] if m["Severity"] >= LINT_WARNING] == []


@pytest.mark.parametrize(
    "values, words",
    [
        ({"watcher": {"replicas": "two"}}, ["replicas", "integer"]),
        ({"workers": {"concurrency": 0}}, ["concurrency"]),
        ({"config": {"logFormat": "xml"}}, ["logFormat"]),
    ],
    ids=["string-for-integer", "below-minimum", "not-in-enum"],
)
def test_values_schema_rejects_a_wrong_value(helm: Helm, values: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(HelmError, match="schema") as failure:
        helm.install(values)
    for word in words:
        assert word in str(failure.value)


@pytest.mark.parametrize(
    "values, key",
    [
        ({"watcher": {"replica": 3}}, "replica"),
        ({"redisUrl": "redis://redis:6379/0"}, "redisUrl"),
        ({"redis": {"external": {"password": "x"}}}, "password"),
    ],
    ids=["nested", "top-level", "deep"],
)
def test_values_schema_rejects_an_unknown_key(helm: Helm, values: dict[str, Any], key: str) -> None:
    with pytest.raises(HelmError, match="additional properties") as failure:
        helm.install(values)
    assert key in str(failure.value)


def test_every_value_set_installs(releases: dict[str, Release]) -> None:
    assert set(releases) == set(VALUE_SETS)
    kinds = {name: sorted({o["kind"] for o in r.objects}) for name, r in releases.items()}
    assert kinds["everything"] == sorted(
        [
            "ConfigMap",
            "Deployment",
            "Ingress",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "PodMonitor",
            "PrometheusRule",
            "Role",
            "RoleBinding",
            "ScaledObject",
            "Secret",
            "Service",
            "ServiceAccount",
            "ServiceMonitor",
            "StatefulSet",
            "TriggerAuthentication",
        ]
    )
    assert "HorizontalPodAutoscaler" in kinds["hpa"]
    # defaults: nothing that needs the Prometheus Operator or KEDA
    assert not {"ServiceMonitor", "PodMonitor", "PrometheusRule", "ScaledObject"} & set(kinds["defaults"])


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_builtin_objects_validate_against_kubernetes_1_30(releases: dict[str, Release], name: str) -> None:
    release = releases[name]
    checked = 0
    for obj in release.objects + release.hooks:
        group = obj["apiVersion"].rpartition("/")[0]
        if group in THIRD_PARTY_GROUPS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except SchemaNotFoundError:  # a built-in kind 1.30 does not know is a chart bug
            pytest.fail(f"{obj['apiVersion']} {obj['kind']} is not a Kubernetes {KUBERNETES_VERSION} kind")
        checked += 1
    assert checked >= 15


def test_release_installs_into_a_simulated_cluster_with_its_crds(
    sim_cluster: SimCluster, helm_library: None
) -> None:
    prepare(sim_cluster)
    helm = Helm(sim_cluster)
    try:
        release = helm.install(EVERYTHING)
    finally:
        helm.close()
    assert release.raw["info"]["status"] == "deployed"
    store = sim_cluster.store
    for obj in release.objects:
        rt = store.resource_for(obj["apiVersion"], obj["kind"])
        namespace = obj["metadata"].get("namespace") if rt.namespaced else None
        assert store.find(rt, namespace, obj["metadata"]["name"]) is not None, obj["metadata"]["name"]
    crds = store.resource_for("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    for plural in ("replications", "remoteclusters", "namespacemappings"):
        assert store.find(crds, None, f"{plural}.dr-syncer.io") is not None
    # the helm test pod is a hook: rendered, not installed
    assert [h["kind"] for h in release.hooks] == ["Pod"]


def _secret_data(release: Release, suffix: str) -> dict[str, str]:
    secret = release.one("Secret", suffix)
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_generated_passwords_are_kept_across_upgrades(helm: Helm) -> None:
    first = helm.install({})
    second = helm.upgrade({"workers": {"replicas": 5}})
    assert second.one("Deployment", "-worker")["spec"]["replicas"] == 5
    for suffix in ("-redis", "-flower"):
        assert _secret_data(first, suffix) == _secret_data(second, suffix)
    redis = _secret_data(first, "-redis")
    assert len(redis["password"]) == 32
    assert redis["url"] == f"redis://:{redis['password']}@dr-drsyncer-redis.drsyncer.svc:6379/0"
    flower = _secret_data(first, "-flower")
    assert flower["auth"] == f"admin:{flower['password']}"


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_redis_url_reaches_containers_only_through_a_secret(releases: dict[str, Release], name: str) -> None:
    release = releases[name]
    for obj in release.objects:
        if obj["kind"] == "ConfigMap":
            assert not any("redis://" in v or "rediss://" in v for v in obj["data"].values())
    seen = 0
    for workload in _workloads(release):
        for container in _containers(workload):
            for var in container.get("env", []):
                assert "redis://" not in str(var.get("value", ""))
            url = _env(container).get("DRSYNCER_REDIS_URL")
            if url:
                assert set(url) == {"name", "valueFrom"} and "secretKeyRef" in url["valueFrom"]
                seen += 1
    assert seen >= 5  # watcher, beat, worker, flower, test pod


def test_external_redis_comes_from_the_existing_secret_with_its_ca(releases: dict[str, Release]) -> None:
    release = releases["external-redis"]
    assert not release.find("StatefulSet")
    for workload in _workloads(release):
        container = _containers(workload)[0]
        ref = _env(container)["DRSYNCER_REDIS_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "redis-credentials", "key": "url"}
        assert {"name": "redis-ca", "mountPath": "/etc/drsyncer/redis-ca", "readOnly": True} in container[
            "volumeMounts"
        ]
    flower = release.one("Deployment", "-flower")
    ref = _env(_containers(flower)[0])["DRSYNCER_FLOWER_BASIC_AUTH"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "flower-users", "key": "users"}
    assert not release.find("Secret")  # every credential is the operator's own


def test_external_sentinel_url_reaches_every_component_through_a_secret(releases: dict[str, Release]) -> None:
    release = releases["external-sentinel"]
    assert not release.find("StatefulSet")
    (secret,) = [s for s in release.find("Secret") if "url" in s.get("data", {})]
    assert base64.b64decode(secret["data"]["url"]).decode() == SENTINEL_URL
    for workload in _workloads(release):
        ref = _env(_containers(workload)[0])["DRSYNCER_REDIS_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": secret["metadata"]["name"], "key": "url"}
        assert "data-pw" not in yaml.safe_dump(workload)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"workers": {"hpa": {"enabled": True}, "keda": {"enabled": True}}}, "mutually exclusive"),
        ({"redis": {"bundled": False}}, "redis.external.url"),
        ({"workers": {"terminationGracePeriodSeconds": 600}}, "terminationGracePeriodSeconds"),
        (
            {
                "redis": {"bundled": False, "external": {"url": "redis://r:6379/0"}},
                "workers": {"keda": {"enabled": True}},
            },
            "workers.keda.redis.address",
        ),
    ],
    ids=["hpa-and-keda", "no-redis", "grace-below-time-limit", "keda-without-address"],
)
def test_contradicting_values_are_refused(helm: Helm, values: dict[str, Any], message: str) -> None:
    with pytest.raises(HelmError, match=message.replace(".", r"\.")):
        helm.install(values)


def _rules(release: Release) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (o["kind"], o["metadata"].get("namespace", ""), rule)
        for o in release.objects
        if o["kind"] in ("Role", "ClusterRole")
        for rule in o["rules"]
    ]


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_rbac_grants_nothing_broad(releases: dict[str, Release], name: str) -> None:
    for kind, namespace, rule in _rules(releases[name]):
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], (kind, rule)
        assert rule["apiGroups"] != [] and rule["resources"] != []
        if "secrets" in rule["resources"]:
            assert kind == "Role" and rule["verbs"] == ["get"]
            assert namespace in ("drsyncer", WATCH_NAMESPACE, SECRETS_NAMESPACE)
            assert "resourceNames" not in rule or rule["resourceNames"]
        if "leases" in rule["resources"]:
            assert kind == "Role" and namespace == "drsyncer"
        if kind == "ClusterRole":  # only the dr-syncer.io kinds and Events on them
            assert set(rule["apiGroups"]) <= {"dr-syncer.io", ""}
            assert set(rule["resources"]) <= {
                "remoteclusters",
                "replications",
                "namespacemappings",
                "events",
                *(f"{r}/status" for r in ("remoteclusters", "replications", "namespacemappings")),
            }


def test_cluster_wide_read_only_when_every_namespace_is_served(releases: dict[str, Release]) -> None:
    defaults = releases["defaults"]
    cluster_role = defaults.one("ClusterRole")
    assert {"get", "list", "watch"} <= set(cluster_role["rules"][0]["verbs"])
    assert defaults.one("ClusterRoleBinding")["subjects"][0]["namespace"] == "drsyncer"
    scoped = releases["everything"]
    assert not scoped.find("ClusterRole") and not scoped.find("ClusterRoleBinding")
    resources = scoped.one("Role", "-resources")
    assert resources["metadata"]["namespace"] == WATCH_NAMESPACE
    secret_roles = {r["metadata"]["namespace"] for r in scoped.find("Role", "-secrets")}
    assert secret_roles == {WATCH_NAMESPACE, SECRETS_NAMESPACE}


def test_lease_namespace_is_where_the_role_grants_leases(releases: dict[str, Release]) -> None:
    for release in releases.values():
        env = _env(_containers(release.one("Deployment", "-watcher"))[0])
        assert env["DRSYNCER_LEASE_NAMESPACE"]["value"] == "drsyncer"


def test_components_have_their_replicas_strategy_and_probes(releases: dict[str, Release]) -> None:
    release = releases["defaults"]
    watcher = release.one("Deployment", "-watcher")
    assert watcher["spec"]["replicas"] == 2
    probe_container = _containers(watcher)[0]
    assert probe_container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert probe_container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    beat = release.one("Deployment", "-beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"] == {"type": "Recreate"}
    assert _containers(beat)[0]["livenessProbe"]["exec"]["command"] == ["drsyncer", "probe", "beat"]
    worker = release.one("Deployment", "-worker")
    worker_container = _containers(worker)[0]
    assert worker_container["livenessProbe"]["exec"]["command"] == ["drsyncer", "probe", "worker"]
    env = _env(worker_container)
    assert env["DRSYNCER_CONCURRENCY"]["value"] == "4"
    assert env["DRSYNCER_QUEUES"]["value"] == "sync,health,webhooks"
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > int(env["DRSYNCER_TASK_TIME_LIMIT"]["value"])
    assert int(env["DRSYNCER_VISIBILITY_TIMEOUT"]["value"]) > int(env["DRSYNCER_TASK_TIME_LIMIT"]["value"])
    for deployment in release.find("Deployment"):  # one image; the subcommand names the component
        component = deployment["metadata"]["name"].rpartition("-")[2]
        assert [c["args"][0] for c in _containers(deployment)] == [component]


def test_autoscaled_workers_leave_replicas_to_the_autoscaler(releases: dict[str, Release]) -> None:
    for name in ("everything", "hpa"):
        assert "replicas" not in releases[name].one("Deployment", "-drsyncer-worker")["spec"]
    hpa = releases["hpa"].one("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "dr-drsyncer-worker"
    health = releases["everything"].one("Deployment", "-health-worker")
    assert _env(_containers(health)[0])["DRSYNCER_QUEUES"]["value"] == "health"
    sync = releases["everything"].one("Deployment", "-drsyncer-worker")
    assert _env(_containers(sync)[0])["DRSYNCER_QUEUES"]["value"] == "sync,webhooks"


def test_installation_webhooks_reach_the_workers_as_settings(releases: dict[str, Release]) -> None:
    from drsyncer.webhooks.endpoints import parse_global

    worker = releases["everything"].one("Deployment", "-drsyncer-worker")
    (hook,) = parse_global(_env(_containers(worker)[0])["DRSYNCER_WEBHOOKS"]["value"])
    assert hook.url == "https://hooks.example.com/dr" and hook.secret_ref is not None
    plain = releases["hpa"].one("Deployment", "-drsyncer-worker")
    assert "DRSYNCER_WEBHOOKS" not in _env(_containers(plain)[0])


def test_workers_and_beat_send_task_events_from_the_start_only_for_flower(
    releases: dict[str, Release],
) -> None:
    for name, expected in (("defaults", "true"), ("external-redis", "false")):
        for suffix in ("-drsyncer-worker", "-beat"):
            container = _containers(releases[name].one("Deployment", suffix))[0]
            assert _env(container)["DRSYNCER_TASK_EVENTS"]["value"] == expected, (name, suffix)


def test_bundled_redis_never_evicts_and_keeps_its_data_when_asked(releases: dict[str, Release]) -> None:
    config = releases["defaults"].one("ConfigMap", "-redis")["data"]["redis.conf"]
    assert "maxmemory-policy noeviction" in config and "appendonly no" in config
    persistent = releases["everything"]
    assert "appendonly yes" in persistent.one("ConfigMap", "-redis")["data"]["redis.conf"]
    claim = persistent.one("StatefulSet")["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["storageClassName"] == "fast"
    # the password reaches Redis from the Secret, never on its command line
    redis = _containers(persistent.one("StatefulSet"))[0]
    assert _env(redis)["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "password"
    assert "requirepass" not in " ".join(redis["command"][:2])


def test_flower_is_always_behind_basic_auth(releases: dict[str, Release]) -> None:
    for release in releases.values():
        container = _containers(release.one("Deployment", "-flower"))[0]
        assert "--insecure-no-auth" not in container["args"]
        assert "secretKeyRef" in _env(container)["DRSYNCER_FLOWER_BASIC_AUTH"]["valueFrom"]
    ingress = releases["everything"].one("Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "dr-drsyncer-flower", "port": {"name": "http"}}


def test_helm_test_pod_checks_redis_and_the_watcher_health(releases: dict[str, Release]) -> None:
    pod = releases["defaults"].one("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    container = _containers(pod)[0]
    script = container["command"][-1]
    assert ".ping()" in script and "urlopen" in script
    assert (
        _env(container)["WATCHER_HEALTHZ"]["value"] == "http://dr-drsyncer-watcher.drsyncer.svc:8081/healthz"
    )
    service = releases["defaults"].one("Service", "-watcher")
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {"metrics": 9090, "probes": 8081}


def test_network_policies_admit_only_what_each_component_serves(releases: dict[str, Release]) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in releases["everything"].find("NetworkPolicy")}
    assert "ingress" not in policies["dr-drsyncer-beat"]
    redis = policies["dr-drsyncer-redis"]
    assert redis["policyTypes"] == ["Ingress", "Egress"] and redis["egress"] == []
    allowed = redis["ingress"][0]["from"][0]["podSelector"]["matchExpressions"]
    assert {"key": "app.kubernetes.io/instance", "operator": "In", "values": ["dr"]} in allowed
    watcher_ports = [rule["ports"][0]["port"] for rule in policies["dr-drsyncer-watcher"]["ingress"]]
    assert watcher_ports == ["metrics", "probes"]
    assert policies["dr-drsyncer-watcher"]["ingress"][0]["from"] == EVERYTHING["networkPolicy"]["metricsFrom"]


def test_external_redis_values_reach_keda(releases: dict[str, Release]) -> None:
    trigger = releases["external-redis"].one("ScaledObject")["spec"]["triggers"][0]
    keda = EXTERNAL_REDIS["workers"]["keda"]["redis"]
    assert trigger["metadata"]["address"] == keda["address"]
    assert trigger["metadata"]["databaseIndex"] == "2" and trigger["metadata"]["enableTLS"] == "true"
    auth = releases["external-redis"].one("TriggerAuthentication")
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "password", "name": "redis-credentials", "key": "password"}
    ]


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_containers_run_real_subcommands_with_known_settings(releases: dict[str, Release], name: str) -> None:
    known = {setting.env for setting in SETTINGS}
    parser = build_parser()
    for workload in _workloads(releases[name]):
        for container in _containers(workload):
            if container["name"] in ("redis", "check"):
                continue
            parser.parse_args(container["args"])
            for probe in ("startupProbe", "livenessProbe"):
                command = (container.get(probe) or {}).get("exec", {}).get("command")
                if command:
                    assert command[0] == "drsyncer"
                    parser.parse_args(command[1:])
            names = {n for n in _env(container) if n.startswith("DRSYNCER_")}
            assert names <= known, sorted(names - known)


def test_notes_tell_how_to_check_the_install_and_upgrade_the_crds(releases: dict[str, Release]) -> None:
    notes = releases["defaults"].notes
    assert "helm test dr -n drsyncer" in notes
    assert "drsyncer crds | kubectl apply --server-side -f -" in notes
    assert "kubectl -n drsyncer port-forward svc/dr-drsyncer-flower 5555" in notes
    assert "Secrets of RemoteClusters in: drsyncer, apps, kubeconfigs." in releases["everything"].notes


def test_watching_the_release_namespace_grants_each_namespace_once(helm: Helm) -> None:
    for name in (WATCH_NAMESPACE, SECRETS_NAMESPACE):
        helm.cluster.store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    repeated = ["drsyncer", WATCH_NAMESPACE, WATCH_NAMESPACE]
    release = helm.install(
        {"config": {"watchNamespace": "drsyncer"}, "rbac": {"extraSecretNamespaces": repeated}}
    )
    assert release.one("Role", "-resources")["metadata"]["namespace"] == "drsyncer"
    assert [r["metadata"]["namespace"] for r in release.find("Role", "-secrets")] == [WATCH_NAMESPACE]
    assert not release.find("ClusterRole")


def test_exec_plugins_and_workload_identity_reach_the_pods(releases: dict[str, Release]) -> None:
    everything = releases["everything"]
    annotations = everything.one("ServiceAccount")["metadata"]["annotations"]
    assert annotations["eks.amazonaws.com/role-arn"] == "arn:aws:iam::1111:role/drsyncer"
    for suffix in ("drsyncer-watcher", "drsyncer-worker"):
        deployment = everything.one("Deployment", suffix)
        assert deployment["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
        env = _env(_containers(deployment)[0])
        assert env["DRSYNCER_EXEC_PLUGINS"]["value"] == "aws,kubelogin"
        assert env["DRSYNCER_EXEC_PLUGIN_TIMEOUT"]["value"] == "20"
        assert env["HOME"]["value"] == "/tmp"  # the only writable place for a plugin's cache
    # nothing runs by default
    for workload in _workloads(releases["defaults"]):
        for container in _containers(workload):
            assert "DRSYNCER_EXEC_PLUGINS" not in _env(container)
