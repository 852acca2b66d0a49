"""ShopifyPlatform against the Shopify sandbox as a real process: an order with an in-stock and
a backordered line is read, planned by the core, split with a held fulfillment order and a
partial capture, and released with the rest captured once stock arrives at the fulfilling
location; stock at another location is not counted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import requests

from plugin.core.model import BackorderMode, Outcome, PaymentState, Policies, ProductRef, Status
from plugin.core.split import plan_split
from plugin.errors import NotFound
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import number
from plugin.platforms.shopify.webhooks import parse
from plugin.ports import ReleaseAs
from plugin.usecases.notifying import customer_name
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests.integration.sandbox_shopify.conftest import Shop
from tests.unit.sandbox.receiver import Receiver

ORDER_VIEW = """query view($id: ID!) { order(id: $id) { tags note statusPageUrl
  displayFinancialStatus
  totalCapturableSet { shopMoney { amount } }
  transactions { kind status amountSet { shopMoney { amount } } }
  metafield(namespace: "backorders", key: "splits") { jsonValue }
  fulfillmentOrders(first: 5) { nodes { id status fulfillmentHolds { reason handle }
    lineItems(first: 10) { nodes { remainingQuantity lineItem { sku } } } } } } }"""
ADJUST = """mutation adjust($input: InventoryAdjustQuantitiesInput!) {
  inventoryAdjustQuantities(input: $input) { userErrors { field message code } } }"""
LOCATIONS = "query { locations(first: 5) { nodes { id name isPrimary } } }"


def order_gid(shop: Shop, name: str) -> str:
    nodes = shop.data(
        "query($q: String) { orders(first: 1, query: $q) { nodes { id } } }", {"q": f"name:#{name}"}
    )["orders"]["nodes"]
    return str(nodes[0]["id"])


def view(shop: Shop, order_id: str) -> dict[str, Any]:
    return dict(shop.data(ORDER_VIEW, {"id": order_id})["order"])


def adjust(shop: Shop, sku: str, location: str, delta: int) -> None:
    item = shop.data(
        "query($q: String) { productVariants(first: 1, query: $q) "
        "{ nodes { inventoryItem { id } } } }",
        {"q": f"sku:{sku}"},
    )["productVariants"]["nodes"][0]["inventoryItem"]["id"]
    errors = shop.data(
        ADJUST,
        {
            "input": {
                "reason": "received",
                "name": "available",
                "changes": [{"delta": delta, "inventoryItemId": item, "locationId": location}],
            }
        },
    )["inventoryAdjustQuantities"]["userErrors"]
    assert errors == []


def locations(shop: Shop) -> dict[str, str]:
    return {n["name"]: n["id"] for n in shop.data(LOCATIONS)["locations"]["nodes"]}


def test_split_hold_partial_capture_then_release_and_capture_the_rest(shop: Shop) -> None:
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    client = ShopifyClient(shop.url, DEMO_ACCESS_TOKEN)
    platform = ShopifyPlatform(client)

    order = platform.get_order(order_id)
    assert (order.number, order.status, order.payment_state) == (
        name,
        Status.NEW,
        PaymentState.AUTHORISED,
    )
    assert [(line.sku, line.quantity, line.total) for line in order.lines] == [
        ("MUG-BLUE", 1, Decimal("12.00")),
        ("BOARD-WALNUT", 3, Decimal("135.00")),
    ]
    assert order.total == Decimal("147.00")
    stock = platform.get_stock(order)
    mug, board = (line.ref for line in order.lines)
    assert stock[mug].available == 10  # 9 left at the warehouse + the 1 this order committed
    assert stock[mug].backorders is BackorderMode.NO
    assert stock[board].available == 0
    assert stock[board].backorders is BackorderMode.YES

    plan = plan_split(order, stock, Policies())
    assert plan.outcome is Outcome.SPLIT
    assert plan.backorder_number == f"{name}-001"
    calls = client.calls
    assert platform.find_backorder_order(order_id, plan.split_key or "") is None
    held_id = platform.write_split(order, plan, backorder_order_id=None, summary="3 x board")
    platform.add_note(order_id, "Backorders split this order.")
    write_calls = client.calls - calls

    after = view(shop, gid_of(order_id))
    held, shipping = after["fulfillmentOrders"]["nodes"]
    assert held["status"] == "ON_HOLD"
    assert held["fulfillmentHolds"] == [
        {"reason": "INVENTORY_OUT_OF_STOCK", "handle": f"backorders-{order_id}-1"}
    ]
    assert [(n["lineItem"]["sku"], n["remainingQuantity"]) for n in held["lineItems"]["nodes"]] == [
        ("BOARD-WALNUT", 3)
    ]
    assert shipping["status"] == "OPEN"
    assert [
        (n["lineItem"]["sku"], n["remainingQuantity"]) for n in shipping["lineItems"]["nodes"]
    ] == [("MUG-BLUE", 1)]
    assert held_id == f"fo-{number(held['id'])}"
    assert sorted(after["tags"]) == sorted(["backorder", f"#{name}-001"])
    assert after["metafield"]["jsonValue"] == {
        plan.split_key: {"number": f"{name}-001", "fulfillment_order": number(held["id"])}
    }
    assert after["note"] == "Backorders split this order."
    captures = [t for t in after["transactions"] if t["kind"] == "CAPTURE"]
    assert [t["amountSet"]["shopMoney"]["amount"] for t in captures] == ["12.0"]
    assert after["totalCapturableSet"]["shopMoney"]["amount"] == "135.0"
    # The lookup (on the order read above, nothing written since: no read; nothing on it, the
    # search for a linked order of the key: a split keeps its mode, whatever the store's now);
    # the hold; the record and the capture in one request; the note (on the order read). Until
    # 2026-12-05 the lookup and the writes each read the order again: 6 requests.
    assert write_calls == 4

    # Repeating every step changes nothing: found by its handle, recorded once, captured once.
    assert platform.find_backorder_order(order_id, plan.split_key or "") == held_id
    assert platform.write_split(order, plan, backorder_order_id=held_id) == held_id
    platform.add_note(order_id, "Backorders split this order.")
    again = view(shop, gid_of(order_id))
    assert again["transactions"] == after["transactions"]
    assert again["note"] == after["note"]

    backorder = platform.get_order(held_id)
    assert backorder.links.is_backorder_order and backorder.links.parent_id == order_id
    assert backorder.status is Status.NEW_BACKORDER
    assert backorder.number == f"{name}-001"
    assert [(line.sku, line.quantity) for line in backorder.lines] == [("BOARD-WALNUT", 3)]

    # Stock at the other location does not count for the fulfilling one.
    places = locations(shop)
    other = next(i for n, i in places.items() if n != "Warehouse")
    adjust(shop, "BOARD-WALNUT", other, 5)
    assert platform.stock_figure(board).quantity == -3
    adjust(shop, "BOARD-WALNUT", places["Warehouse"], 3)
    assert platform.stock_figure(board).quantity == 0  # the 3 held units are now covered

    assert platform.release_order(held_id, "processing", "release-1") is None
    released = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in released["fulfillmentOrders"]["nodes"]] == ["OPEN", "OPEN"]
    assert [
        t["amountSet"]["shopMoney"]["amount"]
        for t in released["transactions"]
        if t["kind"] == "CAPTURE"
    ] == ["12.0", "135.0"]
    assert released["displayFinancialStatus"] == "PAID"
    # A repeat writes nothing more.
    platform.release_order(held_id, "processing", "release-1")
    assert view(shop, gid_of(order_id))["transactions"] == released["transactions"]


def test_a_paid_order_is_not_charged_again(shop: Shop) -> None:
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 2)], payment="paid")
    order_id = number(order_gid(shop, name))
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    order = platform.get_order(order_id)
    assert order.payment_state is PaymentState.PAID
    plan = plan_split(order, platform.get_stock(order), Policies())
    before = view(shop, gid_of(order_id))["transactions"]
    held_id = platform.write_split(order, plan, backorder_order_id=None)
    platform.release_order(held_id, "processing", "r")
    assert view(shop, gid_of(order_id))["transactions"] == before


def test_an_order_and_its_held_part_name_the_customer(shop: Shop) -> None:
    """Customer e-mails greet by name (notifying.customer_name): a Shopify order gave none, so
    they said "Hello customer"."""
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 2)], payment="card")
    order_id = number(order_gid(shop, name))
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    order = platform.get_order(order_id)
    held_id = platform.write_split(
        order, plan_split(order, platform.get_stock(order), Policies()), backorder_order_id=None
    )

    for read in (order, platform.get_order(held_id)):
        assert (read.billing.first_name, read.billing.last_name, read.billing.email) == (
            "Ada",
            "Lovelace",
            "ada@example.com",
        )
        assert customer_name(read) == "Ada Lovelace"


def test_orders_modified_since_give_the_webhooks_state_and_missing_orders(shop: Shop) -> None:
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    receiver = Receiver()
    try:
        shop.subscribe("ORDERS_CREATE", receiver.url)
        start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 2)])
        shop.flush()
        [delivery] = receiver.wait_for(1, timeout=20)
    finally:
        receiver.close()
    changes = list(platform.orders_modified_since(start))
    assert [c.order_id for c in changes] == [number(order_gid(shop, name))]
    event = parse("orders/create", delivery.body, lambda header: None)
    assert (changes[0].modified_gmt, changes[0].fingerprint) == (
        event.modified_gmt,
        event.fingerprint,
    )
    with pytest.raises(NotFound):
        platform.get_order("999999999")
    assert platform.get_orders(["999999999", changes[0].order_id])[0].number == name


def test_allow_backorder_sets_continue(shop: Shop) -> None:
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    item = shop.data(
        'query { productVariants(first: 1, query: "sku:APRON-LINEN") { nodes { id '
        "inventoryPolicy inventoryItem { id } product { id } } } }"
    )["productVariants"]["nodes"][0]
    ref = ProductRef(number(item["product"]["id"]), number(item["inventoryItem"]["id"]))
    assert item["inventoryPolicy"] == "DENY"
    platform.set_backorders(ref, "CONTINUE")
    calls = platform.calls
    platform.set_backorders(ref, "CONTINUE")
    assert platform.calls == calls + 1  # read, and no write the second time
    after = shop.data(
        'query { productVariants(first: 1, query: "sku:APRON-LINEN") '
        "{ nodes { inventoryPolicy } } }"
    )["productVariants"]["nodes"][0]
    assert after["inventoryPolicy"] == "CONTINUE"


def gid_of(order_id: str) -> str:
    return f"gid://shopify/Order/{order_id}"


def test_a_release_after_the_authorisation_lapsed_asks_the_customer_to_pay(shop: Shop) -> None:
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    order = platform.get_order(order_id)
    plan = plan_split(order, platform.get_stock(order), Policies())
    held_id = platform.write_split(order, plan, backorder_order_id=None)
    split = view(shop, gid_of(order_id))
    # Eight days later (the sandbox's card authorisations last seven).
    moved = requests.post(
        f"{shop.url}/sandbox/shopify/clock", json={"advance_seconds": 8 * 86400}, timeout=5
    )
    assert moved.status_code == 200, moved.text

    link = platform.release_order(held_id, "pending", "release-expired")

    released = view(shop, gid_of(order_id))
    assert link == released["statusPageUrl"]
    assert link == f"https://backorders-sandbox.myshopify.com/orders/{order_id}"
    assert released["transactions"] == split["transactions"]  # no capture was attempted
    assert released["displayFinancialStatus"] == "PARTIALLY_PAID"  # 12.00 of 147.00
    assert [fo["status"] for fo in released["fulfillmentOrders"]["nodes"]] == ["OPEN", "OPEN"]
    # The customer is sent Shopify's invoice for what is owed, once: a repeated release (a
    # retry) finds the tag and sends nothing more.
    assert f"backorders-invoice-{held_id}" in released["tags"]
    assert platform.release_order(held_id, "pending", "release-expired") == link
    [invoice] = requests.get(f"{shop.url}/sandbox/shopify/invoices", timeout=5).json()
    assert (invoice["order"], invoice["name"], invoice["amount"]) == (
        gid_of(order_id),
        f"#{name}",
        "135.00",
    )
    assert invoice["to"] == "ada@example.com"
    assert invoice["customMessage"].startswith("The items you ordered on backorder are in stock")


def test_set_status_holds_and_releases_a_whole_order(shop: Shop) -> None:
    name = shop.checkout([("MUG-BLUE", 2)], payment="manual")
    order_id = number(order_gid(shop, name))
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))

    platform.set_status(order_id, Status.ON_HOLD)
    held = view(shop, gid_of(order_id))["fulfillmentOrders"]["nodes"]
    assert [(fo["status"], fo["fulfillmentHolds"]) for fo in held] == [
        ("ON_HOLD", [{"reason": "INVENTORY_OUT_OF_STOCK", "handle": f"backorders-hold-{order_id}"}])
    ]
    assert platform.get_order(order_id).status is Status.ON_HOLD
    calls = platform.calls
    # Held already: on the order just read (nothing written since), no request at all (until
    # 2026-12-05 it read the order again).
    platform.set_status(order_id, Status.ON_HOLD)
    assert platform.calls == calls

    platform.set_status(order_id, Status.NEW)
    assert [fo["status"] for fo in view(shop, gid_of(order_id))["fulfillmentOrders"]["nodes"]] == [
        "OPEN"
    ]
    assert platform.get_order(order_id).status is Status.NEW


def test_notes_to_the_customer_write_nothing_and_missing_orders_are_not_found(shop: Shop) -> None:
    name = shop.checkout([("MUG-BLUE", 1)])
    order_id = number(order_gid(shop, name))
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    calls = platform.calls
    platform.add_note(order_id, "Your backorder ships soon.", customer=True)
    assert platform.calls == calls
    assert view(shop, gid_of(order_id))["note"] is None
    with pytest.raises(NotFound):
        platform.add_note("999999999", "nobody")
    with pytest.raises(NotFound):
        platform.get_order("fo-999999999")
    with pytest.raises(NotFound):
        platform.release_order("fo-999999999", "processing", "k")


def test_an_unpaid_held_part_released_unpaid_asks_the_customer_to_pay(shop: Shop) -> None:
    """A bank-transfer order (pending, nothing authorised) split, its held part released to be
    paid first: the hold is released and Shopify's invoice sent once for what the order owes,
    and the release gives the order's status page, where the customer pays."""
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="manual")
    order_id = number(order_gid(shop, name))
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    order = platform.get_order(order_id)
    assert order.payment_state is PaymentState.UNPAID
    plan = plan_split(order, platform.get_stock(order), Policies())
    held_id = platform.write_split(order, plan, backorder_order_id=None)
    split = view(shop, gid_of(order_id))

    link = platform.release_order(held_id, ReleaseAs.UNPAID, "release-unpaid")

    released = view(shop, gid_of(order_id))
    assert link == released["statusPageUrl"]
    assert link == f"https://backorders-sandbox.myshopify.com/orders/{order_id}"
    assert released["transactions"] == split["transactions"]  # nothing to capture
    assert [fo["status"] for fo in released["fulfillmentOrders"]["nodes"]] == ["OPEN", "OPEN"]
    assert f"backorders-invoice-{held_id}" in released["tags"]
    # Repeated (a retry): the same page, no second invoice.
    assert platform.release_order(held_id, ReleaseAs.UNPAID, "release-unpaid") == link
    [invoice] = requests.get(f"{shop.url}/sandbox/shopify/invoices", timeout=5).json()
    assert (invoice["order"], invoice["name"]) == (gid_of(order_id), f"#{name}")
    assert invoice["customMessage"].startswith("The items you ordered on backorder are in stock")
