"""When the worker's heartbeat file is touched for a consumer that has no connection to Redis."""

from __future__ import annotations

import pytest

from workers.heartbeat import RECONNECT_PROGRESS_S, stands_in


@pytest.mark.parametrize(
    ("connected", "tries", "since_last_try_s", "touched"),
    [
        (True, 0, 0.0, False),  # connected: the consumer's own timer touches it
        (False, 0, 0.0, False),  # connecting, not one failed try yet
        (False, 1, 0.0, True),  # the first try failed: waiting out Redis
        (False, 250, 29.0, True),  # past Celery's default 100 tries, still trying
        (False, 7, RECONNECT_PROGRESS_S, True),
        (False, 7, RECONNECT_PROGRESS_S + 1, False),  # no new try for longer than kombu ever pauses: stuck
    ],
)
def test_the_file_is_touched_only_while_tries_to_reach_redis_go_on(
    connected: bool, tries: int, since_last_try_s: float, touched: bool
) -> None:
    assert stands_in(connected, tries, since_last_try_s) is touched
