"""Binding `spec.plugins` to the installed plugins and running their hooks over plain dicts."""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

import pytest

from drsyncer.errors import CategorisedError, Category
from drsyncer.plugins import Skip
from drsyncer.plugins.chain import Chain, Place, PluginSetting, chain_for, fingerprint, problems
from drsyncer.plugins.registry import InstalledPlugin
from tests.unit.plugins.registry import CARELESS, MODULE, sample_line, sample_registry

REGISTRY = sample_registry()
CARELESS_REGISTRY = sample_registry(CARELESS)
PLACE = Place("dr-system/shop", "prod", "shop", "dr1", "shop-dr")


def chain(*settings: tuple[str, dict[str, Any]]) -> Chain:
    return chain_for([PluginSetting.of(n, p) for n, p in settings], REGISTRY | CARELESS_REGISTRY, PLACE)


PASSWORD = "s3cr3t-hunter2"
PORT = "not-a-number"


def secret() -> dict[str, Any]:
    def encoded(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "shop-dr"},
        "type": "Opaque",
        "data": {"password": encoded(PASSWORD), "port": encoded(PORT)},
    }


SECRET_VALUES = (PASSWORD, PORT, *secret()["data"].values())


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
        (
            "exploding",
            "bad",
            f"plugin \"exploding\": transform raised KeyError: 'host' ({sample_line('raise KeyError')}, in "
            "Exploding.transform)",
        ),
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
        (
            "flat-metadata",
            "web",
            'plugin "flat-metadata": transform changed apiVersion, kind, name or namespace of the object; '
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


@pytest.mark.parametrize(
    ("plugin", "run", "message"),
    [
        (
            "decoding",
            lambda c, obj: c.apply(obj),
            f'plugin "decoding": transform raised ValueError ({sample_line("raises: decoding")}, in _port; '
            "the message is not shown for a Secret)",
        ),
        (
            "quoting",
            lambda c, obj: c.skip_reason(obj),
            f'plugin "quoting": filter raised ValueError ({sample_line("raises: quoting a Secret")}, in '
            "Quoting.filter; the message is not shown for a Secret)",
        ),
    ],
)
def test_a_hook_failing_on_a_secret_is_reported_by_type_and_line_never_by_its_message(
    plugin: str, run: Any, message: str
) -> None:
    with pytest.raises(CategorisedError) as caught:
        run(chain((plugin, {})), secret())
    assert caught.value.message == message
    # nothing keeps the hook's exception either: its text and its frames' locals hold the data
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_a_hook_failing_on_another_object_is_reported_with_its_message_on_one_clipped_line() -> None:
    with pytest.raises(CategorisedError) as caught:
        chain(("quoting", {})).skip_reason(configmap("bad"))
    assert caught.value.message == (
        f'plugin "quoting": filter raised ValueError: bad host shop.example.com '
        f"({sample_line('raises: quoting a ConfigMap')}, in Quoting.filter)"
    )
    long = configmap("bad")
    long["data"]["host"] = "x\n" * 1000
    with pytest.raises(CategorisedError) as caught:
        chain(("quoting", {})).skip_reason(long)
    assert "\n" not in caught.value.message
    assert "x x x" in caught.value.message
    assert len(caught.value.message) < 600


def test_a_reason_about_a_secret_has_its_data_values_masked() -> None:
    reason = chain(("telling", {})).skip_reason(secret())
    assert reason == "plugin \"telling\": password *** is '***'"
    assert reason is not None and not any(value in reason for value in SECRET_VALUES)


@pytest.mark.parametrize(
    ("exception", "where"),
    [
        ("SystemExit", f"SystemExit: 3 ({sample_line('raises: exiting')}, in Raising.transform)"),
        ("GeneratorExit", f"GeneratorExit ({sample_line('raises: by name')}, in Raising.transform)"),
    ],
)
def test_a_hook_that_exits_fails_its_object_only(exception: str, where: str) -> None:
    plugins = chain(("raising", {"exception": exception}))
    with pytest.raises(CategorisedError) as caught:
        plugins.apply(configmap("bad"))
    assert caught.value.message == f'plugin "raising": transform raised {where}'
    assert caught.value.category is Category.NON_RETRYABLE
    assert isinstance(plugins.apply(configmap("good")), dict)


def test_ctrl_c_during_a_hook_still_stops_the_process() -> None:
    with pytest.raises(KeyboardInterrupt):
        chain(("raising", {"exception": "KeyboardInterrupt"})).apply(configmap("bad"))


def test_a_filter_cannot_change_the_object_it_reads() -> None:
    source = configmap()
    with pytest.raises(CategorisedError) as caught:
        chain(("mutating", {})).skip_reason(source)
    assert caught.value.message == (
        "plugin \"mutating\": filter raised TypeError: 'ReadOnlyDict' object does not support item "
        f"assignment ({sample_line('raises: mutating')}, in Mutating.filter)"
    )
    assert source == configmap()


def test_what_a_hook_changes_in_its_parameters_never_reaches_the_next_object() -> None:
    # the bound parameters are shared by every object of a destination
    plugins = chain(("tallying", {"seen": [], "annotations": {"team": "a"}}))
    first, second = plugins.apply(configmap("first")), plugins.apply(configmap("second"))
    assert isinstance(first, dict) and isinstance(second, dict)
    assert first["metadata"]["annotations"] == {"team": "a", "seen": "first"}
    assert second["metadata"]["annotations"] == {"team": "a", "seen": "second"}
    first["metadata"]["annotations"]["dr-syncer.io/source-hash"] = "x"  # as drsyncer marks a copy
    assert "dr-syncer.io/source-hash" not in second["metadata"]["annotations"]
    assert json.loads(json.dumps(second)) == second  # written as JSON like any copy
    assert [dict(context.parameters) for _, context in plugins.transforms] == [
        {"seen": [], "annotations": {"team": "a"}}
    ]


def test_a_validator_that_exits_is_a_problem_with_its_parameters() -> None:
    class Exiting:
        @staticmethod
        def validate(parameters: dict[str, Any]) -> None:
            sys.exit("no")

    registry = {"exiting": InstalledPlugin("exiting", "", "", "x:y", validate=Exiting.validate)}
    [problem] = problems([PluginSetting.of("exiting", {})], registry)
    assert problem.startswith(
        'spec.plugins[0].parameters: plugin "exiting": validator raised SystemExit: no ('
    )
