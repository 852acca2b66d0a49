"""Store URL checks: https only, loopback http in development, no private networks."""

from __future__ import annotations

import pytest

from plugin.core.addresses import is_public_address
from plugin.errors import InvalidStoreUrl
from plugin.usecases.connecting import validate_store_url, webhook_delivery_url


def resolver(*addresses: str):
    calls: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return list(addresses)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example.com", "https://shop.example.com"),
        ("https://Shop.Example.com/", "https://shop.example.com"),
        ("  https://shop.example.com/store/ ", "https://shop.example.com/store"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
    ],
)
def test_https_public_store_url_is_normalised(url: str, expected: str) -> None:
    resolve = resolver(PUBLIC)
    assert validate_store_url(url, development=False, resolve=resolve) == expected
    assert resolve.calls[0][0] == "shop.example.com"


def test_a_url_as_long_as_the_stores_column_is_accepted_and_a_longer_one_refused() -> None:
    # stores.base_url is VARCHAR(500): PostgreSQL refuses more (SQLite stored it).
    longest = "https://shop.example.com/" + "a" * (500 - len("https://shop.example.com/"))
    resolve = resolver(PUBLIC)
    assert validate_store_url(longest + "/", development=False, resolve=resolve) == longest
    with pytest.raises(InvalidStoreUrl) as info:
        validate_store_url(longest + "a", development=False, resolve=resolve)
    assert str(info.value) == "The store URL is longer than 500 characters."
    assert len(resolve.calls) == 1  # refused before any lookup


def test_default_port_is_used_for_resolution() -> None:
    resolve = resolver(PUBLIC)
    validate_store_url("https://shop.example.com", development=False, resolve=resolve)
    assert resolve.calls == [("shop.example.com", 443)]


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example.com",
        "ftp://shop.example.com",
        "shop.example.com",
        "https://",
        "https://user:pw@shop.example.com",
        "https://shop.example.com/?a=1",
        "https://shop.example.com/#x",
        "https://shop.example.com:99999",
        "",
    ],
)
def test_malformed_or_plain_http_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidStoreUrl) as info:
        validate_store_url(url, development=False, resolve=resolver(PUBLIC))
    assert info.value.reason == "invalid_store_url"


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "::ffff:169.254.169.254",
        "2002:a00:1::",  # 6to4 wrapping 10.0.0.1
    ],
)
def test_private_and_reserved_addresses_are_refused_outside_development(address: str) -> None:
    assert is_public_address(address) is False
    with pytest.raises(InvalidStoreUrl, match="private or reserved"):
        validate_store_url("https://shop.example.com", development=False, resolve=resolver(address))


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(InvalidStoreUrl):
        validate_store_url(
            "https://shop.example.com",
            development=False,
            resolve=resolver(PUBLIC, "10.0.0.1"),
        )


@pytest.mark.parametrize("address", [PUBLIC, "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_accepted(address: str) -> None:
    assert is_public_address(address) is True


def test_http_loopback_is_allowed_only_in_development() -> None:
    resolve = resolver("127.0.0.1")
    assert (
        validate_store_url("http://127.0.0.1:8001", development=True, resolve=resolve)
        == "http://127.0.0.1:8001"
    )
    with pytest.raises(InvalidStoreUrl, match="https"):
        validate_store_url("http://127.0.0.1:8001", development=False, resolve=resolve)


def test_http_to_a_non_loopback_host_is_refused_even_in_development() -> None:
    with pytest.raises(InvalidStoreUrl, match="this machine"):
        validate_store_url("http://shop.example.com", development=True, resolve=resolver(PUBLIC))


def test_real_resolution_of_localhost_in_development() -> None:
    assert validate_store_url("http://localhost:8001/", development=True) == (
        "http://localhost:8001"
    )


def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(InvalidStoreUrl, match="does not resolve"):
        validate_store_url("https://shop.invalid", development=False, resolve=resolver())


def test_webhook_delivery_url() -> None:
    assert webhook_delivery_url("https://bo.example.com/", 7, "woocommerce") == (
        "https://bo.example.com/webhooks/woocommerce/7"
    )
