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
from plugin.platforms.shopify.connect import (
    SHOP_DOMAIN,
    OAuthInstall,
    ShopifyAppInstall,
    ShopifyConnectError,
    ShopifyConnection,
    shop_domain,
)
from plugin.platforms.shopify.linked import SPLIT_MODES
from plugin.platforms.shopify.mapping import STATUS_NAMES
from plugin.platforms.shopify.webhooks import ShopifyWebhooks
from plugin.ports import (
    AppCredentials,
    AppInstall,
    AppKeys,
    NonceClaims,
    Platform,
    PlatformDriver,
    StoreAccess,
    StoreConnection,
    Webhooks,
)


class ShopifyStoreConnection:
    """`plugin.ports.StoreConnection` over `ShopifyConnection` (subscription ids as numbers)."""

    def __init__(self, connection: ShopifyConnection, shop: str | None = None) -> None:
        """`shop`: the `*.myshopify.com` name the token must belong to (the consumer key)."""
        self.connection = connection
        self.shop = shop

    def check_credentials(self) -> None:
        """The token works, has our scopes, and is the named shop's: a token of another shop
        is refused (the shop's name is how compliance webhooks find the store)."""
        domain = self.connection.check_credentials()
        if self.shop is not None and domain.strip().lower() != self.shop.strip().lower():
            raise ShopifyConnectError(
                f"This access token belongs to {domain}, not to {self.shop}.",
                reason="wrong_shop",
            )

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
    split_modes: tuple[tuple[str, str], ...] = SPLIT_MODES
    account_page: str | None = "connect/shopify.html"
    account_label: str = "Shop"
    # An order has no note e-mailed to the customer (`ShopifyPlatform.add_note` logs one).
    customer_notes: bool = False
    # Not one figure: 5 requests in the held mode (adapter.py), more in the linked (linked.py).
    split_calls: int | None = None

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
        return ShopifyPlatform(
            client,
            public_url=access.public_url,
            split_mode=access.split_mode,
            webhook_ids=access.webhook_ids,
        )

    def connection(
        self, base_url: str, consumer_key: str, consumer_secret: str, *, allow_private: bool
    ) -> StoreConnection:
        """A shop being connected with its access token (`consumer_secret`); `consumer_key` is
        the shop's `*.myshopify.com` name, which the token must belong to."""
        shop = consumer_key if SHOP_DOMAIN.fullmatch(consumer_key.strip().lower()) else None
        return ShopifyStoreConnection(
            ShopifyConnection(
                ShopifyClient(base_url, consumer_secret, allow_private_addresses=allow_private)
            ),
            shop,
        )

    def authorize_url(
        self, store_url: str, *, state: str, return_url: str, callback_url: str
    ) -> str:
        # Shopify's grant redirects back with a code instead of posting keys: connect.py
        # `OAuthInstall`, behind `app_install` (web/app_connect.py).
        raise ConnectError(
            "Shopify shops are installed on the Shopify connect page",
            reason="oauth_not_offered",
        )

    def parse_app_keys(self, body: object) -> AppKeys:
        raise ConnectError(
            "Shopify does not post keys to a callback (it redirects with a code)",
            reason="oauth_not_offered",
        )

    def account_name(self, typed: str) -> str:
        """The shop's `*.myshopify.com` name (ShopifyConnectError for anything else)."""
        return shop_domain(typed)

    def app_install(
        self, app: AppCredentials, nonces: NonceClaims, *, allow_private: bool
    ) -> AppInstall:
        """Our public app's OAuth install (connect.py `OAuthInstall`), its state nonces claimed
        in `nonces`."""
        if not app.is_configured:
            raise ShopifyConnectError(
                "Installing with OAuth needs the Shopify app's SHOPIFY_CLIENT_ID and "
                "SHOPIFY_CLIENT_SECRET; paste a custom app's token instead.",
                reason="oauth_not_configured",
            )
        return ShopifyAppInstall(
            OAuthInstall(
                app.client_id,
                app.client_secret,
                nonces,
                shop_url=app.base_url,
                allow_private_addresses=allow_private,
            )
        )

    def eligible_choices(self) -> tuple[tuple[str, str], ...]:
        """The statuses a merchant may make eligible, in Shopify's words."""
        return tuple((str(status), STATUS_NAMES[status]) for status in (Status.NEW, Status.ON_HOLD))


# Typed as the port: mypy checks that the driver, and so the adapter, implements it.
SHOPIFY: PlatformDriver = ShopifyDriver()
