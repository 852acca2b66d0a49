"""Re-split request bodies: the new backorder order (a sibling) and the reduced one, exact."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from plugin.core.model import Order, StoreSettings
from plugin.core.split import plan_resplit
from plugin.platforms.woocommerce.mapping import (
    load_order,
    order_from_data,
    resplit_create_body,
    resplit_update_body,
    waiting_since,
)

from .conftest import line, order_json

BACKORDER_META = [
    {"id": 1, "key": "backorders_split_key", "value": "1042:1"},
    {"id": 2, "key": "backorders_role", "value": "backorder"},
    {"id": 3, "key": "backorders_number", "value": "1042-001"},
    {"id": 4, "key": "backorders_payment", "value": "paid_from_original"},
]


def _backorder(meta: list[dict[str, Any]] | None = None) -> tuple[Order, dict[str, Any]]:
    """Backorder order 2001 of original 1042, on-hold: 5 of product 93 (3 arrived), 2 of 94."""
    payload = order_json(
        id=2001, parent_id=1042, number="2001", status="on-hold", date_paid_gmt=None,
        shipping_lines=[], shipping_total="0.00", total="64.00",
        meta_data=BACKORDER_META + (meta or []),
        line_items=[line(31, 93, 5, "50.00", "45.00", reduced=5),
                    line(32, 94, 2, "20.00", reduced=2)],
    )  # fmt: skip
    data = load_order(payload)
    return order_from_data(data), data


def _plan(backorder: Order):  # type: ignore[no-untyped-def]
    return plan_resplit(
        backorder, {"31": 3, "32": 0}, original_number="1042", taken_numbers=["1042-001"],
        settings=StoreSettings(),
    )  # fmt: skip


def test_create_body_is_a_sibling_holding_what_waits_paid_like_the_one_it_comes_from() -> None:
    backorder, data = _backorder(
        [{"id": 5, "key": "backorders_delivery", "value": "lines_complete"}]
    )

    body = resplit_create_body(backorder, _plan(backorder), backorder_data=data)

    assert body["parent_id"] == 1042
    assert body["status"] == "on-hold"
    assert body["set_paid"] is False
    assert (body["customer_id"], body["payment_method"], body["payment_method_title"]) == (
        26, "stripe", "Credit card",
    )  # fmt: skip
    assert body["line_items"] == [
        {"product_id": 93, "quantity": 2, "subtotal": "20.00", "total": "18.00",
         "meta_data": [{"key": "backorders_original_line", "value": "31"}]},
        {"product_id": 94, "quantity": 2, "subtotal": "20.00", "total": "20.00",
         "meta_data": [{"key": "backorders_original_line", "value": "32"}]},
    ]  # fmt: skip
    assert body["meta_data"] == [
        {"key": "backorders_split_key", "value": "resplit:2001"},
        {"key": "backorders_role", "value": "backorder"},
        {"key": "backorders_number", "value": "1042-002"},
        {"key": "backorders_payment", "value": "paid_from_original"},
        {"key": "backorders_waiting_since", "value": "2026-11-20T10:00:00+00:00"},
        {"key": "backorders_delivery", "value": "lines_complete"},
    ]
    assert "shipping_lines" not in body


def test_a_second_resplit_keeps_the_first_waiting_since() -> None:
    since = {"id": 6, "key": "backorders_waiting_since", "value": "2026-10-01T08:00:00+00:00"}
    backorder, data = _backorder([since])

    body = resplit_create_body(backorder, _plan(backorder), backorder_data=data)

    assert {"key": "backorders_waiting_since", "value": "2026-10-01T08:00:00+00:00"} in (
        body["meta_data"]
    )
    assert waiting_since(data) == dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("value", ["", "not a date", None])
def test_an_unreadable_waiting_since_is_ignored(value: object) -> None:
    _backorder_order, data = _backorder(
        [{"id": 6, "key": "backorders_waiting_since", "value": value}]
    )
    assert waiting_since(data) is None


def test_update_body_keeps_what_ships_removes_what_moved_and_records_the_key() -> None:
    backorder, _data = _backorder()

    body = resplit_update_body(backorder, _plan(backorder))

    assert body == {
        "line_items": [
            {"id": 31, "quantity": 3, "subtotal": "30.00", "total": "27.00"},
            {"id": 32, "product_id": None},
        ],
        "meta_data": [{"key": "backorders_resplit_key", "value": "resplit:2001"}],
    }
    # Role, number and split key of the order are not touched.
    assert "status" not in body


def test_an_order_without_an_original_cannot_be_split_again() -> None:
    backorder, data = _backorder()
    orphan = order_from_data({**data, "parent_id": 0})
    with pytest.raises(ValueError, match="order 2001 names no original order"):
        resplit_create_body(orphan, _plan(backorder), backorder_data=data)
