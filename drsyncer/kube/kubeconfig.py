"""Reading a kubeconfig (text or dict) into what is needed to reach one cluster, and building a client.

Parsing is pure and strict: every error names the field, never a value, because the kubeconfig holds
credentials. A kubeconfig from a Secret may only carry inline data (token, `*-data` fields) and exec
credential plugins, which run only when an operator put their command on the allow-list
(`ExecPolicy`); file references and `auth-provider` are accepted only from a local file the user
pointed at, since a Secret's author must not be able to read files or run commands in a worker.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import shutil
import tempfile
import warnings
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from drsyncer.api import keys
from drsyncer.errors import Category
from drsyncer.kube.client import ClusterClient
from drsyncer.kube.counters import RequestCounters
from drsyncer.kube.errors import KubeconfigError
from drsyncer.kube.exec_credentials import (
    LOCAL_FILE_POLICY,
    ExecConfig,
    ExecCredentials,
    ExecPolicy,
    TokenFile,
    parse_exec,
    token_problem,
)
from drsyncer.kube.ratelimit import RateLimiter
from drsyncer.kube.retry import RetryPolicy

log = logging.getLogger(__name__)

_SAFE_LOADER: type[yaml.SafeLoader] | type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DEFAULT_MAX_CONNECTIONS = 16
# connections a client keeps beyond `max_connections` (the writes it has in flight): the change feeds'
# watches hold one each (one per synced type and one of Namespaces) and a few reads run beside the
# writes; without them every write beyond the pool's size opened a connection and dropped it after
SPARE_CONNECTIONS = 8


@dataclass(frozen=True)
class ClusterAccess:
    """How to reach one cluster: one context of a kubeconfig, resolved to inline data.

    `repr` hides every credential so that an accidental log line shows none.
    """

    context: str
    server: str
    ca_data: bytes | None = field(default=None, repr=False)
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    token: str | None = field(default=None, repr=False)
    client_cert_data: bytes | None = field(default=None, repr=False)
    client_key_data: bytes | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    # "exec" or "auth-provider" when the user entry needs a credential plugin
    plugin: str | None = None
    exec_config: ExecConfig | None = None
    user_path: str = ""  # users[NAME].user, for messages about the credential
    token_file: Path | None = None  # read again when it changes (local files only)
    base_dir: Path | None = None  # the local kubeconfig file's directory; a plugin's working directory

    @property
    def auth_method(self) -> str:
        if self.plugin:
            return self.plugin
        if self.token:
            return "token"
        if self.client_cert_data:
            return "client-certificate"
        if self.username is not None:
            return "basic"
        return "none"


def parse_kubeconfig(
    source: str | bytes | Mapping[str, Any],
    *,
    context: str | None = None,
    origin: str = "kubeconfig",
    base_dir: Path | None = None,
) -> ClusterAccess:
    """Resolve one context of a kubeconfig; raise `KubeconfigError` naming `origin` and the field.

    `base_dir` is the directory of a local kubeconfig file: only then are file references
    (`certificate-authority`, `client-certificate`, `client-key`, `tokenFile`) read and
    `auth-provider` accepted. An `exec` plugin is checked here and run by the client, if allowed.
    """
    doc = _load_document(source, origin)
    ctx_name = context or _optional_str(doc, "current-context", origin, "current-context")
    if not ctx_name:
        raise _invalid(origin, "no context given and current-context is not set")
    ctx = _named_entry(doc, "contexts", ctx_name, "context", origin)
    cluster_name = _required_str(ctx, "cluster", origin, f"contexts[{ctx_name}].context.cluster")
    cluster = _named_entry(doc, "clusters", cluster_name, "cluster", origin)
    user_name = _optional_str(ctx, "user", origin, f"contexts[{ctx_name}].context.user")
    user: Mapping[str, Any] = {}
    if user_name:
        user = _named_entry(doc, "users", user_name, "user", origin)

    cpath = f"clusters[{cluster_name}].cluster"
    server = _required_str(cluster, "server", origin, f"{cpath}.server")
    parsed = urlparse(server)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise _invalid(origin, f"{cpath}.server is not an http(s) URL")
    ca_data = _data_or_file(
        cluster, "certificate-authority-data", "certificate-authority", origin, cpath, base_dir
    )
    if ca_data is not None and b"-----BEGIN CERTIFICATE-----" not in ca_data:
        raise _invalid(origin, f"{cpath}.certificate-authority-data is not a PEM certificate")
    insecure = cluster.get("insecure-skip-tls-verify", False)
    if not isinstance(insecure, bool):
        raise _invalid(origin, f"{cpath}.insecure-skip-tls-verify must be true or false")

    upath = f"users[{user_name}].user"
    plugin = next((key for key in ("exec", "auth-provider") if user.get(key)), None)
    if plugin == "auth-provider" and base_dir is None:
        raise _invalid(
            origin,
            f"{upath}.auth-provider: auth-provider plugins are not supported in a "
            "kubeconfig Secret; use an exec plugin, a token or a client certificate",
        )
    exec_config: ExecConfig | None = None
    if plugin == "exec":
        exec_config = parse_exec(
            user["exec"], cluster, path=f"{upath}.exec", invalid=lambda what: _invalid(origin, what)
        )
        others = [
            k
            for k in ("token", "tokenFile", "client-certificate-data", "client-certificate", "auth-provider")
            if user.get(k)
        ]
        if others:
            raise _invalid(origin, f"{upath}: exec cannot be combined with {', '.join(others)}")
        command = exec_config.command
        if base_dir is None and "/" in command and not os.path.isabs(command):
            raise _invalid(
                origin,
                f"{upath}.exec.command: a relative path has nothing to be relative to "
                "in a kubeconfig Secret; give a name found on PATH or an absolute path",
            )
    token = _token(user, origin, upath, base_dir)
    token_file_ref = (
        None if user.get("token") else _optional_str(user, "tokenFile", origin, f"{upath}.tokenFile")
    )
    token_file = None
    if token_file_ref is not None and base_dir is not None:
        token_file = Path(token_file_ref) if os.path.isabs(token_file_ref) else base_dir / token_file_ref
    cert = _data_or_file(user, "client-certificate-data", "client-certificate", origin, upath, base_dir)
    key = _data_or_file(user, "client-key-data", "client-key", origin, upath, base_dir)
    if (cert is None) != (key is None):
        raise _invalid(origin, f"{upath}: client-certificate-data and client-key-data must be given together")
    if cert is not None and b"-----BEGIN" not in cert:
        raise _invalid(origin, f"{upath}.client-certificate-data is not a PEM certificate")
    if key is not None and b"-----BEGIN" not in key:
        raise _invalid(origin, f"{upath}.client-key-data is not a PEM key")
    username = _optional_str(user, "username", origin, f"{upath}.username")
    password = _optional_str(user, "password", origin, f"{upath}.password")
    if (username is None) != (password is None):
        raise _invalid(origin, f"{upath}: username and password must be given together")
    if (
        (token or cert or username or plugin)
        and parsed.scheme != "https"
        and parsed.hostname not in ("127.0.0.1", "localhost", "::1")
    ):
        # credentials over plain HTTP to another host would be readable on the wire
        raise _invalid(origin, f"{cpath}.server: credentials are only sent over https")

    return ClusterAccess(
        context=ctx_name,
        server=server.rstrip("/"),
        ca_data=ca_data,
        insecure_skip_tls_verify=insecure,
        tls_server_name=_optional_str(cluster, "tls-server-name", origin, f"{cpath}.tls-server-name"),
        proxy_url=_optional_str(cluster, "proxy-url", origin, f"{cpath}.proxy-url"),
        token=token,
        client_cert_data=cert,
        client_key_data=key,
        username=username,
        password=password,
        plugin=plugin,
        exec_config=exec_config,
        user_path=upath,
        token_file=token_file,
        base_dir=base_dir,
    )


def _invalid(origin: str, what: str) -> KubeconfigError:
    return KubeconfigError(
        Category.NON_RETRYABLE, f"{origin}: {what}", condition=keys.CONDITION_KUBECONFIG_VALID
    )


def _load_document(source: str | bytes | Mapping[str, Any], origin: str) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        doc: Any = source
    else:
        text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
        if not text.strip():
            raise _invalid(origin, "is empty")
        try:
            # libyaml's parser where PyYAML has it (the same safe constructors, ten times faster):
            # every worker process parses each RemoteCluster's kubeconfig on its first task
            doc = yaml.load(text, Loader=_SAFE_LOADER)
        except yaml.YAMLError as exc:
            # the parser's own message quotes the offending line, which may hold a token
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            raise _invalid(origin, f"is not valid YAML{where}") from None
    # a mapping with none of a kubeconfig's keys is something else (a placeholder such as
    # `REPLACE-WITH-KUBECONFIG: prod`), not a kubeconfig missing its current-context
    if not isinstance(doc, Mapping) or not any(k in doc for k in _KUBECONFIG_KEYS):
        raise _invalid(origin, "is not a kubeconfig (expected a mapping with clusters, contexts, users)")
    return doc


_KUBECONFIG_KEYS = ("clusters", "contexts", "users", "current-context")


def _named_entry(
    doc: Mapping[str, Any], section: str, name: str, inner: str, origin: str
) -> Mapping[str, Any]:
    entries = doc.get(section)
    if not isinstance(entries, list):
        raise _invalid(origin, f"{section} is missing or not a list")
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("name") == name:
            value = entry.get(inner)
            if value is None and inner == "user":
                return {}  # a user entry with no credentials is allowed (anonymous access)
            if not isinstance(value, Mapping):
                raise _invalid(origin, f"{section}[{name}].{inner} is missing or not a mapping")
            return value
    names = [str(e.get("name")) for e in entries if isinstance(e, Mapping)]
    known = ", ".join(sorted(names)) or "none"
    raise _invalid(origin, f"{section} has no entry named {name!r} (known: {known})")


def _optional_str(obj: Mapping[str, Any], key: str, origin: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid(origin, f"{path} must be a string")
    return value


def _required_str(obj: Mapping[str, Any], key: str, origin: str, path: str) -> str:
    value = _optional_str(obj, key, origin, path)
    if value is None:
        raise _invalid(origin, f"{path} is missing")
    return value


def _data_or_file(
    obj: Mapping[str, Any], data_key: str, file_key: str, origin: str, path: str, base_dir: Path | None
) -> bytes | None:
    data = _optional_str(obj, data_key, origin, f"{path}.{data_key}")
    if data is not None:
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(origin, f"{path}.{data_key} is not valid base64") from None
    file_ref = _optional_str(obj, file_key, origin, f"{path}.{file_key}")
    if file_ref is None:
        return None
    return _read_local(file_ref, origin, f"{path}.{file_key}", base_dir)


def _token(user: Mapping[str, Any], origin: str, path: str, base_dir: Path | None) -> str | None:
    token = _optional_str(user, "token", origin, f"{path}.token")
    field = f"{path}.token"
    if token is None:
        token_file = _optional_str(user, "tokenFile", origin, f"{path}.tokenFile")
        if token_file is None:
            return None
        field = f"{path}.tokenFile"
        token = _read_local(token_file, origin, field, base_dir).decode("utf-8", "replace")
    token = token.strip()
    if (problem := token_problem(token)) is not None:
        raise _invalid(origin, f"{field} {problem}")
    return token


def _read_local(ref: str, origin: str, path: str, base_dir: Path | None) -> bytes:
    if base_dir is None:
        raise _invalid(
            origin,
            f"{path}: file references are not supported in a kubeconfig Secret; "
            "inline the content in the matching *-data field",
        )
    file = Path(ref) if os.path.isabs(ref) else base_dir / ref
    try:
        return file.read_bytes()
    except OSError as exc:
        raise _invalid(origin, f"{path}: cannot read {file} ({exc.strerror})") from None


def build_configuration(
    access: ClusterAccess,
    *,
    insecure_skip_tls_verify: bool | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> tuple[k8s_client.Configuration, Path | None]:
    """A stock client `Configuration` for `access`, and the private directory holding its key files.

    `insecure_skip_tls_verify` None follows the kubeconfig; a bool overrides it (a RemoteCluster's
    spec decides, not the kubeconfig in its Secret). The caller removes the directory when done.
    """
    cfg = k8s_client.Configuration(host=access.server)
    skip = access.insecure_skip_tls_verify if insecure_skip_tls_verify is None else insecure_skip_tls_verify
    cfg.verify_ssl = not skip
    cfg.connection_pool_maxsize = max_connections + SPARE_CONNECTIONS
    # drsyncer retries itself, with the rate limiter and the categories; urllib3 must not retry too
    cfg.retries = False
    if access.ca_data is not None:
        cfg.ca_cert_data = access.ca_data.decode("ascii", "replace")
    if access.tls_server_name:
        cfg.tls_server_name = access.tls_server_name
    if access.proxy_url:
        cfg.proxy = access.proxy_url
    if access.token:
        cfg.api_key["BearerToken"] = f"Bearer {access.token}"
    elif access.username is not None:
        cfg.username = access.username
        cfg.password = access.password or ""
    key_dir: Path | None = None
    if access.client_cert_data is not None and access.client_key_data is not None:
        # libcurl (requests) and urllib3 (watches) load client certificates from files
        key_dir = Path(tempfile.mkdtemp(prefix="drsyncer-kube-"))
        os.chmod(key_dir, 0o700)
        cfg.cert_file = str(_write_private(key_dir / "client.crt", access.client_cert_data))
        cfg.key_file = str(_write_private(key_dir / "client.key", access.client_key_data))
    return cfg, key_dir


def _write_private(path: Path, data: bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


def client_from_access(
    access: ClusterAccess,
    *,
    name: str,
    origin: str = "",
    insecure_skip_tls_verify: bool | None = None,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy | None = None,
    counters: RequestCounters | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    exec_policy: ExecPolicy | None = None,
    label: str = "",
) -> ClusterClient:
    """A `ClusterClient` for one resolved kubeconfig context; closing it removes any key files.

    An exec plugin runs now (so a plugin that is not allowed, fails or hangs fails here, as a bad
    kubeconfig does) and again when its credential is about to expire or is rejected; `exec_policy`
    says which commands may run (None: none). `label` names the cluster in errors (default `origin`).
    """
    if access.plugin == "auth-provider":
        raise KubeconfigError(
            Category.NON_RETRYABLE,
            f"{origin or name}: auth-provider credentials need the stock loader; "
            "use client_from_kubeconfig_file",
        )
    cfg, key_dir = build_configuration(
        access, insecure_skip_tls_verify=insecure_skip_tls_verify, max_connections=max_connections
    )
    label = label or origin or name
    renew: Callable[[Mapping[str, str]], bool] | None = None
    plugin: _PluginCredentials | None = None
    if access.exec_config is not None:
        source = ExecCredentials(
            access.exec_config,
            exec_policy or ExecPolicy(),
            label=label,
            path=f"{access.user_path}.exec",
            cwd=access.base_dir,
        )
        key_dir = key_dir or _private_dir()
        plugin = _PluginCredentials(source, key_dir)
        try:
            plugin.refresh(cfg)
        except KubeconfigError:
            shutil.rmtree(key_dir, ignore_errors=True)
            raise
        cfg.refresh_api_key_hook = plugin.refresh  # type: ignore[assignment]  # stubs say None only
        renew = plugin.renew
    elif access.token_file is not None:
        token_file = TokenFile(access.token_file, label=label, field_path=f"{access.user_path}.tokenFile")

        def reread(config: k8s_client.Configuration) -> None:
            config.api_key["BearerToken"] = f"Bearer {token_file.token()}"

        cfg.refresh_api_key_hook = reread  # type: ignore[assignment]  # stubs say None only
        renew = lambda sent: token_file.renew(_bearer(sent))  # noqa: E731
    if not cfg.verify_ssl:
        # said once here rather than by urllib3 on every request to this cluster
        log.warning("TLS verification is off for %s (%s)", name, origin or access.server)
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    api = k8s_client.ApiClient(configuration=cfg)
    cleanup = _cleanup_for(key_dir)
    result = ClusterClient(
        api,
        name=name,
        origin=origin,
        limiter=limiter,
        retry=retry,
        counters=counters,
        on_close=cleanup,
        on_unauthorized=renew,
    )
    if plugin is not None:
        plugin.drop_connections = result.drop_connections
    if key_dir is not None:
        # a client dropped without close() still removes its key files
        weakref.finalize(result, shutil.rmtree, key_dir, True)
    return result


def _private_dir() -> Path:
    key_dir = Path(tempfile.mkdtemp(prefix="drsyncer-kube-"))
    os.chmod(key_dir, 0o700)
    return key_dir


class _PluginCredentials:
    """Puts an exec plugin's current credential into a client `Configuration` before each request.

    The stock configuration runs `refresh_api_key_hook` whenever it reads the bearer token, and only
    when a `BearerToken` key exists: a client-certificate credential keeps an empty one so that the
    hook still runs (an empty value sends no header). Certificates go to files (loaded for each new
    connection), replaced whole; kept connections made with the old pair are dropped.
    """

    def __init__(self, source: ExecCredentials, key_dir: Path) -> None:
        self.source = source
        self.key_dir = key_dir
        # the client's, once built: a new certificate pair must not meet connections of the old
        self.drop_connections: Callable[[], None] | None = None
        self._written: tuple[bytes, bytes] | None = None

    def refresh(self, cfg: k8s_client.Configuration) -> None:
        credential = self.source.credential()
        if credential.token is not None:
            cfg.api_key["BearerToken"] = f"Bearer {credential.token}"
            return
        cfg.api_key["BearerToken"] = ""
        assert credential.client_cert_data is not None and credential.client_key_data is not None
        pair = (credential.client_cert_data, credential.client_key_data)
        if pair != self._written:
            cfg.cert_file = str(_replace_private(self.key_dir / "client.crt", pair[0]))
            cfg.key_file = str(_replace_private(self.key_dir / "client.key", pair[1]))
            if self._written is not None and self.drop_connections is not None:
                self.drop_connections()
            self._written = pair

    def renew(self, sent: Mapping[str, str]) -> bool:
        """After a 401: the rejected credential is the one whose token the request carried (a
        certificate cannot be told from the headers: the current one)."""
        return self.source.renew(_bearer(sent))


def _bearer(sent: Mapping[str, str]) -> str | None:
    """The bearer token a request carried (its lower-cased headers), None without one."""
    return sent.get("authorization", "").removeprefix("Bearer ") or None


def _replace_private(path: Path, data: bytes) -> Path:
    fresh = path.with_name(path.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        fresh.unlink()
    _write_private(fresh, data)
    os.replace(fresh, path)
    return path


def _cleanup_for(key_dir: Path | None) -> Callable[[], None] | None:
    if key_dir is None:
        return None
    return lambda: shutil.rmtree(key_dir, ignore_errors=True)


def client_from_kubeconfig(
    source: str | bytes | Mapping[str, Any],
    *,
    context: str | None = None,
    name: str | None = None,
    origin: str = "kubeconfig",
    insecure_skip_tls_verify: bool | None = None,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy | None = None,
    counters: RequestCounters | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> ClusterClient:
    """A `ClusterClient` from kubeconfig text or a dict holding inline credentials only."""
    access = parse_kubeconfig(source, context=context, origin=origin)
    return client_from_access(
        access,
        name=name or access.context,
        origin=origin,
        insecure_skip_tls_verify=insecure_skip_tls_verify,
        limiter=limiter,
        retry=retry,
        counters=counters,
        max_connections=max_connections,
    )


def client_from_kubeconfig_file(
    path: str | Path,
    *,
    context: str | None = None,
    name: str | None = None,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy | None = None,
    counters: RequestCounters | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> ClusterClient:
    """A `ClusterClient` from a local kubeconfig file (the CLI's `--kubeconfig`): file references
    and credential plugins are allowed here, because the user chose this file."""
    file = Path(path).expanduser()
    origin = f"kubeconfig {file}"
    try:
        text = file.read_text()
    except OSError as exc:
        raise KubeconfigError(
            Category.NON_RETRYABLE,
            f"{origin}: cannot read ({exc.strerror})",
            condition=keys.CONDITION_KUBECONFIG_AVAILABLE,
        ) from None
    access = parse_kubeconfig(text, context=context, origin=origin, base_dir=file.parent.resolve())
    if access.plugin != "auth-provider":
        # the user chose this file: its exec plugin runs as kubectl would run it (no allow-list)
        return client_from_access(
            access,
            name=name or access.context,
            origin=origin,
            limiter=limiter,
            retry=retry,
            counters=counters,
            max_connections=max_connections,
            exec_policy=LOCAL_FILE_POLICY,
        )
    # auth-provider (gcp, azure, oidc; removed from kubectl): the stock loader handles what it still can
    cfg = k8s_client.Configuration()
    cfg.connection_pool_maxsize = max_connections + SPARE_CONNECTIONS
    cfg.retries = False
    try:
        k8s_config.load_kube_config(
            config_file=str(file), context=access.context, client_configuration=cfg, persist_config=False
        )
    except (k8s_config.ConfigException, OSError) as exc:
        raise KubeconfigError(
            Category.NON_RETRYABLE,
            f"{origin}: the auth-provider credential plugin failed ({type(exc).__name__})",
        ) from None
    return ClusterClient(
        k8s_client.ApiClient(configuration=cfg),
        name=name or access.context,
        origin=origin,
        limiter=limiter,
        retry=retry,
        counters=counters,
    )


def client_in_cluster(
    *,
    name: str = "controller",
    limiter: RateLimiter | None = None,
    retry: RetryPolicy | None = None,
    counters: RequestCounters | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> ClusterClient:
    """A `ClusterClient` for the cluster this pod runs in, from its service account."""
    cfg = k8s_client.Configuration()
    cfg.connection_pool_maxsize = max_connections + SPARE_CONNECTIONS
    cfg.retries = False
    try:
        # the stock loader re-reads the projected token file when it rotates
        k8s_config.load_incluster_config(client_configuration=cfg)
    except k8s_config.ConfigException as exc:
        raise KubeconfigError(
            Category.NON_RETRYABLE,
            f"no kubeconfig given and not running in a cluster ({exc})",
            condition=keys.CONDITION_KUBECONFIG_AVAILABLE,
        ) from None
    return ClusterClient(
        k8s_client.ApiClient(configuration=cfg),
        name=name,
        origin="in-cluster service account",
        limiter=limiter,
        retry=retry,
        counters=counters,
    )


def controller_client(
    kubeconfig: str | Path | None,
    context: str | None = None,
    *,
    name: str = "controller",
    retry: RetryPolicy | None = None,
    counters: RequestCounters | None = None,
) -> ClusterClient:
    """The controller cluster's client: from `kubeconfig` when given, else in-cluster."""
    if kubeconfig:
        return client_from_kubeconfig_file(
            kubeconfig, context=context or None, name=name, retry=retry, counters=counters
        )
    return client_in_cluster(name=name, retry=retry, counters=counters)
