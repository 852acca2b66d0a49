"""The Shopify catalogue on the sandbox process: products and variants as the products page
lists them, the bulk backorder setting (`inventoryPolicy`), customers and order summaries."""

from __future__ import annotations

import pytest

from plugin.core.model import ProductRef, Status
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import number
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests.integration.platforms.shopify.test_platform_sandbox import order_gid
from tests.integration.sandbox_shopify.conftest import Shop


@pytest.fixture
def platform(shop: Shop) -> ShopifyPlatform:
    return ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))


def test_products_and_variants_as_the_products_page_lists_them(
    platform: ShopifyPlatform,
) -> None:
    products = platform.list_products(search="", stock_status="", backorders="", limit=20)
    by_name = {p.name: p for p in products}
    assert sorted(by_name) == [
        "Blue Mug",
        "Copper Kettle",
        "Linen Apron",
        "Tea Towel",
        "Walnut Board",
    ]
    mug = by_name["Blue Mug"]
    assert (mug.sku, mug.manage_stock, mug.stock_quantity, mug.stock_status, mug.backorders) == (
        "MUG-BLUE",
        True,
        12,
        "in_stock",
        "DENY",
    )
    assert by_name["Walnut Board"].backorders == "CONTINUE"
    assert by_name["Tea Towel"].variable is True
    continuing = platform.list_products(
        search="", stock_status="out_of_stock", backorders="CONTINUE", limit=20
    )
    assert [p.name for p in continuing if not p.variable] == ["Walnut Board"]
    assert [
        p.name
        for p in platform.list_products(search="copper", stock_status="", backorders="", limit=20)
    ] == ["Copper Kettle"]
    towels = platform.list_variations(by_name["Tea Towel"].id, limit=10)
    assert [(v.sku, v.backorders) for v in towels] == [
        ("TOWEL-RED", "CONTINUE"),
        ("TOWEL-GREEN", "DENY"),
    ]


def test_bulk_backorder_setting_per_product_and_variant(platform: ShopifyPlatform) -> None:
    products = platform.list_products(search="", stock_status="", backorders="", limit=20)
    apron = next(p for p in products if p.name == "Linen Apron")
    towel = next(p for p in products if p.name == "Tea Towel")
    green = next(v for v in platform.list_variations(towel.id, limit=10) if v.sku == "TOWEL-GREEN")
    expanded = platform.expand_products([apron.id, towel.id])
    # The apron has only its default variant: a simple product, named alone (ports.py).
    towels = [(towel.id, v.id) for v in platform.list_variations(towel.id, limit=10)]
    assert expanded == [(apron.id, None), (towel.id, None), *towels] and len(towels) == 2

    outcomes = [
        o
        for group in platform.write_backorders([(apron.id, None), (towel.id, green.id)], "CONTINUE")
        for o in group
    ]
    assert [(o.product_id, o.variation_id, o.ok) for o in outcomes] == [
        (apron.id, None, True),
        (towel.id, green.id, True),
    ]
    after = {
        p.name: p.backorders
        for p in platform.list_products(search="", stock_status="", backorders="", limit=20)
    }
    assert after["Linen Apron"] == "CONTINUE"
    assert [v.backorders for v in platform.list_variations(towel.id, limit=10)] == [
        "CONTINUE",
        "CONTINUE",
    ]
    calls = platform.calls
    platform.set_backorders(ProductRef(str(apron.id)), "CONTINUE")  # already: no write
    assert platform.calls == calls + 1
    platform.set_backorders(ProductRef(str(apron.id)), "DENY")
    assert {
        p.name: p.backorders
        for p in platform.list_products(search="linen", stock_status="", backorders="", limit=5)
    } == {"Linen Apron": "DENY"}


def test_customers_and_order_summaries(shop: Shop, platform: ShopifyPlatform) -> None:
    name = shop.checkout([("MUG-BLUE", 1)])
    order_id = number(order_gid(shop, name))
    [ada] = platform.list_customers(search="email:ada@example.com", limit=5)
    assert (ada.first_name, ada.last_name, ada.email) == ("Ada", "Lovelace", "ada@example.com")
    summaries = platform.order_summaries([order_id, "999999999", "fo-999999999"])
    assert list(summaries) == [order_id]
    summary = summaries[order_id]
    assert (summary.number, summary.status, summary.customer) == (
        name,
        Status.NEW,
        "ada@example.com",
    )
    assert list(summary.lines.values()) == ["Blue Mug"]
    assert platform.order_admin_url(order_id) == f"{shop.url}/admin/orders/{order_id}"
