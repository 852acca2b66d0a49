"""Plan → WooCommerce request bodies, with exact expected JSON for a hand-computed plan."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from plugin.core.model import (
    Amounts,
    LinePlan,
    Order,
    Outcome,
    PaymentAction,
    Plan,
    ProductRef,
    Reason,
)
from plugin.platforms.woocommerce.mapping import (
    backorder_create_body,
    load_order,
    order_from_data,
    original_update_body,
)

from .conftest import line, order_json

BILLING = {
    "first_name": "Ada", "last_name": "Lovelace", "company": "", "address_1": "1 Loop Rd",
    "address_2": "", "city": "London", "state": "", "postcode": "N1", "country": "GB",
    "email": "ada@example.com", "phone": "0123",
}  # fmt: skip
SHIPPING = {k: v for k, v in BILLING.items() if k != "email"} | {"phone": ""}


def _original(**overrides: Any) -> tuple[Order, dict[str, Any]]:
    payload = order_json(
        line_items=[
            line(11, 93, 5, "50.00", reduced=5),  # 2 kept, 3 backordered
            line(12, 94, 1, "10.00", reduced=1),  # untouched
            line(14, 22, 2, "24.00", "20.00", variation_id=23, reduced=2),  # moves entirely
        ],
        **overrides,
    )
    data = load_order(payload)
    return order_from_data(data), data


def _am(subtotal: str, total: str) -> Amounts:
    return Amounts(subtotal=Decimal(subtotal), total=Decimal(total))


REASON = Reason("short", "Not enough stock")


def _lp(
    line_id: str, ref: ProductRef, keep: int, backorder: int, kept: Amounts, moved: Amounts
) -> LinePlan:
    return LinePlan(line_id, ref, keep + backorder, keep, backorder, 0, kept, moved, REASON)


def _plan(**overrides: Any) -> Plan:
    reason = REASON
    plan = Plan(
        order_id="1042",
        outcome=Outcome.SPLIT,
        reasons=(reason,),
        lines=(
            _lp("11", ProductRef("93"), 2, 3, _am("20.00", "20.00"), _am("30.00", "30.00")),
            _lp("12", ProductRef("94"), 1, 0, _am("10.00", "10.00"), Amounts()),
            _lp("14", ProductRef("22", "23"), 0, 2, Amounts(), _am("24.00", "20.00")),
        ),
        split_key="1042:7f3a",
        backorder_number="1042-001",
        additional_shipping=Decimal("5"),
        payment=PaymentAction.CHARGE_ON_RELEASE,
        moved_amount=Decimal("55.00"),
    )  # fmt: skip
    return replace(plan, **overrides)


def test_backorder_create_body_exact() -> None:
    original, _ = _original()
    body = backorder_create_body(
        original, _plan(), payment_method_title="Credit card", summary="Backorder 1042-001 ..."
    )
    assert body == {
        "parent_id": 1042,
        "status": "on-hold",
        "currency": "USD",
        "customer_id": 26,
        "billing": BILLING,
        "shipping": SHIPPING,
        "payment_method": "stripe",
        "payment_method_title": "Credit card",
        "set_paid": False,
        "line_items": [
            {
                "product_id": 93,
                "quantity": 3,
                "subtotal": "30.00",
                "total": "30.00",
                "meta_data": [{"key": "backorders_original_line", "value": "11"}],
            },
            {
                "product_id": 22,
                "variation_id": 23,
                "quantity": 2,
                "subtotal": "24.00",
                "total": "20.00",
                # No `_reduced_stock`: removing the original line restocks it and the on-hold
                # backorder order reduces it again (mapping docstring).
                "meta_data": [{"key": "backorders_original_line", "value": "14"}],
            },
        ],
        "shipping_lines": [
            {
                "method_id": "backorders_shipping",
                "method_title": "Backorder shipping",
                "total": "5.00",
            }
        ],
        "meta_data": [
            {"key": "backorders_split_key", "value": "1042:7f3a"},
            {"key": "backorders_role", "value": "backorder"},
            {"key": "backorders_number", "value": "1042-001"},
            {"key": "backorders_payment", "value": "charge_on_release"},
            # What a note on the backorder order used to say, without a call of its own.
            {"key": "backorders_summary", "value": "Backorder 1042-001 ..."},
        ],
    }
    json.dumps(body)  # serialisable as is


def test_original_update_body_exact() -> None:
    original, _ = _original()
    body = original_update_body(original, _plan())
    assert body == {
        "line_items": [
            {"id": 11, "quantity": 2, "subtotal": "20.00", "total": "20.00"},
            {"id": 14, "product_id": None},
        ],
        "meta_data": [
            {"key": "backorders_split_key", "value": "1042:7f3a"},
            {"key": "backorders_role", "value": "original"},
            {"key": "backorders_number", "value": "1042-001"},
            {"key": "backorders_split_keys", "value": '["1042:7f3a"]'},
        ],
    }
    assert json.loads(json.dumps(body))["line_items"][1] == {"id": 14, "product_id": None}


def test_paid_from_original_hold_and_no_extra_shipping() -> None:
    original, _ = _original(customer_id=0)
    plan = _plan(
        payment=PaymentAction.PAID_FROM_ORIGINAL,
        additional_shipping=Decimal("0"),
        hold_original=True,
    )
    create = backorder_create_body(original, plan)
    # No summary given: no empty summary is written.
    assert [m["key"] for m in create["meta_data"]] == [
        "backorders_split_key", "backorders_role", "backorders_number", "backorders_payment",
    ]  # fmt: skip
    assert "shipping_lines" not in create
    assert create["customer_id"] == 0
    assert create["set_paid"] is False  # payment_complete() would move on-hold to processing
    assert create["meta_data"][3] == {"key": "backorders_payment", "value": "paid_from_original"}
    update = original_update_body(original, plan)
    assert update["status"] == "on-hold"


def test_update_body_keeps_earlier_split_keys() -> None:
    meta = [{"id": 2, "key": "backorders_split_keys", "value": '["1042:first"]'}]
    original, _ = _original(meta_data=meta)
    plan = _plan(backorder_number="1042-002")
    body = original_update_body(original, plan, existing_split_keys=["1042:first"])
    assert body["meta_data"][2:] == [
        {"key": "backorders_number", "value": "1042-002"},
        {"key": "backorders_split_keys", "value": '["1042:first", "1042:7f3a"]'},
    ]
    # Idempotent retry: the key is already recorded and is not added twice.
    again = original_update_body(original, plan, existing_split_keys=["1042:first", "1042:7f3a"])
    assert again["meta_data"][3:] == [
        {"key": "backorders_split_keys", "value": '["1042:first", "1042:7f3a"]'},
    ]


@pytest.mark.parametrize(
    "plan",
    [
        _plan(outcome=Outcome.HOLD),
        _plan(split_key=None),
        _plan(backorder_number=None),
        _plan(lines=(_plan().lines[1],)),  # nothing moves
    ],
)
def test_bodies_refuse_plans_that_are_not_splits(plan: Plan) -> None:
    original, _ = _original()
    with pytest.raises(ValueError):
        backorder_create_body(original, plan)
    if plan.lines != (_plan().lines[1],):
        with pytest.raises(ValueError):
            original_update_body(original, plan)


def test_bodies_refuse_lines_not_on_the_order() -> None:
    original, _ = _original()
    stray = _plan().lines[0]._replace(line_id="999")
    plan = _plan(lines=(stray,))
    with pytest.raises(ValueError, match="999"):
        backorder_create_body(original, plan)
    with pytest.raises(ValueError, match="999"):
        original_update_body(original, plan)


def test_a_line_without_a_product_is_never_written_to_a_backorder_order() -> None:
    # A line whose product id named nothing is product 0 on WooCommerce (prepare_line_items).
    ghost = line(11, 0, 2, "0.00") | {"name": "", "sku": None, "price": 0}
    original = order_from_data(load_order(order_json(line_items=[ghost])))
    plan = Plan(
        order_id="1042", outcome=Outcome.SPLIT, reasons=(REASON,),
        lines=(_lp("11", ProductRef("0"), 0, 2, Amounts(), Amounts()),),
        split_key="k", backorder_number="1042-001",
    )  # fmt: skip

    assert (original.lines[0].product_id, original.lines[0].sku) == ("0", "")
    with pytest.raises(ValueError, match="line 11 names no product"):
        backorder_create_body(original, plan)


def test_amounts_are_written_in_the_currency_minor_unit() -> None:
    payload = order_json(currency="JPY", line_items=[line(11, 93, 5, "5000", reduced=5)])
    payload["shipping_lines"][0]["total"] = "500"
    data = load_order(payload)
    plan = Plan(
        order_id="1042", outcome=Outcome.SPLIT, reasons=(REASON,),
        lines=(_lp("11", ProductRef("93"), 2, 3, _am("2000", "2000"), _am("3000", "3000")),),
        split_key="k", backorder_number="1042-001", additional_shipping=Decimal("300"),
    )  # fmt: skip
    create = backorder_create_body(order_from_data(data), plan)
    assert create["line_items"][0]["subtotal"] == "3000"
    assert create["shipping_lines"][0]["total"] == "300"
    assert create["meta_data"][3] == {"key": "backorders_payment", "value": "charge_on_release"}
    update = original_update_body(order_from_data(data), plan)
    assert update["line_items"] == [{"id": 11, "quantity": 2, "subtotal": "2000", "total": "2000"}]


def test_update_body_skips_a_moved_line_already_removed() -> None:
    payload = order_json(line_items=[line(11, 93, 2, "20.00", reduced=2), line(12, 94, 1, "10.00")])
    original = order_from_data(load_order(payload))  # re-read after a first, partial attempt
    body = original_update_body(original, _plan())
    assert body["line_items"] == [{"id": 11, "quantity": 2, "subtotal": "20.00", "total": "20.00"}]


def test_from_order_json_through_the_planner_to_bodies() -> None:
    """End to end without I/O: WooCommerce JSON → core plan → request bodies."""
    from plugin.core.model import Policies
    from plugin.core.split import plan_split
    from plugin.platforms.woocommerce.stock import stock_for_order

    from .conftest import product_json

    payload = order_json(
        line_items=[
            line(11, 93, 5, "50.00", "45.00", reduced=5),  # 10% off; stock was 2 → now -3
            line(12, 94, 1, "10.00", reduced=1),
        ]
    )
    data = load_order(payload)
    original = order_from_data(data)
    stock = stock_for_order(data, [product_json(93, -3, backorders="notify"), product_json(94, 4)])
    plan = plan_split(original, stock, Policies())
    assert plan.outcome is Outcome.SPLIT
    assert plan.payment is PaymentAction.PAID_FROM_ORIGINAL  # stripe, date_paid set
    create = backorder_create_body(original, plan, payment_method_title="Credit card")
    update = original_update_body(original, plan)
    assert create["line_items"] == [
        {
            "product_id": 93,
            "quantity": 3,
            "subtotal": "30.00",
            "total": "27.00",
            "meta_data": [{"key": "backorders_original_line", "value": "11"}],
        }
    ]
    assert update["line_items"] == [
        {"id": 11, "quantity": 2, "subtotal": "20.00", "total": "18.00"}
    ]
    assert create["meta_data"][0] == {"key": "backorders_split_key", "value": plan.split_key}
    assert create["meta_data"][2] == {"key": "backorders_number", "value": "1042-001"}
