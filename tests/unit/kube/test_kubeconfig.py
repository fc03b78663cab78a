import base64
import os
import shutil
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml

from drsyncer.errors import Category
from drsyncer.kube.errors import KubeconfigError
from drsyncer.kube.kubeconfig import (
    SPARE_CONNECTIONS,
    build_configuration,
    client_from_kubeconfig,
    parse_kubeconfig,
)

TOKEN = "s3cr3t-token-value"
CA = b"-----BEGIN CERTIFICATE-----\nMIIBfakeCA\n-----END CERTIFICATE-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nMIIBfakeCERT\n-----END CERTIFICATE-----\n"
KEY = b"-----BEGIN PRIVATE KEY-----\nMIIBfakeKEY-private\n-----END PRIVATE KEY-----\n"
SECRET_VALUES = (TOKEN, "MIIBfakeKEY", base64.b64encode(KEY).decode()[:20])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig(**user: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "dr1",
        "clusters": [
            {
                "name": "dr1",
                "cluster": {"server": "https://10.0.0.1:6443", "certificate-authority-data": b64(CA)},
            },
            {"name": "dr2", "cluster": {"server": "https://10.0.0.2:6443", "insecure-skip-tls-verify": True}},
        ],
        "contexts": [
            {"name": "dr1", "context": {"cluster": "dr1", "user": "admin"}},
            {"name": "dr2", "context": {"cluster": "dr2", "user": "admin"}},
        ],
        "users": [{"name": "admin", "user": user or {"token": TOKEN}}],
    }


def test_token_and_ca_are_read_from_the_current_context() -> None:
    access = parse_kubeconfig(yaml.safe_dump(kubeconfig()))
    assert (access.context, access.server, access.ca_data, access.token) == (
        "dr1",
        "https://10.0.0.1:6443",
        CA,
        TOKEN,
    )
    assert access.auth_method == "token"
    assert not access.insecure_skip_tls_verify


def test_a_named_context_is_chosen() -> None:
    access = parse_kubeconfig(kubeconfig(), context="dr2")
    assert (access.server, access.insecure_skip_tls_verify, access.ca_data) == (
        "https://10.0.0.2:6443",
        True,
        None,
    )


def test_client_certificate_data_is_decoded() -> None:
    access = parse_kubeconfig(
        kubeconfig(**{"client-certificate-data": b64(CERT), "client-key-data": b64(KEY)})
    )
    assert (access.client_cert_data, access.client_key_data, access.auth_method) == (
        CERT,
        KEY,
        "client-certificate",
    )


def test_repr_shows_no_credentials() -> None:
    access = parse_kubeconfig(
        kubeconfig(**{"token": TOKEN, "client-certificate-data": b64(CERT), "client-key-data": b64(KEY)})
    )
    text = repr(access)
    assert "10.0.0.1" in text
    assert not any(value in text for value in SECRET_VALUES)


def _broken(change: str) -> Any:
    cfg = kubeconfig()
    if change == "no-server":
        del cfg["clusters"][0]["cluster"]["server"]
    elif change == "bad-server":
        cfg["clusters"][0]["cluster"]["server"] = "10.0.0.1:6443"
    elif change == "bad-ca-base64":
        cfg["clusters"][0]["cluster"]["certificate-authority-data"] = "not base64!!"
    elif change == "ca-not-pem":
        cfg["clusters"][0]["cluster"]["certificate-authority-data"] = b64(b"just bytes")
    elif change == "no-context":
        cfg["current-context"] = "elsewhere"
    elif change == "no-current-context":
        del cfg["current-context"]
    elif change == "cert-without-key":
        cfg["users"][0]["user"] = {"client-certificate-data": b64(CERT)}
    elif change == "key-not-pem":
        cfg["users"][0]["user"] = {
            "client-certificate-data": b64(CERT),
            "client-key-data": b64(TOKEN.encode()),
        }
    elif change == "auth-provider":
        cfg["users"][0]["user"] = {"auth-provider": {"name": "oidc", "config": {"id-token": TOKEN}}}
    elif change.startswith("exec-"):
        exec_user: dict[str, Any] = {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", TOKEN],
            "interactiveMode": "Never",
        }
        user: dict[str, Any] = {"exec": exec_user}
        if change == "exec-no-api-version":
            del exec_user["apiVersion"]
        elif change == "exec-old-api-version":
            exec_user["apiVersion"] = "client.authentication.k8s.io/v1alpha1"
        elif change == "exec-no-command":
            del exec_user["command"]
        elif change == "exec-v1-no-interactive-mode":
            del exec_user["interactiveMode"]
        elif change == "exec-interactive-always":
            exec_user["interactiveMode"] = "Always"
        elif change == "exec-with-token":
            user["token"] = TOKEN
        elif change == "exec-relative-command":
            exec_user["command"] = "./bin/aws"
        elif change == "exec-bad-env":
            exec_user["env"] = [{"name": "AWS_PROFILE"}]
        cfg["users"][0]["user"] = user
    elif change == "token-with-line-break":
        # it would split the Authorization header, and a server quoting the request would show it
        cfg["users"][0]["user"] = {"token": f"{TOKEN}\nX-Other: 1"}
    elif change == "token-file":
        cfg["users"][0]["user"] = {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}
    elif change == "ca-file":
        cfg["clusters"][0]["cluster"] = {"server": "https://x", "certificate-authority": "/etc/ca.crt"}
    elif change == "token-over-http":
        cfg["clusters"][0]["cluster"] = {"server": "http://10.0.0.1:8080"}
    elif change == "not-a-mapping":
        return f"- {TOKEN}\n- two\n"
    elif change == "placeholder":  # a mapping, but of nothing a kubeconfig has
        return f"REPLACE-WITH-KUBECONFIG: {TOKEN}\n"
    elif change == "bad-yaml":
        return f"users:\n  - name: admin\n    user: {{token: {TOKEN}\n"
    elif change == "empty":
        return "   \n"
    return yaml.safe_dump(cfg)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("no-server", "clusters[dr1].cluster.server is missing"),
        ("bad-server", "clusters[dr1].cluster.server is not an http(s) URL"),
        ("bad-ca-base64", "certificate-authority-data is not valid base64"),
        ("ca-not-pem", "certificate-authority-data is not a PEM certificate"),
        ("no-context", "contexts has no entry named 'elsewhere' (known: dr1, dr2)"),
        ("no-current-context", "no context given and current-context is not set"),
        ("cert-without-key", "must be given together"),
        ("key-not-pem", "client-key-data is not a PEM key"),
        ("auth-provider", "users[admin].user.auth-provider: auth-provider plugins are not supported"),
        ("exec-no-api-version", "users[admin].user.exec.apiVersion is missing"),
        ("exec-old-api-version", "users[admin].user.exec.apiVersion must be one of"),
        ("exec-no-command", "users[admin].user.exec.command is missing"),
        ("exec-v1-no-interactive-mode", "users[admin].user.exec.interactiveMode is required"),
        ("exec-interactive-always", "users[admin].user.exec.interactiveMode: Always needs a terminal"),
        ("exec-with-token", "users[admin].user: exec cannot be combined with token"),
        ("exec-relative-command", "users[admin].user.exec.command: a relative path"),
        ("exec-bad-env", "users[admin].user.exec.env[0] needs a name and a string value"),
        (
            "token-with-line-break",
            "users[admin].user.token holds a control character (a line break?): a token must be one line",
        ),
        ("token-file", "users[admin].user.tokenFile: file references are not supported"),
        ("ca-file", "certificate-authority: file references are not supported"),
        ("token-over-http", "credentials are only sent over https"),
        ("not-a-mapping", "is not a kubeconfig"),
        ("placeholder", "is not a kubeconfig (expected a mapping with clusters, contexts, users)"),
        ("bad-yaml", "is not valid YAML (line"),
        ("empty", "is empty"),
    ],
)
def test_invalid_kubeconfigs_name_the_field_and_never_a_value(change: str, says: str) -> None:
    origin = 'kubeconfig Secret dr-system/dr1 key "kubeconfig"'
    with pytest.raises(KubeconfigError) as raised:
        parse_kubeconfig(_broken(change), origin=origin)
    error = raised.value
    assert error.category is Category.NON_RETRYABLE
    assert error.condition == "KubeconfigValid"
    assert str(error).startswith(f"NonRetryable: {origin}: ")
    assert says in str(error)
    # nor in a chained parser error that a traceback would print
    printed = "".join(traceback.format_exception(error))
    assert not any(value in printed for value in SECRET_VALUES)


def test_local_files_may_reference_files_next_to_them(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(CA)
    (tmp_path / "token").write_text(TOKEN + "\n")
    cfg = kubeconfig(tokenFile="token")
    cfg["clusters"][0]["cluster"] = {"server": "https://10.0.0.1:6443", "certificate-authority": "ca.crt"}
    access = parse_kubeconfig(cfg, base_dir=tmp_path)
    assert (access.ca_data, access.token) == (CA, TOKEN)


def test_local_files_may_use_credential_plugins(tmp_path: Path) -> None:
    assert parse_kubeconfig(_broken("auth-provider"), base_dir=tmp_path).plugin == "auth-provider"
    access = parse_kubeconfig(_broken("exec-relative-command"), base_dir=tmp_path)
    assert access.exec_config is not None and access.exec_config.command == "./bin/aws"


def test_a_secret_may_name_an_exec_plugin_whose_arguments_stay_out_of_repr() -> None:
    access = parse_kubeconfig(_broken("exec-valid"))
    assert access.plugin == "exec" and access.exec_config is not None
    assert (access.exec_config.command, access.exec_config.plugin_name) == ("aws", "aws")
    assert TOKEN not in repr(access)


def test_remote_cluster_setting_overrides_the_kubeconfig_tls_flag() -> None:
    insecure = parse_kubeconfig(kubeconfig(), context="dr2")
    assert build_configuration(insecure)[0].verify_ssl is False
    assert build_configuration(insecure, insecure_skip_tls_verify=False)[0].verify_ssl is True
    secure = parse_kubeconfig(kubeconfig())
    assert build_configuration(secure, insecure_skip_tls_verify=True)[0].verify_ssl is False


def test_configuration_carries_token_ca_and_pool_size() -> None:
    cfg, key_dir = build_configuration(parse_kubeconfig(kubeconfig()), max_connections=32)
    assert key_dir is None
    assert cfg.api_key["BearerToken"] == f"Bearer {TOKEN}"
    assert cfg.ca_cert_data == CA.decode()
    # the writes in flight, and the change feeds' watches and reads beside them
    assert cfg.connection_pool_maxsize == 32 + SPARE_CONNECTIONS
    assert cfg.retries is False


def test_client_key_files_are_private_and_removed_on_close() -> None:
    access = parse_kubeconfig(
        kubeconfig(**{"client-certificate-data": b64(CERT), "client-key-data": b64(KEY)})
    )
    cfg, key_dir = build_configuration(access)
    assert key_dir is not None
    assert Path(cfg.key_file).read_bytes() == KEY
    assert os.stat(key_dir).st_mode & 0o777 == 0o700
    assert os.stat(cfg.key_file).st_mode & 0o777 == 0o600
    shutil.rmtree(key_dir)


def test_closing_a_client_removes_its_key_files() -> None:
    source = kubeconfig(**{"client-certificate-data": b64(CERT), "client-key-data": b64(KEY)})
    # the stock client loads the (fake) certificate only when it connects, so building succeeds
    client = client_from_kubeconfig(source)
    key_file = Path(client.api_client.configuration.key_file)
    assert key_file.exists()
    client.close()
    assert not key_file.parent.exists()
