"""The Eviction subresource of Pods: whether a PodDisruptionBudget lets a Pod go.

Follows kube-apiserver's eviction REST handler (pkg/registry/core/pod/storage/eviction.go, 1.34):
a Pod that is Pending, Succeeded, Failed or already being deleted is evicted without consulting
budgets; a Pod under more than one budget is refused with 500; otherwise the one budget must allow
a disruption. kube-controller-manager's disruption controller keeps `status.disruptionsAllowed` on a
real cluster; the simulator has no such controller, so the count is worked out here the same way,
from the Pods the budget selects and their `Ready` condition.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from drsyncer.api.selectors import selector_string
from drsyncer.sim.errors import ApiError
from drsyncer.sim.selectors import labels_match, parse_label_selector

Obj = dict[str, Any]


def ignores_budgets(pod: Mapping[str, Any]) -> bool:
    """Pods whose eviction never counts against a budget (kube's `canIgnorePDB`)."""
    phase = (pod.get("status") or {}).get("phase") or "Pending"
    return phase in ("Pending", "Succeeded", "Failed") or bool(pod["metadata"].get("deletionTimestamp"))


def is_ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _selects(budget: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    selector = (budget.get("spec") or {}).get("selector")
    if selector is None:
        return False  # policy/v1: a nil selector selects nothing
    return labels_match(parse_label_selector(selector_string(selector)), pod)


def _scaled(value: int | str, total: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    percent = int(str(value).rstrip("%")) * total / 100
    return math.ceil(percent) if round_up else math.floor(percent)


def disruptions_allowed(budget: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> tuple[int, int, int]:
    """(disruptions allowed, healthy Pods needed, healthy Pods now) for `budget` over the Pods it selects."""
    selected = [p for p in pods if _selects(budget, p) and not p["metadata"].get("deletionTimestamp")]
    healthy = sum(1 for p in selected if is_ready(p))
    spec = budget.get("spec") or {}
    if spec.get("maxUnavailable") is not None:
        expected = len(selected)
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected, round_up=True))
    else:
        desired = _scaled(spec.get("minAvailable", 1), len(selected), round_up=True)
    return max(0, healthy - desired), desired, healthy


def check_eviction(
    pod: Mapping[str, Any], budgets: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]
) -> None:
    """Raise the ApiError kube-apiserver answers when `pod` may not be evicted now; return if it may."""
    if ignores_budgets(pod):
        return
    matching = [b for b in budgets if _selects(b, pod)]
    if len(matching) > 1:
        raise ApiError(
            500,
            "This pod has more than one PodDisruptionBudget, which the eviction "
            "subresource does not support.",
            "InternalError",
        )
    if not matching:
        return
    budget = matching[0]
    pods = list(pods)
    allowed, desired, healthy = disruptions_allowed(budget, pods)
    if allowed > 0:
        return
    if not is_ready(pod) and healthy >= desired:
        return  # an unhealthy Pod may go while the budget holds (unhealthyPodEvictionPolicy IfHealthyBudget)
    name = budget["metadata"]["name"]
    raise ApiError(
        429,
        "Cannot evict pod as it would violate the pod's disruption budget.",
        "TooManyRequests",
        {
            "causes": [
                {
                    "reason": "DisruptionBudget",
                    "message": f"The disruption budget {name} needs {desired} healthy pods and has "
                    f"{healthy} currently",
                }
            ]
        },
    )
