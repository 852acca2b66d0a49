"""How the store under test delivers its webhooks, to a receiver in this process: the ping of a
new webhook, signed deliveries the plugin verifies, headers and payloads, and which topics an
order created through REST brings."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from plugin.platforms.woocommerce.signature import verify
from tests.contract.woocommerce.conftest import (
    StoreUnderTest,
    delivery_port,
)
from tests.contract.woocommerce.shop import Shop
from tests.e2e.helpers import wait_for


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)

    def about(self, resource_id: int) -> list[Delivery]:
        """Signed deliveries whose payload is resource `resource_id`, in arrival order."""
        return [
            d
            for d in self.received()
            if "X-WC-Webhook-Signature" in d.headers and json.loads(d.body)["id"] == resource_id
        ]


@pytest.fixture
def receiver(woo: StoreUnderTest) -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 that records every POST and answers 200."""
    port = delivery_port(woo)
    found = Receiver(f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with found.lock:
                found.deliveries.append(Delivery(self.path, dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def order_webhooks(woo: StoreUnderTest, receiver: Receiver) -> Iterator[dict[str, Any]]:
    """order.created and order.updated webhooks to the receiver, deleted afterwards."""
    client = woo.client()
    secret = secrets.token_urlsafe(32)
    ids: dict[str, int] = {}
    try:
        for topic in ("order.created", "order.updated"):
            made = client.create_webhook(
                topic=topic, delivery_url=f"{receiver.url}/{topic}", secret=secret
            )
            ids[topic] = int(made["id"])
        yield {"secret": secret, "ids": ids}
    finally:
        for webhook_id in ids.values():
            client.delete_webhook(webhook_id)


def test_new_webhooks_are_pinged_and_deliveries_signed(
    woo: StoreUnderTest, shop: Shop, receiver: Receiver, order_webhooks: dict[str, Any]
) -> None:
    # The ping: an unsigned form post naming the webhook, before anything else.
    pings = [d for d in receiver.received() if "X-WC-Webhook-Signature" not in d.headers]
    assert sorted((d.path, d.body) for d in pings) == sorted(
        (f"/{topic}", f"webhook_id={webhook_id}".encode())
        for topic, webhook_id in order_webhooks["ids"].items()
    )
    widget = shop.product("Widget", stock=5)

    order = shop.order([{"product_id": widget["id"], "quantity": 1}])

    [created, *_] = wait_for(
        lambda: receiver.about(order["id"]), timeout=30, what="a delivery of the new order"
    )
    for delivery in [created, *receiver.about(order["id"])]:
        headers = delivery.headers
        topic = headers["X-WC-Webhook-Topic"]
        assert delivery.path == f"/{topic}"
        assert verify(order_webhooks["secret"], delivery.body, headers["X-WC-Webhook-Signature"])
        assert not verify("another secret", delivery.body, headers["X-WC-Webhook-Signature"])
        assert (headers["X-WC-Webhook-Source"], headers["X-WC-Webhook-Resource"]) == (
            woo.url + "/", "order",
        )  # fmt: skip
        assert headers["X-WC-Webhook-Event"] == topic.split(".")[1]
        assert headers["X-WC-Webhook-ID"] == str(order_webhooks["ids"][topic])
        assert headers["Content-Type"].startswith("application/json")
        assert headers["User-Agent"].startswith("WooCommerce/")
        payload = json.loads(delivery.body)
        assert (payload["id"], payload["number"], payload["line_items"][0]["product_id"]) == (
            order["id"], order["number"], widget["id"],
        )  # fmt: skip
        assert payload["date_modified_gmt"]
    assert created.headers["X-WC-Webhook-Topic"] == "order.created"


def test_an_order_created_through_rest_is_delivered_created_then_updated(
    woo: StoreUnderTest,
    shop: Shop,
    receiver: Receiver,
    order_webhooks: dict[str, Any],
) -> None:
    widget = shop.product("Widget", stock=5)

    order = shop.order([{"product_id": widget["id"], "quantity": 1}])

    # WooCommerce saves a new order more than once while creating it: both hooks fire, each
    # webhook at most once per request (WC_Webhook::is_already_processed).
    wait_for(lambda: len(receiver.about(order["id"])) >= 2, timeout=15, what="two deliveries")
    topics = [d.headers["X-WC-Webhook-Topic"] for d in receiver.about(order["id"])]
    assert topics == ["order.created", "order.updated"]
