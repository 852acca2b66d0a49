"""Orders placed through the sandbox storefront are split by the running plugin."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

import run
from tests.e2e.helpers import Api, PluginDb, Shop, meta, money, wait_for

# Also on PostgreSQL: one of the representative e2e tests (tests/README.md).
pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite", "postgresql")]


def _products(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh in-stock product and a fresh out-of-stock one that allows backorders."""
    tag = uuid.uuid4().hex[:6]
    in_stock = api.create_product(f"Mug {tag}", price="12.00", stock=10, backorders="no")
    short = api.create_product(f"Kettle {tag}", price="30.00", stock=0, backorders="notify")
    return in_stock, short


def _lines(order: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(line["product_id"]): line for line in order["line_items"]}


def _split_keys(order: dict[str, Any]) -> list[str]:
    value = meta(order, "backorders_split_keys")
    value = json.loads(value) if isinstance(value, str) else value
    return [str(k) for k in value or []]


def _split_of(api: Api, order_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Wait for the split to be finished (both orders written, the note added); return
    (original, backorder order). The backorder order is found as WooCommerce links it,
    by `parent_id`: the original keeps no list of its children."""

    def finished() -> tuple[dict[str, Any], dict[str, Any]] | None:
        children = api.children(order_id)
        if len(children) != 1:
            return None
        original = api.order(order_id)
        if not _split_keys(original):
            return None  # the original is not updated yet
        number = meta(children[0], "backorders_number")
        if not any(number and number in n["note"] for n in api.notes(order_id)):
            return None  # the note on the original is the last step
        return original, children[0]

    return wait_for(finished, what=f"split of order {order_id}")


def _assert_split(
    api: Api,
    before: dict[str, Any],
    in_stock: dict[str, Any],
    short: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    order_id = int(before["id"])
    original, backorder = _split_of(api, order_id)

    # The original keeps only what ships now; the backorder order holds the rest.
    assert {pid: line["quantity"] for pid, line in _lines(original).items()} == {in_stock["id"]: 2}
    assert {pid: line["quantity"] for pid, line in _lines(backorder).items()} == {short["id"]: 3}

    # Links both ways: parent_id, meta on both orders, the backorder number.
    split_key = meta(original, "backorders_split_key")
    assert split_key
    assert backorder["parent_id"] == order_id
    assert meta(original, "backorders_role") == "original"
    assert meta(backorder, "backorders_role") == "backorder"
    assert meta(backorder, "backorders_split_key") == split_key
    assert meta(backorder, "backorders_number") == f"{before['number']}-001"
    assert _split_keys(original) == [split_key]
    assert meta(original, "backorders_children") is None  # no extra call to list children

    # Quantities and money are conserved across the two orders.
    before_lines = _lines(before)
    assert sum(money(line["total"]) for line in _lines(backorder).values()) == money(
        before_lines[short["id"]]["total"]
    )
    assert money(_lines(original)[in_stock["id"]]["total"]) == money(
        before_lines[in_stock["id"]]["total"]
    )

    # The merchant sees why in a private note on the original; the customer gets no order
    # note by default (the split e-mail tells them).
    notes = api.notes(order_id)
    assert [n for n in notes if n["customer_note"]] == [], notes
    ours = [n["note"] for n in notes if "Backorders split this order" in n["note"]]
    assert len(ours) == 1 and f"{before['number']}-001" in ours[0], notes
    # The backorder order names its reference and its original in its summary meta, and
    # gets no note from us.
    reference = f"Backorder {before['number']}-001 of order {before['number']} (id {order_id})"
    assert str(meta(backorder, "backorders_summary")).startswith(reference)
    backorder_notes = [n["note"] for n in api.notes(int(backorder["id"]))]
    assert [n for n in backorder_notes if n.startswith("Backorder")] == [], backorder_notes
    return original, backorder


def test_unpaid_bank_transfer_order_is_split_and_charged_only_for_what_ships(
    stack: run.Stack, api: Api, shop: Shop
) -> None:
    in_stock, short = _products(api)
    order_id, number = shop.place_order([(in_stock["id"], 2), (short["id"], 3)], "bacs")
    before = api.order(order_id)
    assert (before["status"], before["number"], before["date_paid"]) == ("on-hold", number, None)
    assert money(before["total"]) == Decimal("114.00")  # 2 x 12.00 + 3 x 30.00

    original, backorder = _assert_split(api, before, in_stock, short)

    # Unpaid: the original's total no longer includes the backordered line.
    assert money(original["total"]) == Decimal("24.00")
    assert money(backorder["total"]) == Decimal("90.00")
    assert money(original["total"]) + money(backorder["total"]) == money(before["total"])
    assert original["status"] == "on-hold"


def test_paid_card_order_is_split_without_a_second_charge(
    stack: run.Stack, api: Api, shop: Shop
) -> None:
    in_stock, short = _products(api)
    order_id, _ = shop.place_order([(in_stock["id"], 2), (short["id"], 3)], "card")
    before = api.order(order_id)
    assert before["status"] == "processing"
    assert before["date_paid"] is not None

    original, backorder = _assert_split(api, before, in_stock, short)

    # Paid: both orders together hold exactly what the customer paid, no more.
    assert money(original["total"]) + money(backorder["total"]) == money(before["total"])
    assert original["status"] == "processing"


def test_cash_on_delivery_order_is_split(stack: run.Stack, api: Api, shop: Shop) -> None:
    in_stock, short = _products(api)
    order_id, _ = shop.place_order([(in_stock["id"], 2), (short["id"], 3)], "cod")
    before = api.order(order_id)
    assert (before["status"], before["payment_method"]) == ("processing", "cod")

    original, backorder = _assert_split(api, before, in_stock, short)
    assert money(original["total"]) == Decimal("24.00")
    assert money(backorder["total"]) == Decimal("90.00")


def test_the_split_is_in_the_plugins_ledger_and_audit_trail(
    stack: run.Stack, api: Api, shop: Shop, plugin_db: PluginDb
) -> None:
    in_stock, short = _products(api)
    order_id, _ = shop.place_order([(in_stock["id"], 2), (short["id"], 3)], "card")
    original, backorder = _split_of(api, order_id)
    assert stack.store_id is not None

    records = wait_for(
        lambda: [
            r
            for r in plugin_db.ledger.for_order(stack.store_id, str(order_id))
            if r.state == "done"
        ],
        what="split ledger record done",
    )
    assert [(r.original_order_id, r.backorder_order_id) for r in records] == [
        (str(order_id), str(backorder["id"]))
    ]
    assert records[0].split_key == meta(original, "backorders_split_key")
    trail = plugin_db.audit.for_order(stack.store_id, str(order_id))
    assert "decision" in {entry.kind for entry in trail}
