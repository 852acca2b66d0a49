"""`/webhooks/<platform>/<store id>`: one route for every platform, whose registered driver
verifies and parses the delivery (a test-only platform here, registered from the test)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient

from plugin.adapters.sql.stores import StoreRecord
from plugin.ports import Delivery, DeliveryTopic, Rejected, ResourceState, Topic

from .conftest import WEBHOOK_SECRET, deliver, inbox_count, order_payload, relayed_job_keys, state

SIGNATURE = "X-Test-Signature"
TOPIC = "X-Test-Topic"


class FakeShopWebhooks:
    """`plugin.ports.Webhooks` of a made-up platform: hex HMAC-SHA256 of the body, topics
    `orders/create` and `orders/update`, payload {"id": N, "updated": ISO 8601 UTC}."""

    topics = {"orders/create": Topic.ORDER_CREATED, "orders/update": Topic.ORDER_UPDATED}

    def is_ping(self, delivery: Delivery) -> bool:
        return delivery.body == b"ping"

    def verify(self, secret: str, delivery: Delivery) -> bool:
        expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, delivery.header(SIGNATURE) or "")

    def topic(self, delivery: Delivery) -> DeliveryTopic:
        name = delivery.header(TOPIC) or ""
        if not name:
            raise Rejected(400, f"missing {TOPIC}")
        return DeliveryTopic(name, self.topics.get(name), name == "orders/delete")

    def parse(self, topic: str, delivery: Delivery) -> ResourceState:
        try:
            payload = json.loads(delivery.body)
            updated = dt.datetime.fromisoformat(payload["updated"]).replace(tzinfo=dt.UTC)
        except (ValueError, KeyError, TypeError):
            raise Rejected(400, "not a testshop order") from None
        fingerprint = hashlib.sha256(delivery.body).hexdigest()[:16]
        return ResourceState(str(payload["id"]), updated, fingerprint)


class FakeShopDriver:
    """The registry entry of the made-up platform: only its webhooks are used here."""

    name = "testshop"
    label = "Test shop"
    webhooks = FakeShopWebhooks()


def _testshop_store(app: Flask) -> StoreRecord:
    state(app).registry.register(FakeShopDriver())  # type: ignore[arg-type]
    return state(app).stores.create(
        name="Test shop",
        base_url="https://shop.test.example",
        consumer_key="k",
        consumer_secret="s",
        webhook_secret=WEBHOOK_SECRET,
        platform="testshop",
    )


def _send(
    client: FlaskClient, path: str, body: dict[str, Any], *, topic: str = "orders/create"
) -> Any:
    raw = json.dumps(body).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(path, data=raw, headers={SIGNATURE: signature, TOPIC: topic})


def test_a_registered_platforms_delivery_becomes_a_neutral_inbox_event(
    app: Flask, client: FlaskClient, redis_client: redis.Redis
) -> None:
    store = _testshop_store(app)
    body = {"id": 77, "updated": "2026-03-01T10:00:00"}

    response = _send(client, f"/webhooks/testshop/{store.id}", body)

    assert response.status_code == 202
    event = state(app).events.get(response.get_json()["event_id"])
    assert event is not None
    fingerprint = hashlib.sha256(json.dumps(body).encode()).hexdigest()[:16]
    assert (event.store_id, event.topic, event.resource_id, event.source, event.dedupe_key) == (
        store.id,
        "order.created",
        "77",
        "webhook",
        f"order:77:2026-03-01T10:00:00:{fingerprint}",
    )
    assert relayed_job_keys(app, redis_client) == [f"rq:job:event-{event.id}"]


def test_the_platforms_ping_ignored_topics_and_bad_payloads(
    app: Flask, client: FlaskClient, redis_client: redis.Redis
) -> None:
    store = _testshop_store(app)
    path = f"/webhooks/testshop/{store.id}"

    ping = client.post(path, data=b"ping")
    ignored = _send(client, path, {"id": 1}, topic="orders/delete")
    bad = _send(client, path, {"id": 1})

    assert (ping.status_code, ping.get_json()) == (200, {"ping": True})
    assert ignored.status_code == 204
    assert (bad.status_code, bad.get_json()) == (400, {"error": "not a testshop order"})
    assert inbox_count(app) == 0
    assert relayed_job_keys(app, redis_client) == []


def test_a_store_is_reached_only_under_its_own_platform(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    testshop = _testshop_store(app)
    body = {"id": 77, "updated": "2026-03-01T10:00:00"}

    # The test shop's delivery at the WooCommerce route of its store id, and a WooCommerce
    # delivery at the test shop's route of a WooCommerce store: refused like a bad signature.
    as_woocommerce = _send(client, f"/webhooks/woocommerce/{testshop.id}", body)
    raw = json.dumps(order_payload()).encode()
    as_testshop = client.post(
        f"/webhooks/testshop/{store.id}",
        data=raw,
        headers={
            SIGNATURE: hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest(),
            TOPIC: "orders/create",
        },
    )

    for response in (as_woocommerce, as_testshop):
        assert (response.status_code, response.get_json()) == (
            401,
            {"error": "missing or invalid signature"},
        )
    assert inbox_count(app) == 0
    assert relayed_job_keys(app, redis_client) == []
    # The WooCommerce store still takes its own deliveries at the route it was given.
    assert deliver(client, store.id, order_payload()).status_code == 202


def test_an_unknown_platform_is_not_found_and_records_nothing(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    response = _send(client, f"/webhooks/no-such-platform/{store.id}", {"id": 1, "updated": "x"})

    assert (response.status_code, response.get_json()) == (404, {"error": "unknown platform"})
    assert inbox_count(app) == 0
    assert relayed_job_keys(app, redis_client) == []
