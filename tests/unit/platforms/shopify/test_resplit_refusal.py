"""A partial release the Shopify platform does not do yet is refused, saying so, before any
request."""

from __future__ import annotations

import pytest

from plugin.core.model import Links, StoreSettings
from plugin.core.split import plan_resplit
from plugin.errors import PermanentError
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from tests.unit.core.builders import line, order


def test_a_partial_release_of_a_linked_backorder_order_is_refused_without_a_request() -> None:
    platform = ShopifyPlatform(ShopifyClient("https://ada-mugs.myshopify.com", "shpat_x"))
    linked = order(
        line("7", "70", 3, "30.00", variant_id="700"),
        order_id="1002", number="1001-001", links=Links(parent_id="1001", is_backorder_order=True),
    )  # fmt: skip
    plan = plan_resplit(
        linked, {"7": 1}, original_number="1001", taken_numbers=["1001-001"],
        settings=StoreSettings(),
    )  # fmt: skip
    with pytest.raises(PermanentError) as raised:
        platform.write_resplit(linked, plan, new_order_id=None)
    assert raised.value.reason == "unsupported_on_shopify"
    assert "linked backorder order" in str(raised.value)
    assert platform.calls == 0
