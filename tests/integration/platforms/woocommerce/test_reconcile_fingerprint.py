"""Reconciliation and webhooks give one state one inbox key: the body a store delivers and the
listing reconciliation reads are the same REST representation (against a real sandbox)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.stores import StoreRecord
from plugin.platforms.woocommerce.adapter import connect
from plugin.platforms.woocommerce.fingerprint import order_fingerprint
from plugin.usecases.reconciling import reconcile_store
from tests.fakes import FakeCheckpoints, FakePlatform
from tests.processes import running_sandbox
from tests.unit.sandbox.receiver import Receiver

KEY, SECRET = "ck_connector", "cs_connector"
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("sandbox")
    with running_sandbox(KEY, SECRET, "--data-dir", str(data_dir), "--threads", "4") as url:
        yield url


class Admin:
    """Plain REST calls for setting up and inspecting the store (not through the connector)."""

    def __init__(self, url: str) -> None:
        self.api = url + "/wp-json/wc/v3"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method, self.api + path, json=body, auth=(KEY, SECRET), timeout=10
        )
        assert response.status_code in (200, 201), (response.status_code, response.text)
        return response.json()

    def product(self, name: str, price: str, stock: int, backorders: str) -> int:
        body = {"name": name, "type": "simple", "regular_price": price, "manage_stock": True,
                "stock_quantity": stock, "backorders": backorders}  # fmt: skip
        return int(self.call("POST", "/products", body)["id"])

    def stock(self, product_id: int) -> int:
        return int(self.call("GET", f"/products/{product_id}")["stock_quantity"])


def test_reconciliation_fingerprints_an_order_as_its_webhook_body_does(
    store_url: str, db: Database, store: StoreRecord
) -> None:
    # The body the store delivers and the listing reconciliation reads are the same REST
    # representation: the same state gives the same inbox key, so reconciliation does not add
    # what a webhook delivered, and adds a state no webhook delivered.
    admin = Admin(store_url)
    receiver = Receiver()
    try:
        admin.call(
            "POST",
            "/webhooks",
            {"name": "u", "topic": "order.updated", "delivery_url": receiver.url, "secret": "s"},
        )
        receiver.wait_for(1)  # the ping
        mug = admin.product("Mug", "10.00", 1, "notify")
        order = admin.call("POST", "/orders", {"line_items": [{"product_id": mug, "quantity": 3}]})
        order_id = int(order["id"])
        admin.call(
            "PUT",
            f"/orders/{order_id}",
            {"status": "on-hold", "meta_data": [{"key": "backorders_delivery", "value": "x"}]},
        )
        flushed = requests.post(store_url + "/sandbox/deliveries/flush?timeout=20", timeout=30)
        assert flushed.json() == {"idle": True}
        bodies = [json.loads(r.body) for r in receiver.requests[1:]]
    finally:
        receiver.close()
    delivered = [body for body in bodies if body["id"] == order_id]
    assert delivered and delivered[-1]["status"] == "on-hold"

    events = InboxRepository(db)
    state = delivered[-1]
    webhook_event = events.receive(
        store.id,
        "order.updated",
        str(order_id),
        state["date_modified_gmt"],
        fingerprint=order_fingerprint(state),
    )
    assert webhook_event is not None

    platform = connect(store_url, KEY, SECRET)
    enqueued: list[int] = []
    result = reconcile_store(
        store.id,
        platform=platform,
        webhooks=FakePlatform(),  # no webhooks to revive
        inbox=InboxRepository(db),
        checkpoints=FakeCheckpoints(),
        enqueue=enqueued.append,
        now=dt.datetime.now(dt.UTC),
    )

    [change] = [c for c in platform.orders_modified_since(EPOCH) if c.order_id == str(order_id)]
    assert change.fingerprint == order_fingerprint(state)
    listed = {event.resource_id: event for event in events.list(store.id, limit=1000)}
    # Every other order the store holds was new to this inbox; the delivered one was not.
    assert result.added == result.seen - 1 == len(enqueued)
    assert listed[str(order_id)].id == webhook_event
    assert listed[str(order_id)].source == "webhook"
    # The state before the last write (pending, no meta), had only it been delivered, would
    # not have hidden the order's current state from reconciliation.
    assert order_fingerprint(order) != change.fingerprint
