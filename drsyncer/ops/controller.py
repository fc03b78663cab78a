"""The controller cluster as the operator commands reach it: flags over environment, checked once."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from rich.console import Console

from drsyncer.api import keys
from drsyncer.api.keys import INSTALL_CRDS
from drsyncer.config import ConfigError, load_settings
from drsyncer.errors import CategorisedError, DrsyncerError
from drsyncer.kube import ClusterClient, ResourceRef
from drsyncer.kube.exec_credentials import ExecPolicy
from drsyncer.kube.kubeconfig import controller_client
from drsyncer.kube.retry import INTERACTIVE

REPLICATIONS = f"replications.{keys.GROUP}"
REMOTE_CLUSTERS = f"remoteclusters.{keys.GROUP}"
DEFAULT_NAMESPACE = "default"
# an operator at a terminal wants to hear quickly that the cluster does not answer
PIPE_WIDTH = 200


@dataclass(frozen=True)
class Target:
    """Where the command looks: a kubeconfig and context (empty: in-cluster) and a namespace."""

    kubeconfig: str
    context: str
    namespace: str | None  # None: every namespace

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Target:
        env = os.environ if environ is None else environ
        namespace = args.namespace or env.get("DRSYNCER_WATCH_NAMESPACE") or None
        return cls(
            # then KUBECONFIG, as kubectl and `drsyncer failover` read it on a workstation; unset
            # in a pod, where the default is the in-cluster service account
            args.kubeconfig or env.get("DRSYNCER_KUBECONFIG") or env.get("KUBECONFIG", ""),
            args.context or env.get("DRSYNCER_KUBE_CONTEXT", ""),
            namespace,
        )

    @property
    def label(self) -> str:
        if not self.kubeconfig:
            return "controller cluster (in-cluster service account)"
        return f"controller cluster ({self.kubeconfig}{', context ' + self.context if self.context else ''})"


def exec_policy(environ: Mapping[str, str] | None = None) -> ExecPolicy:
    """The credential plugins RemoteCluster Secrets may run on this machine: `DRSYNCER_EXEC_PLUGINS`
    and `DRSYNCER_EXEC_PLUGIN_TIMEOUT`, as the workers read them (none when unset)."""
    env = os.environ if environ is None else environ
    wanted = {k: v for k, v in env.items() if k in ("DRSYNCER_EXEC_PLUGINS", "DRSYNCER_EXEC_PLUGIN_TIMEOUT")}
    try:
        settings = load_settings(wanted)
    except ConfigError as exc:
        raise DrsyncerError(str(exc)) from None
    return ExecPolicy.of(settings.exec_plugins, settings.exec_plugin_timeout)


def connect(target: Target) -> ClusterClient:
    """A client for the controller cluster that has answered, serving the dr-syncer.io CRDs."""
    client = controller_client(target.kubeconfig or None, target.context or None, retry=INTERACTIVE)
    try:
        client.server_version()
    except CategorisedError as exc:
        client.close()
        raise DrsyncerError(f"{target.label} is unreachable: {exc.message}") from None
    try:
        client.resolve(REPLICATIONS)
    except CategorisedError:
        client.close()
        raise DrsyncerError(
            f"{target.label} does not serve {REPLICATIONS}: install the CRDs ({INSTALL_CRDS})"
        ) from None
    return client


def replications_ref(client: ClusterClient) -> ResourceRef:
    return client.resolve(REPLICATIONS)


def get_replication(client: ClusterClient, namespace: str | None, name: str) -> dict[str, Any]:
    """The Replication `name` in `namespace` (None: none was given, so `default`, as kubectl looks),
    or DrsyncerError naming it when there is none. When none was given and other namespaces hold
    a Replication of that name, the error names them and the flag that picks one."""
    where = namespace or DEFAULT_NAMESPACE
    try:
        obj = client.get(replications_ref(client), where, name)
    except CategorisedError as exc:
        raise DrsyncerError(f"reading Replication {where}/{name} failed: {exc.message}") from None
    if obj is not None:
        return obj
    elsewhere = _namespaces_holding(client, name) if namespace is None else []
    if elsewhere:
        raise DrsyncerError(
            f"Replication {where}/{name} not found; "
            + (
                f"namespace {elsewhere[0]} has one"
                if len(elsewhere) == 1
                else f"namespaces {', '.join(elsewhere)} have one"
            )
            + f": add -n {elsewhere[0]}"
        )
    raise DrsyncerError(f"Replication {where}/{name} not found")


def _namespaces_holding(client: ClusterClient, name: str) -> list[str]:
    """The namespaces holding a Replication named `name` (best effort: [] when they cannot be read)."""
    try:
        found = client.list(replications_ref(client), None)
        return sorted({o["metadata"]["namespace"] for o in found if o["metadata"].get("name") == name})
    except CategorisedError:
        return []


def list_replications(client: ClusterClient, namespace: str | None) -> list[dict[str, Any]]:
    try:
        return list(client.list(replications_ref(client), namespace))
    except CategorisedError as exc:
        raise DrsyncerError(f"listing Replications failed: {exc.message}") from None


def make_console() -> Console:
    """A console for tables: the terminal's width, or wide enough not to cut columns when piped."""
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else PIPE_WIDTH)


def print_document(document: Any, output: str) -> None:
    """`-o json` or `-o yaml` of a command's result on standard output."""
    if output == "json":
        print(json.dumps(document, indent=2, sort_keys=False))
    else:
        print(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), end="")
