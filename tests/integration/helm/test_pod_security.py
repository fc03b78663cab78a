"""Every pod the chart renders satisfies the restricted Pod Security Standard (Kubernetes 1.30),
checked control by control, plus the chart's own rule: a read-only root filesystem with /tmp on an
emptyDir."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.helm import Release
from tests.integration.helm.conftest import VALUE_SETS

ALLOWED_VOLUME_SOURCES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {None, "", "container_t", "container_init_t", "container_kvm_t"}


def _pods(release: Release) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, pod metadata, pod spec) of every workload template and bare pod."""
    pods = []
    for obj in release.objects + release.hooks:
        if obj["kind"] == "Pod":
            pods.append((obj["metadata"]["name"], obj["metadata"], obj["spec"]))
        elif obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            template = obj["spec"]["template"]
            pods.append((obj["metadata"]["name"], template.get("metadata", {}), template["spec"]))
    return pods


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"], *spec.get("ephemeralContainers", [])]


def restricted_violations(metadata: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """What the restricted profile would reject in one pod, one message per control broken."""
    problems: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    containers = _containers(spec)
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            problems.append(f"host namespaces: {field}")
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        problems.append("HostProcess on the pod")
    for volume in spec.get("volumes", []):
        sources = set(volume) - {"name"}
        if not sources <= ALLOWED_VOLUME_SOURCES:
            problems.append(f"volume types: {volume['name']} uses {sorted(sources - ALLOWED_VOLUME_SOURCES)}")
    for sysctl in pod_sc.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            problems.append(f"sysctls: {sysctl['name']}")
    if (pod_sc.get("seLinuxOptions") or {}).get("type") not in SELINUX_TYPES:
        problems.append("SELinux type on the pod")
    if pod_sc.get("runAsUser") == 0:
        problems.append("non-root user: pod runAsUser 0")
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    if pod_seccomp == "Unconfined":
        problems.append("seccomp: pod Unconfined")
    if (pod_sc.get("appArmorProfile") or {}).get("type") == "Unconfined":
        problems.append("AppArmor: pod Unconfined")
    for key, value in (metadata.get("annotations") or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and value == "unconfined":
            problems.append(f"AppArmor: {key}")
    for container in containers:
        name = container["name"]
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            problems.append(f"privileged: {name}")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            problems.append(f"HostProcess: {name}")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            problems.append(f"host ports: {name}")
        if sc.get("procMount", "Default") != "Default":
            problems.append(f"/proc mount: {name}")
        if (sc.get("seLinuxOptions") or {}).get("type") not in SELINUX_TYPES:
            problems.append(f"SELinux type: {name}")
        if set(sc.get("seLinuxOptions") or {}) & {"user", "role"}:
            problems.append(f"SELinux user/role: {name}")
        if (sc.get("appArmorProfile") or {}).get("type") == "Unconfined":
            problems.append(f"AppArmor: {name}")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"privilege escalation: {name} does not set allowPrivilegeEscalation false")
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if non_root is not True:
            problems.append(f"running as non-root: {name}")
        if sc.get("runAsUser") == 0:
            problems.append(f"non-root user: {name} runAsUser 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"seccomp: {name} has {seccomp}")
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in capabilities.get("drop", []):
            problems.append(f"capabilities: {name} does not drop ALL")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"capabilities: {name} adds {capabilities['add']}")
    return problems


def test_the_check_catches_what_restricted_rejects() -> None:
    # the check itself must fail pods that break the profile, or the test below proves nothing
    bad_spec = {
        "hostNetwork": True,
        "securityContext": {"runAsUser": 0, "sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
        "containers": [
            {
                "name": "c",
                "ports": [{"containerPort": 80, "hostPort": 80}],
                "securityContext": {
                    "privileged": True,
                    "capabilities": {"add": ["SYS_ADMIN"]},
                    "seccompProfile": {"type": "Unconfined"},
                },
            }
        ],
    }
    found = " | ".join(restricted_violations({}, bad_spec))
    for control in (
        "host namespaces",
        "volume types",
        "sysctls",
        "non-root user",
        "privileged",
        "host ports",
        "privilege escalation",
        "running as non-root",
        "seccomp",
        "capabilities",
    ):
        assert control in found


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_every_pod_satisfies_the_restricted_pod_security_standard(
    releases: dict[str, Release], name: str
) -> None:
    pods = _pods(releases[name])
    assert len(pods) >= 5  # watcher, beat, worker, flower, the test hook (and the bundled Redis)
    for pod_name, metadata, spec in pods:
        assert restricted_violations(metadata, spec) == [], pod_name


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_root_filesystems_are_read_only_with_tmp_on_an_empty_dir(
    releases: dict[str, Release], name: str
) -> None:
    for pod_name, _metadata, spec in _pods(releases[name]):
        empty_dirs = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in _containers(spec):
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, pod_name
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1 and tmp[0]["name"] in empty_dirs, pod_name


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_only_the_watcher_and_worker_pods_hold_an_api_token(releases: dict[str, Release], name: str) -> None:
    # the service account reads every RemoteCluster's kubeconfig Secret: beat and Flower, which never
    # talk to the controller cluster, must not carry its token
    tokens = {
        pod_name: spec.get("automountServiceAccountToken") for pod_name, _, spec in _pods(releases[name])
    }
    holding = sorted(pod for pod, mounted in tokens.items() if mounted is not False)
    assert holding and all(pod.endswith(("-watcher", "-worker", "-health-worker")) for pod in holding), tokens
    assert any(pod.endswith("-watcher") for pod in holding) and any(
        pod.endswith("-worker") for pod in holding
    )
    assert all(tokens[pod] is False for pod in tokens if pod.endswith(("-beat", "-flower"))), tokens
