"""The pure parts of exec credential plugins: the ExecCredential answer, KUBERNETES_EXEC_INFO, the
plugin's environment, the allow-list and when a cached credential counts as expiring."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drsyncer.errors import Category
from drsyncer.kube.errors import KubeconfigError
from drsyncer.kube.exec_credentials import (
    API_V1,
    API_V1BETA1,
    Credential,
    ExecConfig,
    ExecCredentials,
    ExecPolicy,
    TokenFile,
    exec_info,
    parse_credential,
    parse_exec,
    plugin_environment,
)

TOKEN = "k8s-aws-v1.c2VjcmV0LXRva2Vu"


def _fail(what: str) -> KubeconfigError:
    return KubeconfigError(Category.NON_RETRYABLE, f"plugin {what}")


def _answer(status: dict[str, object], api_version: str = API_V1) -> bytes:
    return json.dumps({"apiVersion": api_version, "kind": "ExecCredential", "status": status}).encode()


def test_a_token_answer_with_an_expiry_is_read() -> None:
    credential = parse_credential(
        _answer({"token": TOKEN, "expirationTimestamp": "2030-01-02T03:04:05Z"}), API_V1, fail=_fail
    )
    assert credential.token == TOKEN
    assert credential.expires_at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    assert TOKEN not in repr(credential)


@pytest.mark.parametrize(
    ("stdout", "says"),
    [
        (b"not json " + TOKEN.encode(), "is not JSON"),
        (json.dumps({"kind": "Other"}).encode(), "not an ExecCredential"),
        (_answer({"token": TOKEN}, API_V1BETA1), "not the client.authentication.k8s.io/v1"),
        (_answer({}), "neither status.token nor"),
        (_answer({"clientCertificateData": "-----BEGIN CERTIFICATE-----"}), "together"),
        (_answer({"token": TOKEN, "expirationTimestamp": "tomorrow"}), "not an RFC 3339 time"),
        (_answer({"clientCertificateData": "x", "clientKeyData": TOKEN}), "not PEM"),
    ],
)
def test_bad_answers_are_refused_without_quoting_them(stdout: bytes, says: str) -> None:
    with pytest.raises(KubeconfigError) as raised:
        parse_credential(stdout, API_V1, fail=_fail)
    assert says in str(raised.value) and TOKEN not in str(raised.value)


def test_exec_info_is_non_interactive_and_carries_the_cluster_when_asked() -> None:
    cluster = {
        "server": "https://eks.example:443",
        "certificate-authority-data": "Q0E=",
        "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "x"}}],
    }
    raw = {"apiVersion": API_V1BETA1, "command": "gke-gcloud-auth-plugin", "provideClusterInfo": True}
    config = parse_exec(raw, cluster, path="users[u].user.exec", invalid=_fail)
    assert config.interactive_mode == "IfAvailable"  # v1beta1 may leave it out
    assert exec_info(config) == {
        "apiVersion": API_V1BETA1,
        "kind": "ExecCredential",
        "spec": {
            "interactive": False,
            "cluster": {
                "server": "https://eks.example:443",
                "certificateAuthorityData": "Q0E=",
                "config": {"audience": "x"},
            },
        },
    }


def test_the_plugin_gets_its_env_and_exec_info_but_not_drsyncers_settings() -> None:
    config = ExecConfig(API_V1, "aws", env=(("AWS_PROFILE", "dr"),), interactive_mode="Never")
    env = plugin_environment(
        config, {"PATH": "/bin", "AWS_ROLE_ARN": "arn:x", "DRSYNCER_REDIS_URL": "redis://:pw@r:6379/0"}
    )
    assert env["PATH"] == "/bin" and env["AWS_ROLE_ARN"] == "arn:x" and env["AWS_PROFILE"] == "dr"
    assert "DRSYNCER_REDIS_URL" not in env
    assert json.loads(env["KUBERNETES_EXEC_INFO"])["spec"] == {"interactive": False}


def test_the_allow_list_matches_the_command_exactly_and_is_empty_by_default() -> None:
    assert not ExecPolicy().permits("aws")
    policy = ExecPolicy.of(["aws", "/usr/local/bin/kubelogin", ""])
    assert policy.permits("aws") and policy.permits("/usr/local/bin/kubelogin")
    assert not policy.permits("/tmp/aws") and not policy.permits("kubelogin")


def test_a_cached_credential_is_renewed_shortly_before_it_expires() -> None:
    now = [1000.0]
    source = ExecCredentials(
        ExecConfig(API_V1, "aws"),
        ExecPolicy.of(["aws"]),
        label="RemoteCluster a/b",
        path="users[u].user.exec",
        clock=lambda: now[0],
    )
    source._obtained_at = 1000.0
    long_lived = Credential(token=TOKEN, expires_at=1000.0 + 900)  # 15 minutes: renewed 60 s before
    short_lived = Credential(token=TOKEN, expires_at=1000.0 + 10)  # 10 s: renewed 2 s before
    now[0] = 1000.0 + 839
    assert not source._expiring(long_lived)
    now[0] = 1000.0 + 841
    assert source._expiring(long_lived)
    now[0] = 1000.0 + 7.9
    assert not source._expiring(short_lived)
    now[0] = 1000.0 + 8.1
    assert source._expiring(short_lived)
    assert not source._expiring(Credential(token=TOKEN))


def test_a_token_rejected_after_another_request_read_the_rotated_file_counts_as_renewed(
    tmp_path: Path,
) -> None:
    """Two requests under way as the file rotates: one read the new token (the file changed), the
    other, sent with the old one, is answered 401 after that. Its renewal must say the token changed,
    so that it is sent again, not failed."""
    path = tmp_path / "token"
    path.write_text("old-token\n")
    tokens = TokenFile(path, label="kubeconfig", field_path="users[0].user.tokenFile")
    assert tokens.token() == "old-token"  # the request that will be rejected is sent with this one
    (tmp_path / "token.new").write_text("rotated-token\n")
    (tmp_path / "token.new").replace(path)
    assert tokens.token() == "rotated-token"  # another request reads the rotated file

    assert tokens.renew(rejected_token="old-token") is True
    assert tokens.token() == "rotated-token"
    # rejected with the token the file holds: renewing would not help
    assert tokens.renew(rejected_token="rotated-token") is False
