"""Label selectors (`metav1.LabelSelector`), validated as the API server does and matched offline."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

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
        default_factory=dict, description="Labels that must all be present with exactly these values.")
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, description="Requirements that must all hold.")

    @property
    def is_empty(self) -> bool:
        """An empty selector matches everything."""
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            requirement.matches(labels) for requirement in self.match_expressions)

    def to_query(self) -> str:
        """The `labelSelector=` query parameter form, for listing with a server-side filter."""
        parts = [f"{k}={v}" for k, v in sorted(self.match_labels.items())]
        for req in self.match_expressions:
            if req.operator is SelectorOperator.EXISTS:
                parts.append(req.key)
            elif req.operator is SelectorOperator.DOES_NOT_EXIST:
                parts.append(f"!{req.key}")
            else:
                word = "in" if req.operator is SelectorOperator.IN else "notin"
                parts.append(f"{req.key} {word} ({','.join(req.values)})")
        return ",".join(parts)
