"""Runtime settings shared by every drsyncer process (watcher, workers, beat).

Each setting has an environment variable and a command-line flag of the same name (the flag wins);
`SETTINGS` is the one table both are built from, and docs/configuration.md is written from it.
Reading is pure: `load_settings(environ, flags)` takes the environment as a mapping, so it is tested
without touching the process's own.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from drsyncer.api.durations import parse_duration
from drsyncer.errors import DrsyncerError
from drsyncer.redis_target import SENTINEL_SCHEME, parse_sentinel_url

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# query parameters of a Redis URL that carry a secret
_SECRET_PARAMS = frozenset({"password", "token", "secret", "auth", "sentinel_password"})
_MASK = "***"


class ConfigError(DrsyncerError):
    """A setting that cannot be used; the message names its environment variable and flag."""


def _text(value: str) -> str:
    return value.strip()


def _int(value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"must be a whole number (got {value!r})") from None
    if number < 0:
        raise ValueError(f"must not be negative (got {number})")
    return number


def _positive_int(value: str) -> int:
    number = _int(value)
    if number == 0:
        raise ValueError("must be at least 1")
    return number


def _seconds(value: str) -> float:
    """`15`, `15s`, `2m`, `1h30m` → seconds."""
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            return parse_duration(text).total_seconds()
        except ValueError:
            raise ValueError(f"must be seconds or a duration like 15s, 2m (got {value!r})") from None
    if seconds <= 0:
        raise ValueError(f"must be longer than zero (got {value!r})")
    return seconds


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _bool(value: str) -> bool:
    text = value.strip().lower()
    if text not in _TRUE + _FALSE:
        raise ValueError(f"must be true or false (got {value!r})")
    return text in _TRUE


def _choice(options: tuple[str, ...], upper: bool = False) -> Callable[[str], str]:
    def parse(value: str) -> str:
        text = value.strip().upper() if upper else value.strip().lower()
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)} (got {value!r})")
        return text

    return parse


def _queues(value: str) -> tuple[str, ...]:
    names = tuple(q.strip() for q in value.split(",") if q.strip())
    if not names:
        raise ValueError("must name at least one queue")
    return names


def _commands(value: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in value.split(",") if c.strip())


def _redis_url(value: str) -> str:
    text = value.strip()
    scheme = urlsplit(text).scheme
    if scheme == SENTINEL_SCHEME:
        try:
            parse_sentinel_url(text)
        except ValueError as exc:
            raise ValueError(f"{exc} (got {redact_url(text)!r})") from None
        return text
    if scheme not in ("redis", "rediss", "redis+socket", "unix"):
        raise ValueError(f"must be a redis://, rediss:// or sentinel:// URL (got {redact_url(text)!r})")
    return text


@dataclass(frozen=True)
class Setting:
    """One row of the configuration table."""

    attr: str
    env: str
    default: str
    help: str
    parse: Callable[[str], Any] = _text
    secret_url: bool = False  # shown redacted in docs, logs and `repr`
    secret: bool = False  # never shown at all (credentials)
    # the flag when it differs from the variable's name: one spelling across every subcommand
    flag_name: str = ""
    short: str = ""  # e.g. "-n"

    @property
    def flag(self) -> str:
        return self.flag_name or self.legacy_flag

    @property
    def legacy_flag(self) -> str:
        """The flag named after the variable; still accepted (hidden) where `flag_name` replaced it."""
        return "--" + self.env.removeprefix("DRSYNCER_").lower().replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "redis_url",
        "DRSYNCER_REDIS_URL",
        "redis://localhost:6379/0",
        "Redis for the Celery broker, the redbeat schedule and lock, run records and the rate "
        "limiter. Password and TLS go in the URL: "
        "`rediss://:PASSWORD@host:6380/0?ssl_cert_reqs=required`. "
        "A Sentinel-managed primary: `sentinel://:PASSWORD@s1:26379,s2:26379,s3:26379/0?master=NAME` "
        '(`&sentinel_password=`, `&tls=true`, `&ssl_ca_certs=`; see "Redis Sentinel" in docs/configuration.md). Never '
        "logged with a password.",
        _redis_url,
        secret_url=True,
    ),
    Setting(
        "kubeconfig",
        "DRSYNCER_KUBECONFIG",
        "",
        "Kubeconfig file for the controller cluster (where the RemoteCluster and Replication objects "
        "live). Empty: the in-cluster service account.",
    ),
    Setting(
        "kube_context",
        "DRSYNCER_KUBE_CONTEXT",
        "",
        "Context in that kubeconfig. Empty: its current-context.",
        flag_name="--context",
    ),
    Setting(
        "watch_namespace",
        "DRSYNCER_WATCH_NAMESPACE",
        "",
        "Namespace whose Replications, NamespaceMappings and RemoteClusters are served. Empty: all.",
        flag_name="--namespace",
        short="-n",
    ),
    Setting("concurrency", "DRSYNCER_CONCURRENCY", "4", "Worker processes per worker pod.", _positive_int),
    Setting(
        "write_concurrency",
        "DRSYNCER_WRITE_CONCURRENCY",
        "16",
        "Writes a worker process has in flight at once to one destination cluster during a namespace "
        "sync; the RemoteCluster's rate limit still applies. A process keeps up to twice as many "
        "connections to each cluster (a stage's creates, sent together, keep theirs apart from the "
        "other writes'), and 8 more for change feeds and reads.",
        _positive_int,
    ),
    Setting(
        "log_format",
        "DRSYNCER_LOG_FORMAT",
        "text",
        "`text` or `json` (one JSON object per line).",
        _choice(LOG_FORMATS),
    ),
    Setting(
        "log_level",
        "DRSYNCER_LOG_LEVEL",
        "INFO",
        "DEBUG, INFO, WARNING or ERROR.",
        _choice(LOG_LEVELS, upper=True),
    ),
    Setting(
        "metrics_port",
        "DRSYNCER_METRICS_PORT",
        "9090",
        "Port of the Prometheus `/metrics` endpoint. 0: not served. The default is 9090 for the "
        "watcher and 9091 for a worker, so both run on one host as they are.",
        _int,
    ),
    Setting(
        "probe_port",
        "DRSYNCER_PROBE_PORT",
        "8081",
        "Port of the watcher's `/healthz` and `/readyz`. 0: any free port.",
        _int,
    ),
    Setting(
        "redbeat_key_prefix",
        "DRSYNCER_REDBEAT_KEY_PREFIX",
        "redbeat:",
        "Key prefix of the redbeat schedule in Redis; the watcher and beat must agree.",
    ),
    Setting(
        "lease_name",
        "DRSYNCER_LEASE_NAME",
        "drsyncer-watcher",
        "Name of the `coordination.k8s.io/v1` Lease the watcher replicas elect a leader with.",
    ),
    Setting(
        "lease_namespace",
        "DRSYNCER_LEASE_NAMESPACE",
        "",
        "Namespace of that Lease. Empty: the watch namespace, else the pod's own namespace, else `default`.",
    ),
    Setting(
        "lease_duration",
        "DRSYNCER_LEASE_DURATION",
        "15s",
        "How long a leader's Lease holds without renewal; a standby takes over after it. The leader "
        "renews every third of it.",
        _seconds,
    ),
    Setting(
        "identity",
        "DRSYNCER_IDENTITY",
        "",
        "This replica's name in the Lease. Empty: the host name (the pod name) and process id.",
    ),
    Setting(
        "resync_interval",
        "DRSYNCER_RESYNC_INTERVAL",
        "5m",
        "Full reconcile of the schedule, including re-listing every source cluster's namespaces for "
        "`namespaceSelector`, even when no change was seen.",
        _seconds,
    ),
    Setting(
        "health_check_interval",
        "DRSYNCER_HEALTH_CHECK_INTERVAL",
        "1m",
        "How often the watcher checks each RemoteCluster and writes its status (a new or changed one "
        "is checked at once).",
        _seconds,
    ),
    Setting(
        "queues",
        "DRSYNCER_QUEUES",
        "sync,health,webhooks",
        "Celery queues a worker consumes, comma-separated: `sync` (namespace syncs and cleanups), "
        "`health` (RemoteCluster checks) and `webhooks` (event webhook deliveries). Run a separate "
        "worker Deployment per queue to keep health checks from waiting behind large syncs.",
        _queues,
    ),
    Setting(
        "webhooks",
        "DRSYNCER_WEBHOOKS",
        "",
        "Installation-wide event webhooks: a JSON or YAML list shaped like a Replication's "
        "`spec.webhooks` (`url`, `events`, `secretRef`), sent events of every Replication "
        "(docs/webhooks.md). Empty: none.",
        _text,
    ),
    Setting(
        "worker_name",
        "DRSYNCER_WORKER_NAME",
        "",
        "Celery node name of a worker (`name@host`). Empty: `drsyncer@<host name>`.",
        _text,
    ),
    Setting(
        "task_time_limit",
        "DRSYNCER_TASK_TIME_LIMIT",
        "30m",
        "Hard time limit of one namespace sync; the task is asked to stop (soft limit) at 90% of "
        "it. Must be shorter than `DRSYNCER_VISIBILITY_TIMEOUT`.",
        _seconds,
    ),
    Setting(
        "visibility_timeout",
        "DRSYNCER_VISIBILITY_TIMEOUT",
        "1h",
        "Redis visibility timeout: a task taken by a worker that vanished without a trace is "
        "delivered again after this long (a worker process that dies is noticed at once).",
        _seconds,
    ),
    Setting(
        "shutdown_timeout",
        "DRSYNCER_SHUTDOWN_TIMEOUT",
        "45s",
        "Longest a worker takes to stop after SIGTERM. Running tasks get two thirds of it (at most "
        "30 s) to finish, then are handed back; a worker whose stop hangs (Redis unreachable) exits "
        "at this limit anyway, counted from the signal (plus under a second to exit). Keep the "
        "pod's termination grace period at least 5 s above it.",
        _seconds,
    ),
    Setting(
        "heartbeat_file",
        "DRSYNCER_HEARTBEAT_FILE",
        "",
        "File the worker (while its consumer runs, or keeps trying to reach Redis) or beat (every "
        "tick, and every try while Redis is away) touches, for `drsyncer probe`. Empty: "
        "`/tmp/drsyncer-worker.heartbeat` or `/tmp/drsyncer-beat.heartbeat`.",
    ),
    Setting(
        "metrics_dir",
        "DRSYNCER_METRICS_DIR",
        "",
        "Directory the worker processes share their metrics through (prometheus-client "
        "multiprocess mode); wiped when the worker starts. Empty: a directory under /tmp.",
        _text,
    ),
    Setting(
        "beat_max_interval",
        "DRSYNCER_BEAT_MAX_INTERVAL",
        "5s",
        "Longest sleep of beat between two looks at the schedule; new entries start at most this late.",
        _seconds,
    ),
    Setting(
        "beat_lock_timeout",
        "DRSYNCER_BEAT_LOCK_TIMEOUT",
        "60s",
        "How long beat's lock in Redis outlives a beat that stopped renewing it; a replacement "
        "beat waits at most this long. Keep it a few times `DRSYNCER_BEAT_MAX_INTERVAL`.",
        _seconds,
    ),
    Setting(
        "exec_plugins",
        "DRSYNCER_EXEC_PLUGINS",
        "",
        "Credential plugin commands a kubeconfig Secret's `exec` user may run, comma-separated, each "
        "exactly as kubeconfigs name it (`aws`, `gke-gcloud-auth-plugin`, `kubelogin`, or an absolute "
        "path). Empty: no plugin runs. Whoever can write a kubeconfig Secret chooses the arguments; "
        "see docs/cloud.md.",
        _commands,
    ),
    Setting(
        "exec_plugin_timeout",
        "DRSYNCER_EXEC_PLUGIN_TIMEOUT",
        "30s",
        "Longest a credential plugin may run before it is stopped and the cluster's sync fails (retryable).",
        _seconds,
    ),
    Setting(
        "task_events",
        "DRSYNCER_TASK_EVENTS",
        "false",
        "Send Celery task events (sent, received, started, succeeded, failed) from the start, for "
        "Flower or another monitor. false: workers send them only once a monitor asks (Flower asks "
        "when it starts and every 5 seconds), and nothing else pays for them: each costs a Redis "
        "message per task. true also sends the task-sent event from beat (tasks waiting in the queue "
        "show in Flower). The Helm chart sets it while Flower is enabled (`flower.taskEvents`); see "
        "docs/operations.md, Flower.",
        _bool,
    ),
    Setting(
        "listen_address",
        "DRSYNCER_LISTEN_ADDRESS",
        "0.0.0.0",
        "Address the metrics, probe and Flower ports listen on: 0.0.0.0, every interface (what a pod "
        "needs to be scraped and probed), or 127.0.0.1 to keep them to the machine itself (the demo "
        "does).",
        _text,
    ),
    Setting("flower_port", "DRSYNCER_FLOWER_PORT", "5555", "Port of Flower's web interface and API.", _int),
    Setting(
        "flower_basic_auth",
        "DRSYNCER_FLOWER_BASIC_AUTH",
        "",
        "Flower's HTTP basic auth credentials, `user:password[,user2:password2]`. Required unless "
        "`--insecure-no-auth` is given; never logged.",
        _text,
        secret=True,
    ),
)
_BY_ATTR = {s.attr: s for s in SETTINGS}

WORKER_SETTINGS = (
    "redis_url",
    "kubeconfig",
    "kube_context",
    "log_format",
    "log_level",
    "concurrency",
    "write_concurrency",
    "metrics_port",
    "listen_address",
    "queues",
    "worker_name",
    "task_time_limit",
    "visibility_timeout",
    "shutdown_timeout",
    "heartbeat_file",
    "metrics_dir",
    "exec_plugins",
    "exec_plugin_timeout",
    "webhooks",
    "task_events",
)
BEAT_SETTINGS = (
    "redis_url",
    "log_format",
    "log_level",
    "redbeat_key_prefix",
    "heartbeat_file",
    "beat_max_interval",
    "beat_lock_timeout",
    "task_time_limit",
    "visibility_timeout",
    "task_events",
)
FLOWER_SETTINGS = (
    "redis_url",
    "log_format",
    "log_level",
    "listen_address",
    "flower_port",
    "flower_basic_auth",
    "task_time_limit",
    "visibility_timeout",
)

WATCHER_SETTINGS = (
    "redis_url",
    "kubeconfig",
    "kube_context",
    "watch_namespace",
    "log_format",
    "log_level",
    "metrics_port",
    "probe_port",
    "listen_address",
    "redbeat_key_prefix",
    "lease_name",
    "lease_namespace",
    "lease_duration",
    "identity",
    "resync_interval",
    "health_check_interval",
    "exec_plugins",
    "exec_plugin_timeout",
)

_IN_CLUSTER_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


@dataclass(frozen=True)
class Settings:
    """Every setting, parsed. `repr` shows the Redis URL without its password."""

    redis_url: str = field(repr=False)
    kubeconfig: str
    kube_context: str
    watch_namespace: str
    concurrency: int
    log_format: str
    log_level: str
    metrics_port: int
    probe_port: int
    redbeat_key_prefix: str
    lease_name: str
    lease_namespace: str
    lease_duration: float
    identity: str
    resync_interval: float
    health_check_interval: float
    queues: tuple[str, ...] = ("sync", "health", "webhooks")
    webhooks: str = ""
    worker_name: str = ""
    task_time_limit: float = 1800.0
    visibility_timeout: float = 3600.0
    shutdown_timeout: float = 45.0
    heartbeat_file: str = ""
    metrics_dir: str = ""
    beat_max_interval: float = 5.0
    beat_lock_timeout: float = 60.0
    exec_plugins: tuple[str, ...] = ()
    exec_plugin_timeout: float = 30.0
    flower_port: int = 5555
    flower_basic_auth: str = field(default="", repr=False)
    write_concurrency: int = 16
    task_events: bool = False
    listen_address: str = "0.0.0.0"

    @property
    def redacted_redis_url(self) -> str:
        return redact_url(self.redis_url)

    @property
    def lease_renew_interval(self) -> float:
        return self.lease_duration / 3

    def describe(self) -> dict[str, Any]:
        """Every setting by environment variable, safe to log."""
        out: dict[str, Any] = {}
        for setting in SETTINGS:
            value = getattr(self, setting.attr)
            if setting.secret:
                value = _MASK if value else ""
            out[setting.env] = redact_url(value) if setting.secret_url else value
        return out

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"Settings(redis_url={self.redacted_redis_url!r}, {shown})"


# a component's own defaults where they differ from the table's (distinct ports on one host)
WORKER_DEFAULTS: Mapping[str, str] = {"metrics_port": "9091"}


def port_in_use(attr: str, port: int, exc: OSError) -> ConfigError:
    """The one-line error for a port a setting names that cannot be listened on."""
    setting = _BY_ATTR[attr]
    return ConfigError(
        f"cannot listen on port {port} ({exc.strerror or exc}): another process uses it; set "
        f"{setting.env} ({setting.flag}) to a free port"
    )


def load_settings(
    environ: Mapping[str, str] | None = None,
    flags: argparse.Namespace | Mapping[str, Any] | None = None,
    *,
    defaults: Mapping[str, str] | None = None,
    hostname: Callable[[], str] = socket.gethostname,
    pid: Callable[[], int] = os.getpid,
    in_cluster_namespace: Callable[[], str | None] | None = None,
) -> Settings:
    """Settings from flags (set ones win), then `environ`, then the defaults; `ConfigError` lists
    every bad value at once, each by its variable and flag."""
    env = os.environ if environ is None else environ
    given = vars(flags) if isinstance(flags, argparse.Namespace) else dict(flags or {})
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        raw = given.get(setting.attr)
        origin = setting.flag
        if raw is None:
            raw, origin = env.get(setting.env), setting.env
        if raw is None:
            raw, origin = (defaults or {}).get(setting.attr, setting.default), "default"
        try:
            values[setting.attr] = setting.parse(str(raw))
        except ValueError as exc:
            problems.append(f"{setting.env} ({setting.flag}, from {origin}): {exc}")
    if not problems and values["task_time_limit"] >= values["visibility_timeout"]:
        # a task still running when the visibility timeout passes is delivered to a second worker
        problems.append(
            "DRSYNCER_TASK_TIME_LIMIT (--task-time-limit) must be shorter than "
            "DRSYNCER_VISIBILITY_TIMEOUT (--visibility-timeout)"
        )
    if problems:
        raise ConfigError("invalid settings: " + "; ".join(problems))
    if not values["identity"]:
        values["identity"] = f"{hostname()}-{pid()}"
    if not values["lease_namespace"]:
        values["lease_namespace"] = (
            values["watch_namespace"]
            or env.get("POD_NAMESPACE")
            or (in_cluster_namespace or _read_in_cluster_namespace)()
            or "default"
        )
    return Settings(**values)


def _read_in_cluster_namespace() -> str | None:
    try:
        with open(_IN_CLUSTER_NAMESPACE_FILE) as f:
            return f.read().strip() or None
    except OSError:
        return None


def add_arguments(
    parser: argparse.ArgumentParser, names: Iterable[str], defaults: Mapping[str, str] | None = None
) -> None:
    """Add the flags of the named settings; unset flags stay None so the environment applies.
    `defaults`: the component's own defaults where they differ from the table's (WORKER_DEFAULTS),
    shown in its help."""
    for name in names:
        setting = _BY_ATTR[name]
        default = (defaults or {}).get(name, setting.default)
        shown = redact_url(default) if setting.secret_url else default
        flags = [f for f in (setting.short, setting.flag) if f]
        parser.add_argument(
            *flags,
            dest=setting.attr,
            default=None,
            metavar=setting.attr.upper(),
            help=f"{_plain(setting.help)} [env {setting.env}; default {shown or 'empty'}]",
        )
        if setting.legacy_flag != setting.flag:
            parser.add_argument(setting.legacy_flag, dest=setting.attr, default=None, help=argparse.SUPPRESS)


def _plain(text: str) -> str:
    # argparse expands %-formats in help texts
    return text.replace("`", "").replace("%", "%%")


def redact_url(url: str) -> str:
    """The URL with its password (userinfo or a secret query parameter) replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        # a lone userinfo is a password to Redis servers without ACL users (`requirepass`)
        netloc = f"{user}:{_MASK}@{host}" if sep else f"{_MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in _SECRET_PARAMS for k, _ in pairs):
            query = urlencode([(k, _MASK if k.lower() in _SECRET_PARAMS else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def configuration_table() -> str:
    """The Markdown table of docs/configuration.md."""
    rows = ["| Environment variable | Flag | Default | Meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        if s.attr in WORKER_DEFAULTS:
            default += f"; a worker's: `{WORKER_DEFAULTS[s.attr]}`"
        flags = ", ".join(f"`{f}`" for f in (s.short, s.flag) if f)
        rows.append(f"| `{s.env}` | {flags} | {default} | {s.help} |")
    return "\n".join(rows) + "\n"
