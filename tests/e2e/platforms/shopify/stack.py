"""What the Shopify end-to-end tests share: the stack (Redis, web, a worker; no WooCommerce
sandbox), the sandbox shop connected as a store, a card order split by the worker, and reading
the shop's captures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import run
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.connect import ShopifyConnection
from plugin.platforms.shopify.ids import number
from plugin.ports import SplitState
from sandbox.shopify.app import DEMO_ACCESS_TOKEN, DEMO_CUSTOM_SECRET
from tests.e2e.helpers import PluginDb, wait_for
from tests.integration.platforms.shopify.test_platform_sandbox import order_gid
from tests.integration.sandbox_shopify.conftest import Shop
from tests.processes import free_port

SHOP_DOMAIN = "backorders-sandbox.myshopify.com"


@contextlib.contextmanager
def running_stack(tmp_path: Path, extra_env: Mapping[str, str]) -> Iterator[run.Stack]:
    """Redis, migrations, web and one worker; no WooCommerce sandbox, no demo store (named
    apart from the WooCommerce tests' `stack`, whose checks expect that sandbox)."""
    supervisor = run.Supervisor(log_dir=tmp_path / "logs")
    stack = run.Stack(
        home=tmp_path / "home",
        port=free_port(),
        sandbox_port=free_port(),
        workers=1,
        supervisor=supervisor,
        extra_env={"LOG_LEVEL": "INFO", **extra_env},
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


def connect_shop(stack: run.Stack, plugin: PluginDb, shop: Shop) -> Any:
    """The sandbox shop as a store of the stack, with our subscriptions (the pasted token)."""
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
    return store


def split_card_order(plugin: PluginDb, store: Any, shop: Shop) -> tuple[str, str, str]:
    """A card checkout of a Blue Mug and three Walnut Boards, split by the worker: its name,
    order id and held part's id."""
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    shop.flush()
    held_id = split_done(plugin, store, order_id).backorder_order_id
    assert held_id is not None and held_id.startswith("fo-")
    return name, order_id, held_id


def split_done(plugin: PluginDb, store: Any, order_id: str) -> Any:
    """The order's one split record, once the worker has done it."""

    def done() -> Any:
        records = plugin.ledger.for_order(store.id, order_id)
        return records if records and records[0].state == SplitState.DONE else None

    [record] = wait_for(done, what="the split", timeout=60)
    return record


def plugin_releases(plugin: PluginDb) -> Any:
    from plugin.adapters.sql.releases import SqlReleaseLedger

    return SqlReleaseLedger(plugin.db)


def captured(order: Mapping[str, Any]) -> list[str]:
    """The amounts of an order's captures, oldest first."""
    return [
        t["amountSet"]["shopMoney"]["amount"]
        for t in order["transactions"]
        if t["kind"] == "CAPTURE"
    ]
