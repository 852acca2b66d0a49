"""The merchant's products page for a Shopify store, against the Shopify sandbox served on
loopback: the store's products with their `inventoryPolicy`, searched and filtered in Shopify's
values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from plugin.adapters.sql.repositories import StoreRecord
from sandbox.shopify import schema
from sandbox.shopify.app import DEMO_ACCESS_TOKEN, DEMO_CUSTOM_SECRET
from sandbox.shopify.app import create_app as create_shop
from tests.functional.web.conftest import Merchant, alice, app, state  # noqa: F401 - fixtures
from tests.integration.connect.conftest import serve


@pytest.fixture
def shopify_store(app: Flask, alice: Merchant, tmp_path: Path) -> Iterator[StoreRecord]:  # noqa: F811
    if not schema.schema_path().is_file():
        pytest.skip(f"Shopify Admin schema not found at {schema.schema_path()}")
    shop = create_shop()
    try:
        with serve(shop) as url:
            yield state(app).stores.create(
                name="Sandbox shop",
                base_url=url,
                consumer_key="backorders-sandbox.myshopify.com",
                consumer_secret=DEMO_ACCESS_TOKEN,
                webhook_secret=DEMO_CUSTOM_SECRET,
                platform="shopify",
                merchant_id=alice.id,
            )
    finally:
        shop.extensions["shopify_sandbox"].deliverer.close()


def test_the_products_page_lists_a_shopify_stores_products(
    alice: Merchant,  # noqa: F811
    shopify_store: StoreRecord,
) -> None:
    path = f"/stores/{shopify_store.id}/products"
    response = alice.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert html.count('class="product"') == 5
    assert 'data-backorders="CONTINUE"' in html and 'data-backorders="DENY"' in html
    assert "Continue selling when out of stock" in html
    searched = alice.get(path, query_string={"q": "Walnut"}).get_data(as_text=True)
    assert searched.count('class="product"') == 1 and "Walnut Board" in searched
    denied = alice.get(path, query_string={"backorders": "DENY"}).get_data(as_text=True)
    assert denied.count('class="product"') == 3  # mug, apron, and the variable towel
