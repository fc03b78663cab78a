"""The Dockerfile and docker-compose.yml: every service runs a command the image has, with settings
drsyncer reads; checked by parsing (and by Debian's docker-compose where it is installed)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from drsyncer.cli import build_parser
from drsyncer.config import SETTINGS

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
LOCAL_IMAGE = "drsyncer:local"
DRSYNCER_SERVICES = {"sim", "seed", "watcher", "beat", "worker", "flower"}


def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return doc


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _exec_form(value: str) -> list[str]:
    parsed = yaml.safe_load(value)
    assert isinstance(parsed, list), f"{value} is not in exec form"
    return [str(v) for v in parsed]


def test_dockerfile_builds_one_non_root_image_whose_entry_point_is_drsyncer() -> None:
    steps = _instructions()
    assert [arg for op, arg in steps if op == "FROM"][-1] == "python:3.11-slim"
    assert any(op == "RUN" and "pip install ." in arg for op, arg in steps)
    user = [arg for op, arg in steps if op == "USER"][-1]
    assert user.split(":")[0] not in ("0", "root")
    assert _exec_form([arg for op, arg in steps if op == "ENTRYPOINT"][-1]) == ["drsyncer"]
    assert _exec_form([arg for op, arg in steps if op == "CMD"][-1]) == ["--help"]


def test_dockerfile_copies_what_pip_install_needs_and_dockerignore_lets_it_through() -> None:
    copied = {
        source
        for op, arg in _instructions()
        if op == "COPY" and not arg.startswith("--from=")
        for source in arg.split()[:-1]
    }
    assert copied == {"pyproject.toml", "README.md", "drsyncer", "scheduler", "workers"}
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    for source in sorted(copied):
        assert (ROOT / source).exists()
        assert f"!{source}/" in ignore or f"!{source}" in ignore


def test_cloud_credential_plugins_are_build_arguments_that_default_to_none() -> None:
    steps = _instructions()
    args = dict(arg.split("=", 1) for op, arg in steps if op == "ARG" and "=" in arg)
    assert {k: v.strip('"') for k, v in args.items() if k not in ("TARGETARCH", "PYTHON_PLUGINS")} == {
        "AWS_CLI_VERSION": "",
        "GKE_GCLOUD_AUTH_PLUGIN": "false",
        "KUBELOGIN_VERSION": "",
    }
    assert ("COPY", "--from=plugins /opt/plugins /opt/plugins") in steps
    env = " ".join(arg for op, arg in steps if op == "ENV")
    assert "PATH=/opt/plugins/bin:$PATH" in env
    plugins_stage = next(arg for op, arg in steps if op == "RUN" and "/opt/plugins/bin" in arg)
    assert "--bin-dir /opt/plugins/bin" in plugins_stage  # aws
    assert "/opt/plugins/bin/gke-gcloud-auth-plugin" in plugins_stage
    assert "/opt/plugins/bin/kubelogin" in plugins_stage


def test_python_plugins_are_a_build_argument_installed_with_pip_after_drsyncer() -> None:
    steps = _instructions()
    assert ("ARG", 'PYTHON_PLUGINS=""') in steps
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    runs = [arg for op, arg in final if op == "RUN"]
    drsyncer = next(i for i, arg in enumerate(runs) if "pip install ." in arg)
    plugins = next(i for i, arg in enumerate(runs) if "$PYTHON_PLUGINS" in arg)
    assert plugins > drsyncer and "pip install $PYTHON_PLUGINS" in runs[plugins]
    # installed as root before the image switches to its own user
    user = next(i for i, (op, _) in enumerate(final) if op == "USER")
    assert final.index(("RUN", runs[plugins])) < user


def test_every_compose_service_uses_the_dockerfile_image_or_a_named_public_one() -> None:
    services = _compose()["services"]
    assert DRSYNCER_SERVICES | {"redis"} == set(services)
    for name, service in services.items():
        if name in DRSYNCER_SERVICES:
            assert service["image"] == LOCAL_IMAGE and service["build"] == ".", name
            assert (ROOT / service["build"] / "Dockerfile").exists()
        else:
            assert service["image"].startswith("redis:")


def test_every_compose_command_is_a_drsyncer_command_the_image_has() -> None:
    parser = build_parser()
    for name, service in _compose()["services"].items():
        if name not in DRSYNCER_SERVICES:
            continue
        if "entrypoint" in service:
            # python -m <module>: the module must ship in the image's packages
            python, flag, module = service["entrypoint"]
            assert (python, flag) == ("python", "-m")
            assert module.split(".")[0] in ("drsyncer", "scheduler", "workers")
            assert importlib.util.find_spec(module) is not None, module
            continue
        args = parser.parse_args([str(a) for a in service["command"]])
        assert getattr(args, "handler", None), f"{name}: {service['command']} is not a drsyncer command"
        health = (service.get("healthcheck") or {}).get("test")
        if health:
            assert health[:2] == ["CMD", "drsyncer"] or health[:2] == ["CMD", "test"]
            if health[1] == "drsyncer":
                assert getattr(parser.parse_args(health[2:]), "handler", None)


def test_compose_environment_names_only_settings_drsyncer_reads() -> None:
    known = {s.env for s in SETTINGS}
    for name, service in _compose()["services"].items():
        for key in service.get("environment") or {}:
            assert key in known, f"{name}: {key} is not a drsyncer setting"


def test_compose_redis_never_evicts_and_workers_can_be_scaled() -> None:
    services = _compose()["services"]
    command = services["redis"]["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    worker = services["worker"]
    # --scale worker=N needs no fixed name and no fixed host port
    assert "container_name" not in worker and "ports" not in worker
    assert worker["environment"]["DRSYNCER_METRICS_PORT"] == "0"


def test_compose_flower_requires_credentials_from_the_environment() -> None:
    flower = _compose()["services"]["flower"]
    assert flower["environment"]["DRSYNCER_FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert flower["command"] == ["flower"]  # never --insecure-no-auth
    assert all(str(p).startswith("127.0.0.1:") for p in flower["ports"])


@pytest.fixture
def docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip(
            "docker-compose is not installed (Debian: apt-get install docker-compose); "
            "the structural checks above still ran"
        )
    return binary


def test_docker_compose_config_accepts_the_file(docker_compose: str, tmp_path: Path) -> None:
    env = {**os.environ, "FLOWER_BASIC_AUTH": "admin:example"}
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE), "config", "--services"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == DRSYNCER_SERVICES | {"redis"}


def test_docker_compose_refuses_to_start_flower_without_credentials(
    docker_compose: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BASIC_AUTH"}
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode != 0
    assert "FLOWER_BASIC_AUTH" in result.stderr
