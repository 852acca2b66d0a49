"""The Flask app with real storage and Redis (tests/functional/webhooks/conftest.py) and a
Shopify store in it."""

from __future__ import annotations

import pytest
from flask import Flask

from plugin.adapters.sql.stores import StoreRecord
from tests.functional.webhooks.conftest import app, client, state  # noqa: F401 - fixtures

APP_SECRET = "shopify-app-secret-0123"  # noqa: S105 - a test secret


@pytest.fixture
def shopify_store(app: Flask) -> StoreRecord:  # noqa: F811 - the fixture above
    return state(app).stores.create(
        name="Ada's mugs",
        base_url="https://ada-mugs.myshopify.com",
        consumer_key="ada-mugs.myshopify.com",
        consumer_secret="shpat_test",
        webhook_secret=APP_SECRET,
        platform="shopify",
    )
