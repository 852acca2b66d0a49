from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import Backorders, create_app
from plugin.adapters.queue.relay import enqueue_pending
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.adapters.sql.models import InboxEvent
from plugin.adapters.sql.stores import StoreRecord
from plugin.config import Config
from plugin.platforms.woocommerce.signature import sign

WEBHOOK_SECRET = "wh-secret-&amp;-1"  # an entity on purpose: WooCommerce decodes it (README)
SECRET_KEY = "functional-test-secret-key-0123456789"


def make_config(tmp_path: Path, redis_url: str, **changes: Any) -> Config:
    base = Config.from_env(
        {
            "BACKORDERS_HOME": str(tmp_path),
            "SECRET_KEY": SECRET_KEY,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
        }
    )
    return base.replace(**changes)


@pytest.fixture
def app(
    tmp_path: Path,
    migrated_database_url: str,
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
) -> Iterator[Flask]:
    config = make_config(tmp_path, redis_server.url, database_url=migrated_database_url)
    application = create_app(config, TESTING=True)
    yield application
    state(application).db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def state(app: Flask) -> Backorders:
    result: Backorders = app.extensions["backorders"]
    return result


@pytest.fixture
def store(app: Flask) -> StoreRecord:
    return state(app).stores.create(
        name="Shop",
        base_url="http://127.0.0.1:8001",
        consumer_key="ck_x",
        consumer_secret="cs_x",
        webhook_secret=WEBHOOK_SECRET,
    )


def order_payload(order_id: int = 1042, modified: str = "2026-03-01T10:00:00") -> dict[str, Any]:
    # The fields WooCommerce sends (reference woocommerce/orders.md), trimmed.
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "status": "processing",
        "currency": "USD",
        "date_modified": modified,
        "date_modified_gmt": modified,
        "total": "20.00",
        "line_items": [
            {
                "id": 1,
                "product_id": 7,
                "variation_id": 0,
                "quantity": 2,
                "subtotal": "20.00",
                "total": "20.00",
            }
        ],
    }


def deliver(
    client: FlaskClient,
    store_id: int,
    body: bytes | dict[str, Any],
    *,
    topic: str = "order.created",
    secret: str | None = WEBHOOK_SECRET,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    sent = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Delivery-ID": "1",
    }
    if signature is not None:
        sent["X-WC-Webhook-Signature"] = signature
    elif secret is not None:
        sent["X-WC-Webhook-Signature"] = sign(secret, raw)
    sent.update(headers or {})
    return client.post(f"/webhooks/woocommerce/{store_id}", data=raw, headers=sent)


def inbox_count(app: Flask) -> int:
    with state(app).db.session() as session:
        return int(session.scalar(select(func.count()).select_from(InboxEvent)) or 0)


def job_keys(connection: redis.Redis) -> list[str]:
    return sorted(key.decode() for key in connection.keys("rq:job:*"))


def relayed_job_keys(app: Flask, connection: redis.Redis) -> list[str]:
    """The job keys after one pass of the workers' relay (`run_relay` does one every 50 ms):
    the webhook only records its event; the relay queues it."""
    enqueue_pending(state(app).db, connection, older_than_s=0)
    return job_keys(connection)
