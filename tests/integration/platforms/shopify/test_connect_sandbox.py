"""Connecting the Shopify sandbox as a real process: the OAuth install end to end (a replayed
callback refused with no second exchange), a pasted token, and our subscriptions, whose
deliveries verify with the app's secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.connect import OAuthInstall, ShopifyConnectError, ShopifyConnection
from plugin.platforms.shopify.webhooks import SUBSCRIBED_TOPICS, parse, verify
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests.integration.sandbox_shopify.conftest import Shop, running_shop
from tests.unit.platforms.shopify.test_connect import Claims
from tests.unit.sandbox.receiver import Received, Receiver

CLIENT_ID = "backorders-sandbox-client"
CLIENT_SECRET = "backorders-sandbox-secret"  # noqa: S105 - the sandbox's demo app
CUSTOM_SECRET = "backorders-custom-app-secret"  # noqa: S105 - the sandbox's demo app
SHOP = "backorders-sandbox.myshopify.com"
REDIRECT = "http://127.0.0.1:9/shopify/callback"  # never opened: the test reads the redirect


class CountingSession(requests.Session):
    """Counts the code exchanges sent."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges = 0

    def post(self, url: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if str(url).endswith("/admin/oauth/access_token"):
            self.exchanges += 1
        return super().post(url, *args, **kwargs)


def header(received: Received, name: str) -> str | None:
    return next((v for k, v in received.headers.items() if k.lower() == name.lower()), None)


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    with running_shop("--redirect-url", REDIRECT) as running:
        yield running


def approve(shop: Shop, url: str) -> dict[str, str]:
    """The merchant presses Install on the consent page; the callback's query."""
    consent = requests.get(url, timeout=10)
    assert consent.status_code == 200, consent.text
    form = dict(parse_qsl(urlsplit(url).query))
    response = requests.post(
        f"{shop.url}/admin/oauth/authorize", data=form, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return dict(parse_qsl(urlsplit(location).query))


def test_oauth_install_gives_a_working_token_once(shop: Shop) -> None:
    session = CountingSession()
    claims = Claims()
    oauth = OAuthInstall(
        CLIENT_ID,
        CLIENT_SECRET,
        claims,
        shop_url=lambda name: shop.url,
        session=session,
    )
    url = oauth.authorize_url(SHOP, state="state-abc", redirect_uri=REDIRECT)
    query = approve(shop, url)

    installed = oauth.complete(query, expected_state="state-abc", expected_shop=SHOP)

    assert installed.shop == SHOP
    assert installed.access_token.startswith("shpua_")
    assert "write_merchant_managed_fulfillment_orders" in installed.scopes
    assert session.exchanges == 1
    client = ShopifyClient(shop.url, installed.access_token)
    assert ShopifyConnection(client).check_credentials() == SHOP

    with pytest.raises(ShopifyConnectError) as replayed:
        oauth.complete(query, expected_state="state-abc", expected_shop=SHOP)
    assert replayed.value.reason == "state_used"
    assert session.exchanges == 1
    assert claims.claimed == ["shopify-oauth:state-abc"]


def test_a_forged_callback_is_refused_and_nothing_exchanged(shop: Shop) -> None:
    session = CountingSession()
    claims = Claims()
    oauth = OAuthInstall(
        CLIENT_ID, CLIENT_SECRET, claims, shop_url=lambda name: shop.url, session=session
    )
    query = approve(shop, oauth.authorize_url(SHOP, state="s2", redirect_uri=REDIRECT))
    forged = {**query, "shop": "evil-mugs.myshopify.com"}
    with pytest.raises(ShopifyConnectError) as raised:
        oauth.complete(forged, expected_state="s2")
    assert raised.value.reason == "bad_hmac"
    assert session.exchanges == 0
    assert claims.claimed == []
    # The genuine callback still works afterwards: the forgery used nothing up.
    assert oauth.complete(query, expected_state="s2").shop == SHOP


def test_a_wrong_pasted_token_is_refused(shop: Shop) -> None:
    connection = ShopifyConnection(ShopifyClient(shop.url, "shpat_wrong"))
    with pytest.raises(ShopifyConnectError) as raised:
        connection.check_credentials()
    assert raised.value.reason == "invalid_token"


def test_subscriptions_are_registered_checked_and_deleted(shop: Shop) -> None:
    receiver = Receiver()
    try:
        connection = ShopifyConnection(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
        ids = connection.register_webhooks(delivery_url=receiver.url)
        assert len(ids) == len(SUBSCRIBED_TOPICS)
        assert sorted(t for _, t, _ in connection.list_webhooks()) == sorted(SUBSCRIBED_TOPICS)
        assert connection.webhooks_intact(ids, receiver.url) is True
        assert connection.webhooks_intact(ids, receiver.url + "x") is False

        number = shop.checkout([("MUG-BLUE", 1)])
        shop.flush()
        receiver.wait_for(1, timeout=20)
        delivery = next(
            r for r in receiver.requests if header(r, "X-Shopify-Topic") == "orders/create"
        )
        signature = header(delivery, "X-Shopify-Hmac-Sha256")
        assert verify(CUSTOM_SECRET, delivery.body, signature)
        assert not verify(CUSTOM_SECRET, delivery.body + b" ", signature)
        assert not verify(CLIENT_SECRET, delivery.body, signature)
        event = parse("orders/create", delivery.body, lambda name: header(delivery, name))
        assert event.event_id == header(delivery, "X-Shopify-Event-Id")
        assert header(delivery, "X-Shopify-Shop-Domain") == SHOP
        assert json.loads(delivery.body)["order_number"] == int(number)

        assert connection.delete_webhooks(ids) == []
        assert connection.list_webhooks() == []
        assert connection.delete_webhooks(ids) == []  # gone already is fine
        assert connection.webhooks_intact(ids, receiver.url) is False
    finally:
        receiver.close()
