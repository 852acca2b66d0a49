"""The cancellation of a backorder line (plugin/usecases/cancelling.py) over in-memory fakes: the
write, the notes, refusals without a change, and exactly once when the process dies at any step."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from plugin.core.model import Line, Order, PaymentState, Status
from plugin.ports import CancellationRecord, CancelState
from plugin.usecases.cancelling import cancel_key, cancel_line, partial_cancel_key
from tests.fakes import Crash, FakeAudit, make_line, make_order

STORE = 1
KEY = cancel_key("2001", "11")


@dataclass
class FakeStore:
    """A backorder order #2001 (lines 21: product 7 × 2 from original line 11, 22: product 8 × 1
    from original line 12) and what was written to it."""

    order: Order
    original_lines: dict[str, str]
    calls: list[tuple[str, ...]] = field(default_factory=list)
    crash_at: int | None = None  # die right after this many writes
    part_is_everything: bool = False  # a held part that is all its order has left

    def _write(self, *call: str) -> None:
        self.calls.append(call)
        if self.crash_at is not None and len(self.calls) == self.crash_at:
            raise Crash(f"died after {call}")

    def get_order(self, order_id: str) -> Order:
        assert order_id == self.order.id
        return self.order

    def original_line_ids(self, order_id: str) -> Mapping[str, str]:
        return dict(self.original_lines)

    def remove_line(self, order_id: str, line_id: str) -> str | None:
        lines = tuple(line for line in self.order.lines if line.line_id != line_id)
        if len(lines) != len(self.order.lines):
            self.order = dataclasses.replace(self.order, lines=lines)
            self._write("remove_line", order_id, line_id)
        return f"{sum(line.total for line in lines):.2f}"

    def reduce_line(
        self, order_id: str, line_id: str, quantity: int, subtotal: Decimal, total: Decimal
    ) -> str | None:
        lines = tuple(
            dataclasses.replace(line, quantity=quantity, subtotal=subtotal, total=total)
            if line.line_id == line_id
            else line
            for line in self.order.lines
        )
        if lines != self.order.lines:
            self.order = dataclasses.replace(self.order, lines=lines)
            self._write("reduce_line", order_id, line_id, str(quantity), str(subtotal), str(total))
        return f"{sum(line.total for line in lines):.2f}"

    def cancel_order(self, order_id: str) -> bool:
        """A held part of an order (`Links.part_of`) closes; the order goes on, unless
        `part_is_everything` (its held part was all it had left)."""
        if self.order.status in (Status.NEW_BACKORDER, Status.ON_HOLD):
            self.order = dataclasses.replace(self.order, status=Status.CANCELLED)
            self._write("cancel_order", order_id)
        return self.order.links.part_of is None or self.part_is_everything

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None:
        self._write("add_note", order_id, text)


@dataclass
class FakeCancellations:
    records: dict[str, CancellationRecord] = field(default_factory=dict)

    def get(self, store_id: int, key: str) -> CancellationRecord | None:
        return self.records.get(key)

    def mark_write_attempted(self, store_id: int, key: str, outcome: Mapping[str, Any]) -> None:
        self.records[key] = dataclasses.replace(
            self.records[key], write_attempted=True, outcome=dict(outcome)
        )

    def advance(
        self, store_id: int, key: str, state: str, *, outcome: Mapping[str, Any] | None = None
    ) -> None:
        changes: dict[str, Any] = {"state": state}
        if outcome is not None:
            changes["outcome"] = dict(outcome)
        self.records[key] = dataclasses.replace(self.records[key], **changes)

    def fail(self, store_id: int, key: str, error: str) -> None:
        self.records[key] = dataclasses.replace(self.records[key], error=error)


@dataclass
class FakeReleases:
    released: set[str] = field(default_factory=set)

    def for_order(self, store_id: int, order_id: str) -> list[Any]:
        return ["release"] if order_id in self.released else []


def backorder_order(*lines: Line, paid: bool = True) -> Order:
    return make_order(
        "2001",
        lines,
        status=Status.NEW_BACKORDER,
        payment_state=PaymentState.PAID if paid else PaymentState.UNPAID,
    )


def world(
    *lines: Line, paid: bool = True, units: int | None = None, key: str = KEY
) -> tuple[FakeStore, FakeCancellations]:
    lines = lines or (
        make_line("21", "7", 2, "10.00", name="Kettle"),
        make_line("22", "8", 1, "3.00", name="Pen"),
    )
    store = FakeStore(backorder_order(*lines, paid=paid), {"21": "11", "22": "12"})
    record = CancellationRecord(
        store_id=STORE, cancel_key=key, backorder_order_id="2001", original_order_id="2000",
        line_id="11", product_id="7", variant_id=None, quantity=units or 2,
        reason="Discontinued", requested_by="alice@example.com", state=CancelState.REQUESTED,
        units=units,
    )  # fmt: skip
    return store, FakeCancellations({key: record})


def run(
    store: FakeStore,
    ledger: FakeCancellations,
    audit: FakeAudit | None = None,
    releases: FakeReleases | None = None,
    key: str = KEY,
) -> CancellationRecord | None:
    return cancel_line(
        STORE, key, platform=store, cancellations=ledger,
        releases=releases or FakeReleases(), audit=audit or FakeAudit(),
    )  # fmt: skip


BACKORDER_NOTE = (
    "Backorders cancelled the backorder line 'Kettle' (SKU SKU-7)"
    " × 2 (20.00 USD) at the request of "
    "alice@example.com. Reason: Discontinued. The line is removed and its stock given back; this "
    "order's total is now 3.00. The units are no longer owed to the customer; original order "
    "#2000 is unchanged. The customer paid for these units with order #2000: refund 20.00 USD "
    "from that order (Backorders moves no money)."
)
ORIGINAL_NOTE = (
    "Backorders cancelled the backordered 'Kettle' (SKU SKU-7)"
    " × 2 (20.00 USD) of backorder order #2001 at "
    "the request of alice@example.com. Reason: Discontinued. These units will not be shipped; "
    "this order is unchanged. The customer paid for these units with order #2000: refund 20.00 "
    "USD from that order (Backorders moves no money)."
)


def test_a_line_of_a_two_line_order_is_removed_and_noted_on_both_orders() -> None:
    store, ledger = world()
    audit = FakeAudit()
    record = run(store, ledger, audit)
    assert record is not None
    assert (record.state, record.error, record.write_attempted) == ("done", None, True)
    assert store.calls == [
        ("remove_line", "2001", "21"),
        ("add_note", "2001", BACKORDER_NOTE),
        ("add_note", "2000", ORIGINAL_NOTE),
    ]
    assert record.outcome == {
        "backorder_line_id": "21", "product": "Kettle", "sku": "SKU-7", "number": "2001",
        "part_of": None, "quantity": 2, "amount": "20.00", "currency": "USD", "paid": True,
        "cancels_order": False, "new_total": "3.00",
    }  # fmt: skip
    assert audit.entries[0].message == (
        "Removed 'Kettle' (SKU SKU-7) × 2 from backorder order #2001; its total is now 3.00."
    )
    assert [(e.order_id, e.kind) for e in audit.entries] == [
        ("2001", "call"),
        ("2001", "info"),
        ("2000", "info"),
    ]


def test_the_backorder_order_is_named_by_its_number_as_the_pages_name_it() -> None:
    """On WooCommerce the result and the original's note named backorder order 2000-001 by its
    id, `#2001`, where the order page's heading says `2000-001`."""
    store, ledger = world()
    audit = FakeAudit()
    record = cancel_line(
        STORE, KEY, platform=store, cancellations=ledger, releases=FakeReleases(), audit=audit,
        label="2000-001",
    )  # fmt: skip
    assert record is not None and record.state == "done"
    assert record.outcome is not None and record.outcome["label"] == "2000-001"
    assert audit.entries[0].message == (
        "Removed 'Kettle' (SKU SKU-7) × 2 from backorder order 2000-001; its total is now 3.00."
    )
    named = ORIGINAL_NOTE.replace("backorder order #2001", "backorder order 2000-001")
    assert store.calls[2] == ("add_note", "2000", named)
    assert "#2001" not in " ".join(entry.message for entry in audit.entries)


def test_a_refusal_names_the_backorder_order_by_its_number() -> None:
    store, ledger = world()
    releases = FakeReleases()
    releases.released.add("2001")
    record = cancel_line(
        STORE, KEY, platform=store, cancellations=ledger, releases=releases, audit=FakeAudit(),
        label="2000-001",
    )  # fmt: skip
    assert record is not None
    assert record.error == "backorder order 2000-001 was already released"
    assert store.calls == []


def test_the_last_line_cancels_the_backorder_order_and_says_so() -> None:
    store, ledger = world(make_line("21", "7", 2, "10.00", name="Kettle"), paid=False)
    record = run(store, ledger)
    assert record is not None and record.state == "done"
    assert [call[0] for call in store.calls] == ["cancel_order", "add_note", "add_note"]
    assert store.order.status is Status.CANCELLED
    assert [line.line_id for line in store.order.lines] == ["21"]  # kept as the record
    note = store.calls[1][2]
    assert (
        "It was this order's only line, so the order is cancelled and its stock restored." in note
    )
    assert note.endswith("The customer was not charged for these units.")


@pytest.mark.parametrize("crash_at", [1, 2, 3])
def test_a_crash_after_any_write_is_finished_once_by_the_retry(crash_at: int) -> None:
    store, ledger = world()
    store.crash_at = crash_at
    with pytest.raises(Crash):
        run(store, ledger)
    store.crash_at = None
    record = run(store, ledger)
    assert record is not None and record.state == "done"
    # The note written just before the crash is written again (at least once); the store's
    # line is removed once, and no step after the retry's point repeats.
    removes = [call for call in store.calls if call[0] == "remove_line"]
    assert removes == [("remove_line", "2001", "21")]
    notes = [call[1] for call in store.calls if call[0] == "add_note"]
    expected = {1: ["2001", "2000"], 2: ["2001", "2001", "2000"], 3: ["2001", "2000", "2000"]}
    assert notes == expected[crash_at]
    assert run(store, ledger) == record  # done: a repeated job does nothing
    assert len(store.calls) == 1 + len(expected[crash_at])


def test_the_decided_write_survives_a_crash_before_it_is_sent() -> None:
    """Crash between saving the decision and the write: the retry sends that same write."""
    store, ledger = world()
    ledger.mark_write_attempted(STORE, KEY, {
        "backorder_line_id": "21", "product": "Kettle", "quantity": 2, "amount": "20.00",
        "currency": "USD", "paid": True, "cancels_order": False,
    })  # fmt: skip
    store.order = dataclasses.replace(store.order, status=Status.NEW)  # changed meanwhile
    record = run(store, ledger)
    assert record is not None and record.state == "done"
    assert store.calls[0] == ("remove_line", "2001", "21")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("released", "backorder order #2001 was already released"),
        ("processing", "backorder order #2001 is no longer waiting on hold (status new)"),
        ("cancelled", "backorder order #2001 is no longer waiting on hold (status cancelled)"),
        ("line gone", "backorder order #2001 no longer has the line of product 7"),
    ],
)
def test_refusals_change_nothing_and_say_why(change: str, error: str) -> None:
    store, ledger = world()
    releases = FakeReleases()
    if change == "released":
        releases.released.add("2001")
    elif change == "processing":
        store.order = dataclasses.replace(store.order, status=Status.NEW)
    elif change == "cancelled":
        store.order = dataclasses.replace(store.order, status=Status.CANCELLED)
    else:
        store.order = dataclasses.replace(store.order, lines=store.order.lines[1:])
    before = store.order
    audit = FakeAudit()
    record = run(store, ledger, audit, releases)
    assert record is not None
    assert (record.state, record.error, record.write_attempted) == ("requested", error, False)
    assert store.calls == [] and store.order == before
    assert [(e.order_id, e.kind) for e in audit.entries] == [("2001", "error"), ("2000", "error")]
    assert error in audit.entries[0].message
    # A refused record is not carried out again by a repeated job.
    assert run(store, ledger, audit, releases) == record and store.calls == []


def test_without_the_original_line_meta_the_only_line_of_the_product_is_used() -> None:
    store, ledger = world()
    store.original_lines = {}
    assert run(store, ledger) is not None
    assert store.calls[0] == ("remove_line", "2001", "21")


def test_a_resplit_order_naming_the_first_originals_line_uses_the_products_only_line() -> None:
    store, ledger = world()
    store.original_lines = {"21": "5", "22": "6"}  # a -002 order: the first original's lines
    assert run(store, ledger) is not None
    assert store.calls[0] == ("remove_line", "2001", "21")


def test_without_the_meta_two_lines_of_the_product_are_ambiguous_and_refused() -> None:
    store, ledger = world(make_line("21", "7", 1), make_line("23", "7", 1))
    store.original_lines = {}
    record = run(store, ledger)
    assert record is not None and record.error is not None and store.calls == []


def test_an_unknown_key_does_nothing() -> None:
    store, ledger = world()
    assert cancel_line(
        STORE, "cancel:9:9", platform=store, cancellations=ledger,
        releases=FakeReleases(), audit=FakeAudit(),
    ) is None  # fmt: skip
    assert store.calls == []


# --- some units of a line ---------------------------------------------------------------------

PARTIAL = partial_cancel_key("2001", "11", 1, 3)


def test_some_units_reduce_the_line_once_and_the_notes_say_what_is_left() -> None:
    store, ledger = world(
        make_line("21", "7", 3, "10.00", name="Kettle"),
        make_line("22", "8", 1, "3.00", name="Pen"),
        units=1, key=PARTIAL,
    )  # fmt: skip
    audit = FakeAudit()
    record = run(store, ledger, audit, key=PARTIAL)
    assert record is not None
    assert (record.state, record.error, record.write_attempted) == ("done", None, True)
    assert store.calls[0] == ("reduce_line", "2001", "21", "2", "20.00", "20.00")
    assert [line.quantity for line in store.order.lines] == [2, 1]
    assert record.outcome == {
        "backorder_line_id": "21", "product": "Kettle", "sku": "SKU-7", "number": "2001",
        "part_of": None, "quantity": 1, "amount": "10.00",
        "currency": "USD", "paid": True, "cancels_order": False, "reduces_line": True,
        "line_quantity": 3, "kept_quantity": 2, "kept_subtotal": "20.00", "kept_total": "20.00",
        "new_total": "23.00",
    }  # fmt: skip
    assert store.calls[1] == (
        "add_note", "2001",
        "Backorders cancelled 1 of the 3 backordered units of 'Kettle' (SKU SKU-7)"
        " (10.00 USD) at the "
        "request of alice@example.com. Reason: Discontinued. The line keeps 2 units, and the "
        "stock of what was cancelled is given back; this order's total is now 23.00. The "
        "cancelled units are no longer owed to the customer; original order #2000 is unchanged. "
        "The customer paid for these units with order #2000: refund 10.00 USD from that order "
        "(Backorders moves no money).",
    )  # fmt: skip
    assert store.calls[2] == (
        "add_note", "2000",
        "Backorders cancelled 1 of the 3 backordered units of 'Kettle' (SKU SKU-7)"
        " (10.00 USD) of backorder "
        "order #2001 at the request of alice@example.com. Reason: Discontinued. These units "
        "will not be shipped (2 still wait); this order is unchanged. The customer paid for "
        "these units with order #2000: refund 10.00 USD from that order (Backorders moves no "
        "money).",
    )  # fmt: skip
    assert [(e.order_id, e.kind) for e in audit.entries] == [
        ("2001", "call"), ("2001", "info"), ("2000", "info"),
    ]  # fmt: skip
    assert audit.entries[0].message == (
        "Took 1 of the 3 waiting units of 'Kettle' (SKU SKU-7) off backorder order #2001; "
        "2 units still wait; its total is now 23.00."
    )
    assert run(store, ledger, key=PARTIAL) == record and len(store.calls) == 3


@pytest.mark.parametrize("crash_at", [1, 2, 3])
def test_a_partial_cancel_crashing_after_any_write_reduces_the_line_once(crash_at: int) -> None:
    store, ledger = world(make_line("21", "7", 3, "10.00", name="Kettle"), units=1, key=PARTIAL)
    store.crash_at = crash_at
    with pytest.raises(Crash):
        run(store, ledger, key=PARTIAL)
    store.crash_at = None
    record = run(store, ledger, key=PARTIAL)
    assert record is not None and record.state == "done"
    reduces = [call for call in store.calls if call[0] == "reduce_line"]
    assert reduces == [("reduce_line", "2001", "21", "2", "20.00", "20.00")]
    assert [line.quantity for line in store.order.lines] == [2]
    assert store.order.status is Status.NEW_BACKORDER  # the only line kept units: not cancelled


def test_the_decided_reduction_is_repeated_after_a_crash_before_it_was_sent() -> None:
    """The decision is saved before the write; the retry sends the same quantity, even though
    the line's quantity read now would give another plan."""
    store, ledger = world(make_line("21", "7", 3, "10.00", name="Kettle"), units=1, key=PARTIAL)
    ledger.mark_write_attempted(STORE, PARTIAL, {
        "backorder_line_id": "21", "product": "Kettle", "quantity": 1, "amount": "10.00",
        "currency": "USD", "paid": True, "cancels_order": False, "reduces_line": True,
        "line_quantity": 3, "kept_quantity": 2, "kept_subtotal": "20.00", "kept_total": "20.00",
    })  # fmt: skip
    record = run(store, ledger, key=PARTIAL)
    assert record is not None and record.state == "done"
    assert store.calls[0] == ("reduce_line", "2001", "21", "2", "20.00", "20.00")


def test_all_the_units_asked_for_remove_the_line_as_a_whole_cancel_does() -> None:
    store, ledger = world(units=2, key=partial_cancel_key("2001", "11", 2, 2))
    record = run(store, ledger, key=partial_cancel_key("2001", "11", 2, 2))
    assert record is not None and record.state == "done"
    assert store.calls[0] == ("remove_line", "2001", "21")
    assert record.outcome is not None and "reduces_line" not in record.outcome
    assert record.removes_line


def test_more_units_than_the_line_has_now_are_refused_without_a_change() -> None:
    key = partial_cancel_key("2001", "11", 3, 4)
    store, ledger = world(units=3, key=key)  # the line has 2 units now
    before = store.order
    audit = FakeAudit()
    record = run(store, ledger, audit, key=key)
    assert record is not None
    assert (record.state, record.write_attempted) == ("requested", False)
    assert record.error == "The line has 2 units waiting: 3 is too many."
    assert store.calls == [] and store.order == before
    assert [(e.order_id, e.kind) for e in audit.entries] == [("2001", "error"), ("2000", "error")]


def test_a_partial_record_does_not_count_as_removing_the_line() -> None:
    store, ledger = world(make_line("21", "7", 3, "10.00"), units=1, key=PARTIAL)
    assert not ledger.records[PARTIAL].removes_line
    record = run(store, ledger, key=PARTIAL)
    assert record is not None and record.state == "done" and not record.removes_line


def test_keys_name_the_units_and_the_units_waiting_when_asked() -> None:
    assert partial_cancel_key("2001", "11", 1, 3) == "cancel:2001:11:1of3"
    assert cancel_key("2001", "11") == "cancel:2001:11"


# --- a line of an order held whole (delay notices cancel it: plugin/usecases/delay_notices.py)


def held_world(
    *lines: Line, status: Status = Status.ON_HOLD
) -> tuple[FakeStore, FakeCancellations]:
    """Original #2000 waits whole On Hold (`hold:2000`, no backorder order): its own lines."""
    lines = lines or (
        make_line("11", "7", 2, "10.00", name="Kettle"),
        make_line("12", "8", 1, "3.00", name="Pen"),
    )
    order = make_order("2000", lines, status=status, payment_state=PaymentState.PAID)
    store = FakeStore(order, {})
    key = cancel_key("2000", "11")
    record = CancellationRecord(
        store_id=STORE, cancel_key=key, backorder_order_id="2000", original_order_id="2000",
        line_id="11", product_id="7", variant_id=None, quantity=2, reason="No consent",
        requested_by="Backorders", state=CancelState.REQUESTED,
    )  # fmt: skip
    return store, FakeCancellations({key: record})


def test_a_line_of_an_order_held_whole_is_removed_from_it_with_one_note() -> None:
    store, ledger = held_world()
    audit = FakeAudit()
    record = run(store, ledger, audit, key=cancel_key("2000", "11"))
    assert record is not None and record.is_held_whole
    assert (record.state, record.error) == ("done", None)
    note = (
        "Backorders cancelled 'Kettle' (SKU SKU-7)"
        " × 2 (20.00 USD) of this order, which waited whole for "
        "stock, at the request of Backorders. Reason: No consent. The line is removed and its "
        "stock given back; this order's total is now 3.00. The customer paid for these units "
        "with order #2000: refund 20.00 USD from that order (Backorders moves no money)."
    )
    assert store.calls == [("remove_line", "2000", "11"), ("add_note", "2000", note)]
    assert [(e.order_id, e.kind) for e in audit.entries] == [("2000", "call"), ("2000", "info")]


def test_the_last_line_of_an_order_held_whole_cancels_it() -> None:
    store, ledger = held_world(make_line("11", "7", 2, "10.00", name="Kettle"))
    record = run(store, ledger, key=cancel_key("2000", "11"))
    assert record is not None and record.state == "done"
    assert [call[0] for call in store.calls] == ["cancel_order", "add_note"]
    assert store.order.status is Status.CANCELLED
    assert "It was the order's last line, so the order is cancelled" in store.calls[1][2]


def test_an_order_held_whole_no_longer_on_hold_is_refused_without_a_change() -> None:
    store, ledger = held_world(status=Status.NEW)  # released meanwhile
    record = run(store, ledger, key=cancel_key("2000", "11"))
    assert record is not None and record.state == "requested"
    assert record.error == "order #2000 is no longer waiting on hold (status new)"
    assert store.calls == []
