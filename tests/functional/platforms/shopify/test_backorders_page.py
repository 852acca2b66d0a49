"""The backorders page of a Shopify store, against the Shopify sandbox served on loopback: with
"Show what free stock covers" (`?stock=1`), a waiting line whose product has units at another
location than the one fulfilling its order is marked blue, with how many (Tallemu's mark);
stock at the fulfilling location is not that mark."""

from __future__ import annotations

import html
from typing import Any

from flask import Flask

from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import Policies
from plugin.core.serialize import plan_to_dict
from plugin.core.split import plan_split
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import number
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests.functional.platforms.shopify.test_products_page import (  # noqa: F401 - fixtures
    shopify_shop,
)
from tests.functional.web.conftest import (  # noqa: F401 - fixtures
    Merchant,
    alice,
    app,
    state,
    worker_env,
)
from tests.integration.platforms.shopify.test_platform_sandbox import adjust, locations, order_gid
from tests.integration.sandbox_shopify.conftest import Shop


def split_in_the_shop(app: Flask, store: StoreRecord, shop: Shop) -> tuple[str, str]:  # noqa: F811
    """A card checkout of a mug and three boards, split (the boards held at the Warehouse) and
    recorded in the split ledger as the worker does; the order's name and held part's id."""
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    order = platform.get_order(order_id)
    plan = plan_split(order, platform.get_stock(order), Policies())
    held_id = platform.write_split(order, plan, backorder_order_id=None)
    ledger = SqlSplitLedger(state(app).db)
    assert plan.split_key is not None
    ledger.start(store.id, order_id, plan.split_key, plan_to_dict(plan))
    ledger.advance(store.id, plan.split_key, "done", backorder_order_id=held_id)
    return name, held_id


def board_row(page: str, held_id: str) -> str:
    start = page.index(f'data-backorder="{held_id}"')
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


def test_stock_at_another_location_is_marked_blue_with_its_units(
    app: Flask,  # noqa: F811
    alice: Merchant,  # noqa: F811
    shopify_shop: tuple[StoreRecord, Any],  # noqa: F811
) -> None:
    store, _sandbox = shopify_shop
    shop = Shop(store.base_url)
    _name, held_id = split_in_the_shop(app, store, shop)
    url = f"/stores/{store.id}/backorders?stock=1"

    nothing_elsewhere = alice.get(url).get_data(as_text=True)
    row = board_row(nothing_elsewhere, held_id)
    assert "elsewhere" not in row and "at another location" not in row
    assert "elsewhere-legend" not in nothing_elsewhere

    adjust(shop, "BOARD-WALNUT", locations(shop)["Shop floor"], 5)
    page = html.unescape(alice.get(url).get_data(as_text=True))
    row = board_row(page, held_id)
    assert 'class="backorder-line elsewhere"' in row
    assert "5 at another location" in row
    assert "(blue: stock at another location than the one fulfilling the order" in page
    # Without ?stock=1 the store's stock is not read, and nothing is marked.
    plain = alice.get(f"/stores/{store.id}/backorders").get_data(as_text=True)
    assert "at another location" not in board_row(plain, held_id)

    # Stock arriving at the fulfilling location is free stock (green), not the blue mark.
    adjust(shop, "BOARD-WALNUT", locations(shop)["Shop floor"], -5)
    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], 3)
    row = board_row(alice.get(url).get_data(as_text=True), held_id)
    assert "at another location" not in row and "elsewhere" not in row


def test_a_held_part_shows_its_order_number_product_customer_and_status(
    app: Flask,  # noqa: F811
    alice: Merchant,  # noqa: F811
    shopify_shop: tuple[StoreRecord, Any],  # noqa: F811
) -> None:
    """Shopify's held parts have ids like `fo-10000000031`: the page read them as no order at
    all (only digits were taken for order ids), so the row had no customer, "Product <id> /
    <id>" for the product, status "unknown" and the original's id for its number."""
    store, _sandbox = shopify_shop
    shop = Shop(store.base_url)
    name, held_id = split_in_the_shop(app, store, shop)
    summary = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN)).order_summaries(
        [held_id]
    )[held_id]

    row = board_row(
        html.unescape(alice.get(f"/stores/{store.id}/backorders").get_data(as_text=True)), held_id
    )

    # Shopify's held fulfillment order, in the merchant's words (not the core's `new_backorder`).
    assert summary.customer and summary.store_status == "On hold (waiting for stock)"
    cells = [cell.split(">", 1)[1] for cell in row.split("<td")[1:]]
    assert f">#{name}</a>" in cells[0], cells[0]
    assert f"<td>{summary.customer}</td><td>Walnut Board</td>" in row
    assert f'<td class="status" data-label="Status">{summary.store_status}</td>' in row
    # Its line can be cancelled from the page (the link looked for WooCommerce's `on-hold`).
    assert f'href="/stores/{store.id}/orders/{held_id}/lines/' in row
    assert 'class="cancel-line">Cancel…</a>' in row
