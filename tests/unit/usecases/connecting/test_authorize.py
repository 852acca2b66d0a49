"""The WooCommerce app authorization: authorize URL, signed single-use state, callback body."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from plugin.errors import InvalidKeys, InvalidState
from plugin.platforms.woocommerce.connect import build_authorize_url, parse_app_keys
from plugin.usecases.connecting import AuthorizationStates


class MemoryClaims:
    def __init__(self) -> None:
        self.claimed: dict[str, int] = {}

    def claim(self, nonce: str, ttl_seconds: int) -> bool:
        if nonce in self.claimed:
            return False
        self.claimed[nonce] = ttl_seconds
        return True


def test_authorize_url_carries_every_mandatory_parameter_encoded() -> None:
    url = build_authorize_url(
        "https://shop.example.com/",
        state="tok.en-1",
        return_url="https://bo.example.com/stores/connect?done=1",
        callback_url="https://bo.example.com/wc-auth/callback/tok.en-1",
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "shop.example.com",
        "/wc-auth/v1/authorize",
    )
    assert "done%3D1" in parts.query
    assert parse_qs(parts.query) == {
        "app_name": ["Backorders"],
        "scope": ["read_write"],
        "user_id": ["tok.en-1"],
        "return_url": ["https://bo.example.com/stores/connect?done=1"],
        "callback_url": ["https://bo.example.com/wc-auth/callback/tok.en-1"],
    }


def test_state_round_trip_is_single_use() -> None:
    claims = MemoryClaims()
    states = AuthorizationStates("k" * 32, claims)
    token = states.issue("https://shop.example.com", merchant_id=4)
    pending = states.redeem(token)
    assert (pending.store_url, pending.merchant_id) == ("https://shop.example.com", 4)
    assert claims.claimed == {pending.nonce: 900}
    with pytest.raises(InvalidState, match="already used"):
        states.redeem(token)
    assert len(claims.claimed) == 1


def test_each_issued_state_is_different() -> None:
    states = AuthorizationStates("k" * 32, MemoryClaims())
    assert states.issue("https://a.example") != states.issue("https://a.example")


def test_state_signed_with_another_key_is_refused_and_not_claimed() -> None:
    claims = MemoryClaims()
    token = AuthorizationStates("other" * 8, MemoryClaims()).issue("https://shop.example.com")
    with pytest.raises(InvalidState, match="not one we started"):
        AuthorizationStates("k" * 32, claims).redeem(token)
    assert claims.claimed == {}


def test_tampered_state_is_refused() -> None:
    states = AuthorizationStates("k" * 32, MemoryClaims())
    token = states.issue("https://shop.example.com")
    with pytest.raises(InvalidState):
        states.redeem(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))


def test_expired_state_is_refused_and_not_claimed() -> None:
    claims = MemoryClaims()
    states = AuthorizationStates("k" * 32, claims, max_age=-1)
    token = states.issue("https://shop.example.com")
    with pytest.raises(InvalidState, match="expired"):
        states.redeem(token)
    assert claims.claimed == {}


def test_callback_body_from_the_reference_is_parsed() -> None:
    # Shape of "Example of JSON posted with the API Keys" in authentication.md.
    keys = parse_app_keys(
        {
            "key_id": 1,
            "user_id": 123,
            "consumer_key": "ck_xxxxxxxxxxxxxxxx",
            "consumer_secret": "cs_xxxxxxxxxxxxxxxx",
            "key_permissions": "read_write",
        }
    )
    assert (keys.key_id, keys.user_id, keys.consumer_key, keys.consumer_secret) == (
        1,
        "123",
        "ck_xxxxxxxxxxxxxxxx",
        "cs_xxxxxxxxxxxxxxxx",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "not a JSON object"),
        (
            {"user_id": "s", "consumer_secret": "cs", "key_permissions": "read_write"},
            "consumer_key",
        ),
        (
            {"user_id": "s", "consumer_key": "ck", "key_permissions": "read_write"},
            "consumer_secret",
        ),
        (
            {
                "user_id": "s",
                "consumer_key": "ck",
                "consumer_secret": "cs",
                "key_permissions": "read",
            },
            "read_write",
        ),
    ],
)
def test_incomplete_or_read_only_keys_are_refused(body: object, message: str) -> None:
    with pytest.raises(InvalidKeys, match=message):
        parse_app_keys(body)
