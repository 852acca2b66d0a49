from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import pytest
import redis
from rq.job import Job
from rq.serializers import JSONSerializer

from plugin.adapters.queue.jobs import (
    PROCESS_EVENT,
    QUEUE_NAME,
    SEND_MAIL,
    enqueue_mail,
    event_job_id,
    event_queue,
)
from plugin.adapters.queue.relay import (
    RELAY_LOCK,
    enqueue_event,
    enqueue_events,
    run_relay,
)
from plugin.adapters.redis.connection import start_embedded_redis
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.stores import StoreRecord


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
        len(PROCESS_EVENT.retry_intervals),
        list(PROCESS_EVENT.retry_intervals),
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
        retry=PROCESS_EVENT.retry(),
        timeout=PROCESS_EVENT.timeout,
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
    assert (job.get_status(), job.args, job.timeout) == ("queued", [2], PROCESS_EVENT.timeout)


@pytest.mark.parametrize("intervals", [None, [1, 2]])
def test_a_mail_job_is_saved_as_rqs_own_enqueue_saves_it_in_one_round_trip(
    connection: redis.Redis, intervals: list[int] | None
) -> None:
    # A split's e-mail job goes through the relay's script too (JobKind.enqueue_many).
    SEND_MAIL.enqueue(
        connection, 7, job_id="mail-7", description="send outbox message 8",
        retry_intervals=intervals,
    )  # fmt: skip
    assert enqueue_mail(connection, 6) is True  # Redis loads the script on the first one
    sent: list[object] = []
    send = connection.connection_pool.connection_class.send_packed_command

    def counted(self: object, *args: object, **kwargs: object) -> None:
        sent.append(args)
        send(self, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(connection.connection_pool.connection_class, "send_packed_command", counted)
        assert enqueue_mail(connection, 8, retry_intervals=intervals) is True
    assert len(sent) == 1
    assert enqueue_mail(connection, 8, retry_intervals=intervals) is False
    by_rq, ours = connection.hgetall("rq:job:mail-7"), connection.hgetall("rq:job:mail-8")
    varying = {b"created_at", b"enqueued_at", b"data"}  # times, and the argument 7 vs 8
    assert {k: v for k, v in ours.items() if k not in varying} == {
        k: v for k, v in by_rq.items() if k not in varying
    }
    assert set(ours) == set(by_rq)
    assert event_queue(connection).job_ids == ["mail-7", "mail-6", "mail-8"]
    job = Job.fetch("mail-8", connection=connection, serializer=JSONSerializer)
    assert (job.func_name, job.args, job.retry_intervals) == (
        SEND_MAIL.name, [8], intervals or list(SEND_MAIL.retry_intervals),
    )  # fmt: skip


def test_many_events_in_one_call(connection: redis.Redis) -> None:
    assert enqueue_event(connection, 11) is True
    assert enqueue_events(connection, [10, 11, 12, 10]) == [True, False, True, False]
    assert enqueue_events(connection, []) == []
    assert event_queue(connection).job_ids == ["event-11", "event-10", "event-12"]
    job = Job.fetch("event-12", connection=connection, serializer=JSONSerializer)
    assert (job.args, job.description) == ([12], "process inbox event 12")


def test_enqueue_loads_its_script_into_a_redis_that_lost_it(connection: redis.Redis) -> None:
    assert enqueue_event(connection, 3) is True
    connection.script_flush()  # as after a Redis restart
    assert enqueue_event(connection, 4) is True
    assert enqueue_event(connection, 4) is False
    assert event_queue(connection).job_ids == ["event-3", "event-4"]


# --- the relay: webhook events from the inbox to the queue ---------------------------------


@pytest.fixture
def inbox(db: Database, store: StoreRecord) -> tuple[Database, int]:
    return db, store.id


def _record(db: Database, store_id: int, order_ids: range) -> list[int]:
    events = InboxRepository(db)
    return [
        cast(int, events.receive(store_id, "order.created", str(i), "2026-03-01T10:00:00"))
        for i in order_ids
    ]


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@contextmanager
def _relay(db: Database, connection: redis.Redis) -> Iterator[threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=run_relay, args=(db, connection, stop, 0.02), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_the_relay_queues_recorded_events_once(
    connection: redis.Redis, inbox: tuple[Database, int]
) -> None:
    db, store_id = inbox
    first = _record(db, store_id, range(1, 4))
    with _relay(db, connection):
        _wait_for(lambda: len(event_queue(connection).job_ids) == 3)
        later = _record(db, store_id, range(4, 6))
        _wait_for(lambda: len(event_queue(connection).job_ids) == 5)
        time.sleep(0.1)  # more passes change nothing
    assert event_queue(connection).job_ids == [event_job_id(i) for i in first + later]
    events = InboxRepository(db)
    assert {events.get(i).status for i in first + later} == {"enqueued"}  # type: ignore[union-attr]
    assert connection.exists(RELAY_LOCK) == 0  # released on stop


def test_only_the_lock_holder_relays(connection: redis.Redis, inbox: tuple[Database, int]) -> None:
    db, store_id = inbox
    other = connection.lock(RELAY_LOCK, timeout=30)
    assert other.acquire(blocking=False)
    (event_id,) = _record(db, store_id, range(1, 2))
    with _relay(db, connection):
        time.sleep(0.3)
        assert event_queue(connection).job_ids == []  # another worker's relay holds it
        other.release()  # that worker stops (or its lock expires when it dies)
        _wait_for(lambda: event_queue(connection).job_ids == [event_job_id(event_id)])


# SQLite only: about a Redis outage, the same on either database (tests/README.md).
@pytest.mark.database("sqlite")
def test_the_relay_outlives_a_redis_outage(tmp_path: Path, inbox: tuple[Database, int]) -> None:
    db, store_id = inbox
    socket_path = tmp_path / "r.sock"
    server, url = start_embedded_redis(tmp_path / "relay.rdb", socket_path)
    client = redis.Redis.from_url(url, retry=None)
    with _relay(db, client):
        (before,) = _record(db, store_id, range(1, 2))
        _wait_for(lambda: event_queue(client).job_ids == [event_job_id(before)])
        server.stop()
        (during,) = _record(db, store_id, range(2, 3))
        time.sleep(0.3)  # passes fail and are logged; the thread lives on
        assert InboxRepository(db).get(during).status == "pending"  # type: ignore[union-attr]
        server, _url = start_embedded_redis(tmp_path / "relay.rdb", socket_path)
        _wait_for(lambda: event_job_id(during) in event_queue(client).job_ids)
    assert event_queue(client).job_ids == [event_job_id(before), event_job_id(during)]
    client.close()
    server.stop()


FEEDER = """
import itertools, sys
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.inbox import InboxRepository
events = InboxRepository(Database(sys.argv[1]))
for i in itertools.count(1000):
    events.receive(int(sys.argv[2]), "order.created", str(i), "2026-03-01T10:00:00")
"""


def test_work_horses_forked_beside_a_busy_relay_can_use_the_database(
    connection: redis.Redis, inbox: tuple[Database, int]
) -> None:
    # RQ forks a work horse per job from the process whose relay thread works with SQLite; a
    # fork in the middle of that left the horse stuck in its first database call (about one
    # fork in ten here, before forks waited for the relay's pass).
    db, store_id = inbox
    root = Path(__file__).resolve().parents[3]
    feeder = subprocess.Popen(
        [sys.executable, "-c", FEEDER, db.url, str(store_id)],
        cwd=root,
        env=dict(os.environ, PYTHONPATH=str(root)),
    )
    hung = 0
    try:
        with _relay(db, connection):
            _wait_for(lambda: len(event_queue(connection).job_ids) > 0)
            for _ in range(60):
                pid = os.fork()
                if pid == 0:  # the work horse: a new engine, as runtime() builds one
                    child = Database(db.url)
                    with child.engine.connect() as sql:
                        sql.exec_driver_sql("SELECT count(*) FROM inbox_events").scalar()
                    os._exit(0)
                deadline = time.monotonic() + 10
                while os.waitpid(pid, os.WNOHANG) == (0, 0):
                    if time.monotonic() > deadline:
                        hung += 1
                        os.kill(pid, signal.SIGKILL)
                        os.waitpid(pid, 0)
                        break
                    time.sleep(0.005)
    finally:
        feeder.kill()
        feeder.wait()
    assert hung == 0
    assert len(event_queue(connection).job_ids) > 60  # the relay was busy throughout
