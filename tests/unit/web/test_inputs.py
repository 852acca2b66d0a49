"""Ids read from URLs and forms: an order id of any platform, and nothing that could leave a
store URL's path or that `int` and the database would read differently."""

from __future__ import annotations

import pytest

from web.inputs import is_numeric_id, is_order_id


@pytest.mark.parametrize("value", ["112", "fo-10000000031", "1" * 18, "a" * 64])
def test_order_ids_of_every_platform_are_taken(value: str) -> None:
    assert is_order_id(value)


@pytest.mark.parametrize(
    "value",
    ["", "-1", "../1", "fo/1", "fo.1", "112\n", "１１２", "٣", "1 2", "a" * 65, "fo-1?x=1"],
)
def test_anything_else_is_no_order_id(value: str) -> None:
    assert not is_order_id(value)


def test_numeric_ids_stay_digits_only() -> None:
    assert is_numeric_id("112") and not is_numeric_id("fo-1") and not is_numeric_id("112\n")
