"""Label selectors (`metav1.LabelSelector`), validated as the API server does and matched offline."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import Field

from drsyncer.api.camel import Problem, SpecModel
from drsyncer.api.fieldtypes import LabelKey, LabelValue


class SelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class LabelSelectorRequirement(SpecModel):
    key: LabelKey = Field(description="Label key the requirement applies to.")
    operator: SelectorOperator = Field(description="How the key's value is compared with `values`.")
    values: list[LabelValue] = Field(
        default_factory=list,
        description="Non-empty for In and NotIn; must be empty for Exists and DoesNotExist.",
    )

    def problems(self) -> list[Problem]:
        needs_values = self.operator in (SelectorOperator.IN, SelectorOperator.NOT_IN)
        if needs_values and not self.values:
            return [("values", f"operator {self.operator.value} needs at least one value")]
        if not needs_values and self.values:
            return [("values", f"operator {self.operator.value} takes no values")]
        return []

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator is SelectorOperator.IN:
            return labels.get(self.key) in self.values
        if self.operator is SelectorOperator.NOT_IN:
            return labels.get(self.key) not in self.values
        if self.operator is SelectorOperator.EXISTS:
            return self.key in labels
        return self.key not in labels


class LabelSelector(SpecModel):
    match_labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict, description="Labels that must all be present with exactly these values."
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, description="Requirements that must all hold."
    )

    @property
    def is_empty(self) -> bool:
        """An empty selector matches everything."""
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            requirement.matches(labels) for requirement in self.match_expressions
        )


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """A `metav1.LabelSelector` dict (matchLabels/matchExpressions) in its string form, the
    `labelSelector` query value and a /scale status's `selector`: `a=b,tier in (x,y),!legacy`.
    An expression with an unknown operator is left out (the API server rejects such a selector)."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or ():
        key, values = expr.get("key", ""), ",".join(expr.get("values") or ())
        form = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": str(key),
            "DoesNotExist": f"!{key}",
        }.get(str(expr.get("operator") or ""))
        if form is not None:
            parts.append(form)
    return ",".join(parts)
