"""`drsyncer watcher`: its flags are the settings table's and it runs the scheduler's handler."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drsyncer import config
from drsyncer.cli import build_parser, run_watcher
from drsyncer.kube.errors import KubeconfigError
from drsyncer.kube.kubeconfig import controller_client


def test_watcher_subcommand_has_a_flag_per_setting_and_the_scheduler_handler() -> None:
    args = build_parser().parse_args(["watcher", "--watch-namespace", "dr-system", "--lease-duration", "10s"])
    assert args.handler is run_watcher
    settings = config.load_settings({}, args, in_cluster_namespace=lambda: None)
    assert settings.watch_namespace == "dr-system" and settings.lease_duration == 10.0
    for name in config.WATCHER_SETTINGS:
        assert hasattr(args, name) and getattr(args, name) in (None, "dr-system", "10s")


def test_unset_flags_leave_the_environment_in_charge() -> None:
    args = build_parser().parse_args(["watcher"])
    env = {"DRSYNCER_REDIS_URL": "redis://redis:6379/1", "DRSYNCER_LOG_FORMAT": "json"}
    settings = config.load_settings(env, args, in_cluster_namespace=lambda: None)
    assert settings.redis_url == "redis://redis:6379/1" and settings.log_format == "json"


def test_controller_client_outside_a_cluster_without_kubeconfig_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeconfigError, match="no kubeconfig given and not running in a cluster"):
        controller_client(None)


def test_controller_client_from_a_kubeconfig_file_and_context(tmp_path: Path) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "a",
        "clusters": [
            {"name": c, "cluster": {"server": f"http://127.0.0.1:{port}"}} for c, port in (("a", 1), ("b", 2))
        ],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": c, "context": {"cluster": c, "user": "u"}} for c in ("a", "b")],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    with controller_client(path, "b") as client:
        assert client.name == "controller" and "127.0.0.1:2" in repr(client)
