"""Backorder numbering patterns and split keys."""

from __future__ import annotations

import pytest

from plugin.core.model import Links
from plugin.core.split import (
    backorder_number,
    next_split_seq,
    numbering_pattern_errors,
    split_key,
    validate_numbering_pattern,
)
from tests.unit.core.builders import line, order


@pytest.mark.parametrize(
    ("pattern", "number", "seq", "expected"),
    [
        ("{number}-{seq:03d}", "1042", 1, "1042-001"),
        ("{number}-{seq:03d}", "1042", 2, "1042-002"),
        ("{number}-{seq:03d}", "1042", 1234, "1042-1234"),
        ("BO{seq}/{number}", "77", 3, "BO3/77"),
        ("{number}.{seq:02}", "A-9", 4, "A-9.04"),
    ],
)
def test_backorder_number(pattern: str, number: str, seq: int, expected: str) -> None:
    assert numbering_pattern_errors(pattern) == ()
    assert backorder_number(pattern, number, seq) == expected


@pytest.mark.parametrize(
    ("pattern", "error"),
    [
        ("{seq:03d}", "The pattern must contain {number}, the original order number."),
        ("{number}-X", "The pattern must contain {seq}, the split sequence (e.g. {seq:03d})."),
        ("{number}-{seq}-{id}", "Unknown field {id}: use only {number} and {seq}."),
        (
            "{number.__class__}-{seq}",
            "Unknown field {number.__class__}: use only {number} and {seq}.",
        ),
        ("{number}-{seq[0]}", "Unknown field {seq[0]}: use only {number} and {seq}."),
        ("{number!r}-{seq}", "Field {number} may not use a !r conversion."),
        ("{number}-{seq", "The pattern is not valid: expected '}' before end of string."),
        (
            "{number}-{seq:s}",
            "The pattern does not format: Unknown format code 's' for object of type 'int'.",
        ),
        ("{number}-{}", "Unknown field {}: use only {number} and {seq}."),
        ("{number}-{seq}\n", "The pattern may not contain control characters."),
        ("{number}-{seq:c}", "The pattern may not contain control characters."),
        ("{number}-{seq:.0e}", "The pattern must give a different number for every split."),
        ("{number:>999999999}-{seq}", "Field {number} may be at most 20 characters wide."),
        ("{number}-{seq:0999999999d}", "Field {seq} may be at most 20 characters wide."),
        (
            "{number}-{seq:{number.__class__}}",
            "Field {seq} may not nest other fields in its format.",
        ),
        ("{number}-{seq}" + "x" * 90, "The pattern may be at most 100 characters long."),
    ],
)
def test_invalid_patterns_are_explained(pattern: str, error: str) -> None:
    assert error in numbering_pattern_errors(pattern)
    with pytest.raises(ValueError, match="pattern|Field|Unknown"):
        validate_numbering_pattern(pattern)
    with pytest.raises(ValueError):
        backorder_number(pattern, "1042", 1)


def test_split_key_and_sequence() -> None:
    o = order(line("1", "A", 1, "1.00"), order_id="501")
    assert next_split_seq(o) == 1
    assert split_key(o.id, next_split_seq(o)) == "501:1"
    again = order(line("1", "A", 1, "1.00"), links=Links(split_count=2))
    assert next_split_seq(again) == 3
    assert next_split_seq(order(line("1", "A", 1, "1.00"), links=Links(split_count=4))) == 5
