from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rq.job import Job
from rq.serializers import JSONSerializer

from plugin.dispatch import (
    EVENT_RETRY_INTERVALS,
    QUEUE_NAME,
    enqueue_event,
    event_job_id,
    event_queue,
)
from plugin.redis_connection import start_embedded_redis


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[redis.Redis]:
    server, url = start_embedded_redis(tmp_path / "redis.rdb")
    client = redis.Redis.from_url(url)
    yield client
    client.close()
    server.stop()


def test_job_is_json_with_retry_and_deterministic_id(connection: redis.Redis) -> None:
    assert enqueue_event(connection, 41) is True
    assert event_job_id(41) == "event-41"
    raw = connection.hget("rq:job:event-41", "data")
    assert raw is not None
    # RQ stores the call zlib-compressed; the serializer made it JSON, not pickle.
    assert json.loads(zlib.decompress(raw)) == ["worker.process_event", None, [41], {}]
    job = Job.fetch("event-41", connection=connection, serializer=JSONSerializer)
    assert (job.origin, job.retries_left, job.retry_intervals) == (
        QUEUE_NAME,
        len(EVENT_RETRY_INTERVALS),
        EVENT_RETRY_INTERVALS,
    )


def test_concurrent_enqueues_of_one_event_make_one_job(connection: redis.Redis) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def enqueue() -> None:
        barrier.wait(timeout=10)
        results.append(enqueue_event(connection, 7))

    threads = [threading.Thread(target=enqueue) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * 7 + [True]
    assert event_queue(connection).job_ids == ["event-7"]


def test_redis_down_raises_a_redis_error(tmp_path: Path) -> None:
    server, url = start_embedded_redis(tmp_path / "gone.rdb")
    server.stop()
    client = redis.Redis.from_url(url, retry=None)
    with pytest.raises(redis.ConnectionError):
        enqueue_event(client, 1)
