"""kombu's Sentinel transport, made to survive the loss of the primary it was connected to.

When the primary dies, the worker's consumer closes its channel, and closing hands the channel's
unacknowledged messages back to the queue. kombu 5.7's `SentinelChannel` builds a new connection
pool for that from the Connection's parameters, but by then the Connection has let go of them
(`connection.client` is None) and the close raises `AttributeError`, which Celery treats as an
unrecoverable error: the worker exits (seen with a SIGKILLed primary and a promoted replica).
This channel raises the connection error a single Redis would raise there instead, so the consumer
reconnects (to the promoted primary) as it does after a Redis restart. Selected with
`broker_transport` when `DRSYNCER_REDIS_URL` is a `sentinel://` URL.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis

TRANSPORT = "workers.sentinel_transport:SentinelTransport"


class SentinelChannel(kombu_redis.SentinelChannel):
    def _get_pool(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            # a connection error is what Celery recovers from (it reconnects through the sentinels);
            # the messages not handed back stay unacknowledged and return after the visibility timeout
            raise redis.ConnectionError("the broker connection is closed (primary lost); reconnecting")
        return super()._get_pool(asynchronous)


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel
