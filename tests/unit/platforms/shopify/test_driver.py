"""The Shopify driver as the registry gives it: opening a store, its deliveries' guards, its
statuses and choices."""

from __future__ import annotations

import json

import pytest

from plugin.core.model import Status
from plugin.errors import ConnectError
from plugin.platforms.registry import Registry
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.driver import SHOPIFY
from plugin.platforms.shopify.webhooks import sign
from plugin.ports import DeliveryTopic, Rejected, StoreAccess, Topic


class Delivery:
    def __init__(self, body: bytes, **headers: str) -> None:
        self.body = body
        self._headers = {f"x-shopify-{k.replace('_', '-')}".lower(): v for k, v in headers.items()}

    def header(self, name: str) -> str | None:
        return self._headers.get(name.lower())


def test_the_registry_knows_shopify() -> None:
    registry = Registry(None, None)
    assert registry.driver("shopify") is SHOPIFY
    assert "shopify" in registry.names()


def test_open_gives_the_shops_platform_behind_the_stores_limiter() -> None:
    taken: list[str] = []
    access = StoreAccess(
        store_id=3,
        base_url="https://ada-mugs.myshopify.com",
        consumer_key="ada-mugs.myshopify.com",
        consumer_secret="shpat_secret",
        throttle=lambda: taken.append("slot"),
        pause=lambda seconds: taken.append(f"pause {seconds}"),
        timeout=12.0,
        public_url="https://backorders.example",
    )
    platform = SHOPIFY.open(access)
    assert isinstance(platform, ShopifyPlatform)
    client = platform.client
    assert client.endpoint == "https://ada-mugs.myshopify.com/admin/api/2025-01/graphql.json"
    assert client._token == "shpat_secret"  # noqa: SLF001 - the token the store row holds
    assert client.timeout == 12.0
    assert client.throttle is access.throttle and client.pause is access.pause
    assert platform.public_url == "https://backorders.example"
    assert taken == []  # opening sends nothing


def test_deliveries_are_verified_topic_mapped_and_parsed() -> None:
    body = json.dumps(
        {"id": 7, "updated_at": "2025-01-10T11:00:00Z", "financial_status": "authorized"}
    ).encode()
    hooks = SHOPIFY.webhooks
    delivery = Delivery(body, topic="orders/updated", hmac_sha256=sign("s3cret", body))
    assert hooks.is_ping(delivery) is False
    assert hooks.verify("s3cret", delivery) is True
    assert hooks.verify("other", delivery) is False
    assert hooks.verify("s3cret", Delivery(body + b" ", hmac_sha256=sign("s3cret", body))) is False
    assert hooks.topic(delivery) == DeliveryTopic("orders/updated", Topic.ORDER_UPDATED, False)
    assert hooks.topic(Delivery(body, topic="shop/redact")) == DeliveryTopic(
        "shop/redact", None, True
    )
    assert hooks.topic(Delivery(body, topic="carts/create")) == DeliveryTopic(
        "carts/create", None, False
    )
    # app/uninstalled names its shop (the body's, which the header must agree with).
    shop_body = b'{"id": 1, "myshopify_domain": "ada-mugs.myshopify.com"}'
    assert hooks.topic(
        Delivery(shop_body, topic="app/uninstalled", shop_domain="ada-mugs.myshopify.com")
    ) == DeliveryTopic("app/uninstalled", None, False, "ada-mugs.myshopify.com")
    with pytest.raises(Rejected) as other_shop:
        hooks.topic(Delivery(shop_body, topic="app/uninstalled", shop_domain="eve.myshopify.com"))
    assert (other_shop.value.status, other_shop.value.reason) == (
        400,
        "the body and X-Shopify-Shop-Domain name different shops",
    )
    state = hooks.parse(Topic.ORDER_UPDATED, delivery)
    assert (state.resource_id, state.modified_gmt.isoformat()) == ("7", "2025-01-10T11:00:00+00:00")
    with pytest.raises(Rejected) as missing:
        hooks.topic(Delivery(body))
    assert missing.value.status == 400
    with pytest.raises(Rejected) as bad:
        hooks.parse(Topic.ORDER_UPDATED, Delivery(b"{}", topic="orders/updated"))
    assert (bad.value.status, bad.value.reason) == (400, "id is not a positive integer")


def test_statuses_choices_and_connect() -> None:
    assert SHOPIFY.eligible_choices() == (
        ("new", "Unfulfilled / partially fulfilled"),
        ("on_hold", "On hold"),
    )
    assert str(Status.NEW) == "new"
    assert SHOPIFY.backorder_choices[1][0] == "CONTINUE"
    with pytest.raises(ConnectError) as raised:
        SHOPIFY.authorize_url(
            "https://a.myshopify.com", state="s", return_url="r", callback_url="c"
        )
    assert raised.value.reason == "oauth_not_offered"
