"""A RemoteCluster health check: can its kubeconfig be read and used, and does the cluster answer?

The result is a value the status writer turns into `status.health`, `serverVersion`, `message` and
the conditions `KubeconfigAvailable`, `KubeconfigValid` and `ClusterAvailable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drsyncer.api import keys
from drsyncer.errors import CategorisedError, Category
from drsyncer.kube.errors import ApiError, KubeconfigError
from drsyncer.kube.remote_clusters import ClusterClients, RemoteClusterAccess

CONDITIONS = (
    keys.CONDITION_KUBECONFIG_AVAILABLE,
    keys.CONDITION_KUBECONFIG_VALID,
    keys.CONDITION_CLUSTER_AVAILABLE,
)


@dataclass(frozen=True)
class ConditionResult:
    type: str
    status: str  # "True", "False", or "Unknown" when an earlier step failed and this one was not tried
    reason: str
    message: str


@dataclass(frozen=True)
class ClusterCheck:
    conditions: tuple[ConditionResult, ...]
    server_version: str | None
    message: str
    category: Category | None  # of the failure, None when healthy

    @property
    def healthy(self) -> bool:
        return all(c.status == "True" for c in self.conditions)

    @property
    def health(self) -> str:
        """Healthy, Unhealthy, or Unknown when nothing could be checked (the spec is invalid)."""
        if self.healthy:
            return "Healthy"
        return "Unknown" if all(c.status == "Unknown" for c in self.conditions) else "Unhealthy"


def check_cluster(clients: ClusterClients, remote: RemoteClusterAccess | Any) -> ClusterCheck:
    """Read the kubeconfig Secret, build the client and ask the cluster for its version."""
    error: CategorisedError | None = None
    failed_at = len(CONDITIONS)
    version: str | None = None
    try:
        version = clients.get(remote, current=True).server_version()
    except KubeconfigError as exc:
        # an invalid spec (its own condition, the watcher's InvalidSpec): nothing was checked
        error, failed_at = exc, CONDITIONS.index(exc.condition) if exc.condition in CONDITIONS else -1
    except ApiError as exc:
        error, failed_at = exc, CONDITIONS.index(keys.CONDITION_CLUSTER_AVAILABLE)
    results = []
    for index, condition in enumerate(CONDITIONS):
        if failed_at < 0 and error is not None:
            results.append(ConditionResult(condition, "Unknown", "NotChecked", error.message))
        elif index < failed_at:
            results.append(ConditionResult(condition, "True", "Checked", ""))
        elif index == failed_at and error is not None:
            reason = error.reason if isinstance(error, ApiError) else "Failed"
            results.append(ConditionResult(condition, "False", reason, error.message))
        else:
            results.append(
                ConditionResult(condition, "Unknown", "NotChecked", f"{CONDITIONS[failed_at]} is False")
            )
    message = error.message if error is not None else f"reachable, Kubernetes {version}"
    return ClusterCheck(tuple(results), version, message, error.category if error is not None else None)
