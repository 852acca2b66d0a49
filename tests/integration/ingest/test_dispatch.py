from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rq import Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from plugin.dispatch import (
    EVENT_JOB_TIMEOUT_S,
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


def test_job_is_saved_as_rqs_own_enqueue_saves_it(connection: redis.Redis) -> None:
    # The one-round-trip script writes the hash RQ builds; compare with enqueue_call's.
    event_queue(connection).enqueue_call(
        "worker.process_event",
        args=(1,),
        job_id="event-1",
        unique=True,
        retry=Retry(max=len(EVENT_RETRY_INTERVALS), interval=EVENT_RETRY_INTERVALS),
        timeout=EVENT_JOB_TIMEOUT_S,
        description="process inbox event 2",  # the description enqueue_event(2) gives
    )
    assert enqueue_event(connection, 2) is True
    by_rq = connection.hgetall("rq:job:event-1")
    ours = connection.hgetall("rq:job:event-2")
    varying = {b"created_at", b"enqueued_at", b"data"}  # times, and the argument 1 vs 2
    assert {k: v for k, v in ours.items() if k not in varying} == {
        k: v for k, v in by_rq.items() if k not in varying
    }
    assert set(ours) == set(by_rq)
    assert connection.ttl("rq:job:event-2") == -1  # no expiry, like RQ's
    assert event_queue(connection).job_ids == ["event-1", "event-2"]
    assert connection.smembers("rq:queues") == {f"rq:queue:{QUEUE_NAME}".encode()}
    job = Job.fetch("event-2", connection=connection, serializer=JSONSerializer)
    assert (job.get_status(), job.args, job.timeout) == ("queued", [2], EVENT_JOB_TIMEOUT_S)


def test_enqueue_loads_its_script_into_a_redis_that_lost_it(connection: redis.Redis) -> None:
    assert enqueue_event(connection, 3) is True
    connection.script_flush()  # as after a Redis restart
    assert enqueue_event(connection, 4) is True
    assert enqueue_event(connection, 4) is False
    assert event_queue(connection).job_ids == ["event-3", "event-4"]
