"""kombu's Redis and Sentinel transports, made to survive the loss of the Redis they were connected to.

When the broker connection breaks (a Redis restarted, a Sentinel primary SIGKILLed), the worker's
consumer closes its channel, and closing hands the channel's unacknowledged messages back to the
queue. kombu 5.7 builds a new connection pool for that from the Connection's parameters, but by
then Celery has closed the Connection, which has let go of them (`connection.client` is None), and
the close raises `AttributeError`, which Celery treats as an unrecoverable error: the worker exits
(seen with a SIGKILLed Sentinel primary, and with a plain Redis restarted while a task ran). These
channels raise the connection error instead, so the consumer reconnects as it does for any broken
connection; the messages not handed back stay unacknowledged and return after the visibility
timeout (a Redis restarted without its data has lost them anyway, and the watcher reports the runs
they belonged to as lost). Selected with `broker_transport`: `SENTINEL_TRANSPORT` for a
`sentinel://` `DRSYNCER_REDIS_URL`, `REDIS_TRANSPORT` for `redis://`.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis

SENTINEL_TRANSPORT = "workers.broker_transport:SentinelTransport"
REDIS_TRANSPORT = "workers.broker_transport:RedisTransport"


def _closed(channel: kombu_redis.Channel) -> None:
    """Raise the connection error Celery recovers from when the Connection was already closed."""
    if channel.connection.client is None:
        raise redis.ConnectionError("the broker connection is closed (Redis lost); reconnecting")


class RedisChannel(kombu_redis.Channel):
    def _get_pool(self, asynchronous: bool = False) -> Any:
        _closed(self)
        return super()._get_pool(asynchronous)


class RedisTransport(kombu_redis.Transport):
    Channel = RedisChannel


class SentinelChannel(kombu_redis.SentinelChannel):
    def _get_pool(self, asynchronous: bool = False) -> Any:
        _closed(self)
        return super()._get_pool(asynchronous)


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel
