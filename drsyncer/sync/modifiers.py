"""Apply a Replication's `spec.modifiers` to a copy for one destination cluster: pure, dicts in and out.

`compile_rules` turns the validated models (drsyncer.api.modifiers) into `CompiledRule`s once per
run (regexes compiled, JSON Patch operations built, kind patterns resolved); `apply` runs them in
order on the transformed copy of one object. The copy it is given shares sub-trees with the source
object (drsyncer.sync.transform), so the first rule that matches deep-copies it: the source is never
changed. A rule that cannot be applied raises `ModifierError` naming the rule, the operation and
the path (`spec.modifiers[1].jsonPatch[0] (/spec/rules/0/host): path not found`); the object is then
not written. Messages never quote field values: the object may be a Secret.
"""

from __future__ import annotations

import copy
import io
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonpatch
from jsonpointer import JsonPointer, JsonPointerException
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from drsyncer.api.modifiers import (
    IDENTITY_MESSAGE,
    EmbeddedFormat,
    EmbeddedPatch,
    ImageRewrite,
    MetadataChange,
    ModifierRule,
)
from drsyncer.api.patches import PatchError, json_merge_patch, strategic_merge_patch
from drsyncer.api.resource_types import kind_names, kind_pattern
from drsyncer.api.selectors import LabelSelector
from drsyncer.errors import CategorisedError, Category
from drsyncer.plugins.contract import identity
from drsyncer.sync.objects import Obj, group_of

# images written without a registry are pulled from Docker Hub (the container runtimes' default)
DEFAULT_REGISTRY = "docker.io"
_MISSING = object()

Operation = Callable[[Obj], Obj]


class ModifierError(CategorisedError):
    """A modifier that could not be applied to an object; NonRetryable: it fails the same way until
    the rule or the object changes."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(Category.NON_RETRYABLE, f"{where}: {message}")


@dataclass(frozen=True)
class _Step:
    where: str  # `spec.modifiers[1].jsonPatch[0] (/spec/rules/0/host)`
    run: Operation = field(compare=False)


@dataclass(frozen=True)
class _FieldMatch:
    pointer: JsonPointer = field(compare=False)
    value: Any = None
    regex: re.Pattern[str] | None = None


@dataclass(frozen=True)
class CompiledRule:
    """One rule ready to run: its conditions as lookups and its operations as steps in order."""

    spec: ModifierRule  # compared and shown; the rest is derived from it
    index: int
    kinds: frozenset[tuple[str, str]] = field(compare=False)
    names: frozenset[str] = field(compare=False)
    name_regex: re.Pattern[str] | None = field(compare=False)
    namespaces: frozenset[str] = field(compare=False)
    selector: LabelSelector | None = field(compare=False)
    field_matches: tuple[_FieldMatch, ...] = field(compare=False)
    clusters: frozenset[str] = field(compare=False)
    steps: tuple[_Step, ...] = field(compare=False)

    def matches(self, body: Mapping[str, Any], *, cluster: str, source_namespace: str) -> bool:
        """Whether every condition holds for `body` (as modified by the earlier rules) in `cluster`."""
        if self.clusters and cluster not in self.clusters:
            return False
        if self.namespaces and source_namespace not in self.namespaces:
            return False
        meta = body.get("metadata") or {}
        name = meta.get("name") or ""
        if self.names and name not in self.names:
            return False
        if self.name_regex is not None and not self.name_regex.search(name):
            return False
        if self.kinds:
            group = group_of(body)
            if not any((group, k) in self.kinds for k in kind_names(body.get("kind") or "")):
                return False
        if self.selector is not None and not self.selector.matches(meta.get("labels") or {}):
            return False
        return all(_field_matches(body, match) for match in self.field_matches)


def compile_rules(rules: Sequence[ModifierRule]) -> tuple[CompiledRule, ...]:
    """The rules of `spec.modifiers`, compiled once for a run."""
    return tuple(_compile(i, rule) for i, rule in enumerate(rules))


def apply(body: Obj, rules: Sequence[CompiledRule], *, cluster: str, source: Mapping[str, Any]) -> Obj:
    """`body` (the transformed copy of `source`) with every matching rule applied in order, for the
    destination RemoteCluster `cluster`; `namespaces` conditions look at `source`'s namespace.

    Returns `body` itself when no rule matches, else a modified deep copy. Raises `ModifierError`.
    """
    if not rules:
        return body
    source_namespace = (source.get("metadata") or {}).get("namespace") or ""
    before = identity(body)
    copied = False
    for rule in rules:
        if not rule.matches(body, cluster=cluster, source_namespace=source_namespace):
            continue
        if not copied:
            body = copy.deepcopy(body)
            copied = True
        for step in rule.steps:
            body = step.run(body)
            if not isinstance(body, dict):
                raise ModifierError(step.where, "the result is not an object")
            if identity(body) != before:
                raise ModifierError(step.where, IDENTITY_MESSAGE)
        if (problem := shape_problem(body)) is not None:
            raise ModifierError(f"spec.modifiers[{rule.index}]", problem)
    return body


def shape_problem(obj: Mapping[str, Any]) -> str | None:
    """What makes `obj` (a copy after modifiers or plugins) something no API server takes, in words
    that quote no value (it may be a Secret): metadata that is not an object, labels or annotations
    that are not maps of strings, or a value JSON cannot carry (a date, NaN, infinity; YAML gives the
    first from an unquoted `2024-01-01`). None when it is fine."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return "the result's metadata is not an object"
    for name in ("labels", "annotations"):
        entries = meta.get(name)
        if entries is None:
            continue
        if not isinstance(entries, Mapping):
            return f"the result's metadata.{name} is not a map"
        if bad := sorted(str(k) for k, v in entries.items() if not isinstance(v, str)):
            return f"the result's metadata.{name} {', '.join(bad[:3])}: not a string (quote the value)"
    try:
        json.dumps(obj, allow_nan=False)
    except ValueError:
        return "the result holds NaN or infinity, which JSON cannot carry"
    except TypeError as exc:  # names the type only, e.g. "Object of type date is not JSON serializable"
        return f"the result holds a value JSON cannot carry ({exc}; quote it)"
    return None


# ---- compiling -----------------------------------------------------------------------------------


def _compile(index: int, rule: ModifierRule) -> CompiledRule:
    at = f"spec.modifiers[{index}]"
    steps: list[_Step] = []
    for i, operation in enumerate(rule.json_patch):
        steps.append(_json_patch_step(f"{at}.jsonPatch[{i}] ({operation.path})", operation.as_rfc6902()))
    if rule.merge_patch:
        steps.append(_Step(f"{at}.mergePatch", _merge(rule.merge_patch)))
    if rule.strategic_merge_patch:
        steps.append(
            _Step(
                f"{at}.strategicMergePatch",
                _strategic(f"{at}.strategicMergePatch", rule.strategic_merge_patch),
            )
        )
    if rule.image is not None:
        steps.append(_Step(f"{at}.image", _images(rule.image)))
    if rule.labels is not None:
        steps.append(_Step(f"{at}.labels", _metadata("labels", rule.labels)))
    if rule.annotations is not None:
        steps.append(_Step(f"{at}.annotations", _metadata("annotations", rule.annotations)))
    for i, embedded in enumerate(rule.embedded):
        where = f"{at}.embedded[{i}] ({embedded.field})"
        steps.append(_Step(where, _embedded(where, embedded)))
    return CompiledRule(
        spec=rule,
        index=index,
        kinds=frozenset(kind_pattern(name) for name in rule.resources),
        names=frozenset(rule.names),
        name_regex=re.compile(rule.name_regex) if rule.name_regex is not None else None,
        namespaces=frozenset(rule.namespaces),
        selector=rule.label_selector,
        field_matches=tuple(
            _FieldMatch(
                JsonPointer(m.path),
                m.value,
                re.compile(m.regex) if m.regex is not None else None,
            )
            for m in rule.field_matches
        ),
        clusters=frozenset(rule.clusters),
        steps=tuple(steps),
    )


def _field_matches(body: Mapping[str, Any], match: _FieldMatch) -> bool:
    found = match.pointer.resolve(body, _MISSING)
    if found is _MISSING:
        return False
    if match.regex is None:
        return bool(found == match.value)
    if isinstance(found, bool):
        found = "true" if found else "false"
    if isinstance(found, int | float):
        found = str(found)
    return isinstance(found, str) and match.regex.search(found) is not None


def _json_patch_step(where: str, operation: dict[str, Any]) -> _Step:
    return _Step(where, _json_patch(where, [operation]))


def _json_patch(where: str, operations: list[dict[str, Any]]) -> Operation:
    patch = jsonpatch.JsonPatch(operations)

    def run(doc: Obj) -> Obj:
        try:
            result: Obj = patch.apply(doc, in_place=True)
        except jsonpatch.JsonPatchTestFailed:
            raise ModifierError(where, "test failed: the value differs") from None
        except (jsonpatch.JsonPatchException, JsonPointerException, IndexError, KeyError, TypeError):
            # the library's messages quote the document: say only what is wrong with the path
            raise ModifierError(where, "path not found") from None
        return result

    return run


def _merge(patch: dict[str, Any]) -> Operation:
    def run(doc: Obj) -> Obj:
        merged: Obj = json_merge_patch(doc, copy.deepcopy(patch))
        return merged

    return run


def _strategic(where: str, patch: dict[str, Any]) -> Operation:
    def run(doc: Obj) -> Obj:
        try:
            merged: Obj = strategic_merge_patch(doc, copy.deepcopy(patch))
        except PatchError as exc:
            raise ModifierError(where, str(exc)) from None
        return merged

    return run


def _metadata(which: str, change: MetadataChange) -> Operation:
    def run(doc: Obj) -> Obj:
        meta = doc.setdefault("metadata", {})
        values = dict(meta.get(which) or {})
        for key in change.remove:
            values.pop(key, None)
        values.update(change.set)
        meta[which] = values
        return doc

    return run


# ---- images --------------------------------------------------------------------------------------


def split_image(image: str) -> tuple[str, str, str, str]:
    """(registry, repository, tag, digest) of an image reference as written; absent parts are "".

    The first path component is a registry when it has a `.` or `:` or is `localhost` (the rule of
    github.com/distribution/reference, which the container runtimes use).
    """
    rest, _, digest = image.partition("@")
    registry = ""
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    repository, tag = rest, ""
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        repository, tag = rest[:colon], rest[colon + 1 :]
    return registry, repository, tag, digest


def rewrite_image(image: str, rule: ImageRewrite) -> str:
    """The image after `rule`, or `image` unchanged when the rule's match fields do not match it."""
    registry, repository, tag, digest = split_image(image)
    if (
        rule.match_registry is not None
        and registry != rule.match_registry
        and not (registry == "" and rule.match_registry == DEFAULT_REGISTRY)
    ):
        return image
    if rule.match_repository is not None and repository != rule.match_repository:
        return image
    if rule.registry is not None:
        registry = rule.registry
    if rule.repository is not None:
        repository = rule.repository
    if rule.tag is not None:
        tag, digest = rule.tag, ""
    out = f"{registry}/{repository}" if registry else repository
    if tag:
        out += f":{tag}"
    if digest:
        out += f"@{digest}"
    return out


def _images(rule: ImageRewrite) -> Operation:
    def run(doc: Obj) -> Obj:
        _rewrite_pod_specs(doc, rule)
        return doc

    return run


def _rewrite_pod_specs(node: Any, rule: ImageRewrite) -> None:
    # every pod template wherever it sits (Deployment, CronJob, a custom workload): a mapping whose
    # containers or initContainers are lists of mappings with an image
    if isinstance(node, dict):
        for key in ("containers", "initContainers"):
            containers = node.get(key)
            if isinstance(containers, list):
                for container in containers:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        container["image"] = rewrite_image(container["image"], rule)
        for value in node.values():
            _rewrite_pod_specs(value, rule)
    elif isinstance(node, list):
        for item in node:
            _rewrite_pod_specs(item, rule)


# ---- embedded documents --------------------------------------------------------------------------


def _embedded(where: str, embedded: EmbeddedPatch) -> Operation:
    pointer = JsonPointer(embedded.field)
    patch = (
        _json_patch(where, [op.as_rfc6902() for op in embedded.json_patch]) if embedded.json_patch else None
    )
    merge = embedded.merge_patch

    def run(doc: Obj) -> Obj:
        text = pointer.resolve(doc, _MISSING)
        if text is _MISSING:
            raise ModifierError(where, "path not found")
        if not isinstance(text, str):
            raise ModifierError(where, "not a string field")
        parsed = _parse(where, text, embedded.format)
        if patch is not None:
            parsed = patch(parsed)
        if merge:
            # the document was parsed for this run alone: patched in place, it keeps its comments
            parsed = json_merge_patch(parsed, copy.deepcopy(merge), in_place=True)
        written = _write(parsed, text, embedded.format)
        parent, last = pointer.to_last(doc)
        parent[int(str(last)) if isinstance(parent, list) else last] = written
        return doc

    return run


def _yaml() -> YAML:
    """A round-trip YAML 1.2 reader and writer: a value the patch does not touch is written back as it
    was read (`NO`, `0755`, `12:30`, `1.10`, `0x1F` and quotes stay; PyYAML's YAML 1.1 made them
    false, 493, 750, 1.1 and 31), comments of maps the patch leaves alone stay, and long lines are
    not folded. Built per use: a `YAML` instance is not safe to share between threads."""
    handler = YAML(typ="rt")
    handler.preserve_quotes = True
    handler.width = 1 << 16
    return handler


def _parse(where: str, text: str, form: EmbeddedFormat) -> Any:
    try:
        if form is EmbeddedFormat.JSON:
            # NaN, Infinity and a number beyond a double are not JSON (RFC 8259); Python reads them
            return json.loads(text, parse_constant=_not_json, parse_float=_finite)
        return _yaml().load(text)
    except (ValueError, YAMLError, MarkedYAMLError) as exc:
        # the position only: the text may be a secret
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        if line is None:
            line = getattr(exc, "lineno", None)
        else:
            line += 1
        at = f" (line {line})" if line is not None else ""
        raise ModifierError(where, f"not valid {form.value}{at}") from None


def _not_json(_: str) -> Any:
    raise ValueError("not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError("a number beyond a double")
    return value


def _write(document: Any, original: str, form: EmbeddedFormat) -> str:
    if form is EmbeddedFormat.JSON:
        # keep the layout family of the original: one line stays one line
        indent = 2 if "\n" in original.strip() else None
        separators = None if indent else (",", ":")
        text = json.dumps(document, indent=indent, separators=separators, ensure_ascii=False)
        return text + "\n" if original.endswith("\n") else text
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


__all__ = [
    "DEFAULT_REGISTRY",
    "CompiledRule",
    "ModifierError",
    "apply",
    "compile_rules",
    "rewrite_image",
    "split_image",
]
