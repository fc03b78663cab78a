"""Putting the demo's objects into simulated (or any throwaway) clusters.

Used by `drsyncer demo`, and on its own by the docker-compose trial as
`python -m drsyncer.demo.seed --kubeconfig FILE`: the dr-syncer.io CRDs in the controller, the sample
application in the source, kubeconfig Secrets, RemoteClusters and the Replication.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from drsyncer.api.crds import all_crds
from drsyncer.demo import sample
from drsyncer.errors import CategorisedError, DrsyncerError
from drsyncer.kube import ClusterClient, client_from_kubeconfig_file
from drsyncer.kube.client import NAMESPACES
from drsyncer.kube.discovery import ResourceRef
from drsyncer.kube.errors import AlreadyExists
from drsyncer.kube.retry import DEMO_SEEDING

CLUSTERS = (sample.CONTROLLER, sample.SOURCE, *sample.DESTINATIONS)
REPLICATIONS = "replications.dr-syncer.io"
STARTUP_S = 60.0


def _nothing() -> None:
    return None


def wait_for(
    check: Callable[[], bool], what: str, alive: Callable[[], None] = _nothing, timeout_s: float = STARTUP_S
) -> None:
    """Poll `check` until true; `alive` raises when something the wait depends on has died."""
    end = time.monotonic() + timeout_s
    while True:
        alive()
        if check():
            return
        if time.monotonic() > end:
            raise DrsyncerError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.1)  # poll interval


def create(client: ClusterClient, obj: Mapping[str, Any]) -> None:
    """Create `obj`; one already there is left as it is, so seeding again completes a half-seeded
    cluster (or one whose CRDs were applied by hand) instead of failing on what it finds."""
    ref: ResourceRef = client.ref_for(obj)
    namespace = obj["metadata"].get("namespace") if ref.namespaced else None
    try:
        client.create(ref, namespace, obj)
    except AlreadyExists:
        return
    except CategorisedError as exc:
        raise DrsyncerError(
            f"creating {obj['kind']} {obj['metadata']['name']} in {client.name} failed: {exc.message}"
        ) from None


def served(client: ClusterClient, name: str) -> bool:
    try:
        client.resolve(name)
    except CategorisedError:
        return False
    return True


def seeded(clients: Mapping[str, ClusterClient]) -> bool:
    """True when the sample's Replication is in the controller and its namespaces in the source: the
    CRDs alone (applied by hand, say, as the README shows) do not make a seeded cluster."""
    controller, source = clients[sample.CONTROLLER], clients[sample.SOURCE]
    if not served(controller, REPLICATIONS):
        return False
    try:
        replication = controller.get(
            controller.resolve(REPLICATIONS), sample.CONTROL_NAMESPACE, sample.REPLICATION_NAME
        )
        return replication is not None and all(
            source.get(NAMESPACES, None, ns) is not None for ns in sample.NAMESPACES
        )
    except CategorisedError as exc:
        raise DrsyncerError(f"reading what is seeded already failed: {exc.message}") from None


def connect(kubeconfig: Path) -> dict[str, ClusterClient]:
    return {
        name: client_from_kubeconfig_file(kubeconfig, context=name, name=name, retry=DEMO_SEEDING)
        for name in CLUSTERS
    }


def install_crds(controller: ClusterClient, alive: Callable[[], None] = _nothing) -> None:
    """drsyncer's CRDs and the namespace of its objects, in the controller cluster."""
    for crd in all_crds():
        create(controller, crd)
    create(
        controller, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": sample.CONTROL_NAMESPACE}}
    )
    wait_for(partial(served, controller, REPLICATIONS), "the dr-syncer.io CRDs to be served", alive)


def seed_sample(
    clients: Mapping[str, ClusterClient], kubeconfig: Mapping[str, Any], alive: Callable[[], None] = _nothing
) -> None:
    """The sample application in the source, and what replicates it in the controller."""
    # only the source has the sample CRD: the Replication's syncCRDs copies it to the DR clusters
    create(clients[sample.SOURCE], sample.feature_flag_crd())
    wait_for(
        partial(served, clients[sample.SOURCE], sample.CR_TYPE),
        "the sample CRD to be served by the source",
        alive,
    )
    source, controller = clients[sample.SOURCE], clients[sample.CONTROLLER]
    for name in (sample.SOURCE, *sample.DESTINATIONS):
        create(clients[name], sample.storage_class())
    for obj in [*sample.source_namespaces(), *sample.application()]:
        create(source, obj)
    for name in (sample.SOURCE, *sample.DESTINATIONS):
        create(controller, sample.kubeconfig_secret(name, sample.single_context_kubeconfig(kubeconfig, name)))
        create(controller, sample.remote_cluster(name))
    create(controller, sample.replication())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drsyncer.demo.seed",
        description="Install drsyncer's CRDs and the demo's sample application "
        "and Replication into the clusters of a kubeconfig with the contexts "
        f"{', '.join(CLUSTERS)} (as `drsyncer sim` writes it).",
    )
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument(
        "--wait",
        type=float,
        default=STARTUP_S,
        help="seconds to wait for the kubeconfig and the clusters (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    path = Path(args.kubeconfig)
    clients: dict[str, ClusterClient] = {}
    try:
        wait_for(path.exists, f"{path} to be written", timeout_s=args.wait)
        clients = connect(path)
        wait_for(partial(_answers, clients[sample.CONTROLLER]), "the controller cluster", timeout_s=args.wait)
        if seeded(clients):
            print(
                f"already seeded: Replication {sample.CONTROL_NAMESPACE}/{sample.REPLICATION_NAME} and "
                f"the namespaces {', '.join(sample.NAMESPACES)} in {sample.SOURCE} are there; nothing to do"
            )
            return 0
        install_crds(clients[sample.CONTROLLER])
        seed_sample(clients, yaml.safe_load(path.read_text()))
    except DrsyncerError as exc:
        print(f"seed: {exc}", file=sys.stderr)
        return 1
    finally:
        for client in clients.values():
            client.close()
    print(
        f"seeded: Replication {sample.CONTROL_NAMESPACE}/{sample.REPLICATION_NAME} copies "
        f"{', '.join(sample.NAMESPACES)} from {sample.SOURCE} to {', '.join(sample.DESTINATIONS)}"
    )
    return 0


def _answers(client: ClusterClient) -> bool:
    try:
        client.server_version()
    except CategorisedError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
