"""Shopify as one of our platforms: what the registry keys by `stores.platform`.

A Shopify store row keeps the shop's base URL (`https://<shop>.myshopify.com`; the sandbox's
loopback address in development), its `*.myshopify.com` name as the consumer key, the Admin API
access token as the consumer secret, and as webhook secret the app's client secret, with which
Shopify signs every delivery.
"""

from __future__ import annotations

from collections.abc import Iterable

from plugin.core.model import Status
from plugin.errors import ConnectError
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.catalogue import BACKORDER_CHOICES, STOCK_STATUSES
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.connect import ShopifyConnection
from plugin.platforms.shopify.mapping import STATUS_NAMES
from plugin.platforms.shopify.webhooks import ShopifyWebhooks
from plugin.ports import AppKeys, Platform, PlatformDriver, StoreAccess, StoreConnection, Webhooks


class ShopifyStoreConnection:
    """`plugin.ports.StoreConnection` over `ShopifyConnection` (subscription ids as numbers)."""

    def __init__(self, connection: ShopifyConnection) -> None:
        self.connection = connection

    def check_credentials(self) -> None:
        self.connection.check_credentials()

    def register_webhooks(self, *, delivery_url: str, secret: str) -> list[int]:
        """Shopify signs deliveries with the app's secret, not one we choose: `secret` is the
        app's, recorded by the caller."""
        return [int(i) for i in self.connection.register_webhooks(delivery_url=delivery_url)]

    def delete_webhooks(self, webhook_ids: Iterable[int]) -> list[int]:
        return [int(i) for i in self.connection.delete_webhooks(webhook_ids)]

    def webhooks_intact(self, webhook_ids: Iterable[int], delivery_url: str) -> bool:
        return self.connection.webhooks_intact(webhook_ids, delivery_url)


class ShopifyDriver:
    """`plugin.ports.PlatformDriver` for Shopify shops (Admin GraphQL 2025-01 and webhooks)."""

    name: str = "shopify"
    label: str = "Shopify"
    webhooks: Webhooks = ShopifyWebhooks()
    stock_statuses: tuple[str, ...] = STOCK_STATUSES
    backorder_choices: tuple[tuple[str, str], ...] = BACKORDER_CHOICES

    def open(self, access: StoreAccess) -> Platform:
        """The shop's platform over a GraphQL client behind the store's shared limiter."""
        client = ShopifyClient(
            access.base_url,
            access.consumer_secret,
            timeout=access.timeout,
            throttle=access.throttle,
            pause=access.pause,
            allow_private_addresses=access.allow_private_addresses,
        )
        return ShopifyPlatform(client, public_url=access.public_url)

    def connection(
        self, base_url: str, consumer_key: str, consumer_secret: str, *, allow_private: bool
    ) -> StoreConnection:
        """A shop being connected with a pasted custom-app token (`consumer_secret`)."""
        return ShopifyStoreConnection(
            ShopifyConnection(
                ShopifyClient(base_url, consumer_secret, allow_private_addresses=allow_private)
            )
        )

    def authorize_url(
        self, store_url: str, *, state: str, return_url: str, callback_url: str
    ) -> str:
        # connect.py `OAuthInstall` does Shopify's grant; the connect pages do not offer it yet.
        raise ConnectError(
            "Shopify shops are connected with a custom app's access token for now",
            reason="oauth_not_offered",
        )

    def parse_app_keys(self, body: object) -> AppKeys:
        raise ConnectError(
            "Shopify does not post keys to a callback (it redirects with a code)",
            reason="oauth_not_offered",
        )

    def eligible_choices(self) -> tuple[tuple[str, str], ...]:
        """The statuses a merchant may make eligible, in Shopify's words."""
        return tuple((str(status), STATUS_NAMES[status]) for status in (Status.NEW, Status.ON_HOLD))


# Typed as the port: mypy checks that the driver, and so the adapter, implements it.
SHOPIFY: PlatformDriver = ShopifyDriver()
