"""Dependency order for writes (docs/sync-semantics.md); deletes run in the reverse order.

Objects are written so that what a later object refers to already exists: the CRDs a custom
resource needs, the Secrets and ConfigMaps a Pod mounts, the ServiceAccount it runs as, the
Service an Ingress routes to.
"""

from __future__ import annotations

from drsyncer.sync.objects import Key, is_builtin_group

# (group, kind) in write order; each inner tuple is one tier whose members need nothing of each other
_TIERS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("apiextensions.k8s.io", "CustomResourceDefinition"),),
    (("", "Namespace"),),
    # before their token Secrets: a token controller deletes a token Secret whose account is missing
    (("", "ServiceAccount"),),
    (
        ("", "ResourceQuota"),
        ("", "LimitRange"),
        ("storage.k8s.io", "StorageClass"),
        ("", "Secret"),
        ("", "ConfigMap"),
        ("", "PersistentVolume"),
        ("", "PersistentVolumeClaim"),
    ),
    (
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
    ),
    (("", "Service"), ("networking.k8s.io", "NetworkPolicy")),
    (
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("apps", "ReplicaSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
        ("", "Pod"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("policy", "PodDisruptionBudget"),
    ),
    (("networking.k8s.io", "Ingress"),),
)

_STEP = 100  # room inside a tier for the listed kinds, keeping their listed order
_RANKS: dict[tuple[str, str], int] = {
    gk: tier * _STEP + pos for tier, members in enumerate(_TIERS) for pos, gk in enumerate(members)
}
OTHER_BUILTIN_RANK = len(_TIERS) * _STEP  # built-in kinds not listed: after Ingresses
CUSTOM_RESOURCE_RANK = OTHER_BUILTIN_RANK + _STEP  # custom resources come last


__all__ = [
    "CUSTOM_RESOURCE_RANK",
    "OTHER_BUILTIN_RANK",
    "delete_order",
    "is_builtin_group",
    "rank",
    "tier",
    "write_order",
]


def rank(group: str, kind: str) -> int:
    """Write rank of a kind: lower is written earlier. Stable for every (group, kind)."""
    known = _RANKS.get((group, kind))
    if known is not None:
        return known
    return OTHER_BUILTIN_RANK if is_builtin_group(group) else CUSTOM_RESOURCE_RANK


def tier(group: str, kind: str) -> int:
    """The dependency tier of a kind; kinds in one tier can be written concurrently."""
    return rank(group, kind) // _STEP


def write_order(key: Key) -> tuple[int, str, str, str, str]:
    """Sort key for creates and updates: by rank, then group, kind, namespace, name (deterministic)."""
    return (rank(key.group, key.kind), key.group, key.kind, key.namespace, key.name)


def delete_order(key: Key) -> tuple[int, str, str, str, str]:
    """Sort key for deletes: dependents first (the reverse rank), deterministic within a kind."""
    return (-rank(key.group, key.kind), key.group, key.kind, key.namespace, key.name)
