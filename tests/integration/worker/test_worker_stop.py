"""A worker stops promptly: at the end of a burst and on SIGTERM, RQ's teardown closes its pubsub
listener (commands such as stop-job arrive there) without waiting out the listener's poll."""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis
from rq.serializers import JSONSerializer

from plugin.adapters.queue.inprocess import InProcessWorker
from plugin.adapters.queue.jobs import event_queue
from tests.integration.worker.conftest import Instance, wait_until


def test_the_pubsub_listener_stops_at_once_after_its_unsubscribe_was_read(
    redis_client: redis.Redis,
) -> None:
    """The race a stop could lose: the listener thread reads the UNSUBSCRIBE reply before
    the stop flag is set, then waits for a new subscription; it must notice the stop quickly
    (RQ's listener waited 60 s, and redis-py's `stop()` waits for it)."""
    worker = InProcessWorker(
        [event_queue(redis_client)], connection=redis_client, serializer=JSONSerializer
    )
    worker.subscribe()
    assert worker.pubsub is not None
    wait_until(lambda: worker.pubsub.subscribed, 5, "the subscription")
    worker.pubsub.unsubscribe()
    wait_until(lambda: not worker.pubsub.subscribed, 5, "the listener to read the reply")

    started = time.monotonic()
    worker.unsubscribe()

    assert time.monotonic() - started < 3
    assert worker.pubsub_thread is not None and not worker.pubsub_thread.is_alive()


# SQLite only: about RQ and processes, the same on either database (tests/README.md).
@pytest.mark.database("sqlite")
def test_an_idle_worker_process_stops_on_sigterm_within_seconds(instance: Instance) -> None:
    for n in range(3):  # the race above is not lost every time: a few stops
        worker = instance.start_worker(f"w-stop-{n}")
        time.sleep(0.5)  # idle in its dequeue, its listener subscribed
        started = time.monotonic()
        os.killpg(worker.pid, signal.SIGTERM)

        assert worker.wait(timeout=30) == 0
        assert time.monotonic() - started < 5, f"stop {n}"
