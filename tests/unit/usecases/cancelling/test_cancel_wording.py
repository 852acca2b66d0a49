"""What a cancellation says it does and did (plugin/usecases/cancel_wording.py, and the notes
and audit entries of plugin/usecases/cancelling.py): a held part of an order (Shopify's held
fulfillment order, `Links.part_of`) has its units taken off and is never said to be cancelled
unless the store cancelled the order; products are named by name and SKU once known."""

from __future__ import annotations

import dataclasses

import pytest

from plugin.core.model import Links, PaymentState, ProductRef, Status
from plugin.core.rules import product_label
from plugin.ports import CancellationRecord, CancelState
from plugin.usecases.cancel_wording import every_unit_effect, result, what_was_done
from plugin.usecases.cancelling import cancel_key, cancel_line, partial_cancel_key
from tests.fakes import FakeAudit, make_line, make_order
from tests.unit.usecases.cancelling.test_cancel_line import (
    FakeCancellations,
    FakeReleases,
    FakeStore,
)

STORE = 1
HELD = "fo-5"  # the held part of order 5001 (#1001), numbered 1001-1


def held_part_world(
    *, units: int | None = None, paid: bool = False
) -> tuple[FakeStore, FakeCancellations, str]:
    """Order #1001 whose held part `fo-5` holds 3 kettles (line 21) and, in the default
    world, nothing else."""
    order = make_order(
        HELD,
        [make_line("21", "7", 3, "10.00", name="Kettle")],
        status=Status.NEW_BACKORDER,
        payment_state=PaymentState.PAID if paid else PaymentState.UNPAID,
        links=Links(parent_id="5001", is_backorder_order=True, part_of="1001"),
    )
    order = dataclasses.replace(order, number="1001-1")
    key = partial_cancel_key(HELD, "21", units, 3) if units else cancel_key(HELD, "21")
    record = CancellationRecord(
        store_id=STORE, cancel_key=key, backorder_order_id=HELD, original_order_id="5001",
        line_id="21", product_id="7", variant_id=None, quantity=units or 3,
        reason="Changed their mind", requested_by="alice@example.com",
        state=CancelState.REQUESTED, units=units,
    )  # fmt: skip
    return FakeStore(order, {"21": "21"}), FakeCancellations({key: record}), key


def run(store: FakeStore, ledger: FakeCancellations, key: str, audit: FakeAudit) -> None:
    cancel_line(
        STORE, key, platform=store, cancellations=ledger, releases=FakeReleases(), audit=audit
    )


def test_the_last_held_units_close_the_held_part_and_the_order_is_not_said_cancelled() -> None:
    store, ledger, key = held_part_world()
    audit = FakeAudit()
    run(store, ledger, key, audit)
    record = ledger.get(STORE, key)
    assert record is not None and record.state == "done"
    assert record.outcome is not None and record.outcome["order_cancelled"] is False
    note = (
        "Backorders took the backordered 'Kettle' (SKU SKU-7) × 3 (30.00 USD) off the held part "
        "1001-1 of order #1001 at the request of alice@example.com. Reason: Changed their mind. "
        "The units will not be shipped and their stock is given back; the held part closes. "
        "This order is not cancelled: it keeps what ships now. The customer was not charged "
        "for these units."
    )
    # One order in the store: one note.
    assert store.calls == [("cancel_order", HELD), ("add_note", HELD, note)]
    assert [(e.order_id, e.kind, e.message) for e in audit.entries] == [
        (
            HELD,
            "call",
            "Took 'Kettle' (SKU SKU-7) × 3 off the held part 1001-1 of order #1001, which "
            "closes; order #1001 is not cancelled and keeps what ships now.",
        ),
        (HELD, "info", note),
    ]
    assert result(record) == (
        "Took 'Kettle' (SKU SKU-7) × 3 off the held part 1001-1 of order #1001, which closes; "
        "order #1001 is not cancelled and keeps what ships now. The customer was not charged "
        "for these units."
    )


def test_some_held_units_say_how_many_were_taken_off_and_what_is_refunded() -> None:
    store, ledger, key = held_part_world(units=1, paid=True)
    audit = FakeAudit()
    run(store, ledger, key, audit)
    record = ledger.get(STORE, key)
    assert record is not None and record.state == "done"
    done = (
        "Took 1 of the 3 waiting units of 'Kettle' (SKU SKU-7) off the held part 1001-1 of "
        "order #1001; 2 units still wait; the held part's total is now 20.00."
    )
    assert audit.entries[0].message == done
    assert store.calls[1] == (
        "add_note",
        HELD,
        "Backorders took 1 of the 3 backordered units of 'Kettle' (SKU SKU-7) (10.00 USD) off "
        "the held part 1001-1 of order #1001 at the request of alice@example.com. Reason: "
        "Changed their mind. The units will not be shipped and their stock is given back; 2 "
        "units of them still wait (the held part's total is now 20.00). This order is not "
        "cancelled: it keeps what ships now. The customer paid for these units with order "
        "#1001: refund 10.00 USD from that order (Backorders moves no money).",
    )
    assert len(store.calls) == 2
    assert result(record) == (
        f"{done} The customer paid for these units with order #1001: refund 10.00 USD from "
        "that order (Backorders moves no money)."
    )


def test_a_held_part_that_was_all_its_order_had_says_the_order_is_cancelled() -> None:
    store, ledger, key = held_part_world()
    store.part_is_everything = True
    audit = FakeAudit()
    run(store, ledger, key, audit)
    assert audit.entries[0].message == (
        "Cancelled order #1001: 'Kettle' (SKU SKU-7) × 3 in the held part 1001-1 of order "
        "#1001 was all it had left."
    )
    assert store.calls[1][2].endswith(
        "They were all this order had left, so the order is cancelled and its stock restored. "
        "The customer was not charged for these units."
    )


def test_an_order_of_its_own_is_said_cancelled() -> None:
    record = CancellationRecord(
        store_id=STORE, cancel_key=cancel_key("2001", "11"), backorder_order_id="2001",
        original_order_id="2000", line_id="11", product_id="7", variant_id=None, quantity=2,
        reason="x", requested_by="alice@example.com", state=CancelState.DONE,
        outcome={"product": "Kettle", "sku": "", "part_of": None, "quantity": 2,
                 "amount": "20.00", "currency": "USD", "paid": False, "cancels_order": True,
                 "order_cancelled": True},
    )  # fmt: skip
    assert result(record) == (
        "Cancelled backorder order #2001: 'Kettle' × 2 was its only line. The customer was not "
        "charged for these units."
    )


def test_an_outcome_saved_before_names_and_held_parts_reads_as_it_always_did() -> None:
    """Rows written before this wording have no sku, part_of or order_cancelled, and before
    that no product name: they still read, naming the product by id."""
    record = CancellationRecord(
        store_id=STORE, cancel_key=cancel_key("2001", "11"), backorder_order_id="2001",
        original_order_id="2000", line_id="11", product_id="7", variant_id="70", quantity=2,
        reason="x", requested_by="alice@example.com", state=CancelState.DONE,
        outcome={"backorder_line_id": "21", "quantity": 2, "amount": "20.00",
                 "currency": "USD", "paid": True, "cancels_order": False, "new_total": "3.00"},
    )  # fmt: skip
    assert result(record) == (
        "Removed product 7 / 70 × 2 from backorder order #2001; its total is now 3.00. The "
        "customer paid for these units with order #2000: refund 20.00 USD from that order "
        "(Backorders moves no money)."
    )
    assert record.outcome is not None
    old_cancel = {**record.outcome, "product": "Kettle", "cancels_order": True}
    assert what_was_done(record, old_cancel) == (
        "Cancelled backorder order #2001: 'Kettle' × 2 was its only line."
    )
    assert result(dataclasses.replace(record, outcome=None)) is None


@pytest.mark.parametrize(
    ("part_of", "last_line", "known", "text"),
    [
        ("1001", True, True,
         "The units are taken off the held part of order #1001 and their stock is given back; "
         "the held part closes. Order #1001 itself is not cancelled: it keeps what ships now."),
        ("1001", False, True,
         "The units are taken off the held part of order #1001 and their stock is given back. "
         "Order #1001 itself is not cancelled: it keeps what ships now."),
        (None, True, True,
         "It is the backorder order's last open line, so the backorder order is cancelled in "
         "the store and its stock restored."),
        (None, False, True,
         "The line is removed from the backorder order in the store, its total shrinks and its "
         "stock is given back."),
        (None, True, False,
         "The units are cancelled in the store and their stock given back; the order page then "
         "says exactly what the store did."),
    ],
)  # fmt: skip
def test_what_cancelling_every_unit_will_do(
    part_of: str | None, last_line: bool, known: bool, text: str
) -> None:
    assert every_unit_effect(part_of=part_of, last_line=last_line, known=known) == text


def test_a_product_is_named_by_name_and_sku_and_by_id_only_when_nothing_else_is_known() -> None:
    ref = ProductRef("7", "70")
    assert product_label("Kettle", "KET-1", ref) == "'Kettle' (SKU KET-1)"
    assert product_label("Kettle", "", ref) == "'Kettle'"
    assert product_label("", "KET-1", ref) == "product 7 / 70"
    assert product_label("", "", ProductRef("7")) == "product 7"


def test_one_unit_left_still_waits() -> None:
    """By hand on WooCommerce: "Took 1 of the 2 waiting units of 'Walnut Board' off backorder
    order #113; 1 unit still wait"."""
    record = CancellationRecord(
        store_id=STORE, cancel_key=partial_cancel_key("113", "1", 1, 2), backorder_order_id="113",
        original_order_id="112", line_id="1", product_id="104", variant_id=None, quantity=1,
        reason="x", requested_by="alice@example.com", state=CancelState.DONE,
        outcome={"product": "Walnut Board", "sku": "BOARD-WALNUT", "number": "113",
                 "part_of": None, "quantity": 1, "amount": "45.00", "currency": "USD",
                 "paid": False, "cancels_order": False, "reduces_line": True,
                 "line_quantity": 2, "kept_quantity": 1, "new_total": "45.00"},
    )  # fmt: skip
    assert result(record) == (
        "Took 1 of the 2 waiting units of 'Walnut Board' (SKU BOARD-WALNUT) off backorder order "
        "#113; 1 unit still waits; its total is now 45.00. The customer was not charged for "
        "these units."
    )


def test_the_backorder_order_is_named_by_its_number_not_its_woocommerce_id() -> None:
    """The same cancellation as the page heading names it: backorder order 112-001 (its
    label, saved by the job; or the page's, for an outcome saved without one)."""
    outcome = {"product": "Walnut Board", "sku": "BOARD-WALNUT", "number": "113",
               "part_of": None, "quantity": 1, "amount": "45.00", "currency": "USD",
               "paid": False, "cancels_order": False, "reduces_line": True,
               "line_quantity": 2, "kept_quantity": 1, "new_total": "45.00"}  # fmt: skip
    record = CancellationRecord(
        store_id=STORE, cancel_key=partial_cancel_key("113", "1", 1, 2), backorder_order_id="113",
        original_order_id="112", line_id="1", product_id="104", variant_id=None, quantity=1,
        reason="x", requested_by="alice@example.com", state=CancelState.DONE,
        outcome={**outcome, "label": "112-001"},
    )  # fmt: skip
    expected = (
        "Took 1 of the 2 waiting units of 'Walnut Board' (SKU BOARD-WALNUT) off backorder order "
        "112-001; 1 unit still waits; its total is now 45.00. The customer was not charged for "
        "these units."
    )
    assert result(record) == expected
    assert result(dataclasses.replace(record, outcome=outcome), "112-001") == expected
