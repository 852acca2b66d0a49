"""WooCommerce as one of our platforms: what the registry keys by `stores.platform`."""

from __future__ import annotations

from plugin.platforms.by_keys import ConnectedByKeys
from plugin.platforms.woocommerce.adapter import SPLIT_CALLS, WooCommercePlatform
from plugin.platforms.woocommerce.catalogue import BACKORDER_CHOICES, STOCK_STATUSES
from plugin.platforms.woocommerce.client import WooCommerceClient, kept_session
from plugin.platforms.woocommerce.connect import (
    WooCommerceConnection,
    build_authorize_url,
    parse_app_keys,
)
from plugin.platforms.woocommerce.statuses import ELIGIBLE_CHOICES
from plugin.platforms.woocommerce.webhooks import WooCommerceWebhooks
from plugin.ports import AppKeys, Platform, PlatformDriver, StoreAccess, StoreConnection, Webhooks


class WooCommerceDriver(ConnectedByKeys):
    """`plugin.ports.PlatformDriver` for WooCommerce stores (REST API v3 and its webhooks)."""

    name: str = "woocommerce"
    label: str = "WooCommerce"
    webhooks: Webhooks = WooCommerceWebhooks()
    stock_statuses: tuple[str, ...] = STOCK_STATUSES
    backorder_choices: tuple[tuple[str, str], ...] = BACKORDER_CHOICES
    split_modes: tuple[tuple[str, str], ...] = ()  # always a separate backorder order
    customer_notes: bool = True  # a customer note is e-mailed to the buyer (add_note)
    split_calls: int | None = SPLIT_CALLS

    def open(self, access: StoreAccess) -> Platform:
        """The store's platform over a REST client behind `access.throttle`."""
        client = WooCommerceClient(
            access.base_url,
            access.consumer_key,
            access.consumer_secret,
            timeout=access.timeout,
            session=kept_session(access.base_url, access.allow_private_addresses),
            throttle=access.throttle,
            allow_private_addresses=access.allow_private_addresses,
        )
        return WooCommercePlatform(
            client, webhook_ids=access.webhook_ids, public_url=access.public_url
        )

    def connection(
        self, base_url: str, consumer_key: str, consumer_secret: str, *, allow_private: bool
    ) -> StoreConnection:
        """A store being connected; outside development it is reached at public addresses
        only, checked on every connection (client.py)."""
        return WooCommerceConnection(
            WooCommerceClient(
                base_url, consumer_key, consumer_secret, allow_private_addresses=allow_private
            )
        )

    def authorize_url(
        self, store_url: str, *, state: str, return_url: str, callback_url: str
    ) -> str:
        return build_authorize_url(
            store_url, state=state, return_url=return_url, callback_url=callback_url
        )

    def parse_app_keys(self, body: object) -> AppKeys:
        return parse_app_keys(body)

    def eligible_choices(self) -> tuple[tuple[str, str], ...]:
        return tuple((str(status), label) for status, label in ELIGIBLE_CHOICES)


# Typed as the port: mypy checks that the driver, and so the adapter, implements it.
WOOCOMMERCE: PlatformDriver = WooCommerceDriver()
