"""Which Redis the demo runs: `redis-server` from PATH when there is one, else the embedded one."""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from drsyncer.demo.children import Child, Children
from drsyncer.errors import DrsyncerError

REAL = "server"
EMBEDDED = "embedded"
AUTO = "auto"
CHOICES = (AUTO, REAL, EMBEDDED)


@dataclass(frozen=True)
class RedisPlan:
    kind: str  # REAL or EMBEDDED
    argv: list[str]
    port: int
    fell_back: bool = False  # `auto` found no redis-server on PATH

    @property
    def note(self) -> str | None:
        """What to tell the user before it starts: why a slower Redis runs when they did not ask
        for it; None when they got what they asked for."""
        if not self.fell_back:
            return None
        return (
            "no redis-server on PATH: using the embedded pure-Python Redis, which is slower "
            "(install redis-server for a snappier demo)"
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def description(self) -> str:
        if self.kind == REAL:
            return f"redis-server {self.argv[0]} on 127.0.0.1:{self.port}"
        return f"embedded Redis (fakeredis) on 127.0.0.1:{self.port}"


def plan_redis(choice: str, port: int, workdir: Path, which: str | None = None) -> RedisPlan:
    """The Redis to start for `choice` (auto | server | embedded); `which` is the redis-server path
    found on PATH (looked up when not given)."""
    binary = which if which is not None else shutil.which("redis-server")
    if choice not in CHOICES:
        raise DrsyncerError(f"--redis must be one of {', '.join(CHOICES)} (got {choice!r})")
    if choice == REAL and not binary:
        raise DrsyncerError("--redis server: no redis-server on PATH")
    if binary and choice in (AUTO, REAL):
        # private port, nothing on disk, and never evict: evicted keys would lose queued tasks
        argv = [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--maxmemory-policy",
            "noeviction",
            "--protected-mode",
            "no",
        ]
        return RedisPlan(REAL, argv, port)
    return RedisPlan(
        EMBEDDED,
        [sys.executable, "-m", "drsyncer.demo.embedded_redis", "--port", str(port)],
        port,
        fell_back=choice == AUTO,
    )


def start_redis(children: Children, plan: RedisPlan, deadline_s: float = 20.0) -> Child:
    """Start it and wait until it answers PING."""
    if plan.kind == EMBEDDED:
        try:
            import fakeredis  # noqa: F401
        except ImportError:
            raise DrsyncerError(
                "no redis-server on PATH and fakeredis is not installed: install "
                "redis-server, or pip install 'fakeredis[lua]'"
            ) from None
    child = children.start("redis", plan.argv)
    client = redis.Redis(host="127.0.0.1", port=plan.port, socket_connect_timeout=0.5)
    end = time.monotonic() + deadline_s
    try:
        while True:
            child.check()
            try:
                client.ping()
                return child
            except redis.RedisError:
                if time.monotonic() > end:
                    raise DrsyncerError(
                        f"Redis did not answer on port {plan.port} within {deadline_s:.0f}s; "
                        f"see {child.log_path}"
                    ) from None
                time.sleep(0.1)  # poll interval
    finally:
        client.close()
