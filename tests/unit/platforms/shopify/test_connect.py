"""Shop names, the OAuth query HMAC and the callback checks, without a shop."""

from __future__ import annotations

from typing import Any

import pytest

from plugin.platforms.shopify.connect import (
    OAuthInstall,
    ShopifyConnectError,
    query_hmac,
    shop_domain,
    topic_enum,
    topic_header,
    verify_query,
)
from plugin.platforms.shopify.webhooks import SUBSCRIBED_TOPICS

SECRET = "backorders-test-secret"  # noqa: S105 - a test secret
NOW = 1_767_000_000


class Claims:
    """Nonce claims in memory: True the first time."""

    def __init__(self) -> None:
        self.claimed: list[str] = []

    def claim(self, nonce: str, ttl_seconds: int) -> bool:
        if nonce in self.claimed:
            return False
        self.claimed.append(nonce)
        return True


class NoSession:
    """A session that fails the test if anything is sent."""

    def post(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no code exchange may be attempted")


def install(claims: Claims) -> OAuthInstall:
    return OAuthInstall(
        "client-1",
        SECRET,
        claims,
        session=NoSession(),
        clock=lambda: NOW,  # type: ignore[arg-type]
    )


def callback(**overrides: str) -> dict[str, str]:
    params = {
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWRh",
        "shop": "ada-mugs.myshopify.com",
        "state": "nonce-1",
        "timestamp": str(NOW - 5),
    }
    params.update(overrides)
    return {**params, "hmac": query_hmac(params, SECRET)}


def test_the_documented_query_hmac_example() -> None:
    # shopify.dev, "Implement authorization code grant manually", "Verify the installation
    # request": this query signed with the secret "hush".
    params = {
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "shop": "some-shop.myshopify.com",
        "state": "0.6784241404160823",
        "timestamp": "1337178173",
        "hmac": "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
    }
    assert verify_query(params, "hush") is True
    assert verify_query({**params, "state": "0.1"}, "hush") is False
    assert verify_query({**params, "hmac": ""}, "hush") is False
    assert verify_query(params, "") is False


@pytest.mark.parametrize(
    "value",
    ["ada-mugs.myshopify.com", "ADA-MUGS.myshopify.com ", "https://ada-mugs.myshopify.com/"],
)
def test_shop_names(value: str) -> None:
    assert shop_domain(value) == "ada-mugs.myshopify.com"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ada-mugs",
        "-ada.myshopify.com",
        "ada.myshopify.com.evil.com",
        "evil.com/ada.myshopify.com",
        "ada.myshopify.com:8443",
        "user@ada.myshopify.com",
        "ada.example.com",
        "http://ada.myshopify.com",
        "a_b.myshopify.com",
    ],
)
def test_other_names_are_refused(value: str) -> None:
    with pytest.raises(ShopifyConnectError) as raised:
        shop_domain(value)
    assert raised.value.reason == "invalid_shop"


def test_authorize_url_names_the_app_scopes_redirect_and_state() -> None:
    url = install(Claims()).authorize_url(
        "ada-mugs.myshopify.com", state="n1", redirect_uri="https://app.example/shopify/callback"
    )
    assert url.startswith("https://ada-mugs.myshopify.com/admin/oauth/authorize?client_id=client-1")
    assert "state=n1" in url
    assert "redirect_uri=https%3A%2F%2Fapp.example%2Fshopify%2Fcallback" in url
    assert "write_merchant_managed_fulfillment_orders" in url


@pytest.mark.parametrize(
    ("query", "expected_shop", "reason"),
    [
        ({**callback(), "hmac": "0" * 64}, None, "bad_hmac"),
        ({**callback(), "state": "nonce-2"}, None, "bad_hmac"),  # tampered after signing
        (callback(shop="ada.myshopify.com.evil.com"), None, "invalid_shop"),
        (callback(shop="bob-mugs.myshopify.com"), "ada-mugs.myshopify.com", "wrong_shop"),
        (callback(state="someone-elses"), None, "invalid_state"),
        (callback(timestamp=str(NOW - 3600)), None, "stale"),
        (callback(code=""), None, "invalid_request"),
    ],
)
def test_bad_callbacks_are_refused_before_the_state_is_used(
    query: dict[str, str], expected_shop: str | None, reason: str
) -> None:
    claims = Claims()
    with pytest.raises(ShopifyConnectError) as raised:
        install(claims).complete(query, expected_state="nonce-1", expected_shop=expected_shop)
    assert raised.value.reason == reason
    assert claims.claimed == []


def test_a_used_state_is_refused_without_an_exchange() -> None:
    claims = Claims()
    claims.claim("shopify-oauth:nonce-1", 600)
    with pytest.raises(ShopifyConnectError) as raised:
        install(claims).complete(callback(), expected_state="nonce-1")
    assert raised.value.reason == "state_used"


def test_topic_spellings_round_trip() -> None:
    assert topic_enum("inventory_levels/update") == "INVENTORY_LEVELS_UPDATE"
    assert topic_enum("app/uninstalled") == "APP_UNINSTALLED"
    for topic in SUBSCRIBED_TOPICS:
        assert topic_header(topic_enum(topic)) == topic
