"""The apps installed on the sandbox shop: their credentials, scopes and access tokens.

Two kinds, as Shopify has them: a public app installed through OAuth (client id and secret,
allowed redirection URLs, an offline ``shpua_`` token per install), and a custom app made in the
shop's admin, whose Admin API access token (``shpat_``) the merchant copies and pastes. Each app
signs its webhooks with its own secret (the client secret, for a custom app its API secret key).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sandbox.shopify import gid
from sandbox.shopify.resolvers import App
from sandbox.shopify.shop import Shop

# What Backorders needs; the custom app token is given all of them.
ALL_SCOPES = (
    "read_products",
    "write_products",
    "read_inventory",
    "write_inventory",
    "read_locations",
    "read_orders",
    "write_orders",
    "read_all_orders",
    "read_customers",
    "write_customers",
    "read_merchant_managed_fulfillment_orders",
    "write_merchant_managed_fulfillment_orders",
    "read_order_edits",
    "write_order_edits",
)
KNOWN_SCOPES = frozenset(ALL_SCOPES) | {
    "read_assigned_fulfillment_orders",
    "write_assigned_fulfillment_orders",
}


@dataclass
class AppConfig:
    """One app: its gid, credentials, where OAuth may redirect and where compliance goes."""

    number: int
    name: str
    client_id: str
    client_secret: str
    redirect_urls: list[str] = field(default_factory=list)
    compliance_url: str | None = None

    @property
    def id(self) -> str:
        """The app's gid."""
        return gid.make("App", self.number)


class Apps:
    """The shop's apps and the access tokens they were given (kept in the shop's file)."""

    def __init__(self, shop: Shop, apps: list[AppConfig]) -> None:
        self.shop = shop
        self.by_client_id = {app.client_id: app for app in apps}
        self.by_id = {app.id: app for app in apps}

    def grant(self, app: AppConfig, scopes: list[str], token: str | None = None) -> str:
        """Issue (or register) an access token for `app` with `scopes`."""
        token = token or "shpua_" + secrets.token_hex(16)
        with self.shop.lock:
            self.shop.table("tokens")[token] = {"app": app.id, "scopes": sorted(set(scopes))}
            self.shop.save()
        return token

    def caller(self, token: str | None) -> App | None:
        """The app an access token belongs to, or None for an unknown or revoked token."""
        if not token:
            return None
        with self.shop.lock:
            entry = self.shop.table("tokens").get(token)
        if entry is None or entry["app"] not in self.by_id:
            return None
        return App(entry["app"], frozenset(entry["scopes"]), self.by_id[entry["app"]].name)

    def revoke(self, app: AppConfig) -> int:
        """Revoke every token of `app` (an uninstall); how many there were."""
        with self.shop.lock:
            tokens = self.shop.table("tokens")
            gone = [t for t, entry in tokens.items() if entry["app"] == app.id]
            for token in gone:
                del tokens[token]
            self.shop.save()
        return len(gone)

    def describe(self) -> list[dict[str, Any]]:
        """The apps, without their secrets."""
        return [
            {
                "id": a.id,
                "name": a.name,
                "client_id": a.client_id,
                "redirect_urls": a.redirect_urls,
                "compliance_url": a.compliance_url,
            }
            for a in self.by_id.values()
        ]
