"""Plan serialisation: exact JSON shape and refusal of malformed input."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from plugin.core.model import Policies, StoreSettings
from plugin.core.serialize import decimal_to_str, plan_from_dict, plan_to_dict
from plugin.core.split import plan_split
from tests.unit.core.builders import line, order, stock


def _plan_dict() -> dict[str, Any]:
    o = order(line("1", "A", 3, "10.00", "2.00"), shipping="6.00")
    plan = plan_split(
        o, dict([stock("A", 2)]), Policies(StoreSettings(additional_shipping=Decimal("5")))
    )
    return plan_to_dict(plan)


def test_plan_dict_uses_strings_for_money_and_values_for_enums() -> None:
    data = _plan_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["schema"] == 1
    assert data["outcome"] == "split"
    assert data["payment"] == "charge_on_release"
    assert data["additional_shipping"] == "5.00"
    assert data["moved_amount"] == "9.00"
    assert data["lines"][0]["moved_amounts"] == {
        "subtotal": "3.33",
        "subtotal_tax": "0.67",
        "total": "3.33",
        "tax": "0.67",
    }
    assert data["lines"][0]["ref"] == {"product_id": "A", "variant_id": None}
    assert data["backorder_totals"]["total"] == "9.00"
    assert data["split_key"] == "501:1"
    assert plan_from_dict(data) == plan_from_dict(json.loads(json.dumps(data)))


@pytest.mark.parametrize(
    ("value", "text"),
    [("1E+2", "100"), ("0.00", "0.00"), ("-0.5", "-0.5"), ("1E-7", "0.0000001")],
)
def test_decimals_are_written_without_exponent(value: str, text: str) -> None:
    assert decimal_to_str(Decimal(value)) == text


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("schema",), 2, "unsupported plan schema 2"),
        (("outcome",), "exploded", "'exploded' is not a valid Outcome"),
        (("moved_amount",), 9.0, "expected a decimal string, got float"),
        (("moved_amount",), "NaN", "not a finite decimal"),
        (("moved_amount",), "nine", "not a decimal: 'nine'"),
        (("lines", 0, "keep"), "2", "expected an integer, got str"),
        (("lines", 0, "keep"), True, "expected an integer, got bool"),
        (("hold_original",), "no", "hold_original must be a boolean"),
        (("order_id",), 501, "expected a string, got int"),
    ],
)
def test_malformed_plans_are_refused(
    path: tuple[str | int, ...], value: object, message: str
) -> None:
    data = _plan_dict()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        plan_from_dict(data)


def test_missing_keys_are_refused() -> None:
    data = _plan_dict()
    del data["lines"][0]["backorder"]
    with pytest.raises(ValueError, match="malformed plan: KeyError"):
        plan_from_dict(data)


@pytest.mark.parametrize(("currency", "zero"), [("USD", "0.00"), ("JPY", "0"), ("KWD", "0.000")])
def test_zeros_are_written_to_the_currency_precision(currency: str, zero: str) -> None:
    o = order(line("1", "A", 2, "20", "2"), line("2", "B", 1, "5"), currency=currency)
    data = plan_to_dict(plan_split(o, dict([stock("A", 0), stock("B", 1)]), Policies()))
    assert data["backorder_totals"]["fees"] == zero
    assert data["backorder_totals"]["shipping"] == zero
    assert data["original_totals"]["shipping"] == zero
    assert data["additional_shipping"] == zero
    assert data["lines"][1]["moved_amounts"]["total"] == zero
    assert data["lines"][0]["kept_amounts"]["total"] == zero
