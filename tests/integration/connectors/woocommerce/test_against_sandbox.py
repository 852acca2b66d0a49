"""The connector against a real sandbox store process on 127.0.0.1 (`python -m sandbox`).

The sandbox mirrors WooCommerce's REST API v3 and stock rules; this proves the adapter's reads,
the split write (counted calls), its stock accounting and its idempotent retry end to end,
with the core planner deciding.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from plugin.connectors.woocommerce.fingerprint import order_fingerprint
from plugin.connectors.woocommerce.platform import WooCommercePlatform, connect
from plugin.core.model import Outcome, PaymentAction, Policies, ProductRef, Status
from plugin.core.split import plan_split
from plugin.service import reconcile_store
from plugin.storage.db import Database
from plugin.storage.repositories import InboxRepository, SqlInbox, StoreRecord
from tests.fakes import FakeCheckpoints, FakePlatform
from tests.processes import running_sandbox
from tests.unit.sandbox.receiver import Receiver

KEY, SECRET = "ck_connector", "cs_connector"
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

pytest.importorskip("sandbox.app", reason="the sandbox store (branch sandbox-api) is not here")


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


def _meta(order: dict[str, Any], key: str) -> Any:
    values = [m["value"] for m in order["meta_data"] if m["key"] == key]
    return values[-1] if values else None


def _lines(order: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(item["product_id"]): item for item in order["line_items"]}


def test_split_against_the_sandbox(store_url: str) -> None:
    admin = Admin(store_url)
    short = admin.product("Short", "10.00", 2, "notify")  # 5 ordered, 2 in stock
    plenty = admin.product("Plenty", "5.00", 10, "no")
    none_left = admin.product("None left", "8.00", 0, "yes")  # moves entirely
    order = admin.call(
        "POST",
        "/orders",
        {
            "payment_method": "stripe",
            "payment_method_title": "Credit card",
            "set_paid": True,
            "billing": {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@example.com",
                "address_1": "1 Loop Rd",
                "city": "London",
                "postcode": "N1",
                "country": "GB",
            },
            "shipping": {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "address_1": "1 Loop Rd",
                "city": "London",
                "postcode": "N1",
                "country": "GB",
            },
            "line_items": [
                {"product_id": short, "quantity": 5},
                {"product_id": plenty, "quantity": 1},
                {"product_id": none_left, "quantity": 2},
            ],
            "shipping_lines": [
                {"method_id": "flat_rate", "method_title": "Flat rate", "total": "10.00"}
            ],
        },  # fmt: skip
    )
    order_id = str(order["id"])
    assert order["status"] == "processing"
    stock_before = {p: admin.stock(p) for p in (short, plenty, none_left)}
    assert stock_before == {short: -3, plenty: 9, none_left: -2}  # reduced at processing

    platform = connect(store_url, KEY, SECRET)
    original = platform.get_order(order_id)
    assert original.status is Status.NEW
    stock = platform.get_stock(original)
    assert stock[ProductRef(str(short))].available == 2  # -3 + the 5 this order took
    assert stock[ProductRef(str(none_left))].available == 0
    assert stock[ProductRef(str(plenty))].available == 10
    plan = plan_split(original, stock, Policies())
    assert plan.outcome is Outcome.SPLIT
    assert plan.payment is PaymentAction.PAID_FROM_ORIGINAL
    backorder_id = platform.write_split(
        original, plan, backorder_order_id=None, summary="Backorder of the test order"
    )
    platform.add_note(order_id, f"Split: {plan.backorder_number} holds the backordered units")
    # GET order, GET products, POST batch, POST note.
    assert platform.calls == 4

    after = admin.call("GET", f"/orders/{order_id}")
    backorder = admin.call("GET", f"/orders/{backorder_id}")
    assert {p: line["quantity"] for p, line in _lines(after).items()} == {short: 2, plenty: 1}
    assert {p: line["quantity"] for p, line in _lines(backorder).items()} == {
        short: 3,
        none_left: 2,
    }
    assert Decimal(_lines(after)[short]["total"]) == Decimal("20.00")
    assert Decimal(_lines(backorder)[short]["total"]) == Decimal("30.00")
    assert Decimal(_lines(backorder)[none_left]["total"]) == Decimal("16.00")
    assert backorder["status"] == "on-hold"
    assert backorder["parent_id"] == int(order_id)
    assert _meta(backorder, "backorders_role") == "backorder"
    assert _meta(backorder, "backorders_split_key") == plan.split_key
    assert _meta(backorder, "backorders_number") == f"{order['number']}-001"
    assert _meta(backorder, "backorders_payment") == "paid_from_original"
    assert _meta(backorder, "backorders_summary") == "Backorder of the test order"
    # Only the store's own lifecycle notes: the summary cost no note call.
    backorder_notes = [n["note"] for n in admin.call("GET", f"/orders/{backorder_id}/notes")]
    assert [n.split(":")[0].split(" from ")[0] for n in sorted(backorder_notes)] == [
        "Order status changed", "Stock levels reduced",
    ]  # fmt: skip
    assert _meta(after, "backorders_role") == "original"
    assert _meta(after, "backorders_split_keys") == f'["{plan.split_key}"]'
    assert _meta(after, "backorders_children") is None
    # Stock: the original gave back 3 + 2, the on-hold backorder order took them again.
    assert {p: admin.stock(p) for p in (short, plenty, none_left)} == stock_before
    notes = admin.call("GET", f"/orders/{order_id}/notes")
    assert any("holds the backordered units" in note["note"] for note in notes)

    # The backorder order maps as New Backorder, paid from the original; the original links it.
    mapped_backorder = platform.get_order(backorder_id)
    assert mapped_backorder.status is Status.NEW_BACKORDER
    assert mapped_backorder.payment_state.value == "paid"
    assert mapped_backorder.links.parent_id == order_id
    mapped_original = platform.get_order(order_id)
    assert mapped_original.links.split_count == 1

    # A retry after a crash finds the backorder order and only re-applies the original's update.
    retry = connect(store_url, KEY, SECRET)
    assert retry.find_backorder_order(order_id, str(plan.split_key)) == backorder_id
    current = retry.get_order(order_id)
    assert retry.write_split(current, plan, backorder_order_id=backorder_id) == backorder_id
    assert retry.calls == 3  # find, GET order, PUT original
    again = admin.call("GET", f"/orders/{order_id}")
    assert {p: line["quantity"] for p, line in _lines(again).items()} == {short: 2, plenty: 1}
    assert _meta(again, "backorders_split_keys") == f'["{plan.split_key}"]'
    assert {p: admin.stock(p) for p in (short, plenty, none_left)} == stock_before
    assert len(admin.call("GET", f"/orders?parent={order_id}")) == 1

    # Reconciliation sees both orders.
    seen = {c.order_id for c in WooCommercePlatform(retry.client).orders_modified_since(
        original.created_at.replace(year=2000)
    )}  # fmt: skip
    assert {order_id, backorder_id} <= seen


def test_bad_keys_against_the_sandbox(store_url: str) -> None:
    platform = connect(store_url, KEY, "cs_wrong")
    from plugin.errors import AuthenticationFailed

    with pytest.raises(AuthenticationFailed):
        platform.client.check_credentials()
    connect(store_url, KEY, SECRET).client.check_credentials()


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
        inbox=SqlInbox(db),
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
