"""A Redis-protocol server in pure Python, for machines without `redis-server`:
`python -m drsyncer.demo.embedded_redis --port N`.

It is fakeredis's TCP server: in memory, no persistence, one thread per connection. Slower than
the real thing, but it speaks enough of Redis (lists, sorted sets, pub/sub, Lua) for Celery,
redbeat and the workers' locks.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drsyncer.demo.embedded_redis")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        from fakeredis import TcpFakeServer
    except ImportError:
        print("fakeredis is not installed (pip install 'fakeredis[lua]')", file=sys.stderr)
        return 1
    server = TcpFakeServer((args.host, args.port), server_type="redis")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, name="embedded-redis", daemon=True)
    thread.start()
    print(f"embedded Redis on {args.host}:{args.port}", flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
