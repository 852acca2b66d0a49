"""A partial release on a Shopify shop with real processes on loopback (the Shopify sandbox,
Redis, the web app and a worker): a card order's 3 held boards wait; 1 board arrives at the
fulfilling location, so that one is released and captured for exactly its amount while the 2
that wait move to a held fulfillment order numbered `#<order>-002`; the other 2 arrive, and
they are released with the final capture. The order's captures add up to its total."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import run
from plugin.core.split import resplit_key
from plugin.ports import ReleaseState, SplitState
from tests.e2e.helpers import PluginDb, wait_for
from tests.e2e.platforms.shopify.stack import (
    captured,
    connect_shop,
    plugin_releases,
    split_card_order,
)
from tests.integration.platforms.shopify.test_platform_sandbox import (
    adjust,
    gid_of,
    locations,
    view,
)
from tests.integration.sandbox_shopify.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite")]  # a whole stack: one database


def _parts(order: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (fo["status"], sum(n["remainingQuantity"] for n in fo["lineItems"]["nodes"]))
        for fo in order["fulfillmentOrders"]["nodes"]
    ]


def test_one_of_three_held_units_arrives_then_the_rest(
    shopify_stack: run.Stack, shop: Shop
) -> None:
    stack = shopify_stack
    plugin = PluginDb(stack.config())
    store = connect_shop(stack, plugin, shop)
    name, order_id, held_id = split_card_order(plugin, store, shop)
    warehouse = locations(shop)["Warehouse"]
    releases = plugin_releases(plugin)

    def released(order: str) -> Any:
        done = [r for r in releases.for_order(store.id, order) if r.state == ReleaseState.DONE]
        return done or None

    adjust(shop, "BOARD-WALNUT", warehouse, 1)
    shop.flush()
    [first] = wait_for(lambda: released(held_id), what="the partial release", timeout=60)
    resplit = plugin.ledger.get(store.id, resplit_key(held_id))
    assert resplit is not None and resplit.state == SplitState.DONE
    waiting_id = resplit.backorder_order_id
    assert waiting_id is not None and waiting_id.startswith("fo-") and waiting_id != held_id
    assert [(line["units"]) for line in first.lines] == [1]

    partly = view(shop, gid_of(order_id))
    # The held part (1 board, released), what shipped at the split (the mug), and the 2
    # boards still held on the re-split's fulfillment order.
    assert _parts(partly) == [("OPEN", 1), ("OPEN", 1), ("ON_HOLD", 2)]
    holds = partly["fulfillmentOrders"]["nodes"][2]["fulfillmentHolds"]
    assert {(h["reason"], h["handle"]) for h in holds} == {
        ("INVENTORY_OUT_OF_STOCK", f"backorders-{order_id}-1"),
        ("INVENTORY_OUT_OF_STOCK", f"backorders-resplit-{held_id}"),
    }
    assert captured(partly) == ["12.0", "45.0"]  # the mug, then exactly 1 of 3 boards
    assert partly["totalCapturableSet"]["shopMoney"]["amount"] == "90.0"
    assert sorted(partly["tags"]) == sorted(["backorder", f"#{name}-001", f"#{name}-002"])
    assert partly["metafield"]["jsonValue"][resplit_key(held_id)] == {
        "number": f"{name}-002",
        "fulfillment_order": waiting_id.removeprefix("fo-"),
    }
    assert released(waiting_id) is None

    adjust(shop, "BOARD-WALNUT", warehouse, 2)
    shop.flush()
    wait_for(lambda: released(waiting_id), what="the release of the rest", timeout=60)
    final = view(shop, gid_of(order_id))
    assert _parts(final) == [("OPEN", 1), ("OPEN", 1), ("OPEN", 2)]
    assert captured(final) == ["12.0", "45.0", "90.0"]
    assert sum(Decimal(a) for a in captured(final)) == Decimal("147.00")  # the order's total
    assert final["totalCapturableSet"]["shopMoney"]["amount"] == "0.0"
    assert final["displayFinancialStatus"] == "PAID"
    # One split, one re-split, one release each; no error for the merchant.
    assert [r.split_key for r in plugin.ledger.for_order(store.id, order_id)] == [f"{order_id}:1"]
    assert len(releases.for_order(store.id, held_id)) == 1
    assert len(releases.for_order(store.id, waiting_id)) == 1
    errors = [
        e
        for order in (order_id, held_id, waiting_id)
        for e in plugin.audit.for_order(store.id, order)
        if e.kind == "error"
    ]
    assert errors == []
