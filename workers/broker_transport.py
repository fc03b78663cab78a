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

They also take fewer blocking Redis round trips per task in a worker's main process. kombu 5.7
acknowledges a message (removes it from the `unacked` hash and index) with a round trip of its own
as each task ends, and records the next message it receives with another one; the main process
waits for each before it goes on with the next result or message, one task after another for all
its pool processes. Here an acknowledgement is written with the next message's record (one
pipeline), or at the latest `ACK_WRITE_DELAY_S` later by the event loop, when no message came.
Delivery stays at least once: until it is written the message is still in `unacked`, so a worker
that dies in between has it delivered again after the visibility timeout, as it would if it died
just before acknowledging; a channel that closes (shutdown, reconnect) writes what it holds first.
Consumers without an event loop (no hub) acknowledge at once, as kombu does.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.json import dumps

log = logging.getLogger(__name__)

SENTINEL_TRANSPORT = "workers.broker_transport:SentinelTransport"
REDIS_TRANSPORT = "workers.broker_transport:RedisTransport"


# longest an acknowledgement waits for the next message's record before it is written on its own
ACK_WRITE_DELAY_S = 0.05


class AckWithNextQoS(kombu_redis.QoS):
    """kombu's Redis QoS whose acknowledgements wait for the next message's record, or at most
    `ACK_WRITE_DELAY_S` (`flush_acks`, timed on the event loop), while the transport has one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acked: list[str] = []

    def ack(self, delivery_tag: str) -> None:
        hub = getattr(self.channel.connection, "hub", None)
        if hub is None:
            super().ack(delivery_tag)
            return
        if not self._acked:
            hub.call_later(ACK_WRITE_DELAY_S, self.flush_acks)
        self._acked.append(delivery_tag)
        virtual.QoS.ack(self, delivery_tag)  # counts as acknowledged for prefetch at once

    def append(self, message: Any, delivery_tag: str) -> None:
        if not self._acked:
            super().append(message, delivery_tag)
            return
        delivery = message.delivery_info
        with self.pipe_or_acquire() as pipe:
            self._remove_acked(pipe)
            pipe.zadd(self.unacked_index_key, {delivery_tag: time.time()})
            pipe.hset(
                self.unacked_key,
                delivery_tag,
                dumps([message._raw, delivery["exchange"], delivery["routing_key"]]),
            )
            pipe.execute()
            virtual.QoS.append(self, message, delivery_tag)

    def flush_acks(self) -> None:
        """Write the acknowledgements held; raises Redis errors (the messages stay in `unacked`)."""
        if not self._acked:
            return
        with self.pipe_or_acquire() as pipe:
            self._remove_acked(pipe)
            pipe.execute()

    def _remove_acked(self, pipe: Any) -> None:
        acked, self._acked = self._acked, []
        for tag in acked:
            self._remove_from_indices(tag, pipe)


def _flush_acks_on_close(channel: kombu_redis.Channel) -> None:
    qos = channel._qos
    if isinstance(qos, AckWithNextQoS):
        try:
            qos.flush_acks()
        except redis.RedisError as exc:
            log.warning(
                "acknowledgements not written (%s); those tasks run again after the visibility timeout", exc
            )


class _AcksOnLoop:
    """Transport mixin: the event loop its channels' held acknowledgements are timed on."""

    hub: Any = None

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        super().register_with_event_loop(connection, loop)  # type: ignore[misc]
        self.hub = loop


def _closed(channel: kombu_redis.Channel) -> None:
    """Raise the connection error Celery recovers from when the Connection was already closed."""
    if channel.connection.client is None:
        raise redis.ConnectionError("the broker connection is closed (Redis lost); reconnecting")


class RedisChannel(kombu_redis.Channel):
    QoS = AckWithNextQoS

    def _get_pool(self, asynchronous: bool = False) -> Any:
        _closed(self)
        return super()._get_pool(asynchronous)

    def close(self) -> None:
        _flush_acks_on_close(self)
        super().close()


class RedisTransport(_AcksOnLoop, kombu_redis.Transport):
    Channel = RedisChannel


class SentinelChannel(kombu_redis.SentinelChannel):
    QoS = AckWithNextQoS

    def _get_pool(self, asynchronous: bool = False) -> Any:
        _closed(self)
        return super()._get_pool(asynchronous)

    def close(self) -> None:
        _flush_acks_on_close(self)
        super().close()


class SentinelTransport(_AcksOnLoop, kombu_redis.SentinelTransport):
    Channel = SentinelChannel
