"""The merchant's products page for a Shopify store, against the Shopify sandbox served on
loopback: the store's products with their `inventoryPolicy`, searched and filtered in Shopify's
values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from flask import Flask
from rq.serializers import JSONSerializer

from plugin.adapters.queue.inprocess import InProcessWorker
from plugin.adapters.queue.jobs import event_queue
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import ProductPolicy, ProductRef
from sandbox.shopify import schema
from sandbox.shopify.app import DEMO_ACCESS_TOKEN, DEMO_CUSTOM_SECRET
from sandbox.shopify.app import create_app as create_shop
from tests.functional.web.conftest import (  # noqa: F401 - fixtures
    Merchant,
    alice,
    app,
    state,
    worker_env,
)
from tests.integration.connect.conftest import serve


@pytest.fixture
def shopify_shop(app: Flask, alice: Merchant) -> Iterator[tuple[StoreRecord, Any]]:  # noqa: F811
    """A Shopify store of alice's on the Shopify sandbox served on loopback, and the sandbox."""
    if not schema.schema_path().is_file():
        pytest.skip(f"Shopify Admin schema not found at {schema.schema_path()}")
    shop = create_shop()
    try:
        with serve(shop) as url:
            store = state(app).stores.create(
                name="Sandbox shop",
                base_url=url,
                consumer_key="backorders-sandbox.myshopify.com",
                consumer_secret=DEMO_ACCESS_TOKEN,
                webhook_secret=DEMO_CUSTOM_SECRET,
                platform="shopify",
                merchant_id=alice.id,
            )
            yield store, shop
    finally:
        shop.extensions["shopify_sandbox"].deliverer.close()


@pytest.fixture
def shopify_store(shopify_shop: tuple[StoreRecord, Any]) -> StoreRecord:
    return shopify_shop[0]


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


def _policies(shop_app: Any, title: str) -> list[str]:
    """The `inventoryPolicy` of each variant of the sandbox shop's product called `title`."""
    shop = shop_app.extensions["shopify_sandbox"].shop
    with shop.request(write=False):
        [product] = [p for p in shop.table("products").values() if p["title"] == title]
        return sorted(
            v["inventoryPolicy"]
            for v in shop.table("variants").values()
            if v["_product"] == product["id"]
        )


def _product_id(html: str, title: str) -> int:
    match = re.search(rf'data-product-id="(\d+)"[^>]*>\s*(?:<[^>]+>\s*)*{title}', html)
    assert match, title
    return int(match.group(1))


def test_saving_a_shopify_product_writes_its_inventory_policy(
    app: Flask,  # noqa: F811
    alice: Merchant,  # noqa: F811
    shopify_shop: tuple[StoreRecord, Any],
) -> None:
    store, shop_app = shopify_shop
    path = f"/stores/{store.id}/products"
    board = _product_id(alice.get(path, query_string={"q": "Walnut"}).get_data(as_text=True),
                        "Walnut Board")  # fmt: skip
    refused = alice.post(
        f"{path}/{board}",
        {"backorders": "yes", "cap": "", "expected_date": "", "message": ""},
        token_from=path,
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert (
        '<span class="field-error" data-field="backorders">Must be one of: DENY, CONTINUE.' in html
    )
    assert _policies(shop_app, "Walnut Board") == ["CONTINUE"]
    assert SqlPolicyStore(state(app).db).product_policies(store.id) == []

    saved = alice.post(
        f"{path}/{board}",
        {"backorders": "DENY", "cap": "3", "expected_date": "", "message": "Kiln"},
        token_from=path,
    )
    assert saved.status_code == 303, saved.get_data(as_text=True)
    assert _policies(shop_app, "Walnut Board") == ["DENY"]
    assert SqlPolicyStore(state(app).db).product_policies(store.id) == [
        ProductPolicy(ProductRef(str(board)), None, 3, None, "Kiln")
    ]


def test_the_bulk_job_sets_every_variant_of_a_shopify_store(
    app: Flask,  # noqa: F811
    alice: Merchant,  # noqa: F811
    shopify_shop: tuple[StoreRecord, Any],
    redis_client: redis.Redis,  # noqa: F811
    worker_env: None,  # noqa: F811
) -> None:
    store, shop_app = shopify_shop
    path = f"/stores/{store.id}/products"
    response = alice.post(
        f"{path}/bulk", {"value": "CONTINUE", "backorders": "DENY"}, token_from=path
    )
    assert response.status_code == 303
    job_id = parse_qs(urlsplit(response.headers["Location"]).query)["job"][0]
    worker = InProcessWorker(
        [event_queue(redis_client)], connection=redis_client, serializer=JSONSerializer
    )
    assert worker.work(burst=True) is True
    status = alice.get(f"{path}/bulk/{job_id}").get_json()
    assert (status["status"], status["failed"]) == ("finished", 0), status
    for title in ("Blue Mug", "Linen Apron"):
        assert set(_policies(shop_app, title)) == {"CONTINUE"}, title
    refused = alice.post(f"{path}/bulk", {"value": "yes"}, token_from=path)
    assert refused.status_code == 303
    assert "job=" not in refused.headers["Location"]
