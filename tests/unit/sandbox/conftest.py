"""Fixtures for sandbox unit tests: a real loopback receiver and a small fake store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.sandbox.receiver import Receiver


class FakeStore:
    """The slice of `sandbox.woocommerce.store.Store` the Deliverer uses, kept in dicts."""

    def __init__(self) -> None:
        self.orders: dict[int, dict[str, Any]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.recorded: list[tuple[int, bool]] = []

    def add_webhook(self, webhook_id: int, topic: str, url: str, secret: str = "s3cret") -> None:
        self.webhooks[webhook_id] = {
            "id": webhook_id,
            "name": f"hook {webhook_id}",
            "status": "active",
            "topic": topic,
            "delivery_url": url,
            "secret": secret,
        }

    def order_json(self, order_id: int) -> dict[str, Any] | None:
        return self.orders.get(order_id)

    def product_json(self, product_id: int) -> dict[str, Any] | None:
        return self.products.get(product_id)

    def webhooks_for(self, topic: str) -> list[dict[str, Any]]:
        return [
            dict(w)
            for w in self.webhooks.values()
            if w["topic"] == topic and w["status"] == "active"
        ]

    def webhook(self, webhook_id: int) -> dict[str, Any] | None:
        found = self.webhooks.get(webhook_id)
        return dict(found) if found else None

    def record_delivery(self, webhook_id: int, success: bool) -> None:
        self.recorded.append((webhook_id, success))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def fake_store() -> FakeStore:
    return FakeStore()
