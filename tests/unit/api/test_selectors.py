"""Label selectors match like the API server's and render as a query."""

import pytest

from drsyncer.api.selectors import LabelSelector, selector_string

SELECTOR = LabelSelector.model_validate(
    {
        "matchLabels": {"dr": "yes"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "api"]},
            {"key": "legacy", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "team", "operator": "Exists"},
        ],
    }
)


@pytest.mark.parametrize(
    ("labels", "matches"),
    [
        ({"dr": "yes", "tier": "web", "team": "a"}, True),
        ({"dr": "yes", "tier": "api", "team": "a", "env": "prod"}, True),
        ({"dr": "no", "tier": "web", "team": "a"}, False),
        ({"dr": "yes", "tier": "db", "team": "a"}, False),
        ({"dr": "yes", "tier": "web", "team": "a", "legacy": ""}, False),
        ({"dr": "yes", "tier": "web", "team": "a", "env": "dev"}, False),
        ({"dr": "yes", "tier": "web"}, False),
        (None, False),
    ],
)
def test_selector_matches_labels(labels: dict[str, str] | None, matches: bool) -> None:
    assert SELECTOR.matches(labels) is matches


def test_selector_renders_as_a_label_selector_query() -> None:
    text = selector_string(SELECTOR.model_dump(by_alias=True))
    assert text == "dr=yes,tier in (web,api),!legacy,env notin (dev),team"


def test_empty_selector_matches_everything() -> None:
    assert LabelSelector().matches({"a": "b"}) and LabelSelector().is_empty
