"""Dates and money on the customer's page, in the store's settings (issue 15)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from plugin.ports import DateStyle
from plugin.usecases.self_service import format_date, format_money


@pytest.mark.parametrize(
    ("style", "text"),
    [
        (DateStyle.ISO, "2027-01-09"),
        (DateStyle.DAY_MONTH, "09/01/2027"),
        (DateStyle.MONTH_DAY, "01/09/2027"),
        (DateStyle.LONG, "9 January 2027"),
    ],
)
def test_dates(style: DateStyle, text: str) -> None:
    assert format_date(dt.date(2027, 1, 9), style) == text
    assert format_date(None, style) == "not known yet"


def test_money_to_the_currency_minor_unit_with_the_store_decimal_mark() -> None:
    assert format_money(Decimal("1234.5"), "USD", decimal_comma=False) == "1,234.50 USD"
    assert format_money(Decimal("1234.5"), "EUR", decimal_comma=True) == "1 234,50 EUR"
    assert format_money(Decimal("1234"), "JPY", decimal_comma=False) == "1,234 JPY"
    assert format_money(Decimal("1.2345"), "KWD", decimal_comma=False) == "1.234 KWD"
