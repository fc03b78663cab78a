"""The only code that talks HTTP to a Kubernetes API server.

Start from `ClusterClients` (RemoteClusters, from their kubeconfig Secrets) or
`client_from_kubeconfig` / `client_from_kubeconfig_file`; each gives a `ClusterClient`.
"""

from drsyncer.kube.client import ClusterClient, ObjectStream
from drsyncer.kube.counters import RequestCounters
from drsyncer.kube.discovery import Discovery, ResourceRef
from drsyncer.kube.errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeconfigError,
    NotFound,
    NotServed,
    Unreachable,
)
from drsyncer.kube.health import ClusterCheck, check_cluster
from drsyncer.kube.kubeconfig import (
    ClusterAccess,
    client_from_kubeconfig,
    client_from_kubeconfig_file,
    parse_kubeconfig,
)
from drsyncer.kube.ratelimit import (
    LocalRateLimiter,
    RateBudget,
    RateLimiter,
    RedisRateLimiter,
    rate_limiter_for,
)
from drsyncer.kube.remote_clusters import ClusterClients, RemoteClusterAccess, read_kubeconfig_secret
from drsyncer.kube.retry import RetryPolicy, call_with_retries, retry_delay, retry_on_conflict

__all__ = [
    "AlreadyExists",
    "ApiError",
    "ClusterAccess",
    "ClusterCheck",
    "ClusterClient",
    "ClusterClients",
    "Conflict",
    "Discovery",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubeconfigError",
    "LocalRateLimiter",
    "NotFound",
    "NotServed",
    "ObjectStream",
    "RateBudget",
    "RateLimiter",
    "RedisRateLimiter",
    "RemoteClusterAccess",
    "RequestCounters",
    "ResourceRef",
    "RetryPolicy",
    "Unreachable",
    "call_with_retries",
    "check_cluster",
    "client_from_kubeconfig",
    "client_from_kubeconfig_file",
    "parse_kubeconfig",
    "rate_limiter_for",
    "read_kubeconfig_secret",
    "retry_delay",
    "retry_on_conflict",
]
