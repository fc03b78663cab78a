"""Exec credential plugins (`users[].user.exec`) and token files, as sources of a changing credential.

The plugin protocol is Kubernetes' (client.authentication.k8s.io `v1` and `v1beta1`, the
`ExecCredential` kind; client-go plugin/pkg/client/auth/exec, 1.34): the command runs with its args
and env plus `KUBERNETES_EXEC_INFO`, prints an `ExecCredential` whose `status` holds a `token` or a
`clientCertificateData`/`clientKeyData` pair and an optional `expirationTimestamp`.

The stock `kubernetes.config.exec_provider.ExecProvider` is not used: it has no timeout (a hanging
plugin would hang the worker), passes the terminal's stdin through, copies the plugin's stderr into
its error message, does not support client-certificate results and caches nothing; the allow-list
and the categorised errors would have to wrap all of it anyway.

Only the command of an `ExecPolicy` allow-list runs (a kubeconfig Secret's author must not choose
what runs in a worker); a local kubeconfig file the user chose is trusted as kubectl trusts it. The
plugin's output is never logged nor quoted in an error: it holds the credential.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from drsyncer.errors import Category
from drsyncer.kube.errors import KubeconfigError

log = logging.getLogger(__name__)

API_V1 = "client.authentication.k8s.io/v1"
API_V1BETA1 = "client.authentication.k8s.io/v1beta1"
API_VERSIONS = (API_V1, API_V1BETA1)
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")
# the kubeconfig cluster extension whose content a plugin gets as spec.cluster.config
CLUSTER_CONFIG_EXTENSION = "client.authentication.k8s.io/exec"
DEFAULT_TIMEOUT_S = 30.0
# a credential is renewed this long before it expires, or a fifth of its lifetime when shorter
REFRESH_MARGIN_S = 60.0
# variables of the drsyncer process that hold its own secrets; a plugin does not need them
_PRIVATE_ENV_PREFIXES = ("DRSYNCER_",)
ALLOW_LIST_HINT = "DRSYNCER_EXEC_PLUGINS (--exec-plugins; chart value execPlugins.allowed)"


def token_problem(token: str) -> str | None:
    """Why `token` (stripped) cannot be sent as a bearer token, or None: an HTTP header value is one
    line of visible characters, spaces and tabs (RFC 9110 field-value; client-go refuses others as
    "invalid header field value"). A line break inside would split the Authorization header, and a
    server's answer quoting the broken request would carry the token into an error message."""
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in token):
        return "holds a control character (a line break?): a token must be one line"
    return None


@dataclass(frozen=True)
class ExecPolicy:
    """Which plugin commands may run, and for how long.

    `allowed` holds commands exactly as a kubeconfig names them (`aws`, `/usr/local/bin/kubelogin`);
    `any_command` is for a local kubeconfig file the user chose (kubectl's trust).
    """

    allowed: frozenset[str] = frozenset()
    timeout_s: float = DEFAULT_TIMEOUT_S
    any_command: bool = False

    @classmethod
    def of(cls, commands: Iterable[str], timeout_s: float = DEFAULT_TIMEOUT_S) -> ExecPolicy:
        return cls(frozenset(c for c in commands if c), timeout_s)

    def permits(self, command: str) -> bool:
        return self.any_command or command in self.allowed


LOCAL_FILE_POLICY = ExecPolicy(any_command=True)


@dataclass(frozen=True)
class ExecConfig:
    """A kubeconfig's `users[].user.exec`, checked. `args`, `env` and `cluster_info` may hold secrets."""

    api_version: str
    command: str
    args: tuple[str, ...] = field(default=(), repr=False)
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    interactive_mode: str = "IfAvailable"
    cluster_info: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def plugin_name(self) -> str:
        """The command's file name, for messages (`aws`, `kubelogin`)."""
        return os.path.basename(self.command) or self.command


def parse_exec(
    raw: Any, cluster: Mapping[str, Any], *, path: str, invalid: Callable[[str], KubeconfigError]
) -> ExecConfig:
    """Check `users[].user.exec` (at `path`); `invalid(what)` builds the error naming the field.

    Rules from client-go clientcmd validation (validateAuthInfo, 1.34): `command` and a known
    `apiVersion` are required; `v1` requires `interactiveMode`; env entries need name and value.
    """
    if not isinstance(raw, Mapping):
        raise invalid(f"{path} must be a mapping")
    api_version = raw.get("apiVersion")
    if not api_version:
        raise invalid(f"{path}.apiVersion is missing (one of {', '.join(API_VERSIONS)})")
    if api_version not in API_VERSIONS:
        raise invalid(f"{path}.apiVersion must be one of {', '.join(API_VERSIONS)}")
    command = raw.get("command")
    if not isinstance(command, str) or not command.strip():
        raise invalid(f"{path}.command is missing")
    args = raw.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise invalid(f"{path}.args must be a list of strings")
    env: list[tuple[str, str]] = []
    for i, item in enumerate(raw.get("env") or []):
        if not (
            isinstance(item, Mapping)
            and isinstance(item.get("name"), str)
            and item["name"]
            and isinstance(item.get("value"), str)
        ):
            raise invalid(f"{path}.env[{i}] needs a name and a string value")
        env.append((item["name"], item["value"]))
    mode = raw.get("interactiveMode")
    if mode is None:
        if api_version == API_V1:
            raise invalid(f"{path}.interactiveMode is required for {API_V1} (use Never)")
        mode = "IfAvailable"
    if mode not in INTERACTIVE_MODES:
        raise invalid(f"{path}.interactiveMode must be one of {', '.join(INTERACTIVE_MODES)}")
    if mode == "Always":
        # a worker has no terminal: a plugin that must ask a person can never succeed here
        raise invalid(
            f"{path}.interactiveMode: Always needs a terminal, which drsyncer never has; "
            "use a plugin mode that needs no input (Never or IfAvailable)"
        )
    provide = raw.get("provideClusterInfo", False)
    if not isinstance(provide, bool):
        raise invalid(f"{path}.provideClusterInfo must be true or false")
    return ExecConfig(
        str(api_version),
        command.strip(),
        tuple(args),
        tuple(env),
        str(mode),
        _cluster_info(cluster) if provide else None,
    )


def _cluster_info(cluster: Mapping[str, Any]) -> dict[str, Any]:
    """The kubeconfig cluster as ExecCredential's `spec.cluster` (client.authentication.k8s.io Cluster)."""
    info: dict[str, Any] = {"server": cluster.get("server")}
    for kube_key, exec_key in (
        ("certificate-authority-data", "certificateAuthorityData"),
        ("tls-server-name", "tlsServerName"),
        ("insecure-skip-tls-verify", "insecureSkipTLSVerify"),
        ("proxy-url", "proxyURL"),
        ("disable-compression", "disableCompression"),
    ):
        if cluster.get(kube_key) not in (None, ""):
            info[exec_key] = cluster[kube_key]
    for ext in cluster.get("extensions") or []:
        if isinstance(ext, Mapping) and ext.get("name") == CLUSTER_CONFIG_EXTENSION:
            info["config"] = ext.get("extension")
    return info


def exec_info(config: ExecConfig) -> dict[str, Any]:
    """The `KUBERNETES_EXEC_INFO` document, as kubectl sets it for a non-interactive run."""
    spec: dict[str, Any] = {"interactive": False}
    if config.cluster_info is not None:
        spec["cluster"] = dict(config.cluster_info)
    return {"apiVersion": config.api_version, "kind": "ExecCredential", "spec": spec}


@dataclass(frozen=True)
class Credential:
    """What a plugin (or a token file) gave: a token or a client certificate pair, until `expires_at`
    (epoch seconds; None: until the server rejects it)."""

    token: str | None = field(default=None, repr=False)
    client_cert_data: bytes | None = field(default=None, repr=False)
    client_key_data: bytes | None = field(default=None, repr=False)
    expires_at: float | None = None


def parse_credential(
    stdout: bytes, api_version: str, *, fail: Callable[[str], KubeconfigError]
) -> Credential:
    """The `ExecCredential` a plugin printed; `fail(what)` builds the error (never quoting the output)."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        raise fail("printed something that is not JSON (an ExecCredential was expected)") from None
    if not isinstance(doc, Mapping) or doc.get("kind") != "ExecCredential":
        raise fail("printed JSON that is not an ExecCredential")
    if doc.get("apiVersion") != api_version:
        raise fail(
            f"answered with apiVersion {str(doc.get('apiVersion'))[:60]!r}, not the {api_version} "
            "the kubeconfig asks for"
        )
    status = doc.get("status")
    if not isinstance(status, Mapping):
        raise fail("printed an ExecCredential without status")
    token = status.get("token")
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    if token and (cert or key):
        raise fail("gave both status.token and a client certificate; one of them is expected")
    if (cert is None) != (key is None) or (
        cert is not None and not (isinstance(cert, str) and isinstance(key, str))
    ):
        raise fail("must give status.clientCertificateData and status.clientKeyData together")
    if not token and not cert:
        raise fail("gave neither status.token nor status.clientCertificateData")
    if token is not None and not isinstance(token, str):
        raise fail("gave a status.token that is not a string")
    if token and (problem := token_problem(token.strip())) is not None:
        raise fail(f"gave a status.token that {problem}")
    expires_at: float | None = None
    stamp = status.get("expirationTimestamp")
    if stamp:
        try:
            expires_at = datetime.fromisoformat(str(stamp)).timestamp()
        except ValueError:
            raise fail("gave a status.expirationTimestamp that is not an RFC 3339 time") from None
    if cert is not None and key is not None:
        if "-----BEGIN" not in cert or "-----BEGIN" not in key:
            raise fail("gave a client certificate or key that is not PEM")
        return Credential(client_cert_data=cert.encode(), client_key_data=key.encode(), expires_at=expires_at)
    return Credential(token=str(token), expires_at=expires_at)


def plugin_environment(config: ExecConfig, base: Mapping[str, str]) -> dict[str, str]:
    """The plugin's environment: `base` without drsyncer's own settings (they hold the Redis and
    Flower passwords), the kubeconfig's `env`, and `KUBERNETES_EXEC_INFO`."""
    env = {k: v for k, v in base.items() if not k.startswith(_PRIVATE_ENV_PREFIXES)}
    env.update(config.env)
    env["KUBERNETES_EXEC_INFO"] = json.dumps(exec_info(config), separators=(",", ":"))
    return env


class ExecCredentials:
    """The credential of one cluster's exec plugin: run on first use, kept until shortly before it
    expires, run again on `renew()` (after a 401). Thread-safe: concurrent requests run it once.

    `label` names the cluster and where its kubeconfig came from, for errors
    (`RemoteCluster dr-system/dr1: kubeconfig Secret dr-system/dr1-kc key 'kubeconfig'`).
    """

    def __init__(
        self,
        config: ExecConfig,
        policy: ExecPolicy,
        *,
        label: str,
        path: str,
        cwd: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.policy = policy
        self.label = label
        self.path = path  # users[NAME].user.exec
        self._cwd = cwd
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Credential | None = None
        self._obtained_at = 0.0

    def _error(self, category: Category, what: str, condition: str = "KubeconfigValid") -> KubeconfigError:
        return KubeconfigError(
            category,
            f"{self.label}: {self.path}: exec plugin {self.config.plugin_name!r} {what}",
            condition=condition,
        )

    def check_allowed(self) -> None:
        """Raise unless the policy lets this command run: nothing runs that is not on the allow-list."""
        if not self.policy.permits(self.config.command):
            raise self._error(
                Category.NON_RETRYABLE,
                f"is not on the allow-list of credential plugins; it was not run. An operator "
                f"who trusts it adds {self.config.command!r} to {ALLOW_LIST_HINT}",
            )

    def credential(self) -> Credential:
        """The cached credential, or a new one when there is none or it is about to expire."""
        with self._lock:
            if self._current is None or self._expiring(self._current):
                self._current = self._run()
            return self._current

    def renew(self, rejected_token: str | None = None) -> bool:
        """Run the plugin again after the server rejected the credential (`rejected_token`, when the
        request carried one); False when it gave the same one (another try would be rejected too)."""
        with self._lock:
            current = self._current
            if rejected_token and current is not None and current.token not in (None, rejected_token):
                return True  # another request renewed it meanwhile
            previous, self._current = self._current, self._run()
            return self._current != previous

    def _expiring(self, credential: Credential) -> bool:
        if credential.expires_at is None:
            return False
        lifetime = max(0.0, credential.expires_at - self._obtained_at)
        return self._clock() >= credential.expires_at - min(REFRESH_MARGIN_S, lifetime / 5)

    def _run(self) -> Credential:
        self.check_allowed()
        config = self.config
        env = plugin_environment(config, os.environ)
        started = time.monotonic()
        try:
            # no stdin, a session of its own so that a timeout ends the plugin's children too
            proc = subprocess.Popen(
                [config.command, *config.args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=self._cwd,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise self._error(
                Category.NON_RETRYABLE,
                "was not found (not on PATH, or no such file); add it to the image (docs/cloud.md)",
            ) from None
        except PermissionError:
            raise self._error(Category.NON_RETRYABLE, "is not executable") from None
        except OSError as exc:
            raise self._error(Category.NON_RETRYABLE, f"could not be started ({exc.strerror})") from None
        try:
            stdout, _stderr = proc.communicate(timeout=self.policy.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise self._error(
                Category.RETRYABLE, f"gave no credential within {self.policy.timeout_s:g}s and was stopped"
            ) from None
        if proc.returncode != 0:
            # its output is not quoted: a plugin may print secrets while failing
            raise self._error(
                Category.RETRYABLE,
                f"failed with exit status {proc.returncode} (its output "
                "is not shown; run it by hand to see why)",
            )
        credential = parse_credential(
            stdout, config.api_version, fail=lambda what: self._error(Category.NON_RETRYABLE, what)
        )
        self._obtained_at = self._clock()
        log.info(
            "%s: exec plugin %r gave a %s credential in %.2fs%s",
            self.label,
            config.plugin_name,
            "token" if credential.token else "client-certificate",
            time.monotonic() - started,
            ""
            if credential.expires_at is None
            else f", valid for {max(0.0, credential.expires_at - self._obtained_at):.0f}s",
        )
        return credential


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


class TokenFile:
    """A `tokenFile` read again whenever it changes (a projected or rotated token), and on `renew()`."""

    def __init__(self, path: Path, *, label: str, field_path: str) -> None:
        self.path = path
        self.label = label
        self.field_path = field_path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._token = ""

    def token(self) -> str:
        with self._lock:
            stamp = self._stat()
            if stamp != self._stamp:
                self._token, self._stamp = self._read(), stamp
            return self._token

    def renew(self, rejected_token: str | None = None) -> bool:
        """Read the file again after the server rejected a token (`rejected_token`, when the request
        carried one); False when the file still holds that token (or, without it, the one read
        before), so another try would be rejected too. Another request may have read a rotated file
        between this one's send and its 401: the token it carried, not the one kept, is what counts.
        Raises KubeconfigError when the file cannot be read."""
        with self._lock:
            previous, self._token, self._stamp = self._token, self._read(), self._stat()
            return self._token != (rejected_token or previous)

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def _read(self) -> str:
        try:
            token = self.path.read_text(errors="replace").strip()
        except OSError as exc:
            raise KubeconfigError(
                Category.RETRYABLE,
                f"{self.label}: {self.field_path}: cannot read {self.path} ({exc.strerror})",
            ) from None
        if (problem := token_problem(token)) is not None:
            raise KubeconfigError(
                Category.NON_RETRYABLE, f"{self.label}: {self.field_path}: {self.path} {problem}"
            )
        return token
