"""The purchase order as the supplier reads it (text and CSV); quantities typed in forms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from plugin.core.model import ProductRef
from plugin.core.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    PurchasingError,
    Supplier,
)
from plugin.usecases.purchasing import check_quantities, purchase_order_csv, purchase_order_text

ORDER = PurchaseOrder(
    "PO-20261204-001",
    "1",
    "EUR",
    PurchaseOrderStatus.SENT,
    (
        PurchaseOrderLine(ProductRef("11"), 12, Decimal("2.50"), "A-11"),
        PurchaseOrderLine(ProductRef("12", "13"), 1, Decimal("0.99"), "=HYPERLINK(1)"),
    ),
    expected_date=dt.date(2027, 1, 14),
)


def test_the_text_names_every_line_the_total_and_the_date() -> None:
    text = purchase_order_text(ORDER, Supplier("1", "Acme", "EUR", "po@acme.test"), "Mug Shop")
    assert text == (
        "Dear Acme,\n"
        "\n"
        "Mug Shop orders the following (purchase order PO-20261204-001):\n"
        "\n"
        "- 12 x A-11 at 2.50 EUR\n"
        "- 1 x =HYPERLINK(1) at 0.99 EUR\n"
        "\n"
        "Total: 30.99 EUR\n"
        "Expected delivery: 2027-01-14\n"
        "\n"
        "The lines are attached as PO-20261204-001.csv. Please quote PO-20261204-001 on the "
        "delivery and the invoice.\n"
    )


def test_the_csv_has_one_row_a_line_and_no_formula() -> None:
    assert purchase_order_csv(ORDER).splitlines() == [
        "purchase_order,supplier_sku,product_id,variant_id,quantity,unit_cost,currency,line_value",
        "PO-20261204-001,A-11,11,,12,2.50,EUR,30.00",
        "PO-20261204-001,'=HYPERLINK(1),12,13,1,0.99,EUR,0.99",
    ]


def test_typed_quantities_are_whole_numbers_of_zero_or_more() -> None:
    ref = ProductRef("11")
    assert check_quantities({ref: " 4 "}) == {ref: 4}
    assert check_quantities({ref: ""}) == {}
    for text, reason in (("-1", "negative_quantity"), ("1.5", "not_a_quantity"),
                         ("²", "not_a_quantity"), ("x", "not_a_quantity")):  # fmt: skip
        with pytest.raises(PurchasingError) as refused:
            check_quantities({ref: text})
        assert refused.value.reason == reason
