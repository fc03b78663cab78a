"""`drsyncer migrate`: NamespaceMapping YAML in, Replication YAML out, warnings on stderr."""

from __future__ import annotations

import yaml

from drsyncer.cli import main

LEGACY = """\
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {name: web, namespace: dr-system}
spec:
  sourceCluster: prod
  destinationCluster: dr1
  sourceNamespace: web
  resourceTypes: ["*"]
  tempPodKeySecretRef: {name: keys}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: untouched}
"""


def test_migrate_prints_replications_and_passes_other_documents_through(tmp_path, capsys) -> None:
    path = tmp_path / "legacy.yaml"
    path.write_text(LEGACY)

    assert main(["migrate", str(path)]) == 0

    captured = capsys.readouterr()
    docs = list(yaml.safe_load_all(captured.out))
    assert docs[0]["kind"] == "Replication"
    assert docs[0]["spec"]["sourceNamespace"] == "web"
    assert "tempPodKeySecretRef" not in docs[0]["spec"]
    assert docs[1] == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "untouched"}}
    assert "tempPodKeySecretRef" in captured.err
    # the output is valid input for drsyncer validate
    out = tmp_path / "replications.yaml"
    out.write_text(captured.out)
    assert main(["validate", str(out)]) == 0


def test_migrate_of_a_missing_file_is_one_line_and_exit_1(tmp_path, capsys) -> None:
    assert main(["migrate", str(tmp_path / "absent.yaml")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("drsyncer migrate: cannot read") and len(err.splitlines()) == 1


def test_migrate_of_a_file_that_is_not_yaml_is_one_line_and_exit_1(tmp_path, capsys) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("kind: [unclosed\n  - {\n")

    assert main(["migrate", str(path)]) == 1

    err = capsys.readouterr().err.strip()
    assert err.startswith("drsyncer migrate:") and len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_migrate_of_a_binary_file_is_one_line_and_exit_1(tmp_path, capsys) -> None:
    path = tmp_path / "blob.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")

    assert main(["migrate", str(path)]) == 1
    assert capsys.readouterr().err.strip() == f"drsyncer migrate: {path}: not a text file"


def test_migrate_names_what_makes_a_replication_made_invalid_and_exits_1(tmp_path, capsys) -> None:
    path = tmp_path / "legacy.yaml"
    path.write_text(LEGACY.replace("  sourceNamespace: web\n", "  sourceNamespace: web\n  unknownThing: 1\n"))

    assert main(["migrate", str(path)]) == 1

    captured = capsys.readouterr()
    # written all the same, to be fixed; the error is the one drsyncer validate gives
    (replication, _) = yaml.safe_load_all(captured.out)
    assert replication["kind"] == "Replication" and replication["spec"]["unknownThing"] == 1
    assert (
        "NamespaceMapping/dr-system/web: the Replication it becomes is invalid: spec.unknownThing: unknown field"
        in captured.err
    )
