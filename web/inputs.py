"""Ids and numbers read from URLs and forms: ASCII digits only, matched over the whole value.

`str.isdigit` accepts superscripts (`²`) that `int` refuses, `\\d` accepts other scripts'
digits, and a pattern ending in `$` accepts a trailing newline (`112\\n`); these helpers do none
of that.
"""

from __future__ import annotations

import re

# A platform's numeric id (WooCommerce order, product, customer ids): fits SQL BIGINT.
NUMERIC_ID = re.compile(r"[0-9]{1,18}")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


# An order id as any platform makes it: WooCommerce's are digits, a Shopify held part's is
# `fo-<digits>`. ASCII letters, digits and `-` only, so it is safe in a store URL's path.
ORDER_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,63}")


def is_numeric_id(value: str) -> bool:
    """True for 1 to 18 ASCII digits and nothing else."""
    return NUMERIC_ID.fullmatch(value) is not None


def is_order_id(value: str) -> bool:
    """True for an order id of any platform (`ORDER_ID`); the store says whether it exists."""
    return ORDER_ID.fullmatch(value) is not None


def whole_number(raw: str, *, maximum: int) -> int | None:
    """`raw` as a number from 0 to `maximum` when it is ASCII digits only, else None."""
    if _WHOLE_NUMBER.fullmatch(raw) is None:
        return None
    value = int(raw)
    return value if value <= maximum else None


def units_typed(raw: str | None, *, waiting: int, name: str) -> int | None:
    """The units typed to cancel of a line with `waiting` units (the customer's page and the
    merchant's cancel form): None when left empty, else a whole number from 0 to `waiting`;
    raises ValueError naming the line otherwise."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    value = whole_number(text, maximum=waiting)
    if value is None:
        raise ValueError(
            f"{name}: enter a whole number of units from 0 to {waiting}, not {text[:20]!r}."
        )
    return value
