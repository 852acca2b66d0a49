"""Known-answer vectors: Shopify's webhook HMAC and OAuth query HMAC, and the shop domain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.shopify.oauth import is_shop_domain, query_hmac, signed_query, verify_query
from sandbox.shopify.webhooks import retry_delays, sign

VECTORS = (
    Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "signature-vectors.json"
)


def test_official_webhook_vector() -> None:
    if not VECTORS.is_file():
        pytest.skip(f"signature vectors not found at {VECTORS}")
    vector = next(
        v for v in json.loads(VECTORS.read_text())["vectors"] if v["platform"] == "shopify"
    )
    assert sign(vector["secret"], vector["body"].encode()) == vector["signature"]
    assert sign(vector["secret"] + "x", vector["body"].encode()) != vector["signature"]


def test_oauth_query_hmac_documented_example() -> None:
    # shopify.dev, "Implement authorization code grant manually", step "Verify the installation
    # request": the example query signed with the secret "hush".
    params = {
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "shop": "some-shop.myshopify.com",
        "state": "0.6784241404160823",
        "timestamp": "1337178173",
        "hmac": "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
    }
    assert query_hmac(params, "hush") == params["hmac"]
    assert verify_query(params, "hush")
    assert not verify_query({**params, "state": "0.1"}, "hush")
    assert not verify_query({**params, "hmac": ""}, "hush")
    assert not verify_query(params, "hushh")


def test_signed_query_round_trip() -> None:
    from urllib.parse import parse_qsl

    query = dict(parse_qsl(signed_query({"shop": "a.myshopify.com", "timestamp": "1"}, "s")))
    assert verify_query(query, "s")


@pytest.mark.parametrize(
    ("domain", "valid"),
    [
        ("backorders-sandbox.myshopify.com", True),
        ("a1.myshopify.com", True),
        ("-bad.myshopify.com", False),
        ("shop.myshopify.com.evil.com", False),
        ("evil.com/shop.myshopify.com", False),
        ("shop.example.com", False),
        ("", False),
        ("SHOP_1.myshopify.com", False),
    ],
)
def test_shop_domain(domain: str, valid: bool) -> None:
    assert is_shop_domain(domain) is valid


def test_retry_schedule_is_eight_retries_over_four_hours() -> None:
    delays = retry_delays()
    assert len(delays) == 8
    assert sum(delays) == pytest.approx(4 * 3600)
    assert all(b == pytest.approx(2 * a) for a, b in zip(delays, delays[1:], strict=False))
    assert sum(retry_delays(0.001)) == pytest.approx(14.4)
