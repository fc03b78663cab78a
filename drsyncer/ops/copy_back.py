"""`drsyncer failback --copy-back-to CONTEXT`: write what changed in the DR cluster while it served
back into the source cluster, before the copies return to standby and syncing resumes (which would
otherwise overwrite those changes with the source's older state)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from drsyncer.errors import CategorisedError
from drsyncer.kube import ClusterClient
from drsyncer.sync import copy_back

FIELD_MANAGER = "drsyncer-failback"


@dataclass(frozen=True)
class CopiedBack:
    kind: str
    namespace: str  # in the DR cluster
    name: str
    outcome: str  # "copied", "would copy", "skipped", "failed"
    detail: str = ""


def run(
    dr: ClusterClient, source: ClusterClient | None, versions: Mapping[str, str], *, dry_run: bool
) -> list[CopiedBack]:
    """For each DR namespace with a failover's recorded resourceVersion, the objects written since,
    applied to the source (server-side apply, forced: the DR state wins) unless `dry_run` or no
    `source` is given."""
    out: list[CopiedBack] = []
    dr_defaults: frozenset[str] | None = None  # read with the first Ingress to copy back
    for resource in copy_back.COPY_BACK_RESOURCES:
        try:
            ref = dr.resolve(resource)
        except CategorisedError:
            continue
        for namespace, recorded in sorted(versions.items()):
            for obj in dr.list(ref, namespace):
                if not copy_back.changed_since(obj, recorded):
                    continue
                name = str(obj["metadata"]["name"])
                skip = copy_back.skip_reason(obj)
                if skip is not None:
                    out.append(CopiedBack(ref.kind, namespace, name, "skipped", skip))
                    continue
                if dry_run or source is None:
                    out.append(
                        CopiedBack(
                            ref.kind, namespace, name, "would copy", f"to {copy_back.source_namespace(obj)}"
                        )
                    )
                    continue
                body = copy_back.body_for_source(obj)
                try:
                    if ref.kind == "Ingress":
                        if dr_defaults is None:
                            dr_defaults = _default_ingress_classes(dr)
                        current = source.get(source.ref_for(body), body["metadata"].get("namespace"), name)
                        body = copy_back.without_default_class(body, current, dr_defaults)
                    source.patch(
                        source.ref_for(body),
                        body["metadata"].get("namespace"),
                        name,
                        body,
                        patch_type="apply",
                        force=True,
                        field_manager=FIELD_MANAGER,
                    )
                    out.append(
                        CopiedBack(
                            ref.kind, namespace, name, "copied", f"to {body['metadata'].get('namespace')}"
                        )
                    )
                except CategorisedError as exc:
                    out.append(CopiedBack(ref.kind, namespace, name, "failed", exc.message))
    return out


def _default_ingress_classes(dr: ClusterClient) -> frozenset[str]:
    """The DR cluster's default IngressClasses; none when they cannot be read (every class is then
    copied back as it is)."""
    try:
        return copy_back.default_ingress_classes(
            dr.list(dr.resolve("ingressclasses.networking.k8s.io"), None)
        )
    except CategorisedError:
        return frozenset()
