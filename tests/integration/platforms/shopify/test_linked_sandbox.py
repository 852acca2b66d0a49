"""ShopifyPlatform in the linked mode against the Shopify sandbox as a real process: a card order
with an in-stock and a backordered line is split into the original, reduced by an order edit
to what ships (captured exactly), and a separate backorder order `#<n>-001`, held, linked both
ways. A crash between the create and the edit is resumed without a second order or a second
reduction; the release lifts the hold and sends the invoice once."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from plugin.core.model import Outcome, Policies, Status
from plugin.core.split import plan_split
from plugin.errors import TransientError
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import number
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests.integration.platforms.shopify.test_platform_sandbox import gid_of, order_gid
from tests.integration.sandbox_shopify.conftest import Shop

LINKED_VIEW = """query view($id: ID!) { order(id: $id) { name tags note statusPageUrl
  displayFinancialStatus email customer { id }
  totalPriceSet { shopMoney { amount } }
  lineItems(first: 10) { nodes { sku quantity currentQuantity } }
  transactions { kind status amountSet { shopMoney { amount } } }
  splits: metafield(namespace: "backorders", key: "splits") { jsonValue }
  origin: metafield(namespace: "backorders", key: "origin") { jsonValue }
  fulfillmentOrders(first: 5) { nodes { status fulfillmentHolds { reason handle }
    lineItems(first: 10) { nodes { remainingQuantity lineItem { sku } } } } } } }"""
TAGGED = "query($q: String) { orders(first: 10, query: $q) { nodes { id name } } }"


def linked_view(shop: Shop, order_id: str) -> dict[str, Any]:
    return dict(shop.data(LINKED_VIEW, {"id": gid_of(order_id)})["order"])


def lines(view: dict[str, Any]) -> list[tuple[str, int]]:
    return [(n["sku"], n["currentQuantity"]) for n in view["lineItems"]["nodes"]]


def payments(view: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["kind"], t["amountSet"]["shopMoney"]["amount"]) for t in view["transactions"]]


class CrashingClient(ShopifyClient):
    """A client whose process "dies" (TransientError) just before its first `orderEditBegin`."""

    crashed = False

    def execute(self, query: str, variables: Any = None) -> Any:
        if "orderEditBegin" in query and not self.crashed:
            self.crashed = True
            raise TransientError("worker killed", reason="test_crash")
        return super().execute(query, variables)


def test_linked_split_reduces_the_original_creates_one_order_and_releases_it(shop: Shop) -> None:
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    client = CrashingClient(shop.url, DEMO_ACCESS_TOKEN)
    platform = ShopifyPlatform(client, split_mode="linked")
    order = platform.get_order(order_id)
    plan = plan_split(order, platform.get_stock(order), Policies())
    assert plan.outcome is Outcome.SPLIT and plan.backorder_number == f"{name}-001"
    key = plan.split_key or ""
    assert platform.find_backorder_order(order_id, key) is None

    with pytest.raises(TransientError):  # created and held, then the crash: not reduced yet
        platform.write_split(order, plan, backorder_order_id=None, summary="3 x board")
    assert lines(linked_view(shop, order_id)) == [("MUG-BLUE", 1), ("BOARD-WALNUT", 3)]
    # The retry looks first (plugin/steps.py SplitWrite) and finds the order by its tag.
    found = platform.find_backorder_order(order_id, key)
    assert found is not None
    new_id = platform.write_split(order, plan, backorder_order_id=found, summary="3 x board")
    assert new_id == found
    # A repeat of the whole write (a retry after a crash before the ledger recorded it).
    assert platform.write_split(order, plan, backorder_order_id=new_id) == new_id

    tagged = shop.data(TAGGED, {"q": f"tag:'backorders-{order_id}-1'"})["orders"]["nodes"]
    assert [n["name"] for n in tagged] == [f"#{name}-001"]
    original = linked_view(shop, order_id)
    assert lines(original) == [("MUG-BLUE", 1), ("BOARD-WALNUT", 0)]
    assert payments(original) == [
        ("AUTHORIZATION", "147.0"),
        ("CAPTURE", "12.0"),
    ]
    assert original["displayFinancialStatus"] == "PAID"
    assert original["splits"]["jsonValue"] == {key: {"number": f"{name}-001", "order": new_id}}
    assert sorted(original["tags"]) == sorted(["backorder", f"#{name}-001"])

    new = linked_view(shop, new_id)
    assert new["name"] == f"#{name}-001"
    assert lines(new) == [("BOARD-WALNUT", 3)]
    assert new["totalPriceSet"]["shopMoney"]["amount"] == "135.0"
    assert new["transactions"] == [] and new["displayFinancialStatus"] == "PENDING"
    assert (new["email"], new["customer"]) == ("ada@example.com", original["customer"])
    assert new["origin"]["jsonValue"] == {
        "order": order_id,
        "name": f"#{name}",
        "split_key": key,
        "number": f"{name}-001",
    }
    assert [fo["status"] for fo in new["fulfillmentOrders"]["nodes"]] == ["ON_HOLD"]
    assert new["fulfillmentOrders"]["nodes"][0]["fulfillmentHolds"] == [
        {"reason": "INVENTORY_OUT_OF_STOCK", "handle": f"backorders-{order_id}-1"}
    ]
    backorder = platform.get_order(new_id)
    assert (backorder.number, backorder.status, backorder.links.parent_id) == (
        f"{name}-001",
        Status.NEW_BACKORDER,
        order_id,
    )
    assert backorder.links.is_backorder_order
    assert not backorder.links.releases_in_part  # released whole: no partial release yet
    assert platform.reduced_stock(new_id) == {backorder.lines[0].line_id: 3}

    link = platform.release_order(new_id, "processing", "release-1")
    released = linked_view(shop, new_id)
    assert link == released["statusPageUrl"]
    assert [fo["status"] for fo in released["fulfillmentOrders"]["nodes"]] == ["OPEN"]
    assert platform.get_order(new_id).status is Status.NEW
    assert platform.release_order(new_id, "processing", "release-1") == link  # a retry
    [invoice] = requests.get(f"{shop.url}/sandbox/shopify/invoices", timeout=5).json()
    assert (invoice["order"], invoice["amount"], invoice["to"]) == (
        gid_of(new_id),
        "135.00",
        "ada@example.com",
    )
    assert json.dumps(linked_view(shop, order_id)["transactions"]) == json.dumps(
        original["transactions"]
    )  # the original is not charged again


def test_a_paid_original_gives_a_paid_backorder_order_and_no_invoice(shop: Shop) -> None:
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 2)], payment="paid")
    order_id = number(order_gid(shop, name))
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN), split_mode="linked")
    order = platform.get_order(order_id)
    plan = plan_split(order, platform.get_stock(order), Policies())
    before = linked_view(shop, order_id)["transactions"]
    new_id = platform.write_split(order, plan, backorder_order_id=None)
    assert linked_view(shop, order_id)["transactions"] == before  # not charged again
    assert linked_view(shop, new_id)["displayFinancialStatus"] == "PAID"
    assert platform.release_order(new_id, "processing", "r") is None
    assert requests.get(f"{shop.url}/sandbox/shopify/invoices", timeout=5).json() == []
