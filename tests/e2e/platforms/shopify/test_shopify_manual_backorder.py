"""The merchant puts 2 of 5 in-stock mugs of a Shopify order on backorder by hand, from the order
page of the running web app (real processes: the Shopify sandbox, Redis, web, a worker): Shopify
holds the 2 on their fulfillment order (the split's own hold), the 3 that ship are captured, the
2 leave the warehouse's `available` figure so the stock event the change sends releases nothing,
and 2 mugs arriving release them with the final capture."""

from __future__ import annotations

import re
from typing import Any

import pytest

import run
from plugin.adapters.sql.merchants import MerchantRepository
from plugin.platforms.shopify.ids import number
from plugin.ports import ReleaseState, SplitState
from plugin.usecases.accounts import DEMO_EMAIL, ensure_demo_merchant
from tests.e2e.helpers import PluginDb, wait_for
from tests.e2e.platforms.shopify.stack import (
    captured,
    connect_shop,
    plugin_releases,
)
from tests.e2e.test_manual_backorder import TOKEN, _signed_in
from tests.integration.platforms.shopify.test_manual_backorder_sandbox import _available
from tests.integration.platforms.shopify.test_platform_sandbox import (
    adjust,
    gid_of,
    locations,
    order_gid,
    view,
)
from tests.integration.sandbox_shopify.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite")]  # a whole stack: one database


def test_two_of_five_mugs_on_backorder_by_hand_from_the_order_page(
    shopify_stack: run.Stack, shop: Shop
) -> None:
    stack = shopify_stack
    plugin = PluginDb(stack.config())
    store = connect_shop(stack, plugin, shop)
    ensure_demo_merchant(MerchantRepository(plugin.db), store_id=store.id)
    warehouse = locations(shop)["Warehouse"]
    adjust(shop, "MUG-BLUE", warehouse, 5 - _available(shop, "MUG-BLUE", warehouse))
    name = shop.checkout([("MUG-BLUE", 5)], payment="card")
    order_id = number(order_gid(shop, name))
    shop.flush()
    wait_for(plugin.events_finished, what="the order's events", timeout=30)
    assert plugin.ledger.for_order(store.id, order_id) == []  # all in stock: no split

    session = _signed_in(stack)
    order_page = f"{stack.web_url}/stores/{store.id}/orders/{order_id}"
    link = re.search(r'href="([^"]+)" id="backorder-by-hand"', session.get(order_page).text)
    assert link is not None, "no manual backorder link on the order page"
    form = session.get(stack.web_url + link.group(1), timeout=10)
    assert form.status_code == 200 and 'id="confirm-manual"' in form.text, form.text
    token = TOKEN.search(form.text)
    [line] = plugin_platform_lines(shop, order_id)
    assert token is not None and f'name="units-{line}"' in form.text
    data = {"csrf_token": token.group(1), f"units-{line}": "2", "confirm": "yes"}
    done = session.post(stack.web_url + link.group(1), data=data, timeout=10)
    assert done.status_code == 200 and f"being put on backorder as {name}-001" in done.text

    def split() -> Any:
        found = [
            s for s in plugin.ledger.for_order(store.id, order_id) if s.state == SplitState.DONE
        ]
        return found[0] if found else None

    record = wait_for(split, what="the manual split", timeout=60)
    held_id = str(record.backorder_order_id)
    shop.flush()  # the stock change's inventory_levels/update: its allocation finds nothing
    wait_for(plugin.events_finished, what="the stock event", timeout=30)
    after = view(shop, gid_of(order_id))
    assert [
        (fo["status"], [n["remainingQuantity"] for n in fo["lineItems"]["nodes"]])
        for fo in after["fulfillmentOrders"]["nodes"]
    ] == [("ON_HOLD", [2]), ("OPEN", [3])]
    assert captured(after) == ["36.0"]
    assert _available(shop, "MUG-BLUE", warehouse) == -2
    assert f"{DEMO_EMAIL} put 2 units of order {name} on backorder by hand" in after["note"]
    releases = plugin_releases(plugin)
    assert releases.for_order(store.id, held_id) == []

    # A second submit of the same form writes nothing more.
    again = session.post(stack.web_url + link.group(1), data=data, timeout=10)
    assert again.status_code == 409 and "already has a split or a backorder order" in again.text

    adjust(shop, "MUG-BLUE", warehouse, 2)
    shop.flush()

    def released() -> Any:
        found = [r for r in releases.for_order(store.id, held_id) if r.state == ReleaseState.DONE]
        return found or None

    wait_for(released, what="the release", timeout=60)
    final = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in final["fulfillmentOrders"]["nodes"]] == ["OPEN", "OPEN"]
    assert captured(final) == ["36.0", "24.0"]
    assert final["displayFinancialStatus"] == "PAID"


def plugin_platform_lines(shop: Shop, order_id: str) -> list[str]:
    """The order's line numbers, as the form names its fields."""
    nodes = shop.data(
        "query($id: ID!) { order(id: $id) { lineItems(first: 5) { nodes { id } } } }",
        {"id": gid_of(order_id)},
    )["order"]["lineItems"]["nodes"]
    return [number(n["id"]) for n in nodes]
