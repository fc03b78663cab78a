"""Where drsyncer's Redis is: one URL, `redis://`/`rediss://` for a single server or `sentinel://` for a
Sentinel-managed primary, turned into a redis-py client and into the settings Celery, kombu and
celery-redbeat need to follow the same primary.

    sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/DB?master=NAME
        [&sentinel_password=PW][&tls=true][&ssl_ca_certs=/path/ca.pem][&ssl_cert_reqs=required|none]

- PASSWORD (and USER) are the data nodes' (primary and replicas), `sentinel_password` the
  sentinels' own (`requirepass` in sentinel.conf); `master` is the name the sentinels monitor.
- `tls=true` speaks TLS to the sentinels and to the data nodes, checking certificates against
  `ssl_ca_certs` (default: the system's) unless `ssl_cert_reqs=none`.

Each library follows the primary in its own documented way (all ask the sentinels for the current
primary on every new connection): redis-py `redis.sentinel.Sentinel.master_for`; kombu's
`sentinel://` broker transport with `master_name` and `sentinel_kwargs` (kombu 5.7
`kombu.transport.redis.SentinelChannel`); Celery's `sentinel://` result backend with the same
transport options (celery 5.7 `celery.backends.redis.SentinelBackend`); celery-redbeat's
`redis-sentinel://` URL with `redbeat_redis_options` `sentinels`, `service_name`, `password`,
`sentinel_kwargs` (celery-redbeat 2.4 `redbeat.schedulers.get_redis`).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import redis
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "sentinel"
DEFAULT_SENTINEL_PORT = 26379
_CERT_REQS = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SentinelTarget:
    """A parsed `sentinel://` URL."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)
    tls: bool = False
    ssl_ca_certs: str | None = None
    ssl_cert_reqs: str = "required"

    def ssl_options(self) -> dict[str, Any]:
        """redis-py connection keyword arguments for TLS (empty without TLS)."""
        if not self.tls:
            return {}
        options: dict[str, Any] = {"ssl": True, "ssl_cert_reqs": self.ssl_cert_reqs}
        if self.ssl_ca_certs:
            options["ssl_ca_certs"] = self.ssl_ca_certs
        return options

    def auth(self) -> dict[str, Any]:
        return {k: v for k, v in (("username", self.username), ("password", self.password)) if v}

    def sentinel_kwargs(self) -> dict[str, Any]:
        """Connection arguments for the sentinels themselves."""
        kwargs: dict[str, Any] = dict(self.ssl_options())
        if self.sentinel_password:
            kwargs["password"] = self.sentinel_password
        return kwargs


def is_sentinel(url: str) -> bool:
    return url.strip().lower().startswith(SENTINEL_SCHEME + "://")


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The parts of a `sentinel://` URL; ValueError naming what is wrong (never showing a password)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != SENTINEL_SCHEME:
        raise ValueError("a Sentinel URL starts with sentinel://")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, sep, secret = userinfo.partition(":")
        # a lone userinfo is a password, as for redis:// URLs (servers with `requirepass`, no ACL users)
        username, password = (
            (unquote(user) or None, unquote(secret) or None) if sep else (None, unquote(user))
        )
    sentinels = []
    for item in filter(None, (h.strip() for h in hosts.split(","))):
        host, sep, port = item.rpartition(":")
        if not sep:
            host, port = item, str(DEFAULT_SENTINEL_PORT)
        if not host or not port.isdigit():
            raise ValueError(f"sentinel address {item!r} is not HOST:PORT")
        sentinels.append((host.strip("[]"), int(port)))
    if not sentinels:
        raise ValueError("a Sentinel URL names at least one sentinel, HOST:PORT[,HOST:PORT...]")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ValueError(f"the database in a Sentinel URL is a number (got {path!r})")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    master = query.get("master", "").strip()
    if not master:
        raise ValueError("a Sentinel URL names the monitored primary: ?master=NAME")
    cert_reqs = query.get("ssl_cert_reqs", "required").lower()
    if cert_reqs not in _CERT_REQS:
        raise ValueError(f"ssl_cert_reqs must be one of {', '.join(_CERT_REQS)} (got {cert_reqs!r})")
    return SentinelTarget(
        tuple(sentinels),
        master,
        int(path or 0),
        username,
        password,
        query.get("sentinel_password") or None,
        query.get("tls", "").lower() in _TRUE,
        query.get("ssl_ca_certs") or None,
        cert_reqs,
    )


try:
    from redis.driver_info import DriverInfo
except ImportError:  # redis-py before 7 takes its version once, at import
    _DRIVER: dict[str, Any] = {}
else:
    # told its own version, redis-py does not look it up in the installed packages' metadata for every
    # new connection (milliseconds each, paid again by every worker process for its first connections)
    _DRIVER = {"driver_info": DriverInfo(name="redis-py", lib_version=redis.__version__)}


def client_from_url(url: str, **options: Any) -> redis.Redis:
    """A redis-py client for the URL; for `sentinel://`, one that finds the current primary through
    the sentinels on every new connection (and so follows a failover). `options` are connection
    arguments such as `socket_timeout` and `retry`."""
    options = {**_DRIVER, **options}
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    target = parse_sentinel_url(url)
    timeouts: dict[str, Any] = {
        k: options[k] for k in ("socket_timeout", "socket_connect_timeout") if k in options
    }
    sentinel = Sentinel(
        list(target.sentinels),
        sentinel_kwargs={**timeouts, **target.sentinel_kwargs()},
        **target.ssl_options(),
    )
    client: redis.Redis = sentinel.master_for(target.master, db=target.db, **target.auth(), **options)
    return client


def _kombu_url(target: SentinelTarget, *, with_db: bool) -> str:
    """`sentinel://:pw@h1:p1/db;sentinel://:pw@h2:p2/db`, as kombu and Celery's backend read it."""
    auth = ""
    if target.password:
        auth = f"{quote(target.username or '', safe='')}:{quote(target.password, safe='')}@"
    db = f"/{target.db}" if with_db else ""
    return ";".join(f"sentinel://{auth}{host}:{port}{db}" for host, port in target.sentinels)


def celery_settings(url: str) -> dict[str, Any]:
    """The Celery settings that point the broker, the result backend and redbeat at `url`:
    `broker_url`, `result_backend`, `redbeat_redis_url`, `redbeat_redis_options`, and for Sentinel
    `sentinel_transport_options` (to merge into the broker's and the backend's transport options)
    and `broker_use_ssl`/`redis_backend_use_ssl`/`redbeat_redis_use_ssl` for TLS."""
    if not is_sentinel(url):
        return {
            "broker_url": url,
            "result_backend": url,
            "redbeat_redis_url": url,
            "redbeat_redis_options": {},
            "sentinel_transport_options": {},
        }
    target = parse_sentinel_url(url)
    transport: dict[str, Any] = {"master_name": target.master, "sentinel_kwargs": target.sentinel_kwargs()}
    redbeat: dict[str, Any] = {
        "sentinels": [list(s) for s in target.sentinels],
        "service_name": target.master,
        "db": target.db,
        "sentinel_kwargs": target.sentinel_kwargs(),
        **target.auth(),
    }
    out: dict[str, Any] = {
        "broker_url": _kombu_url(target, with_db=True),
        "result_backend": _kombu_url(target, with_db=True),
        # redbeat reads the sentinels from its options; the URL only selects its Sentinel branch
        "redbeat_redis_url": "redis-sentinel://",
        "redbeat_redis_options": redbeat,
        "sentinel_transport_options": transport,
    }
    if target.tls:
        tls = {"ssl_cert_reqs": _CERT_REQS[target.ssl_cert_reqs]}
        if target.ssl_ca_certs:
            tls["ssl_ca_certs"] = target.ssl_ca_certs  # type: ignore[assignment]
        out.update({"broker_use_ssl": tls, "redis_backend_use_ssl": tls, "redbeat_redis_use_ssl": tls})
    return out
