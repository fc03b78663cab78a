"""`spec.modifiers[]` of a Replication: declarative rules that rewrite the copies per destination.

Each rule has conditions (all optional, ANDed) and operations applied in a fixed order: jsonPatch,
mergePatch, strategicMergePatch, image, labels, annotations, embedded. The models validate
everything that can be checked without an object (JSON Pointers, regular expressions, op names,
strategic merge on built-in kinds only) so a malformed rule is an InvalidSpec before any run;
drsyncer.sync.modifiers compiles and applies them. User guide: docs/modifiers.md.

Borrowed rules: JSON Patch is RFC 6902 and JSON Pointer RFC 6901 (checked with python-json-patch and
jsonpointer); merge patch is RFC 7386; strategic merge patch is kube's apimachinery
`pkg/util/strategicpatch`, which the API server serves for built-in kinds only (custom resources
answer 415 to it), hence the same limit here.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from enum import StrEnum
from typing import Annotated, Any

from jsonpointer import JsonPointer, JsonPointerException
from pydantic import AfterValidator, Field

from drsyncer.api.camel import Problem, SpecModel
from drsyncer.api.fieldtypes import AnnotationKey, LabelKey, NamespaceName, NonEmpty, ObjectName, ResourceKind
from drsyncer.api.resource_types import find_builtin
from drsyncer.api.selectors import LabelSelector


def check_pointer(value: str) -> str:
    """A JSON Pointer (RFC 6901), e.g. `/spec/rules/0/host`; ValueError saying what is wrong."""
    if value == "":
        raise ValueError('must not be empty (the whole object is not a field; use "/spec/..." and the like)')
    try:
        JsonPointer(value)
    except JsonPointerException as exc:
        raise ValueError(f"invalid JSON Pointer {value!r}: {exc}") from None
    return value


def check_regex(value: str) -> str:
    """A Python regular expression; ValueError naming the problem."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value


Pointer = Annotated[str, AfterValidator(check_pointer)]
Regex = Annotated[str, AfterValidator(check_regex)]
# any JSON value: the CRD keeps it as written (x-kubernetes-preserve-unknown-fields)
JsonValue = Any
JsonObject = dict[str, Any]


class PatchOp(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"
    COPY = "copy"
    MOVE = "move"
    TEST = "test"


_NEEDS_VALUE = (PatchOp.ADD, PatchOp.REPLACE, PatchOp.TEST)
# what makes a copy the copy of its source object: drsyncer finds, updates and prunes it by these, so
# a modifier changing one would write another object (or the copy of another source object)
IDENTITY_POINTERS = ("/apiVersion", "/kind", "/metadata", "/metadata/name", "/metadata/namespace")
IDENTITY_MESSAGE = (
    "a modifier may change anything but a copy's apiVersion, kind, metadata.name and metadata.namespace"
)
_NEEDS_FROM = (PatchOp.COPY, PatchOp.MOVE)


class JsonPatchOperation(SpecModel):
    op: PatchOp = Field(description="RFC 6902 operation: add, remove, replace, copy, move or test.")
    path: Pointer = Field(
        description="JSON Pointer (RFC 6901) of the field operated on, e.g. `/spec/rules/0/host`."
    )
    from_: Pointer | None = Field(
        default=None,
        alias="from",
        description="JSON Pointer of the field copied or moved (copy and move only).",
    )
    value: JsonValue = Field(
        default=None, description="The value added, replaced with or tested for (add, replace and test only)."
    )

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        # a test reads, and copy and move read `from`: only where they write matters
        written = [] if self.op == PatchOp.TEST else [("path", self.path)]
        if self.op == PatchOp.MOVE and self.from_ is not None:
            written.append(("from", self.from_))  # a move removes its source
        for field_name, pointer in written:
            if pointer in IDENTITY_POINTERS or pointer == "":
                found.append((field_name, f"{pointer or '(the whole object)'}: {IDENTITY_MESSAGE}"))
        if self.op in _NEEDS_VALUE and "value" not in self.model_fields_set:
            found.append(("value", f"op {self.op.value} needs a value"))
        if self.op not in _NEEDS_VALUE and "value" in self.model_fields_set:
            found.append(("value", f"op {self.op.value} takes no value"))
        if self.op == PatchOp.MOVE and self.from_ is not None and self.path.startswith(self.from_ + "/"):
            # RFC 6902 4.4: "from" must not be a proper prefix of "path"
            found.append(("path", f"{self.path}: a move into a child of what it moves ({self.from_})"))
        if self.op in _NEEDS_FROM and self.from_ is None:
            found.append(("from", f"op {self.op.value} needs from"))
        if self.op not in _NEEDS_FROM and self.from_ is not None:
            found.append(("from", f"op {self.op.value} takes no from"))
        return found

    def as_rfc6902(self) -> dict[str, Any]:
        """The operation as RFC 6902 writes it."""
        operation: dict[str, Any] = {"op": self.op.value, "path": self.path}
        if self.from_ is not None:
            operation["from"] = self.from_
        if self.op in _NEEDS_VALUE:
            operation["value"] = self.value
        return operation


class FieldMatch(SpecModel):
    path: Pointer = Field(description="JSON Pointer of the field compared, e.g. `/spec/type`.")
    value: JsonValue = Field(default=None, description="The field must equal this value (any JSON value).")
    regex: Regex | None = Field(
        default=None,
        description="The field must be a string (or number or boolean, compared as text) this "
        "regular expression finds a match in; anchor it with ^...$ for the whole value.",
    )

    def problems(self) -> list[Problem]:
        has_value = "value" in self.model_fields_set
        if has_value == (self.regex is not None):
            return [("value", "set exactly one of value and regex")]
        return []


class MetadataChange(SpecModel):
    """Labels set and removed; AnnotationChange is the same for annotations."""

    set: dict[LabelKey, str] = Field(
        default_factory=dict, description="Keys set to these values (added or replaced)."
    )
    remove: list[LabelKey] = Field(
        default_factory=list, description="Keys removed; a key that is absent is fine."
    )

    def problems(self) -> list[Problem]:
        if not self.set and not self.remove:
            return [("set", "set or remove at least one key")]
        return [
            (f"remove[{i}]", f'"{key}" is also in set')
            for i, key in enumerate(self.remove)
            if key in self.set
        ]


class AnnotationChange(MetadataChange):
    """MetadataChange whose keys are checked, and named in messages, as annotation keys."""

    set: dict[AnnotationKey, str] = Field(
        default_factory=dict, description="Keys set to these values (added or replaced)."
    )
    remove: list[AnnotationKey] = Field(
        default_factory=list, description="Keys removed; a key that is absent is fine."
    )


class ImageRewrite(SpecModel):
    match_registry: str | None = Field(
        default=None,
        description="Only images from this registry, e.g. `docker.io` (which also matches images written without "
        "a registry, such as `nginx:1.27`); any registry when left out.",
    )
    match_repository: str | None = Field(
        default=None,
        description="Only images of this repository (the path after the registry, e.g. `library/nginx` or "
        "`nginx` as written); any repository when left out.",
    )
    registry: NonEmpty | None = Field(default=None, description="New registry, e.g. `mirror.dr.example.com`.")
    repository: NonEmpty | None = Field(default=None, description="New repository.")
    tag: NonEmpty | None = Field(
        default=None, description="New tag; a digest (`@sha256:...`) on a rewritten image is dropped with it."
    )

    def problems(self) -> list[Problem]:
        if self.registry is None and self.repository is None and self.tag is None:
            return [("registry", "set registry, repository or tag (an image rule with nothing to change)")]
        return []


class EmbeddedFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


class EmbeddedPatch(SpecModel):
    field: Pointer = Field(
        description="JSON Pointer of a string field holding YAML or JSON, e.g. `/data/app.yaml`."
    )
    format: EmbeddedFormat = Field(
        default=EmbeddedFormat.YAML, description="How the string is written: yaml or json."
    )
    json_patch: list[JsonPatchOperation] = Field(
        default_factory=list, description="RFC 6902 operations on the parsed document."
    )
    merge_patch: JsonObject | None = Field(
        default=None, description="RFC 7386 merge patch applied to the parsed document."
    )

    def problems(self) -> list[Problem]:
        if not self.json_patch and not self.merge_patch:
            return [("jsonPatch", "set jsonPatch or mergePatch")]
        return []


class ModifierRule(SpecModel):
    """One rule of `spec.modifiers`: conditions (all optional, all must hold) and operations."""

    resources: list[ResourceKind] = Field(
        default_factory=list,
        description="Types the rule applies to, e.g. `deployments.apps`, `Ingress`, "
        "`virtualservices.networking.istio.io`; every type when empty.",
    )
    names: list[NonEmpty] = Field(default_factory=list, description="Object names the rule applies to.")
    name_regex: Regex | None = Field(
        default=None,
        description="Regular expression that must find a match in the object name (anchor with ^...$).",
    )
    namespaces: list[NamespaceName] = Field(
        default_factory=list, description="Source namespaces the rule applies to; every one when empty."
    )
    label_selector: LabelSelector | None = Field(default=None, description="Labels the object must carry.")
    field_matches: list[FieldMatch] = Field(
        default_factory=list, description="Field values the object must have (after the earlier rules)."
    )
    clusters: list[ObjectName] = Field(
        default_factory=list,
        description="Destination RemoteClusters the rule applies to; every destination when empty.",
    )
    json_patch: list[JsonPatchOperation] = Field(
        default_factory=list, description="RFC 6902 operations, applied first."
    )
    merge_patch: JsonObject | None = Field(default=None, description="RFC 7386 merge patch.")
    strategic_merge_patch: JsonObject | None = Field(
        default=None,
        description="Kubernetes strategic merge patch; needs `resources` naming built-in kinds only.",
    )
    image: ImageRewrite | None = Field(
        default=None,
        description="Rewrite of the container and init container images of every pod template in the object.",
    )
    labels: MetadataChange | None = Field(default=None, description="Labels set and removed.")
    annotations: AnnotationChange | None = Field(default=None, description="Annotations set and removed.")
    embedded: list[EmbeddedPatch] = Field(
        default_factory=list,
        description="Patches of YAML or JSON documents held in string fields, applied last.",
    )

    @property
    def has_operation(self) -> bool:
        return bool(
            self.json_patch
            or self.merge_patch
            or self.strategic_merge_patch
            or self.image
            or self.labels
            or self.annotations
            or self.embedded
        )

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        if not self.has_operation:
            found.append(
                (
                    "",
                    "sets no operation: set jsonPatch, mergePatch, strategicMergePatch, image, labels, "
                    "annotations or embedded",
                )
            )
        for field_name, patch in (
            ("mergePatch", self.merge_patch),
            ("strategicMergePatch", self.strategic_merge_patch),
        ):
            if isinstance(patch, dict) and _touches_identity(patch):
                found.append((field_name, IDENTITY_MESSAGE))
        if self.strategic_merge_patch:
            if not self.resources:
                found.append(("strategicMergePatch", "needs resources naming built-in kinds"))
            for i, name in enumerate(self.resources):
                if find_builtin(name) is None:
                    found.append(
                        (
                            f"resources[{i}]",
                            f'strategicMergePatch applies to built-in kinds only, not "{name}" '
                            "(use mergePatch or jsonPatch)",
                        )
                    )
        return found


def _touches_identity(patch: dict[str, Any]) -> bool:
    """A merge patch that sets or removes apiVersion, kind, metadata, metadata.name or .namespace."""
    if "apiVersion" in patch or "kind" in patch:
        return True
    meta = patch.get("metadata", {})
    return not isinstance(meta, dict) or "name" in meta or "namespace" in meta


def unknown_clusters(
    clusters_per_rule: Sequence[Sequence[str]], destinations: Collection[str], destination_word: str
) -> list[Problem]:
    """(`modifiers[i].clusters[j]`, message) for every name in `clusters_per_rule[i]` (the `clusters`
    of rule i) that is not in `destinations`; the message calls the cluster "not a <destination_word>".
    A rule naming only clusters it is never run for would silently do nothing, so it is refused instead.
    Plain names rather than rules, so the check also runs on a spec whose rules do not validate."""
    return [
        (f"modifiers[{i}].clusters[{j}]", f'"{cluster}" is not a {destination_word}')
        for i, clusters in enumerate(clusters_per_rule)
        for j, cluster in enumerate(clusters)
        if cluster not in destinations
    ]


__all__ = [
    "AnnotationChange",
    "EmbeddedFormat",
    "EmbeddedPatch",
    "FieldMatch",
    "ImageRewrite",
    "JsonPatchOperation",
    "MetadataChange",
    "ModifierRule",
    "PatchOp",
    "check_pointer",
    "check_regex",
    "unknown_clusters",
]
