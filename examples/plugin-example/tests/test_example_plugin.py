"""The example plugin's hooks, called the way drsyncer calls them (no cluster needed)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import drsyncer_example_plugin as plugin


def context(**parameters: Any) -> Any:
    # drsyncer passes a drsyncer.plugins.PluginContext; the hooks read only these two fields
    return SimpleNamespace(parameters=parameters, destination_cluster="dr1")


def ingress() -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "shop", "namespace": "shop"},
        "spec": {
            "rules": [{"host": "shop.example.com"}, {"http": {}}],
            "tls": [{"hosts": ["shop.example.com"], "secretName": "tls"}],
        },
    }


def test_ingress_hosts_get_the_suffix_once() -> None:
    out = plugin.transform(ingress(), context(hostSuffix=".dr.example.com"))
    assert out["spec"]["rules"][0]["host"] == "shop.example.com.dr.example.com"
    assert out["spec"]["tls"][0]["hosts"] == ["shop.example.com.dr.example.com"]
    again = plugin.transform(out, context(hostSuffix=".dr.example.com"))
    assert again["spec"]["rules"][0]["host"] == "shop.example.com.dr.example.com"


def test_annotations_are_set_with_the_destination_cluster_filled_in() -> None:
    obj = {"kind": "ConfigMap", "metadata": {"name": "a"}}
    out = plugin.transform(obj, context(annotations={"example.com/site": "{cluster}"}))
    assert out["metadata"]["annotations"] == {"example.com/site": "dr1"}


def test_objects_with_the_skip_label_are_left_out_and_others_kept() -> None:
    labelled = {"kind": "ConfigMap", "metadata": {"name": "a", "labels": {"example.com/local-only": ""}}}
    plain = {"kind": "ConfigMap", "metadata": {"name": "b"}}
    assert plugin.filter(labelled, context(skipLabel="example.com/local-only")) == (
        "labelled example.com/local-only"
    )
    assert plugin.filter(plain, context(skipLabel="example.com/local-only")) is None
    assert plugin.filter(labelled, context()) is None


def test_bad_parameters_are_reported_by_path() -> None:
    problems = dict(plugin.validate({"hostSuffix": "dr", "annotations": {"a": 1}, "colour": "red"}))
    assert problems == {
        "colour": "unknown parameter (known: annotations, hostSuffix, skipLabel)",
        "hostSuffix": "must be a string starting with '.'",
        "annotations[a]": "must be a string",
    }
    assert list(plugin.validate({"hostSuffix": ".dr", "skipLabel": "x"})) == []
