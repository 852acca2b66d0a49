"""The toy shop as one of our platforms: what a registry keys by `stores.platform`."""

from __future__ import annotations

from urllib.parse import urlencode

from plugin.core.model import Status
from plugin.platforms.by_keys import ConnectedByKeys
from plugin.ports import AppKeys, Platform, PlatformDriver, StoreAccess, StoreConnection, Webhooks
from tests.fakes import ALLOW, DENY
from tests.platforms.toyshop.adapter import ToyshopPlatform
from tests.platforms.toyshop.shop import shop_path
from tests.platforms.toyshop.webhooks import WEBHOOKS


class ToyshopDriver(ConnectedByKeys):
    name: str = "toyshop"
    label: str = "Toy shop"
    webhooks: Webhooks = WEBHOOKS
    stock_statuses: tuple[str, ...] = ("instock", "outofstock")
    backorder_choices: tuple[tuple[str, str], ...] = ((DENY, "Do not allow"), (ALLOW, "Allow"))
    split_modes: tuple[tuple[str, str], ...] = ()
    customer_notes: bool = True
    split_calls: int | None = None  # not counted

    def open(self, access: StoreAccess) -> Platform:
        return ToyshopPlatform(  # type: ignore[return-value]
            shop_path(access.base_url),
            webhook_ids=access.webhook_ids,
            public_url=access.public_url,
            throttle=access.throttle,
        )

    def connection(
        self, base_url: str, consumer_key: str, consumer_secret: str, *, allow_private: bool
    ) -> StoreConnection:
        return ToyshopPlatform(shop_path(base_url))  # type: ignore[return-value]

    def authorize_url(
        self, store_url: str, *, state: str, return_url: str, callback_url: str
    ) -> str:
        query = urlencode({"state": state, "return_url": return_url, "callback": callback_url})
        return f"{store_url.rstrip('/')}/authorize?{query}"

    def parse_app_keys(self, body: object) -> AppKeys:
        if not isinstance(body, dict):
            raise ValueError("app keys must be a JSON object")
        return AppKeys(str(body["key"]), str(body["secret"]), str(body["state"]))

    def eligible_choices(self) -> tuple[tuple[str, str], ...]:
        return ((Status.NEW.value, "New"), (Status.ON_HOLD.value, "On hold"))


TOYSHOP: PlatformDriver = ToyshopDriver()
