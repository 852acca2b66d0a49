"""A merchant's manual backorder on a Shopify shop (issue 14 on issue 16's platform): the use case
unchanged (`split_by_hand`), the sandbox process, the Shopify platform and the plugin's storage.
2 of 5 in-stock mugs are put on backorder by hand: Shopify holds them on their fulfillment order
(the split's own write), what ships is captured, the 2 leave the `available` figure so that
allocation does not release them at once, and they are released when 2 mugs arrive."""

from __future__ import annotations

from typing import Any

import pytest

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.stores import StoreRepository
from plugin.platforms.shopify.ids import number
from plugin.ports import ReleaseState, SplitState
from plugin.usecases.manual_splitting import refusals, split_by_hand
from tests.integration.platforms.shopify.test_platform_sandbox import (
    adjust,
    gid_of,
    locations,
    order_gid,
    view,
)
from tests.integration.platforms.shopify.test_usecases_sandbox import Plugin
from tests.integration.sandbox_shopify.conftest import Shop

MERCHANT = "merchant@example.com"


def _parts(order: dict[str, Any]) -> list[tuple[str, list[int], list[str]]]:
    return [
        (
            fo["status"],
            [n["remainingQuantity"] for n in fo["lineItems"]["nodes"]],
            [h["handle"] for h in fo["fulfillmentHolds"]],
        )
        for fo in order["fulfillmentOrders"]["nodes"]
    ]


def _available(shop: Shop, sku: str, location: str) -> int:
    nodes = shop.data(
        "query($q: String, $l: ID!) { productVariants(first: 1, query: $q) { nodes { "
        'inventoryItem { inventoryLevel(locationId: $l) { quantities(names: ["available"]) '
        "{ quantity } } } } } }",
        {"q": f"sku:{sku}", "l": location},
    )["productVariants"]["nodes"]
    return int(nodes[0]["inventoryItem"]["inventoryLevel"]["quantities"][0]["quantity"])


def _by_hand(plugin: Plugin, stores: StoreRepository, order_id: str, units: dict[str, int]) -> Any:
    return split_by_hand(
        plugin.store_id, order_id, units, requested_by=MERCHANT, platform=plugin.platform,
        ledger=plugin.splits, policies=plugin.policies, audit=plugin.audit, alerts=stores,
    )  # fmt: skip


@pytest.mark.database("sqlite")  # the Shopify writes; storage is covered on both elsewhere
def test_two_of_five_mugs_put_on_backorder_by_hand_then_released(
    shop: Shop, db: Database, stores: StoreRepository
) -> None:
    plugin = Plugin(shop, db, stores)
    warehouse = locations(shop)["Warehouse"]
    adjust(shop, "MUG-BLUE", warehouse, 5 - _available(shop, "MUG-BLUE", warehouse))
    name = shop.checkout([("MUG-BLUE", 5)], payment="card")
    order_id = number(order_gid(shop, name))
    assert plugin.handle(order_id).status != "split"  # all 5 in stock: nothing split
    assert _available(shop, "MUG-BLUE", warehouse) == 0
    order = plugin.platform.get_order(order_id)
    [line] = order.lines
    settings = plugin.policies.policies_for(plugin.store_id, order).settings
    assert refusals(
        plugin.store_id, order, platform=plugin.platform, ledger=plugin.splits, settings=settings
    ) == ()  # fmt: skip

    result = _by_hand(plugin, stores, order_id, {line.line_id: 2})

    assert result.status == "split", result
    [record] = plugin.splits.for_order(plugin.store_id, order_id)
    assert record.state == SplitState.DONE
    held_id = record.backorder_order_id
    assert held_id is not None and held_id.startswith("fo-")
    after = view(shop, gid_of(order_id))
    assert _parts(after) == [
        ("ON_HOLD", [2], [f"backorders-{order_id}-1"]),
        ("OPEN", [3], []),
    ]
    captures = [
        t["amountSet"]["shopMoney"]["amount"]
        for t in after["transactions"]
        if t["kind"] == "CAPTURE"
    ]
    assert captures == ["36.0"]  # the 3 mugs that ship
    assert sorted(after["tags"]) == sorted(["backorder", f"#{name}-001"])
    assert _available(shop, "MUG-BLUE", warehouse) == -2  # the 2 set aside
    assert f"{MERCHANT} put 2 units of order {name} on backorder by hand" in after["note"]
    assert "2 units set aside (0 → -2)." in after["note"]
    backorder = plugin.platform.get_order(held_id)
    assert (backorder.number, [ln.quantity for ln in backorder.lines]) == (f"{name}-001", [2])

    # The same request again (the job retried): nothing more is written.
    assert _by_hand(plugin, stores, order_id, {line.line_id: 2}).status == "ignored"
    assert view(shop, gid_of(order_id)) == after
    assert _available(shop, "MUG-BLUE", warehouse) == -2

    # Allocation finds nothing free for it; 2 mugs arrive, and it is released and captured.
    product = plugin.releases.parent_product(plugin.store_id, line.ref.variant_id or "")
    plugin.allocate(product)
    assert plugin.releases.for_order(plugin.store_id, held_id) == []
    adjust(shop, "MUG-BLUE", warehouse, 2)
    plugin.allocate(product)
    [release] = plugin.releases.for_order(plugin.store_id, held_id)
    assert release.state == ReleaseState.DONE
    final = view(shop, gid_of(order_id))
    assert [status for status, _, _ in _parts(final)] == ["OPEN", "OPEN"]
    assert [
        t["amountSet"]["shopMoney"]["amount"]
        for t in final["transactions"]
        if t["kind"] == "CAPTURE"
    ] == ["36.0", "24.0"]
    assert final["displayFinancialStatus"] == "PAID"
