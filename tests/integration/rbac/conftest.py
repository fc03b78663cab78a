"""RBAC on real API servers: roles applied to a real cluster, ServiceAccount tokens from the
TokenRequest API, grants reduced by one rule, and the wait until a change of RBAC is in force.

A rule is checked one atom at a time: one (API group, resource, verb) of one Role or ClusterRole.
Removing an atom rewrites that role's rules as one rule per (group, resource) with the remaining
verbs, which grants exactly the same minus that atom.
"""

from __future__ import annotations

import copy
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from kubernetes import client as k8s

from drsyncer.api.crds import all_crds
from drsyncer.kube import ApiError, ClusterClient, client_from_kubeconfig
from tests.fixtures.controlplane import ControlPlane, ControlPlaneFleet
from tests.fixtures.polling import builtin_ref, eventually

ROLE_KINDS = ("Role", "ClusterRole")
REFS = {
    kind: builtin_ref(plural)
    for kind, plural in (
        ("Namespace", "namespaces"),
        ("ServiceAccount", "serviceaccounts"),
        ("Role", "roles"),
        ("ClusterRole", "clusterroles"),
        ("RoleBinding", "rolebindings"),
        ("ClusterRoleBinding", "clusterrolebindings"),
        ("CustomResourceDefinition", "customresourcedefinitions"),
    )
}
ACCESS_DOC = Path(__file__).resolve().parents[3] / "docs" / "cluster-access.md"
SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


# an HTTP 403 as log lines and error messages show it ("403 Forbidden", "(403)", `"code": 403,`),
# not the digits of another number: a port (40319), a log line's milliseconds (10:26:01,403), a
# duration (0.403 s)
_STATUS_403 = re.compile(r"(?<![\w.,:])403(?![\w]|\.\d)")


def refusals(lines: Iterable[str]) -> list[str]:
    """The lines that tell of a request refused: `forbidden` (any case) or an HTTP status 403."""
    return [line for line in lines if "forbidden" in line.lower() or _STATUS_403.search(line)]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Atom(NamedTuple):
    """One permission of one role: `role` is "Kind namespace/name" (or "Kind name")."""

    role: str
    group: str
    resource: str  # with the subresource, as RBAC writes it: "replications/status"
    verb: str
    namespace: str | None  # where the role grants it; None: cluster-wide

    def __str__(self) -> str:
        group = self.group or "core"
        return f"{self.verb} {self.resource} ({group}) of {self.role}"

    @property
    def denial(self) -> str:
        """The words kube-apiserver's RBAC authorizer uses when this atom is missing."""
        return f'cannot {self.verb} resource "{self.resource}" in API group "{self.group}"'


def role_label(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return (
        f"{obj['kind']} {meta['namespace']}/{meta['name']}"
        if meta.get("namespace")
        else f"{obj['kind']} {meta['name']}"
    )


def atoms_of(objects: Iterable[dict[str, Any]]) -> list[Atom]:
    """Every (group, resource, verb) each Role and ClusterRole in `objects` grants, in order."""
    out: list[Atom] = []
    for obj in objects:
        if obj["kind"] not in ROLE_KINDS:
            continue
        namespace = obj["metadata"].get("namespace") if obj["kind"] == "Role" else None
        for rule in obj.get("rules") or []:
            assert not rule.get("resourceNames") and not rule.get("nonResourceURLs"), (
                f"{role_label(obj)}: only plain resource rules are checked here: {rule}"
            )
            for group in rule.get("apiGroups") or [""]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        atom = Atom(role_label(obj), group, resource, verb, namespace)
                        if atom not in out:
                            out.append(atom)
    return out


def without(objects: Iterable[dict[str, Any]], removed: Atom) -> list[dict[str, Any]]:
    """`objects` with `removed` taken out of its role (every other grant kept as it was)."""
    out = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        if obj["kind"] in ROLE_KINDS and role_label(obj) == removed.role:
            kept: dict[tuple[str, str], list[str]] = {}
            for atom in atoms_of([obj]):
                if atom != removed:
                    kept.setdefault((atom.group, atom.resource), []).append(atom.verb)
            obj["rules"] = [
                {"apiGroups": [g], "resources": [r], "verbs": verbs} for (g, r), verbs in kept.items()
            ]
        out.append(obj)
    return out


@dataclass
class Subject:
    """A ServiceAccount as the authorizer sees it."""

    namespace: str
    name: str

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    @property
    def groups(self) -> list[str]:
        return ["system:serviceaccounts", f"system:serviceaccounts:{self.namespace}", "system:authenticated"]


@dataclass
class RealCluster:
    """One real cluster with an admin client, and the cluster-scoped objects a test created on it."""

    plane: ControlPlane
    admin: ClusterClient
    created: list[tuple[str, str]] = field(default_factory=list)  # (kind, name), deleted at the end

    @property
    def name(self) -> str:
        return self.plane.name

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace one object (Namespace, ServiceAccount, RBAC, CRD) as admin."""
        ref = REFS[obj["kind"]]
        namespace = obj["metadata"].get("namespace") if ref.namespaced else None
        name = obj["metadata"]["name"]
        if (
            not ref.namespaced
            and (obj["kind"], name) not in self.created
            and self.admin.get(ref, None, name) is None
        ):
            self.created.append((obj["kind"], name))
        written = self.admin.update(ref, namespace, name, lambda _current: obj)
        assert written is not None
        return written

    def apply(self, objects: Iterable[dict[str, Any]]) -> None:
        order = ("Namespace", "ServiceAccount", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding")
        for obj in sorted(objects, key=lambda o: order.index(o["kind"])):
            self.put(obj)

    def namespace(self, name: str) -> str:
        self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    def delete_namespace(self, name: str) -> None:
        self.admin.delete(REFS["Namespace"], None, name)

    def token(self, subject: Subject, seconds: int = 3600) -> str:
        """A token of the ServiceAccount from the TokenRequest API (as `kubectl create token`)."""
        core = k8s.CoreV1Api(self.plane.api_client())
        try:
            request = k8s.AuthenticationV1TokenRequest(
                spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
            )
            answer = core.create_namespaced_service_account_token(subject.name, subject.namespace, request)
            return str(answer.status.token)
        finally:
            core.api_client.close()

    def kubeconfig(self, subject: Subject) -> dict[str, Any]:
        """A kubeconfig for this cluster (context named after it) holding a token of `subject`."""
        return self.plane.kubeconfig_dict(token=self.token(subject), user=f"{subject.name}@{self.name}")

    def client(self, subject: Subject) -> ClusterClient:
        return client_from_kubeconfig(self.kubeconfig(subject), name=self.name)

    def allowed(self, subject: Subject, atom: Atom) -> bool:
        resource, _, subresource = atom.resource.partition("/")
        attributes = {
            "verb": atom.verb,
            "group": atom.group,
            "resource": resource,
            "subresource": subresource,
            **({"namespace": atom.namespace} if atom.namespace else {}),
        }
        review = self.admin.request(
            "POST",
            SAR_PATH,
            body={
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "spec": {"user": subject.user, "groups": subject.groups, "resourceAttributes": attributes},
            },
        )
        return bool((review.get("status") or {}).get("allowed"))

    def await_in_force(self, subject: Subject, granted: Iterable[Atom], removed: Atom | None = None) -> None:
        """Wait until the authorizer allows every granted atom and denies `removed`: RBAC objects
        reach kube-apiserver's authorizer through an informer, a moment after they are written."""
        granted = list(granted)

        def in_force() -> bool:
            if removed is not None and self.allowed(subject, removed):
                return False
            return all(self.allowed(subject, a) for a in granted if a != removed)

        eventually(
            in_force,
            timeout_s=15,
            what=f"RBAC for {subject.user} on {self.name} to be in force",
            interval_s=0.1,
        )

    def cleanup(self) -> None:
        for kind, name in reversed(self.created):
            try:
                self.admin.delete(REFS[kind], None, name)
            except ApiError as exc:
                print(f"deleting {kind} {name} on {self.name}: {exc}")
        self.created.clear()


@pytest.fixture(scope="module")
def real(control_planes: ControlPlaneFleet) -> Iterator[Callable[[str], RealCluster]]:
    """`real("controller")`: a real cluster for this module; cluster-scoped objects the module
    created on it (ClusterRoles, bindings, CRDs it installed) are deleted when the module ends."""
    clusters: dict[str, RealCluster] = {}

    def get(name: str) -> RealCluster:
        if name not in clusters:
            plane = control_planes.ensure([name])[0]
            clusters[name] = RealCluster(plane, client_from_kubeconfig(plane.kubeconfig_dict(), name=name))
        return clusters[name]

    yield get
    for cluster in clusters.values():
        cluster.cleanup()
        cluster.admin.close()


def install_crds(cluster: RealCluster) -> None:
    """drsyncer's CRDs on the controller cluster, served before this returns. They stay installed:
    other modules of the session use the same definitions."""
    for crd in all_crds():
        try:
            cluster.admin.create(REFS["CustomResourceDefinition"], None, crd)
        except ApiError as exc:
            if not exc.already_exists:
                raise
    for name in ("remoteclusters", "replications", "namespacemappings"):
        eventually(
            lambda n=name: served(cluster.admin, f"{n}.dr-syncer.io"),
            timeout_s=30,
            what=f"{name}.dr-syncer.io to be served on {cluster.name}",
        )


def served(client: ClusterClient, name: str) -> bool:
    client.discovery.invalidate()
    try:
        client.resolve(name)
    except Exception:
        return False
    return True


class LogCollector(logging.Handler):
    """Every warning the drsyncer code logs while attached (from any thread)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> LogCollector:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        logging.getLogger().removeHandler(self)


def poll_until(check: Callable[[], bool], timeout_s: float, give_up: Callable[[], bool]) -> bool:
    """Poll `check` until true, `give_up` says a failure was already seen, or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        if give_up():
            return False
        time.sleep(0.1)  # poll interval, bounded by the deadline
    return False


def documented_roles() -> dict[str, dict[str, Any]]:
    """The ClusterRoles in the YAML blocks of docs/cluster-access.md, by name."""
    blocks = re.findall(r"```yaml\n(.*?)```", ACCESS_DOC.read_text(), re.S)
    roles = [
        doc
        for block in blocks
        for doc in yaml.safe_load_all(block)
        if isinstance(doc, dict) and doc.get("kind") == "ClusterRole"
    ]
    return {r["metadata"]["name"]: r for r in roles}


def grant(
    role: dict[str, Any],
    subject: Subject,
    custom_group: str | None = None,
    custom_verbs: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """A documented role, uniquely named, bound to `subject` (with its namespace and ServiceAccount);
    with `custom_group`, plus the rule for a custom type `widgets` the page says to add."""
    name = f"{role['metadata']['name']}-{subject.namespace}"
    custom = [{"apiGroups": [custom_group], "resources": ["widgets"], "verbs": list(custom_verbs)}]
    rules = [*role["rules"], *(custom if custom_group else [])]
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": subject.namespace}},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": subject.name, "namespace": subject.namespace},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": subject.name, "namespace": subject.namespace}],
        },
    ]
