"""The mechanical check that no secret leaks: every place an operator or another tenant can read
drsyncer's output, gathered as text, searched for given values.

The places: every process log (worker, beat, watcher, Flower; the audit log is the `drsyncer.audit`
logger in the same output), the /metrics of every process that serves one (Flower's included), the
Events and status of every custom resource in the controller namespace, Flower's task list with
each task's arguments and result (`/api/tasks`), and every key and value in the pipeline's Redis
database (all types).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable

import requests

from tests.integration.pipeline.conftest import EVENTS, FLOWER_AUTH, Pipeline


def redis_text(pipe: Pipeline) -> str:
    """Every key and value of the pipeline's Redis database, as text (unknown types fail the check)."""
    client = pipe.redis()
    parts = []
    for key in client.scan_iter(count=1000):
        parts.append(key.decode(errors="replace"))
        kind = client.type(key).decode()
        if kind == "string":
            values = [client.get(key) or b""]
        elif kind == "hash":
            values = [b for pair in client.hgetall(key).items() for b in pair]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = client.zrange(key, 0, -1)
        elif kind == "stream":
            values = [
                json.dumps({k.decode(): v.decode(errors="replace") for k, v in fields.items()}).encode()
                for _id, fields in client.xrange(key)
            ]
        elif kind == "none":  # expired between SCAN and TYPE
            values = []
        else:
            raise AssertionError(f"Redis key {key!r} has type {kind}, which the secret check cannot read")
        parts += [v.decode(errors="replace") for v in values]
    return "\n".join(parts)


def places(pipe: Pipeline) -> dict[str, str]:
    """Where to look, by name: everything drsyncer wrote that someone may read."""
    out = {f"{name} log": proc.log_path.read_text(errors="replace") for name, proc in pipe.procs.items()}
    for name, port in pipe.metrics_ports.items():
        out[f"{name} metrics"] = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    kinds = ("replications.dr-syncer.io", "remoteclusters.dr-syncer.io", "namespacemappings.dr-syncer.io")
    out["status"] = json.dumps(
        [obj.get("status") for kind in kinds for obj in pipe.controller.list(pipe.resolve(kind), pipe.ns)]
    )
    out["Events"] = json.dumps(list(pipe.controller.list(EVENTS, pipe.ns)))
    if pipe.flower_port and pipe.procs["flower"].alive:
        flower = f"http://127.0.0.1:{pipe.flower_port}"
        tasks = requests.get(f"{flower}/api/tasks", auth=FLOWER_AUTH, timeout=10)
        tasks.raise_for_status()
        assert tasks.json(), "Flower recorded no task: nothing of its task list was checked"
        out["Flower task arguments and results"] = tasks.text
        out["Flower metrics"] = requests.get(f"{flower}/metrics", auth=FLOWER_AUTH, timeout=10).text
    out["Redis"] = redis_text(pipe)
    return out


def assert_no_secret_leaks(pipe: Pipeline, values: Iterable[str]) -> dict[str, str]:
    """Fail naming the place where any of `values` (also looked for base64-encoded), or of the
    pipeline's kubeconfig credentials, is found; returns the places searched."""
    wanted = {v for v in [*values, *pipe.credentials] if v}
    wanted |= {base64.b64encode(v.encode()).decode() for v in list(wanted)}
    searched = places(pipe)
    for where, text in searched.items():
        for value in wanted:
            assert value not in text, f"a secret value ({value[:6]}…) is in the {where}"
    return searched
