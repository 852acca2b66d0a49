"""The Shopify shelf reads (the storefront widget's) on the sandbox as a real process: a product
with options lists its variants by variant number, each variant's stock and `inventoryPolicy`
come from the same single read, and products a shopper cannot open (draft, archived, not on the
online store) are answered None; each read's requested cost stays under Shopify's 1,000."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from plugin.core.model import ProductRef, StockFigure
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import gid, number
from plugin.platforms.shopify.shelf import PRODUCTS, VARIANT_BUDGET
from plugin.ports import ShelfItem
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests.integration.sandbox_shopify.conftest import Shop, running_shop

TOWEL = """query { products(first: 1, query: "title:Tea*") { nodes { id
  variants(first: 5) { nodes { id sku inventoryItem { id } } } } } }"""


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    """One sandbox for the module: the tests make products of their own and only read the
    seeded ones."""
    with running_shop() as running:
        yield running


def _platform(shop: Shop) -> ShopifyPlatform:
    return ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))


def _towel(shop: Shop) -> tuple[int, dict[str, tuple[int, str]]]:
    """The seeded Tea Towel's number, and per SKU (variant number, inventory item number)."""
    node = shop.data(TOWEL)["products"]["nodes"][0]
    variants = {
        v["sku"]: (int(number(v["id"])), number(v["inventoryItem"]["id"]))
        for v in node["variants"]["nodes"]
    }
    return int(number(node["id"])), variants


def _product(shop: Shop, title: str, **options: object) -> int:
    response = requests.post(
        f"{shop.url}/sandbox/shopify/products",
        json={"title": title, "variants": [{"sku": title.upper(), "policy": "CONTINUE"}]} | options,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return int(number(response.json()["id"]))


def test_a_product_with_options_and_its_variants_in_one_read(shop: Shop) -> None:
    towel, variants = _towel(shop)
    (red, red_item), (green, green_item) = variants["TOWEL-RED"], variants["TOWEL-GREEN"]
    platform = _platform(shop)

    product = platform.shelf_products([towel])[towel]
    chosen = platform.shelf_variations(towel, [red, green, 424242], [red, green])

    assert platform.calls == 1  # the variants came with the product
    assert product == ShelfItem(
        id=towel,
        figure=StockFigure(ProductRef(str(towel)), None),
        counted_in_stock=True,  # green has 5
        backorders_allowed=True,  # red is CONTINUE
        variation_ids=(red, green),
    )
    red_ref, green_ref = ProductRef(str(towel), red_item), ProductRef(str(towel), green_item)
    assert chosen == {
        red: ShelfItem(red, StockFigure(red_ref, 0), False, True, ref=red_ref),
        green: ShelfItem(green, StockFigure(green_ref, 5), False, False, ref=green_ref),
    }

    # Without the product's read (its variant ids cached by the widget): one read of its own.
    fresh = _platform(shop)
    assert fresh.shelf_variations(towel, [red, 424242], [red, green]) == {red: chosen[red]}
    assert fresh.calls == 1
    # Not among the public ids, or a variant of another product: not asked, or not answered.
    mug = int(number(shop.data('{ products(first: 1, query: "title:Blue*") { nodes { id } } }')[
        "products"]["nodes"][0]["id"]))  # fmt: skip
    assert fresh.shelf_variations(towel, [green], [red]) == {}
    assert fresh.calls == 1
    assert fresh.shelf_variations(mug, [red], [red]) == {}


def test_what_a_shopper_cannot_open_is_answered_none(shop: Shop) -> None:
    draft = _product(shop, "Draft chair", status="DRAFT")
    archived = _product(shop, "Old chair", status="ARCHIVED")
    unlisted = _product(shop, "Unlisted chair", online_store=False)
    listed = _product(shop, "Listed chair")
    towel, variants = _towel(shop)
    platform = _platform(shop)

    shelf = platform.shelf_products([draft, archived, unlisted, listed, towel, 999999])

    assert platform.calls == 1
    assert {p for p, item in shelf.items() if item is not None} == {listed, towel}
    assert sorted(shelf) == sorted([draft, archived, unlisted, listed, towel, 999999])
    # A variant's read checks its product too.
    variant = shop.data(
        "query($id: ID!) { product(id: $id) { variants(first: 1) { nodes { id } } } }",
        {"id": gid("Product", draft)},
    )["product"]["variants"]["nodes"][0]["id"]
    draft_variant = int(number(variant))
    assert _platform(shop).shelf_variations(draft, [draft_variant], [draft_variant]) == {}


@pytest.mark.parametrize("asked", [1, 7, 50])
def test_each_read_requests_less_than_shopifys_limit_per_query(shop: Shop, asked: int) -> None:
    ids = [gid("Product", 900000 + i) for i in range(asked)]
    first = max(1, min(100, VARIANT_BUDGET // asked))
    response = shop.gql(PRODUCTS, {"ids": ids, "first": first})
    cost = response.json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] <= 1000
