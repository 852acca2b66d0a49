"""The use cases, unchanged, on a Shopify shop: the sandbox process, the Shopify platform and the
plugin's storage. A card checkout with an in-stock and an out-of-stock line is split (held
fulfillment order, partial capture) exactly once; stock arriving at another location releases
nothing; stock arriving at the fulfilling location releases the hold and captures the rest."""

from __future__ import annotations

from typing import Any

import pytest

from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRepository
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import number
from plugin.ports import ReleaseState, SplitState
from plugin.usecases.releasing import allocate_product
from plugin.usecases.splitting import handle_order_event
from sandbox.shopify.app import DEMO_ACCESS_TOKEN, DEMO_CUSTOM_SECRET
from tests.integration.platforms.shopify.test_platform_sandbox import (
    adjust,
    gid_of,
    locations,
    order_gid,
    view,
)
from tests.integration.sandbox_shopify.conftest import Shop


class Plugin:
    """The use cases on one Shopify store of the plugin's storage."""

    def __init__(self, shop: Shop, db: Database, stores: StoreRepository) -> None:
        self.store_id = stores.create(
            name="Sandbox shop",
            base_url=shop.url,
            consumer_key="backorders-sandbox.myshopify.com",
            consumer_secret=DEMO_ACCESS_TOKEN,
            webhook_secret=DEMO_CUSTOM_SECRET,
            platform="shopify",
        ).id
        self.splits, self.releases = SqlSplitLedger(db), SqlReleaseLedger(db)
        self.policies, self.audit = SqlPolicyStore(db), SqlAuditLog(db)
        self.platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))

    def handle(self, order_id: str) -> Any:
        return handle_order_event(
            self.store_id,
            order_id,
            platform=self.platform,
            ledger=self.splits,
            releases=self.releases,
            policies=self.policies,
            audit=self.audit,
        )

    def allocate(self, product_id: str) -> Any:
        return allocate_product(
            self.store_id,
            self.releases.parent_product(self.store_id, product_id),
            platform=self.platform,
            releases=self.releases,
            splits=self.splits,
            policies=self.policies,
            audit=self.audit,
        )


@pytest.mark.database("sqlite")  # the order held whole: storage is covered on both elsewhere
def test_an_order_with_nothing_in_stock_waits_whole_and_is_released_whole(
    shop: Shop, db: Database, stores: StoreRepository
) -> None:
    plugin = Plugin(shop, db, stores)
    name = shop.checkout([("BOARD-WALNUT", 2)], payment="card")
    order_id = number(order_gid(shop, name))

    assert plugin.handle(order_id).status == "hold"
    placed = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in placed["fulfillmentOrders"]["nodes"]] == ["ON_HOLD"]
    assert [t["kind"] for t in placed["transactions"]] == ["AUTHORIZATION"]  # nothing ships

    [line] = plugin.platform.get_order(order_id).lines
    plugin.allocate(line.ref.variant_id or "")
    assert plugin.releases.for_order(plugin.store_id, order_id) == []
    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], 2)
    plugin.allocate(line.ref.variant_id or "")

    [release] = plugin.releases.for_order(plugin.store_id, order_id)
    assert release.state == ReleaseState.DONE
    released = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in released["fulfillmentOrders"]["nodes"]] == ["OPEN"]
    assert [t["amountSet"]["shopMoney"]["amount"] for t in released["transactions"]] == [
        "90.0",
        "90.0",
    ]
    assert released["displayFinancialStatus"] == "PAID"


@pytest.mark.database("sqlite")  # the use cases' storage is covered on both elsewhere
def test_split_then_release_through_the_use_cases(
    shop: Shop, db: Database, stores: StoreRepository
) -> None:
    plugin = Plugin(shop, db, stores)
    platform, splits, releases = plugin.platform, plugin.splits, plugin.releases
    store_id = plugin.store_id
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))

    def split() -> Any:
        return plugin.handle(order_id)

    result = split()
    assert result.status == "split"
    [record] = splits.for_order(store_id, order_id)
    assert record.state == SplitState.DONE
    held_id = record.backorder_order_id
    assert held_id is not None and held_id.startswith("fo-")
    after = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in after["fulfillmentOrders"]["nodes"]] == ["ON_HOLD", "OPEN"]
    assert [t["amountSet"]["shopMoney"]["amount"] for t in after["transactions"]] == [
        "147.0",
        "12.0",
    ]
    assert "Backorders split this order" in after["note"]

    # The same event again (a retried webhook): nothing more is written.
    assert split().status == "ignored"
    assert view(shop, gid_of(order_id)) == after

    # Stock at the other location is not the fulfilling location's: nothing is released.
    board = next(line for line in platform.get_order(order_id).lines if line.sku == "BOARD-WALNUT")
    product = releases.parent_product(store_id, board.ref.variant_id or "")
    assert product == board.ref.product_id
    places = locations(shop)
    adjust(shop, "BOARD-WALNUT", next(i for n, i in places.items() if n != "Warehouse"), 5)

    def allocate() -> Any:
        return plugin.allocate(product)

    allocate()
    assert releases.for_order(store_id, held_id) == []
    assert view(shop, gid_of(order_id))["fulfillmentOrders"] == after["fulfillmentOrders"]

    adjust(shop, "BOARD-WALNUT", places["Warehouse"], 3)
    allocate()

    [release] = releases.for_order(store_id, held_id)
    assert release.state == ReleaseState.DONE
    released = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in released["fulfillmentOrders"]["nodes"]] == ["OPEN", "OPEN"]
    assert [t["amountSet"]["shopMoney"]["amount"] for t in released["transactions"]] == [
        "147.0",
        "12.0",
        "135.0",
    ]
    assert released["displayFinancialStatus"] == "PAID"
    allocate()  # again: nothing more
    assert view(shop, gid_of(order_id))["transactions"] == released["transactions"]
