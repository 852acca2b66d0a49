"""The products an order delivery names (`webhooks.named_products`): what a job may read with the
order. Never a reason to refuse a delivery: a payload whose lines are not WooCommerce's shape
names nothing, and the job reads the order, then its products."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plugin.core.model import ProductRef
from plugin.platforms.woocommerce.signature import sign
from plugin.platforms.woocommerce.webhooks import (
    MAX_NAMED_PRODUCTS,
    SIGNATURE_HEADER,
    TOPIC_HEADER,
    WooCommerceWebhooks,
    named_products,
)
from tests.fakes import FakeDelivery


def _line(product_id: Any, variation_id: Any = 0) -> dict[str, Any]:
    return {"id": 7, "product_id": product_id, "variation_id": variation_id, "quantity": 1}


def test_the_lines_products_and_variations_in_line_order_each_once() -> None:
    order = {"line_items": [_line(12), _line(30, 31), _line(12), _line(30, "32"), _line("40")]}

    assert named_products(order) == (
        ProductRef("12"), ProductRef("30", "31"), ProductRef("30", "32"), ProductRef("40"),
    )  # fmt: skip


def test_a_line_whose_product_was_deleted_names_none() -> None:
    # WooCommerce answers product_id 0 for a line whose product no longer exists.
    assert named_products({"line_items": [_line(0), _line(12, None)]}) == (ProductRef("12"),)


def test_a_backorder_order_we_created_names_none() -> None:
    """Its job reads the order and ignores it: no stock read for it."""
    ours = [{"id": 1, "key": "backorders_role", "value": "backorder"}]
    original = [{"id": 1, "key": "backorders_role", "value": "original"}]

    assert named_products({"line_items": [_line(12)], "meta_data": ours}) == ()
    assert named_products({"line_items": [_line(12)], "meta_data": original}) == (ProductRef("12"),)
    assert named_products({"line_items": [_line(12)], "meta_data": "odd"}) == (ProductRef("12"),)


@pytest.mark.parametrize(
    "order",
    [
        {},
        {"line_items": None},
        {"line_items": {"0": _line(12)}},
        {"line_items": [_line(12), "line"]},
        {"line_items": [_line(-12)]},
        {"line_items": [_line(12.5)]},
        {"line_items": [_line(True)]},
        {"line_items": [_line("12 ")]},
        {"line_items": [_line(12, "0x1f")]},
        {"line_items": [_line(10**20)]},  # 21 digits: no WordPress post id
        {"line_items": [_line(n) for n in range(1, MAX_NAMED_PRODUCTS + 2)]},
    ],
)
def test_lines_not_in_woocommerces_shape_name_nothing(order: dict[str, Any]) -> None:
    assert named_products(order) == ()


def test_an_order_delivery_carries_them_and_a_product_delivery_none() -> None:
    webhooks = WooCommerceWebhooks()
    order = {"id": 1042, "date_modified_gmt": "2026-12-04T10:00:00", "line_items": [_line(12)]}
    product = {"id": 12, "date_modified_gmt": "2026-12-04T10:00:00", "line_items": [_line(13)]}

    def delivery(topic: str, payload: dict[str, Any]) -> FakeDelivery:
        body = json.dumps(payload).encode()
        return FakeDelivery(body, {TOPIC_HEADER: topic, SIGNATURE_HEADER: sign("s", body)})

    assert webhooks.parse("order.updated", delivery("order.updated", order)).products == (
        ProductRef("12"),
    )
    assert webhooks.parse("product.updated", delivery("product.updated", product)).products == ()
    odd = webhooks.parse("order.created", delivery("order.created", {**order, "line_items": 3}))
    assert (odd.resource_id, odd.products) == ("1042", ())  # accepted, naming nothing
