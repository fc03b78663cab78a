"""`drsyncer sync` flags as a user types them: `--dest-context` repeated, `--namespace` malformed.

Through the CLI entry point against simulated clusters; the simulator's write counters tell whether
anything reached a destination.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drsyncer.cli import main
from drsyncer.kube import client_from_kubeconfig, client_from_kubeconfig_file
from drsyncer.kube.client import NAMESPACES
from drsyncer.sim import SimFleet

NS = "shop-data"


@pytest.fixture
def fleet(sim_fleet) -> SimFleet:
    """source, dr1 and dr2; the source has namespace `shop-data` with a ConfigMap and a Secret."""
    fleet: SimFleet = sim_fleet(["source", "dr1", "dr2"])
    source = client_from_kubeconfig(fleet.kubeconfig_dict(), context="source")
    try:
        source.create(NAMESPACES, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        source.create(
            source.resolve("configmaps"),
            NS,
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "db"}, "data": {"a": "1"}},
        )
        source.create(
            source.resolve("secrets"),
            NS,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "db-password"},
                "data": {"p": "eA=="},
            },
        )
    finally:
        source.close()
    return fleet


def _sync(kubeconfig: Path, *args: str) -> int:
    return main(["sync", "--kubeconfig", str(kubeconfig), "--source-context", "source", *args])


def _has_configmap(kubeconfig: Path, context: str) -> bool:
    client = client_from_kubeconfig_file(kubeconfig, context=context)
    try:
        return client.get(client.resolve("configmaps"), NS, "db") is not None
    finally:
        client.close()


@pytest.mark.parametrize(
    "dest_flags",
    [
        ["--dest-context", "dr1", "--dest-context", "dr2"],
        # a context named again counts once, where it was first named
        ["--dest-context", "dr1,dr2", "--dest-context", "dr1"],
    ],
)
def test_repeated_dest_context_syncs_to_every_context_named_once_each(
    fleet: SimFleet, tmp_path: Path, capsys, dest_flags: list[str]
) -> None:
    kubeconfig = fleet.write_kubeconfig(tmp_path / "kubeconfig")

    assert _sync(kubeconfig, *dest_flags, "-n", NS) == 0

    out = capsys.readouterr().out
    headers = [line.split(":")[0] for line in out.splitlines() if line.startswith(f"{NS} → ")]
    assert headers == [f"{NS} → dr1/{NS}", f"{NS} → dr2/{NS}"], out
    assert _has_configmap(kubeconfig, "dr1") and _has_configmap(kubeconfig, "dr2")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            f"{NS}:Bad_Name",
            f"drsyncer sync: --namespace '{NS}:Bad_Name': destination namespace \"Bad_Name\" is not a "
            'valid name: lower-case letters, digits and "-"',
        ),
        ("a:b:c", "drsyncer sync: --namespace 'a:b:c': expected NS or NS:DEST, with one ':' at most"),
    ],
)
def test_malformed_namespace_is_refused_in_one_line_before_anything_is_written(
    fleet: SimFleet, tmp_path: Path, capsys, value: str, message: str
) -> None:
    kubeconfig = fleet.write_kubeconfig(tmp_path / "kubeconfig")
    before = {name: fleet[name].writes() for name in ("dr1", "dr2")}

    assert _sync(kubeconfig, "--dest-context", "dr1,dr2", "-n", value) == 1

    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(message), line
    assert captured.out == ""
    assert {name: fleet[name].writes() for name in ("dr1", "dr2")} == before
