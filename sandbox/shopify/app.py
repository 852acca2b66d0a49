"""Composition root of the Shopify sandbox: ``create_app(...) -> Flask``."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from sandbox.faults import Faults
from sandbox.shopify import admin, graphql_api, oauth, schema, storefront
from sandbox.shopify.apps import ALL_SCOPES, AppConfig, Apps
from sandbox.shopify.cost import LeakyBucket
from sandbox.shopify.seed import SEEDS
from sandbox.shopify.shop import Shop, ShopInfo
from sandbox.shopify.webhooks import Deliverer

# Documented demo credentials of the sandbox (README, "Shopify sandbox").
DEMO_CLIENT_ID = "backorders-sandbox-client"
DEMO_CLIENT_SECRET = "backorders-sandbox-secret"  # noqa: S105
DEMO_ACCESS_TOKEN = "shpat_sandbox_demo"  # noqa: S105
DEMO_CUSTOM_SECRET = "backorders-custom-app-secret"  # noqa: S105


@dataclass
class Sandbox:
    """Everything the blueprints share (``app.extensions["shopify_sandbox"]``)."""

    shop: Shop
    apps: Apps
    faults: Faults
    bucket: LeakyBucket
    deliverer: Deliverer
    widget_url: str | None = None  # the script every storefront page loads (sandbox/widget.py)
    oauth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)


def create_app(
    *,
    data_file: str | Path | None = None,
    seed: str | None = "demo",
    faults: dict[str, Any] | None = None,
    shop_domain: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    access_token: str | None = None,
    custom_app_secret: str | None = None,
    redirect_urls: list[str] | None = None,
    compliance_url: str | None = None,
    bucket_size: float = 2000.0,
    restore_rate: float = 100.0,
    retry_scale: float = 1.0,
    delivery_timeout: float = 5.0,
    widget_url: str | None = None,
) -> Flask:
    """Build the sandbox shop: Admin GraphQL API, OAuth, storefront, webhooks, controls.

    Without `data_file` the shop lives in memory; with one it is read from and saved to that
    JSON file (a new file is seeded with `seed`). Credentials default to the environment
    (``SANDBOX_SHOPIFY_*``) and then to the documented demo values. `widget_url` (or
    ``SANDBOX_SHOPIFY_WIDGET_URL``) is a script every storefront page loads, as a Shopify app's
    app embed block adds one to the theme.
    """
    schema.admin_schema()  # fail at start, naming the file, when the schema is missing
    env = os.environ.get
    info = ShopInfo(domain=shop_domain or env("SANDBOX_SHOPIFY_DOMAIN") or ShopInfo.domain)
    shop = Shop(path=Path(data_file) if data_file else None, info=info)
    if seed and shop.is_empty():
        SEEDS[seed](shop)
    public = AppConfig(
        number=1,
        name="Backorders",
        client_id=client_id or env("SANDBOX_SHOPIFY_CLIENT_ID") or DEMO_CLIENT_ID,
        client_secret=client_secret or env("SANDBOX_SHOPIFY_CLIENT_SECRET") or DEMO_CLIENT_SECRET,
        redirect_urls=list(redirect_urls or []),
        compliance_url=compliance_url,
    )
    custom = AppConfig(
        number=2,
        name="Backorders (custom app)",
        client_id="custom-app",
        client_secret=custom_app_secret
        or env("SANDBOX_SHOPIFY_CUSTOM_SECRET")
        or DEMO_CUSTOM_SECRET,
        compliance_url=compliance_url,
    )
    apps = Apps(shop, [public, custom])
    apps.grant(
        custom,
        list(ALL_SCOPES),
        token=access_token or env("SANDBOX_SHOPIFY_ACCESS_TOKEN") or DEMO_ACCESS_TOKEN,
    )
    faults_obj = Faults(faults)
    deliverer = Deliverer(shop, apps, faults_obj, retry_scale=retry_scale, timeout=delivery_timeout)
    shop.listeners.append(deliverer.on_events)

    app = Flask(__name__)
    app.secret_key = env("SANDBOX_SHOPIFY_SECRET_KEY") or secrets.token_hex(32)
    app.extensions["shopify_sandbox"] = Sandbox(
        shop,
        apps,
        faults_obj,
        LeakyBucket(bucket_size, restore_rate),
        deliverer,
        widget_url=widget_url or env("SANDBOX_SHOPIFY_WIDGET_URL") or None,
    )
    app.register_blueprint(graphql_api.bp)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(storefront.bp)
    return app
