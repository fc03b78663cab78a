"""Quantities as kube-apiserver stores and compares them, and where built-in kinds hold them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from drsyncer.api.quantities import (
    MILLI,
    NANO,
    canonical_quantities,
    canonical_quantity,
    comparable_quantities,
    quantity_key,
)

# (written, stored in a ResourceList (requests, limits), stored in a single quantity (sizeLimit)):
# what kube-apiserver 1.34.4 stored for each, read back from a PodTemplate
STORED: list[tuple[Any, str, str]] = [
    ("1000m", "1", "1"),
    ("0.5", "500m", "500m"),
    (".5", "500m", "500m"),
    ("00.5", "500m", "500m"),
    ("1.50", "1500m", "1500m"),
    ("3.000", "3", "3"),
    ("1024Mi", "1Gi", "1Gi"),
    ("1024Ki", "1Mi", "1Mi"),
    ("1.5Gi", "1536Mi", "1536Mi"),
    ("0.1Gi", "107374182400m", "107374182400m"),
    ("0.5Ki", "512", "512"),
    ("1.5Ki", "1536", "1536"),
    ("1.0Ki", "1Ki", "1Ki"),
    ("0.25Ti", "256Gi", "256Gi"),
    ("1000Mi", "1000Mi", "1000Mi"),
    ("1000", "1k", "1k"),
    ("1000k", "1M", "1M"),
    ("2048", "2048", "2048"),
    ("1024", "1024", "1024"),
    ("1.5e3", "1500", "1500"),
    ("10e1", "100", "100"),
    ("1000e3", "1e6", "1e6"),
    ("1e19", "10e18", "10e18"),
    ("0m", "0", "0"),
    ("0Gi", "0", "0"),
    # a text ParseQuantity takes as canonical already is kept as it was written
    ("+1", "+1", "+1"),
    ("1E3", "1E3", "1E3"),
    ("1e0", "1e0", "1e0"),
    ("010", "010", "010"),
    ("1.", "1.", "1."),
    ("100e-3", "100e-3", "100e-3"),
    ("1023Ki", "1023Ki", "1023Ki"),
    (" 2Gi ", "2Gi", "2Gi"),
    # rounded up: to a billionth, and a ResourceList's to a thousandth
    ("1n", "1m", "1n"),
    ("1500u", "2m", "1500u"),
    ("1500n", "1m", "1500n"),
    ("0.0000000001", "1m", "1n"),
    ("5e-10", "1e-3", "1e-9"),
    ("3e-4", "1e-3", "300e-6"),
    ("1.5E-3", "2e-3", "1500e-6"),
    ("1.000000001", "1001m", "1.000000001"),
    # numbers in JSON
    (2, "2", "2"),
    (0.25, "250m", "250m"),
    (1e-05, "1e-3", "10e-6"),
    (1073741824, "1073741824", "1073741824"),
]


@pytest.mark.parametrize(("written", "in_list", "single"), STORED, ids=[repr(s[0]) for s in STORED])
def test_a_quantity_is_written_as_kube_apiserver_stores_it(written: Any, in_list: str, single: str) -> None:
    assert canonical_quantity(written, MILLI) == in_list
    assert canonical_quantity(written, NANO) == single


@pytest.mark.parametrize(
    ("a", "b", "scale", "same"),
    [
        ("1024Mi", "1Gi", NANO, True),
        ("1073741824", "1Gi", NANO, True),
        ("1000m", "1", NANO, True),
        ("+1", "1e0", NANO, True),
        ("1E3", "1k", NANO, True),
        ("0.5", "500m", NANO, True),
        ("1n", "1m", MILLI, True),
        ("1n", "1m", NANO, False),
        ("1001m", "1", NANO, False),
        ("1Gi", "1G", NANO, False),
    ],
)
def test_quantities_share_a_key_exactly_when_the_server_holds_them_equal(
    a: str, b: str, scale: int, same: bool
) -> None:
    assert (quantity_key(a, scale) == quantity_key(b, scale)) is same


@pytest.mark.parametrize("value", ["", "ten gigs", "1Gb", "1e", "1.5.5", None, True, ["1"], {"a": 1}])
def test_what_is_no_quantity_has_no_canonical_form(value: Any) -> None:
    assert canonical_quantity(value) is None and quantity_key(value) is None


STATEFUL: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "db", "annotations": {"size": "1024Mi"}},
    "spec": {
        "template": {
            "spec": {
                "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "0.5"}}}],
                "containers": [
                    {
                        "name": "main",
                        "resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"}},
                        "env": [
                            {"name": "SIZE", "value": "1024Mi"},
                            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"divisor": "1000m"}}},
                        ],
                    }
                ],
                "overhead": {"cpu": "0.1"},
                "volumes": [
                    {"name": "scratch", "emptyDir": {"sizeLimit": "1024Mi"}},
                    {
                        "name": "ephemeral",
                        "ephemeral": {
                            "volumeClaimTemplate": {
                                "spec": {"resources": {"requests": {"storage": "2048Mi"}}}
                            }
                        },
                    },
                    {"name": "info", "downwardAPI": {"items": [{"resourceFieldRef": {"divisor": "1024Ki"}}]}},
                ],
            }
        },
        "volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "1024Mi"}}}}],
    },
}


def test_the_quantities_of_a_pod_template_and_claim_templates_are_rewritten_and_nothing_else() -> None:
    before = copy.deepcopy(STATEFUL)

    stored = canonical_quantities(STATEFUL, "apps", "StatefulSet")

    assert before == STATEFUL  # not modified
    pod = stored["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["resources"] == {"requests": {"cpu": "500m"}}
    main = pod["containers"][0]
    assert main["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert main["env"] == [
        {"name": "SIZE", "value": "1024Mi"},  # an environment variable's value is text
        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"divisor": "1"}}},
    ]
    assert pod["overhead"] == {"cpu": "100m"}
    scratch, ephemeral, info = pod["volumes"]
    assert scratch["emptyDir"]["sizeLimit"] == "1Gi"
    assert ephemeral["ephemeral"]["volumeClaimTemplate"]["spec"]["resources"]["requests"] == {
        "storage": "2Gi"
    }
    assert info["downwardAPI"]["items"][0]["resourceFieldRef"]["divisor"] == "1Mi"
    assert stored["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"] == {"storage": "1Gi"}
    assert stored["metadata"] == STATEFUL["metadata"]
    # written so already: the very same object back
    assert canonical_quantities(stored, "apps", "StatefulSet") is stored


@pytest.mark.parametrize(
    ("group", "kind", "obj"),
    [
        ("", "ConfigMap", {"data": {"size": "1024Mi"}}),
        ("example.com", "StatefulSet", {"spec": {"volumeClaimTemplates": [{"spec": {"resources": {}}}]}}),
        ("", "ResourceQuota", {"spec": {"hard": {"cpu": "1000m"}}}),
    ],
)
def test_kinds_without_pod_or_claim_specs_are_left_as_they_are(group: str, kind: str, obj: Any) -> None:
    assert canonical_quantities(obj, group, kind) is obj
    assert comparable_quantities(obj, group, kind) is obj


def test_objects_whose_quantities_the_server_holds_equal_compare_equal() -> None:
    claim = {"spec": {"resources": {"requests": {"storage": "1024Mi"}, "limits": {"storage": "1n"}}}}
    stored = {"spec": {"resources": {"requests": {"storage": "1Gi"}, "limits": {"storage": "1m"}}}}
    bigger = {"spec": {"resources": {"requests": {"storage": "2Gi"}, "limits": {"storage": "1m"}}}}

    def comparable(obj: Any) -> Any:
        return comparable_quantities(obj, "", "PersistentVolumeClaim")

    assert comparable(claim) == comparable(stored) != comparable(bigger)
