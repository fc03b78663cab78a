"""docs/api.md is generated from the models; docs/migration.md matches the conversion."""

from __future__ import annotations

import io
from pathlib import Path

from drsyncer.api.crds import all_crds
from drsyncer.api.migrate import main as migrate_main
from drsyncer.api.migrate import migrate_text
from drsyncer.api.reference import render_reference

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_committed_api_reference_is_identical_to_the_generated_one() -> None:
    assert (DOCS / "api.md").read_text() == render_reference(), (
        "regenerate with: python -m drsyncer.api.reference > docs/api.md"
    )


def test_api_reference_lists_every_spec_field_of_every_current_kind() -> None:
    text = render_reference()
    for crd in all_crds()[:2]:
        spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        for name in spec["properties"]:
            assert f"| `{name}` |" in text, name


def test_migrate_rewrites_mappings_and_passes_other_documents_through() -> None:
    text = """\
apiVersion: v1
kind: List
items:
- apiVersion: dr-syncer.io/v1alpha1
  kind: NamespaceMapping
  metadata: {name: web, namespace: dr, uid: abc, resourceVersion: "5"}
  spec: {sourceCluster: prod, destinationCluster: dr1, sourceNamespace: web, namespaceConfig: {}}
  status: {phase: Completed}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: c}
"""
    warnings = io.StringIO()
    out = migrate_text(text, "stdin", warnings)
    assert out.invalid == 0
    assert (
        out.text
        == """\
apiVersion: dr-syncer.io/v1alpha1
kind: Replication
metadata:
  name: web
  namespace: dr
spec:
  sourceCluster: prod
  destinationCluster: dr1
  sourceNamespace: web
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
"""
    )
    assert warnings.getvalue().startswith("NamespaceMapping/dr/web: spec.namespaceConfig: dropped: ")


def test_migrate_reports_an_unreadable_file_in_one_line(tmp_path: Path, capsys) -> None:
    assert migrate_main([str(tmp_path / "missing.yaml")]) == 1
    assert capsys.readouterr().err == f"cannot read {tmp_path / 'missing.yaml'}: No such file or directory\n"
