"""The expected date of a waiting line (issues 14 and 15): the purchase order covering it, else
the product's date, else not known; the same choice for the customer's page and delay checks."""

from __future__ import annotations

import datetime as dt

from plugin.core.model import Policies, ProductPolicy, ProductRef
from plugin.usecases.self_service import expected_date, purchase_order_dates

KETTLE = ProductRef("7")
RED_MUG = ProductRef("9", "91")
PRODUCT_DATE = dt.date(2027, 1, 9)
PO_DATE = dt.date(2027, 2, 14)
DATED = Policies(products=(ProductPolicy(KETTLE, expected_date=PRODUCT_DATE),
                           ProductPolicy(ProductRef("9"), expected_date=PRODUCT_DATE)))  # fmt: skip


def test_the_purchase_order_covering_the_line_wins_over_the_products_date() -> None:
    assert expected_date(KETTLE, DATED, {KETTLE: PO_DATE}) == PO_DATE
    assert expected_date(KETTLE, DATED, {}) == PRODUCT_DATE
    assert expected_date(KETTLE, DATED) == PRODUCT_DATE
    assert expected_date(KETTLE, Policies()) is None  # "not known yet"
    assert expected_date(KETTLE, Policies(), {KETTLE: PO_DATE}) == PO_DATE


def test_a_variation_takes_its_own_purchase_order_then_its_products() -> None:
    assert expected_date(RED_MUG, DATED, {RED_MUG: PO_DATE}) == PO_DATE
    assert expected_date(RED_MUG, DATED, {ProductRef("9"): PO_DATE}) == PO_DATE
    assert expected_date(RED_MUG, DATED, {ProductRef("9", "92"): PO_DATE}) == PRODUCT_DATE


def test_dates_are_per_order_and_a_draft_promises_none() -> None:
    covering = {
        ("113", KETTLE): ("PO-1-001", PO_DATE),
        ("113", RED_MUG): ("PO-1-002", None),  # a draft: nothing promised yet
        ("115", KETTLE): ("PO-1-003", dt.date(2027, 3, 1)),
    }
    dates = purchase_order_dates(covering)
    assert dates == {"113": {KETTLE: PO_DATE}, "115": {KETTLE: dt.date(2027, 3, 1)}}
    assert expected_date(RED_MUG, DATED, dates["113"]) == PRODUCT_DATE
    assert expected_date(KETTLE, DATED, dates.get("117")) == PRODUCT_DATE  # not covered
