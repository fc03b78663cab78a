"""An example drsyncer plugin (docs/plugins.md): the module itself is the plugin object.

Parameters (all optional):

- `hostSuffix`: appended to every host of an Ingress copy (`spec.rules[].host`, `spec.tls[].hosts[]`),
  e.g. `.dr.example.com` turns `shop.example.com` into `shop.example.com.dr.example.com`. A host
  already ending in the suffix is left as it is.
- `annotations`: a map of annotations set on every copy; `{cluster}` in a value is replaced by the
  destination cluster's name.
- `skipLabel`: a label key; source objects carrying it are not copied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # drsyncer is there at run time too, but the hooks need nothing from it
    from drsyncer.plugins import PluginContext


def validate(parameters: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """Problems with the parameters as (path inside `parameters`, message)."""
    problems: list[tuple[str, str]] = []
    known = {"hostSuffix", "annotations", "skipLabel"}
    for key in sorted(set(parameters) - known):
        problems.append((key, f"unknown parameter (known: {', '.join(sorted(known))})"))
    suffix = parameters.get("hostSuffix")
    if suffix is not None and (not isinstance(suffix, str) or not suffix.startswith(".")):
        problems.append(("hostSuffix", "must be a string starting with '.'"))
    annotations = parameters.get("annotations")
    if annotations is not None:
        if not isinstance(annotations, dict):
            problems.append(("annotations", "must be a map of strings"))
        else:
            for key, value in annotations.items():
                if not isinstance(value, str):
                    problems.append((f"annotations[{key}]", "must be a string"))
    label = parameters.get("skipLabel")
    if label is not None and (not isinstance(label, str) or not label):
        problems.append(("skipLabel", "must be a non-empty string"))
    return problems


def filter(obj: Mapping[str, Any], context: PluginContext) -> str | None:
    """Leave out objects labelled with `skipLabel`."""
    label = context.parameters.get("skipLabel")
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if label and label in labels:
        return f"labelled {label}"
    return None


def transform(obj: dict[str, Any], context: PluginContext) -> dict[str, Any]:
    """Add the host suffix to Ingresses and set the annotations; changes `obj` (drsyncer's copy)."""
    suffix = context.parameters.get("hostSuffix")
    if suffix and obj.get("kind") == "Ingress":
        spec = obj.get("spec") or {}
        for rule in spec.get("rules") or ():
            if rule.get("host"):
                rule["host"] = _suffixed(rule["host"], suffix)
        for tls in spec.get("tls") or ():
            tls["hosts"] = [_suffixed(h, suffix) for h in tls.get("hosts") or ()]
    wanted = context.parameters.get("annotations") or {}
    if wanted:
        annotations = obj.setdefault("metadata", {}).setdefault("annotations", {})
        for key, value in wanted.items():
            annotations[key] = value.replace("{cluster}", context.destination_cluster)
    return obj


def _suffixed(host: str, suffix: str) -> str:
    return host if host.endswith(suffix) else host + suffix
