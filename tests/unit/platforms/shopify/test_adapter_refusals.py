"""What the Shopify platform does not do yet is refused, saying so, before any request."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plugin.errors import PermanentError
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.remove_line("fo-7", "3"),
        lambda p: p.reduce_line("fo-7", "3", 1, Decimal("10.00"), Decimal("10.00")),
        lambda p: p.cancel_order("fo-7"),
    ],
)
def test_cancelling_on_shopify_is_refused_without_a_request(call: object) -> None:
    platform = ShopifyPlatform(ShopifyClient("https://ada-mugs.myshopify.com", "shpat_x"))
    with pytest.raises(PermanentError) as raised:
        call(platform)  # type: ignore[operator]
    assert raised.value.reason == "unsupported_on_shopify"
    assert "not supported on Shopify yet" in str(raised.value)
    assert platform.calls == 0
