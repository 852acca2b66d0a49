"""A Shopify shop end to end with real processes on loopback: the Shopify sandbox, Redis, the web
app and a worker (run.py's own process management). A card checkout with an in-stock and an
out-of-stock line arrives as Shopify's signed webhook and is split: the backordered units held
on their fulfillment order, what ships captured. Stock arriving at another location releases
nothing; stock arriving at the fulfilling location sends `inventory_levels/update`, and the hold
is released and the rest captured."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import run
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.connect import ShopifyConnection
from plugin.platforms.shopify.ids import number
from plugin.ports import ReleaseState, SplitState
from sandbox.shopify.app import DEMO_ACCESS_TOKEN, DEMO_CUSTOM_SECRET
from tests.e2e.helpers import PluginDb, wait_for
from tests.integration.platforms.shopify.test_platform_sandbox import (
    adjust,
    gid_of,
    locations,
    order_gid,
    view,
)
from tests.integration.sandbox_shopify.conftest import Shop, running_shop
from tests.processes import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite")]  # a whole stack: one database

SHOP_DOMAIN = "backorders-sandbox.myshopify.com"


@pytest.fixture
def shopify_stack(tmp_path: Path) -> Iterator[run.Stack]:
    """Redis, migrations, web and one worker; no WooCommerce sandbox, no demo store (named
    apart from the WooCommerce tests' `stack`, whose checks expect that sandbox)."""
    supervisor = run.Supervisor(log_dir=tmp_path / "logs")
    stack = run.Stack(
        home=tmp_path / "home",
        port=free_port(),
        sandbox_port=free_port(),
        workers=1,
        supervisor=supervisor,
        extra_env={"LOG_LEVEL": "INFO"},
    )
    from plugin.adapters.files import private_folder

    try:
        private_folder(stack.home, tighten=True)
        stack.start_redis()
        stack.migrate()
        stack.start_web()
        stack.start_worker()
        yield stack
    finally:
        left = supervisor.stop_all()
        assert [c.name for c in left] == []


@pytest.fixture
def shop() -> Iterator[Shop]:
    with running_shop() as running:
        yield running


def test_checkout_split_then_stock_arrives_and_the_rest_is_captured(
    shopify_stack: run.Stack, shop: Shop
) -> None:
    stack = shopify_stack
    plugin = PluginDb(stack.config())
    store = plugin.stores.create(
        name="Sandbox shop",
        base_url=shop.url,
        consumer_key=SHOP_DOMAIN,
        consumer_secret=DEMO_ACCESS_TOKEN,
        webhook_secret=DEMO_CUSTOM_SECRET,  # the custom app's secret signs its deliveries
        platform="shopify",
    )
    delivery_url = f"{stack.web_url}/webhooks/shopify/{store.id}"
    ids = ShopifyConnection(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN)).register_webhooks(
        delivery_url=delivery_url
    )
    plugin.stores.update(store.id, webhook_ids=[int(i) for i in ids])

    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    shop.flush()

    def split_done() -> Any:
        records = plugin.ledger.for_order(store.id, order_id)
        return records if records and records[0].state == SplitState.DONE else None

    [record] = wait_for(split_done, what="the split", timeout=60)
    held_id = record.backorder_order_id
    assert held_id is not None and held_id.startswith("fo-")
    after = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in after["fulfillmentOrders"]["nodes"]] == ["ON_HOLD", "OPEN"]
    assert [t["amountSet"]["shopMoney"]["amount"] for t in after["transactions"]] == [
        "147.0",
        "12.0",
    ]
    assert sorted(after["tags"]) == sorted(["backorder", f"#{name}-001"])

    places = locations(shop)
    adjust(shop, "BOARD-WALNUT", next(i for n, i in places.items() if n != "Warehouse"), 5)
    shop.flush()
    wait_for(plugin.events_finished, what="the other location's stock event", timeout=30)
    assert view(shop, gid_of(order_id))["fulfillmentOrders"] == after["fulfillmentOrders"]

    adjust(shop, "BOARD-WALNUT", places["Warehouse"], 3)
    shop.flush()

    def released() -> Any:
        found = [
            r
            for r in plugin_releases(plugin).for_order(store.id, held_id)
            if r.state == ReleaseState.DONE
        ]
        return found or None

    wait_for(released, what="the release", timeout=60)
    final = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in final["fulfillmentOrders"]["nodes"]] == ["OPEN", "OPEN"]
    assert [t["amountSet"]["shopMoney"]["amount"] for t in final["transactions"]] == [
        "147.0",
        "12.0",
        "135.0",
    ]
    assert final["displayFinancialStatus"] == "PAID"
    # Shopify retries and duplicates change nothing: one split, one release.
    assert len(plugin.ledger.for_order(store.id, order_id)) == 1


def plugin_releases(plugin: PluginDb) -> Any:
    from plugin.adapters.sql.releases import SqlReleaseLedger

    return SqlReleaseLedger(plugin.db)
