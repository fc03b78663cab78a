"""Plugin objects the unit tests load through real `importlib.metadata.EntryPoint`s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drsyncer.plugins import PluginContext, Skip


class Suffix:
    """Appends `parameters.suffix` to `data.host`; skips objects whose name is `parameters.skipName`."""

    @staticmethod
    def transform(obj: dict[str, Any], context: PluginContext) -> dict[str, Any] | Skip:
        if obj["metadata"]["name"] == context.parameters.get("skipName"):
            return Skip("not wanted in DR")
        data = obj.setdefault("data", {})
        data["host"] = data.get("host", "") + str(context.parameters.get("suffix", ""))
        data["cluster"] = context.destination_cluster
        return obj

    @staticmethod
    def validate(parameters: dict[str, Any]) -> list[tuple[str, str]]:
        if "suffix" in parameters and not isinstance(parameters["suffix"], str):
            return [("suffix", "must be a string")]
        return []


class LocalOnly:
    """Leaves out objects labelled `local-only`."""

    @staticmethod
    def filter(obj: Mapping[str, Any], context: PluginContext) -> str | None:
        labels = obj["metadata"].get("labels") or {}
        return "labelled local-only" if "local-only" in labels else None


class Exploding:
    """Fails on objects named `bad`."""

    @staticmethod
    def transform(obj: dict[str, Any], context: PluginContext) -> dict[str, Any]:
        if obj["metadata"]["name"] == "bad":
            raise KeyError("host")
        return obj


class Renaming:
    @staticmethod
    def transform(obj: dict[str, Any], context: PluginContext) -> dict[str, Any]:
        obj["metadata"]["name"] += "-dr"
        return obj


class ReturnsNothing:
    @staticmethod
    def transform(obj: dict[str, Any], context: PluginContext) -> None:
        obj["data"] = {}


class Strict:
    @staticmethod
    def filter(obj: Mapping[str, Any], context: PluginContext) -> None:
        return None

    @staticmethod
    def validate(parameters: dict[str, Any]) -> list[tuple[str, str]]:
        if not parameters:
            raise ValueError("needs at least one parameter")
        return [(key, "unknown parameter") for key in parameters if key != "level"]


class NoHooks:
    pass


suffix = Suffix()
