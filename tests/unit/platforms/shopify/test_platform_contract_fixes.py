"""Two answers of `ShopifyPlatform` the platform contract reads alike on every platform
(tests/contract/platform): our webhook subscriptions are those recorded or pointing at us, and a
product with only its default variant is a simple product, named alone."""

from __future__ import annotations

import json
from typing import Any

import responses

from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient

SHOP = "https://ada-mugs.myshopify.com"
ENDPOINT = f"{SHOP}/admin/api/2025-01/graphql.json"


def _answer(data: dict[str, Any]) -> dict[str, Any]:
    return {"method": "POST", "url": ENDPOINT, "json": {"data": data}}


def _subscription(number: int, url: str) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/WebhookSubscription/{number}",
        "topic": "ORDERS_UPDATED",
        "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": url},
    }


def test_our_webhooks_are_those_recorded_or_pointing_at_us() -> None:
    nodes = [
        _subscription(1, "https://backorders.example/webhooks/shopify/7"),
        _subscription(2, "https://another-app.example/hooks"),
        _subscription(3, "https://old.example/webhooks/shopify/7"),
    ]
    with responses.RequestsMock() as mocked:
        for _ in range(3):
            mocked.add(**_answer({"webhookSubscriptions": {"nodes": nodes}}))
        client = ShopifyClient(SHOP, "shpat_token")
        by_id = ShopifyPlatform(client, webhook_ids=(3,)).list_webhooks()
        by_url = ShopifyPlatform(client, public_url="https://backorders.example").list_webhooks()
        neither = ShopifyPlatform(client).list_webhooks()
    assert [(w.id, w.delivery_url) for w in by_id] == [
        ("3", "https://old.example/webhooks/shopify/7")
    ]
    assert [w.id for w in by_url] == ["1"]
    assert neither == []  # another app's subscription is not ours


def test_a_product_with_only_its_default_variant_is_named_alone() -> None:
    def product(number: int, only_default: bool, items: list[int]) -> dict[str, Any]:
        return {
            "id": f"gid://shopify/Product/{number}",
            "hasOnlyDefaultVariant": only_default,
            "variants": {"nodes": [
                {"id": f"gid://shopify/ProductVariant/{i}", "sku": "", "title": "",
                 "inventoryPolicy": "DENY", "inventoryQuantity": 0,
                 "inventoryItem": {"id": f"gid://shopify/InventoryItem/{i}", "tracked": True}}
                for i in items
            ]},
        }  # fmt: skip

    with responses.RequestsMock() as mocked:
        mocked.add(**_answer({"nodes": [product(10, True, [11]), product(20, False, [21, 22])]}))
        items = ShopifyPlatform(ShopifyClient(SHOP, "shpat_token")).expand_products([10, 20])
        sent = json.loads(mocked.calls[0].request.body)
    assert items == [(10, None), (20, None), (20, 21), (20, 22)]
    assert sent["variables"]["ids"] == ["gid://shopify/Product/10", "gid://shopify/Product/20"]
