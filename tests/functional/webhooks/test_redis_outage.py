from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import redis

from app import create_app
from plugin.adapters.queue.jobs import event_queue
from plugin.adapters.queue.relay import enqueue_event, enqueue_pending
from plugin.adapters.redis.connection import start_embedded_redis

from .conftest import WEBHOOK_SECRET, deliver, job_keys, make_config, order_payload, state


def test_event_waits_in_the_inbox_while_redis_is_down(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bo-outage-"))
    socket_path = folder / "r.sock"
    server, url = start_embedded_redis(folder / "redis.rdb", socket_path)
    app = create_app(make_config(tmp_path, url), TESTING=True)
    client = app.test_client()
    store = state(app).stores.create(
        name="Shop",
        base_url="http://127.0.0.1:8001",
        consumer_key="ck",
        consumer_secret="cs",
        webhook_secret=WEBHOOK_SECRET,
    )
    db = state(app).db
    try:
        server.stop()

        # The webhook needs only the database: accepted as usual.
        response = deliver(client, store.id, order_payload(99))
        assert response.status_code == 202
        event_id = response.get_json()["event_id"]
        assert response.get_json() == {"event_id": event_id, "duplicate": False}
        health = client.get("/healthz")
        assert (health.status_code, health.get_json()["redis"]) == (503, "unavailable")
        # The relay cannot queue it yet; the event keeps waiting in the inbox.
        down = redis.Redis.from_url(url, retry=None)
        with pytest.raises(redis.ConnectionError):
            enqueue_pending(db, down, older_than_s=0)
        event = state(app).events.get(event_id)
        assert event is not None and event.status == "pending"

        server, url2 = start_embedded_redis(folder / "redis.rdb", socket_path)
        assert url2 == url
        connection = redis.Redis.from_url(url)
        assert job_keys(connection) == []

        assert enqueue_pending(db, connection, older_than_s=0) == 1
        assert enqueue_pending(db, connection, older_than_s=0) == 0
        assert enqueue_event(connection, event_id) is False  # deterministic job id: no-op
        assert job_keys(connection) == [f"rq:job:event-{event_id}"]
        assert event_queue(connection).job_ids == [f"event-{event_id}"]
        event = state(app).events.get(event_id)
        assert event is not None and event.status == "enqueued"

        again = deliver(client, store.id, order_payload(100))
        assert again.status_code == 202
        again_id = again.get_json()["event_id"]
        assert enqueue_pending(db, connection, older_than_s=0) == 1
        assert job_keys(connection) == sorted(f"rq:job:event-{i}" for i in (event_id, again_id))
        assert state(app).events.get(again_id).status == "enqueued"  # type: ignore[union-attr]
        assert event_queue(connection).job_ids == [f"event-{event_id}", f"event-{again_id}"]
        connection.close()
        down.close()
    finally:
        server.stop()
        db.dispose()


def test_enqueue_pending_leaves_recent_events_alone(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bo-pending-"))
    server, url = start_embedded_redis(folder / "redis.rdb")
    app = create_app(make_config(tmp_path, url), TESTING=True)
    try:
        store = state(app).stores.create(
            name="Shop",
            base_url="http://127.0.0.1:8001",
            consumer_key="ck",
            consumer_secret="cs",
            webhook_secret=WEBHOOK_SECRET,
        )
        event_id = state(app).inbox.add(
            store.id, "order.updated", "5", "2026-03-01T10:00:00", "reconcile"
        )
        assert event_id is not None
        connection = server.client()
        assert enqueue_pending(state(app).db, connection, older_than_s=3600) == 0
        assert job_keys(connection) == []
        assert enqueue_pending(state(app).db, connection, older_than_s=0) == 1
        assert job_keys(connection) == [f"rq:job:event-{event_id}"]
        connection.close()
    finally:
        server.stop()
        state(app).db.dispose()
