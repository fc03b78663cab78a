"""docs/api.md, rendered from the same schemas as the CRDs so the reference cannot drift from them.

Regenerate with `python -m drsyncer.api.reference > docs/api.md`.
"""

from __future__ import annotations

import json
from typing import Any

from drsyncer.api import keys
from drsyncer.api.crds import all_crds
from drsyncer.api.durations import DURATION_PATTERN

Schema = dict[str, Any]

INTRO = f"""\
# API reference: `{keys.API_VERSION}`

<!-- Generated from drsyncer/api by `python -m drsyncer.api.reference > docs/api.md`. Edit the field
descriptions in the models, then regenerate; a test keeps this file identical to the output. -->

drsyncer reads three namespaced kinds in the controller cluster:

- **RemoteCluster** (`rcl`): how to reach one cluster and how many requests it may take.
- **Replication** (`repl`): what to copy from a source cluster to one or more DR clusters, and when.
- **NamespaceMapping**: the Go dr-syncer's kind, still accepted and converted to a Replication;
  see [migration.md](migration.md).

Every field below does what it says. A field drsyncer does not know is an error, not something
silently ignored: `drsyncer validate FILE` checks objects offline and prints one line per problem,
naming the field (`spec.pvcConfig.storageClassMappings[1].to: must not be empty`); the controller
sets the `InvalidSpec` condition with the same messages. Install the CRDs from
`charts/drsyncer/crds/` (or `drsyncer crds | kubectl apply -f -`); with kubectl's default
`--validate=strict` the API server also rejects unknown fields.

Durations are written the Go way: `30s`, `5m`, `1h30m`. Schedules are 5-field cron expressions
(`*/5 * * * *`), the macros `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`, or
`@every <duration>` (`@every 30s`). A cron range is written from low to high (`1-5`, `MON-FRI`); one
that starts after it ends (`22-2`, `SAT-SUN`) is refused, as the Go operator and a CronJob refuse it,
naming the field; write a range that wraps round as two (`22-23,0-2`). Day of week runs `0`-`6`
(Sunday is `0`); croniter's `L`, `W`, `#` and `?`, and a step after a single value (`2/3`), are
refused too, as beat could not run them. A cron that restricts both the day of month and the day of
week runs on every day matching either, as cron and a CronJob read it: `0 2 1 * MON` runs on the 1st
of each month and on every Monday, and so does `0 2 */2 * MON` on odd days and Mondays; `*` and
`*/1` restrict nothing (`0 2 */1 * MON` runs on Mondays only). A day of month that never occurs in
the months given (`0 2 31 2 *`) is refused, also beside a day of week (`0 2 31 2 MON`, which cron
would run on Mondays in February): beat cannot hold it. An `@every` schedule (and a Continuous
Replication's full resync) keeps to a grid of its own: every run of a Replication falls at the same point of its
interval, a point drawn from the Replication's namespace and name, so Replications with the same
interval are spread across it rather than due together. The first run starts when the Replication is
created; the second comes at the next grid point at least half an interval later; a run sent late
does not delay the ones after it. `status.nextSyncTime` is that grid point.
"""

EXAMPLE = """\
## Example

```yaml
apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata: {name: prod, namespace: dr-system}
spec:
  kubeconfigSecretRef: {name: prod-kubeconfig}
---
apiVersion: dr-syncer.io/v1alpha1
kind: Replication
metadata: {name: shop, namespace: dr-system}
spec:
  sourceCluster: prod
  destinationClusters: [dr-east, dr-west]
  sourceNamespace: shop
  namespaceMappings:
    - {source: shop-db, destination: shop-db-standby}
  schedule: "@every 10m"
  resourceTypes: [configmaps, secrets, deployments, services, pvc, certificates.cert-manager.io]
  excludeResources:
    - {kind: Secret, name: local-only-token}
  pvcConfig:
    storageClassMappings:
      - {from: gp3, to: standard}
  pruneDeleted: true
```
"""

_NOTES = {
    keys.KIND_REMOTE_CLUSTER: "Conditions: `KubeconfigAvailable`, `KubeconfigValid`, `ClusterAvailable` "
    "(from the health check), and `InvalidSpec` (from the watcher; its message "
    "lists the invalid fields).",
    keys.KIND_REPLICATION: "Conditions: `Ready`, `Synced`, `UpToDate`, `InvalidSpec` (its message lists "
    "the invalid fields) and `RemoteClustersFound` (False, reason `RemoteClusterNotFound` or "
    "`RemoteClusterInvalid`, naming the field, while a RemoteCluster the spec names is missing or "
    "invalid; `Ready` says so too until a run reports). Namespaces are chosen by `sourceNamespace`, `namespaceMappings` and "
    "`namespaceSelector` together (at least one of them); every chosen namespace is "
    "copied to every destination cluster.",
}


def _type(schema: Schema) -> str:
    kind = schema.get("type", "object")
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if kind == "array":
        return f"list of {_type(schema['items'])}"
    if kind == "object" and "additionalProperties" in schema:
        return f"map of string to {_type(schema['additionalProperties'])}"
    if schema.get("format") == "date-time":
        return "timestamp"
    if schema.get("pattern") == DURATION_PATTERN:
        return "duration"
    return str(kind)


def _limits(schema: Schema) -> str:
    parts = []
    if "minimum" in schema:
        parts.append(f"{'>' if schema.get('exclusiveMinimum') else '≥'} {schema['minimum']}")
    if "maximum" in schema:
        parts.append(f"≤ {schema['maximum']}")
    return f" ({', '.join(parts)})" if parts else ""


def _default(schema: Schema, required: bool) -> str:
    if required:
        return "required"
    if "default" not in schema or schema["default"] == {}:
        return ""
    return f"`{json.dumps(schema['default'])}`"


def _rows(schema: Schema, prefix: str = "") -> list[str]:
    rows: list[str] = []
    required = set(schema.get("required") or [])
    for name, child in (schema.get("properties") or {}).items():
        path = f"{prefix}{name}"
        description = str(child.get("description", "")).replace("|", "\\|").replace("\n", " ")
        rows.append(
            f"| `{path}` | {_type(child)}{_limits(child)} | {_default(child, name in required)} "
            f"| {description} |"
        )
        nested = child["items"] if child.get("type") == "array" else child
        rows += _rows(nested, f"{path}[]." if child.get("type") == "array" else f"{path}.")
    return rows


def _section(title: str, schema: Schema) -> list[str]:
    return [
        f"### {title}",
        "",
        "| Field | Type | Default | Description |",
        "|---|---|---|---|",
        *_rows(schema),
        "",
    ]


def _crd_section(crd: Schema) -> list[str]:
    names = crd["spec"]["names"]
    version = crd["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    short = f" (`{'`, `'.join(names['shortNames'])}`)" if names.get("shortNames") else ""
    lines = [f"## {names['kind']}{short}", "", schema["description"], ""]
    if version.get("deprecated"):
        lines += [
            f"**Deprecated**: {version['deprecationWarning']}. Its spec is the Go operator's; "
            "drsyncer converts it (fields with no meaning in drsyncer are dropped with a warning) "
            "and validates the result as a Replication spec. Its status is a Replication status.",
            "",
        ]
    else:
        lines += _section("spec", schema["properties"]["spec"])
    if names["kind"] in _NOTES:
        lines += [_NOTES[names["kind"]], ""]
    columns = ", ".join(
        f"{c['name']} (`{c['jsonPath']}`)"
        for c in version["additionalPrinterColumns"]
        if not c.get("priority")
    )
    lines += [f"`kubectl get {names['plural']}` shows: {columns}.", ""]
    if not version.get("deprecated"):
        lines += _section("status", schema["properties"]["status"])
    return lines


def render_reference() -> str:
    lines = [INTRO]
    for crd in all_crds():
        lines += _crd_section(crd)
    lines.append(EXAMPLE)
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_reference(), end="")
