"""`drsyncer watcher`: its flags are the settings table's and it runs the scheduler's handler."""

from __future__ import annotations

from drsyncer import config
from drsyncer.cli import build_parser


def test_watcher_subcommand_has_a_flag_per_setting_and_the_scheduler_handler() -> None:
    args = build_parser().parse_args(["watcher", "--watch-namespace", "dr-system", "--lease-duration", "10s"])
    assert args.handler == "scheduler.command:run"
    settings = config.load_settings({}, args, in_cluster_namespace=lambda: None)
    assert settings.watch_namespace == "dr-system" and settings.lease_duration == 10.0
    for name in config.WATCHER_SETTINGS:
        assert hasattr(args, name) and getattr(args, name) in (None, "dr-system", "10s")


def test_unset_flags_leave_the_environment_in_charge() -> None:
    args = build_parser().parse_args(["watcher"])
    env = {"DRSYNCER_REDIS_URL": "redis://redis:6379/1", "DRSYNCER_LOG_FORMAT": "json"}
    settings = config.load_settings(env, args, in_cluster_namespace=lambda: None)
    assert settings.redis_url == "redis://redis:6379/1" and settings.log_format == "json"
