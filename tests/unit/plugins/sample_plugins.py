"""Plugin objects the unit tests load through real `importlib.metadata.EntryPoint`s."""

from __future__ import annotations

import base64
import builtins
import sys
from collections.abc import Mapping
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

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


class FlatMetadata:
    @staticmethod
    def transform(obj: dict[str, Any], context: PluginContext) -> dict[str, Any]:
        obj["metadata"] = obj["metadata"]["name"]  # not an object any more
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


class Decoding:
    """Reads a Secret's `port` as a number: raises quoting the decoded value when it is not one."""

    @staticmethod
    def transform(obj: dict[str, Any], context: PluginContext) -> dict[str, Any]:
        if obj["kind"] == "Secret":
            _port(obj)
        return obj


def _port(obj: Mapping[str, Any]) -> int:
    return int(base64.b64decode(obj["data"]["port"]).decode())  # raises: decoding


class Quoting:
    """A filter whose exception quotes what it read: the Secret's password, a ConfigMap's host."""

    @staticmethod
    def filter(obj: Mapping[str, Any], context: PluginContext) -> None:
        if obj["kind"] == "Secret":
            raise ValueError(f"bad {obj['data']['password']}")  # raises: quoting a Secret
        if obj["metadata"]["name"] == "bad":
            raise ValueError(f"bad host {obj['data']['host']}")  # raises: quoting a ConfigMap
        return None


class Telling:
    """A filter whose reason quotes a Secret's password, as stored and decoded."""

    @staticmethod
    def filter(obj: Mapping[str, Any], context: PluginContext) -> str | None:
        if obj["kind"] != "Secret":
            return None
        password = obj["data"]["password"]
        return f"password {password} is {base64.b64decode(password).decode()!r}"


class Raising:
    """Raises the builtin exception named by `parameters.exception` on objects named `bad`;
    `SystemExit` with sys.exit, as a script would."""

    @staticmethod
    def transform(obj: dict[str, Any], context: PluginContext) -> dict[str, Any]:
        if obj["metadata"]["name"] == "bad":
            name = context.parameters["exception"]
            if name == "SystemExit":
                sys.exit(3)  # raises: exiting
            if name == "SoftTimeLimitExceeded":  # as Celery delivers a task's soft time limit
                raise SoftTimeLimitExceeded()
            raise getattr(builtins, name)()  # raises: by name
        return obj


class Mutating:
    """A filter that changes the object it is shown (which the contract forbids)."""

    @staticmethod
    def filter(obj: Mapping[str, Any], context: PluginContext) -> None:
        obj["data"]["host"] = "changed by a filter"  # type: ignore[index]  # raises: mutating


class CountingInParameters:
    """A transform that keeps a tally inside its parameters and puts a part of them into the copy."""

    @staticmethod
    def transform(obj: dict[str, Any], context: PluginContext) -> dict[str, Any]:
        context.parameters["seen"].append(obj["metadata"]["name"])
        obj["metadata"]["annotations"] = context.parameters["annotations"]
        obj["metadata"]["annotations"]["seen"] = ",".join(context.parameters["seen"])
        return obj


suffix = Suffix()
