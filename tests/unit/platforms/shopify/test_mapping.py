"""Shopify statuses, payments, ids and quantities in the core's terms."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plugin.core.model import DEFAULT_ELIGIBLE_STATUSES, BackorderMode, PaymentState, Status
from plugin.errors import ValidationFailed
from plugin.platforms.shopify.ids import gid, number
from plugin.platforms.shopify.mapping import (
    available_at,
    backorder_mode,
    hold_handle,
    money,
    payment_of,
    splits_of,
    status_of,
)


@pytest.mark.parametrize(
    ("data", "status", "eligible"),
    [
        ({"displayFulfillmentStatus": "UNFULFILLED"}, Status.NEW, True),
        ({"displayFulfillmentStatus": "PARTIALLY_FULFILLED"}, Status.NEW, True),
        ({"displayFulfillmentStatus": "ON_HOLD"}, Status.ON_HOLD, True),
        ({"displayFulfillmentStatus": "IN_PROGRESS"}, Status.PICK, False),
        ({"displayFulfillmentStatus": "SCHEDULED"}, Status.UNCOMMITTED, False),
        ({"displayFulfillmentStatus": "FULFILLED"}, Status.DISPATCHED, False),
        (
            {"displayFulfillmentStatus": "UNFULFILLED", "cancelledAt": "2025-01-01T00:00:00Z"},
            Status.CANCELLED,
            False,
        ),
        (
            {"displayFulfillmentStatus": "UNFULFILLED", "closedAt": "2025-01-01T00:00:00Z"},
            Status.DISPATCHED,
            False,
        ),
    ],
)
def test_eligibility_follows_cancelled_closed_and_fulfillment(
    data: dict[str, str], status: Status, eligible: bool
) -> None:
    assert status_of(data) is status
    assert (status in DEFAULT_ELIGIBLE_STATUSES) is eligible


@pytest.mark.parametrize(
    ("financial", "state"),
    [
        ("PENDING", PaymentState.UNPAID),
        ("AUTHORIZED", PaymentState.AUTHORISED),
        ("PARTIALLY_PAID", PaymentState.AUTHORISED),
        ("PAID", PaymentState.PAID),
        ("EXPIRED", PaymentState.UNPAID),
        ("VOIDED", PaymentState.UNPAID),
    ],
)
def test_payment_states(financial: str, state: PaymentState) -> None:
    assert payment_of({"displayFinancialStatus": financial}) is state


def test_ids_round_trip_and_refuse_junk() -> None:
    assert gid("Order", "450789469") == "gid://shopify/Order/450789469"
    assert gid("Order", "gid://shopify/Order/1") == "gid://shopify/Order/1"
    assert number("gid://shopify/InventoryItem/808950810") == "808950810"
    for bad in ("12a", "", "１２", "-1"):
        with pytest.raises(ValidationFailed):
            gid("Order", bad)
    with pytest.raises(ValidationFailed):
        number("gid://shopify/Order/abc")


def test_money_quantities_policies_and_handles() -> None:
    assert money({"shopMoney": {"amount": "147.0"}}, "USD") == Decimal("147.00")
    assert money({"shopMoney": {"amount": "1500"}}, "JPY") == Decimal("1500")
    assert backorder_mode("CONTINUE") is BackorderMode.YES
    assert backorder_mode("DENY") is BackorderMode.NO
    levels = [
        {
            "location": {"id": "gid://shopify/Location/1"},
            "quantities": [{"name": "available", "quantity": -3}],
        },
        {
            "location": {"id": "gid://shopify/Location/2"},
            "quantities": [{"name": "available", "quantity": 5}],
        },
    ]
    assert available_at(levels, "1") == -3
    assert available_at(levels, "2") == 5
    assert available_at(levels, "3") == 0
    assert hold_handle("1042:1") == "backorders-1042-1"
    assert len(hold_handle("x" * 200)) == 64
    assert splits_of({"metafield": {"value": '{"1042:1": {"number": "1042-001"}}'}}) == {
        "1042:1": {"number": "1042-001"}
    }
    assert splits_of({"metafield": {"value": "not json"}}) == {}
    assert splits_of({"metafield": None}) == {}
