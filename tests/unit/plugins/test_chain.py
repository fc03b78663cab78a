"""Binding `spec.plugins` to the installed plugins and running their hooks over plain dicts."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.errors import CategorisedError, Category
from drsyncer.plugins import Skip
from drsyncer.plugins.chain import Chain, Place, PluginSetting, chain_for, fingerprint, problems
from tests.unit.plugins.registry import MODULE, sample_registry

REGISTRY = sample_registry()
PLACE = Place("dr-system/shop", "prod", "shop", "dr1", "shop-dr")


def chain(*settings: tuple[str, dict[str, Any]]) -> Chain:
    return chain_for([PluginSetting.of(n, p) for n, p in settings], REGISTRY, PLACE)


def configmap(name: str = "web", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop-dr", "labels": labels},
        "data": {"host": "shop.example.com"},
    }


@pytest.mark.parametrize(
    ("name", "parameters", "expected"),
    [
        ("suffix", {"suffix": ".dr"}, []),
        ("suffix", {"suffix": 1}, ["spec.plugins[0].parameters.suffix: must be a string"]),
        ("strict", {}, ["spec.plugins[0].parameters: needs at least one parameter"]),
        (
            "strict",
            {"level": 1, "colour": "red"},
            ["spec.plugins[0].parameters.colour: unknown parameter"],
        ),
        (
            "nope",
            {},
            [
                'spec.plugins[0].name: plugin "nope" is not installed (installed plugins: exploding, '
                "local-only, missing-module, no-hooks, renaming, returns-nothing, strict, suffix; "
                "see `drsyncer plugins`)"
            ],
        ),
        (
            "no-hooks",
            {},
            [
                'spec.plugins[0].name: plugin "no-hooks" cannot be used: '
                f"{MODULE}:NoHooks has neither a transform nor a filter hook"
            ],
        ),
    ],
)
def test_problems_name_the_plugin_entry_and_field(
    name: str, parameters: dict[str, Any], expected: list[str]
) -> None:
    assert problems([PluginSetting.of(name, parameters)], REGISTRY) == expected


def test_a_missing_plugin_fails_the_binding_with_a_non_retryable_error() -> None:
    with pytest.raises(CategorisedError) as caught:
        chain(("suffix", {}), ("gone", {}))
    assert caught.value.category is Category.NON_RETRYABLE
    assert caught.value.message.startswith('spec.plugins[1].name: plugin "gone" is not installed')


def test_transforms_run_in_order_on_a_copy_and_are_told_the_destination() -> None:
    source = configmap()
    out = chain(("suffix", {"suffix": ".dr"}), ("suffix", {"suffix": ".eu"})).apply(source)
    assert isinstance(out, dict)
    assert out["data"] == {"host": "shop.example.com.dr.eu", "cluster": "dr1"}
    assert source["data"] == {"host": "shop.example.com"}  # the input is left as it was


def test_a_transform_may_skip_an_object_with_a_reason() -> None:
    out = chain(("suffix", {"skipName": "web"})).apply(configmap())
    assert out == Skip('plugin "suffix": not wanted in DR')


def test_filters_give_the_plugin_and_its_reason_or_keep_the_object() -> None:
    filters = chain(("local-only", {}))
    assert (
        filters.skip_reason(configmap(**{"local-only": "true"})) == 'plugin "local-only": labelled local-only'
    )
    assert filters.skip_reason(configmap()) is None


@pytest.mark.parametrize(
    ("plugin", "name", "message"),
    [
        ("exploding", "bad", "plugin \"exploding\": transform raised KeyError: 'host'"),
        (
            "returns-nothing",
            "web",
            'plugin "returns-nothing": transform returned NoneType, not an object or Skip',
        ),
        (
            "renaming",
            "web",
            'plugin "renaming": transform changed apiVersion, kind, name or namespace of the object; '
            "a plugin may change anything else",
        ),
    ],
)
def test_a_failing_transform_raises_an_error_naming_the_plugin(plugin: str, name: str, message: str) -> None:
    with pytest.raises(CategorisedError) as caught:
        chain((plugin, {})).apply(configmap(name))
    assert caught.value.message == message


def test_the_fingerprint_is_empty_without_plugins_and_follows_the_parameters() -> None:
    assert fingerprint([]) == ""
    one = fingerprint([PluginSetting.of("suffix", {"suffix": ".dr", "a": [1]})])
    same = fingerprint([PluginSetting.of("suffix", {"a": [1], "suffix": ".dr"})])
    other = fingerprint([PluginSetting.of("suffix", {"suffix": ".eu", "a": [1]})])
    assert one == same != other
