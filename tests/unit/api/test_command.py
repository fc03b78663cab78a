"""`drsyncer validate` and `drsyncer crds`: output, exit codes, one-line failures."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from drsyncer.api.crds import all_crds, crd_filename, render
from drsyncer.cli import main

VALID = """\
apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata: {name: prod, namespace: dr-system}
spec:
  kubeconfigSecretRef: {name: prod-kubeconfig}
---
apiVersion: dr-syncer.io/v1alpha1
kind: Replication
metadata: {name: web, namespace: dr-system}
spec:
  sourceCluster: prod
  destinationClusters: [dr1, dr2]
  sourceNamespace: web
  schedule: "@every 30s"
"""

INVALID = """\
apiVersion: dr-syncer.io/v1alpha1
kind: Replication
metadata: {name: web}
spec:
  sourceCluster: prod
  destinationCluster: prod
  sourceNamespace: web
  pvcConfig:
    storageClassMappings: [{from: a, to: b}, {from: c, to: ""}]
"""

LEGACY = """\
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {name: old, namespace: dr-system}
spec:
  sourceCluster: prod
  destinationCluster: dr1
  sourceNamespace: web
  ingressConfig: {preserveTLS: true}
"""

OTHER = """\
apiVersion: v1
kind: Secret
metadata: {name: prod-kubeconfig, namespace: dr-system}
"""


def _validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    path = tmp_path / "objects.yaml"
    path.write_text(text)
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_valid_documents_print_ok_and_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _validate(tmp_path, VALID + "---\n" + OTHER, capsys)
    assert code == 0
    assert out.splitlines() == [
        "OK RemoteCluster/dr-system/prod",
        "OK Replication/dr-system/web",
        "SKIP Secret/dr-system/prod-kubeconfig: not a dr-syncer.io object (v1)",
    ]


def test_invalid_document_prints_field_errors_and_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _validate(tmp_path, VALID + "---\n" + INVALID, capsys)
    assert code == 1
    assert out.splitlines()[2:] == [
        "INVALID Replication/default/web",
        "  spec.pvcConfig.storageClassMappings[1].to: must not be empty",
    ]


def test_legacy_mapping_is_checked_as_the_replication_it_converts_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _validate(tmp_path, LEGACY, capsys)
    assert code == 0
    assert out.splitlines() == [
        "OK NamespaceMapping/dr-system/old",
        "  warning: spec.ingressConfig: dropped: Ingresses are copied whole: annotations, TLS and backends "
        "are kept",
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "apiVersion: dr-syncer.io/v1alpha1\nkind: Replications\nmetadata: {name: a}\n",
            '  kind: must be one of Replication, RemoteCluster, NamespaceMapping (got "Replications")',
        ),
        ("- just\n- a list\n", "  must be a mapping, not list"),
    ],
)
def test_unusable_documents_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: str
) -> None:
    code, out, _ = _validate(tmp_path, text, capsys)
    assert code == 1
    assert line in out.splitlines()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1, 2\n", "not valid YAML: expected ',' or ']', but got '<stream end>' at line 2, column 1"),
        ("", "no dr-syncer.io objects found"),
        (OTHER, "no dr-syncer.io objects found"),
    ],
)
def test_unreadable_input_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    code, out, err = _validate(tmp_path, text, capsys)
    assert code == 1 and out == ""
    assert err.startswith("drsyncer validate: ") and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_missing_file_fails_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    err = capsys.readouterr().err
    assert err == f"drsyncer validate: cannot read {tmp_path / 'nope.yaml'}: No such file or directory\n"


def test_binary_file_fails_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"\xff\xfe\x00\x81")
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().err == f"drsyncer validate: {path}: not a text file\n"


def test_validate_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(INVALID))
    assert main(["validate", "-"]) == 1
    assert "INVALID Replication/default/web" in capsys.readouterr().out


def test_crds_prints_every_crd(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crds"]) == 0
    names = [doc["metadata"]["name"] for doc in yaml.safe_load_all(capsys.readouterr().out)]
    assert names == [
        "remoteclusters.dr-syncer.io",
        "replications.dr-syncer.io",
        "namespacemappings.dr-syncer.io",
    ]


def test_crds_writes_one_file_per_crd(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crds", "--output-dir", str(tmp_path / "crds")]) == 0
    for crd in all_crds():
        assert (tmp_path / "crds" / crd_filename(crd)).read_text() == render(crd)
    assert len(capsys.readouterr().out.splitlines()) == 3


PLUGINS = """\
apiVersion: dr-syncer.io/v1alpha1
kind: Replication
metadata: {name: web, namespace: dr-system}
spec:
  sourceCluster: prod
  destinationCluster: dr1
  sourceNamespace: web
  plugins:
    - {name: not-installed-anywhere, parameters: {suffix: .dr}}
"""


@pytest.mark.parametrize(
    ("more", "error"),
    [
        ("", 'spec.plugins[0].name: plugin "not-installed-anywhere" is not installed (installed plugins: '),
        (
            "    - {name: not-installed-anywhere}\n",
            'spec.plugins[1].name: plugin "not-installed-anywhere" is listed',
        ),
        ('    - {name: "bad name"}\n', "spec.plugins[1].name: must be an entry point name"),
    ],
)
def test_plugins_not_installed_named_twice_or_badly_are_field_errors(
    more: str, error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _validate(tmp_path, PLUGINS + more, capsys)
    assert code == 1
    assert out.splitlines()[0] == "INVALID Replication/dr-system/web"
    assert out.splitlines()[1].startswith(f"  {error}")


def test_validate_names_a_missing_plugin_with_the_spec_s_other_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _validate(tmp_path, PLUGINS + "  scaleToZro: true\n", capsys)
    assert code == 1
    errors = out.splitlines()[1:]
    assert any(line.startswith("  spec.scaleToZro") for line in errors), out
    assert any(
        'spec.plugins[0].name: plugin "not-installed-anywhere" is not installed' in line for line in errors
    ), out
