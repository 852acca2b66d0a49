"""A Shopify store opened as every process opens a store (`Registry.for_store`), against the
sandbox process and a real Redis: its requests take slots of the store's limiter, and a
THROTTLED answer pauses that limiter for every worker until the bucket holds the request."""

from __future__ import annotations

import pytest
import redis

from plugin.adapters.sql.stores import StoreRepository
from plugin.platforms.registry import Registry
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.ids import number
from sandbox.shopify.app import DEMO_ACCESS_TOKEN, DEMO_CUSTOM_SECRET
from tests.integration.platforms.shopify.test_platform_sandbox import order_gid
from tests.integration.sandbox_shopify.conftest import running_shop


@pytest.mark.database("sqlite")  # the limiter and the sandbox are under test, not storage
def test_registry_opens_a_shopify_store_behind_its_limiter(
    stores: StoreRepository, redis_client: redis.Redis
) -> None:
    with running_shop("--bucket-size", "200", "--restore-rate", "5") as shop:
        store = stores.create(
            name="Sandbox shop",
            base_url=shop.url,
            consumer_key="backorders-sandbox.myshopify.com",
            consumer_secret=DEMO_ACCESS_TOKEN,
            webhook_secret=DEMO_CUSTOM_SECRET,
            platform="shopify",
            api_rate_limit=20.0,
        )
        name = shop.checkout([("MUG-BLUE", 1)])
        registry = Registry(redis_client, stores, allow_private_addresses=True)

        platform, limiter = registry.for_store(store)

        assert isinstance(platform, ShopifyPlatform)
        assert limiter.paused_for() == 0.0
        order = platform.get_order(number(order_gid(shop, name)))
        assert order.number == name
        assert redis_client.exists(limiter.bucket_key) == 1  # the request took a slot
        # An order read asks for 149 points and spends about 30: the third read in a row
        # finds too few of the 200 and is THROTTLED; every worker is paused until the bucket
        # holds 149 again, and the read then succeeds.
        client = platform.client
        platform.get_order(order.id)
        platform.get_order(order.id)
        assert client.throttled == 1
        assert redis_client.exists(limiter.pause_key) == 1
        assert client.calls == 4
