"""drsyncer's kombu Redis transport against a real redis-server: an acknowledgement is written with
the next message's record or shortly after on the event loop, never lost, and a closing channel
writes the ones it holds; without an event loop it is written at once, as kombu does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from kombu import Connection
from kombu.asynchronous import Hub

from tests.fixtures.polling import eventually
from workers.broker_transport import REDIS_TRANSPORT

QUEUE = "acks"


@pytest.fixture
def connection(redis_url: str) -> Iterator[Connection]:
    conn = Connection(redis_url, transport=REDIS_TRANSPORT)
    producer = conn.Producer()
    for i in range(3):
        producer.publish({"n": i}, routing_key=QUEUE, declare=[conn.SimpleQueue(QUEUE).queue])
    yield conn
    conn.release()


def _unacked(redis_url: str) -> int:
    return int(redis.Redis.from_url(redis_url).hlen("unacked"))


def test_an_acknowledgement_rides_with_the_next_message_or_is_written_soon_after(
    connection: Connection, redis_url: str
) -> None:
    hub = Hub()
    connection.transport.register_with_event_loop(connection.connection, hub)
    channel = connection.default_channel
    first = channel.basic_get(QUEUE, no_ack=False)
    assert first is not None and _unacked(redis_url) == 1
    first.ack()
    assert _unacked(redis_url) == 1  # held: the task is still redelivered if the worker dies now
    second = channel.basic_get(QUEUE, no_ack=False)
    assert second is not None and _unacked(redis_url) == 1  # the first's ack went with this record
    second.ack()

    def written() -> bool:
        hub.fire_timers()  # what the worker's event loop does on each turn
        return _unacked(redis_url) == 0

    # no next message: the event loop writes the held acknowledgement shortly after (ACK_WRITE_DELAY_S)
    eventually(written, timeout_s=5, what="the held acknowledgement written by the event loop")
    third = channel.basic_get(QUEUE, no_ack=False)
    assert third is not None
    third.ack()
    channel.close()  # a worker shutting down or reconnecting writes what it holds
    assert _unacked(redis_url) == 0
    hub.close()


def test_without_an_event_loop_an_acknowledgement_is_written_at_once(
    connection: Connection, redis_url: str
) -> None:
    message = connection.default_channel.basic_get(QUEUE, no_ack=False)
    assert message is not None and _unacked(redis_url) == 1
    message.ack()
    assert _unacked(redis_url) == 0
