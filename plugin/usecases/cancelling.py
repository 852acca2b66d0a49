"""Use case: cancel one line of a backorder order, or some of its units (issue 5, the order
page; issue 15, the customer's page and delay notices).

What a cancellation means (README "Cancelling a backorder line"): the backordered units are no
longer owed to the customer. The original order is left as it is (it keeps what ships now);
the line is removed from the backorder order (`product_id: null`, which gives its reduced stock
back), so that order's totals shrink; when it was the order's only line, the backorder order is
cancelled instead (its stock is restored by the status change, and the line stays on it as the
record of what was cancelled). Cancelling some units (`CancellationRecord.units`) keeps the
line with the rest: its quantity and amounts are lowered (`core.cancellation`, the money split
to the cent), which gives back the stock of the units taken off. A paid backorder order was
paid from the original, so the note says the refund is due there: Backorders never moves money.

Exactly once: one record per (backorder order, original line), keyed `cancel:<order>:<line>`
(some units: `cancel:<order>:<line>:<units>of<waiting>`, the units waiting when asked, so a
second click is the same request and a later one is a new one), moved forward requested →
written → noted → done; the outcome (which line, whether the order is cancelled or how many
units the line keeps, the amount) is saved before the write, so a retry repeats the same
idempotent write (a line already gone or already at that quantity is not sent again, an order
already cancelled is not written). A record
that stops before the write (the order was released, is no longer on hold, the line is gone)
gets an `error` and changes nothing; the merchant may ask again. The caller holds the order's
lock and the allocation locks of its products around the whole run, so stock is never
allocated to a line being cancelled (releasing also skips orders with a cancellation open).

No Flask and no RQ here (like `releasing.py`): `worker.py` passes the adapters and the lock in.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from plugin.core.cancellation import CancelError, CancelWrite, plan_line_cancel
from plugin.core.model import Line, Order, PaymentState, Status
from plugin.core.wording import units
from plugin.ports import (
    AuditLog,
    CancellationLedger,
    CancellationRecord,
    CancelPlatform,
    CancelState,
    Lock,
    ReleaseLedger,
)
from plugin.steps import Step, carry_out
from plugin.usecases.cancel_wording import (
    held_part,
    money,
    order_name,
    payment,
    product_text,
    sentence,
    total_now,
    waits,
    what_was_done,
)

log = logging.getLogger(__name__)

THIS_ORDERS = "this order's"  # whose total a note on the order itself gives

REASON_MAX_LENGTH = 500


def cancel_key(backorder_order_id: str, line_id: str) -> str:
    """The deterministic key of the cancellation of one backorder line."""
    return f"cancel:{backorder_order_id}:{line_id}"


def partial_cancel_key(backorder_order_id: str, line_id: str, units: int, waiting: int) -> str:
    """The key of cancelling `units` of a line that had `waiting` units when it was asked."""
    return f"{cancel_key(backorder_order_id, line_id)}:{units}of{waiting}"


class CancelRefused(Exception):
    """The cancellation cannot be carried out; nothing was changed. `product`: the line's
    name when the store's order was read."""

    def __init__(self, message: str, *, product: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.product = product or {}


def cancel_line(
    store_id: int,
    key: str,
    *,
    platform: CancelPlatform,
    cancellations: CancellationLedger,
    releases: ReleaseLedger,
    audit: AuditLog,
    lock: Lock | None = None,
    label: str | None = None,
) -> CancellationRecord | None:
    """Carry out the recorded cancellation `key` from wherever it stopped; returns the record.
    `label`: the order as the pages name it (`112-001`; `reports.order_labels`), for what the
    merchant and the customer read."""
    guard = lock() if lock is not None else contextlib.nullcontext()
    with guard:
        record = cancellations.get(store_id, key)
        if record is None or not record.is_open:
            return record
        try:
            _carry_out(record, platform, cancellations, releases, audit, label)
        except CancelRefused as refusal:
            cancellations.fail(store_id, key, str(refusal))
            for order_id in (record.backorder_order_id, record.original_order_id):
                audit.record(
                    store_id, order_id, "error",
                    f"Cancelling the backorder line of {product_text(record, refusal.product)} "
                    f"was refused, nothing was changed: {refusal}",
                    cancel_key=key,
                )  # fmt: skip
            log.info("cancel refused store=%s key=%s reason=%s", store_id, key, refusal)
        return cancellations.get(store_id, key)


def _carry_out(
    record: CancellationRecord,
    platform: CancelPlatform,
    cancellations: CancellationLedger,
    releases: ReleaseLedger,
    audit: AuditLog,
    label: str | None,
) -> None:
    store_id, key, order_id = record.store_id, record.cancel_key, record.backorder_order_id
    outcome: dict[str, Any] = dict(record.outcome or {})

    def write() -> dict[str, Any]:
        nonlocal outcome
        if not record.write_attempted:
            outcome = _plan(record, platform, releases, label)
            cancellations.mark_write_attempted(store_id, key, outcome)
        if outcome["cancels_order"]:
            outcome["order_cancelled"] = platform.cancel_order(order_id)
            audit.record(
                store_id, order_id, "call", what_was_done(record, outcome), cancel_key=key
            )  # fmt: skip
        elif outcome.get("reduces_line"):
            new_total = platform.reduce_line(
                order_id,
                str(outcome["backorder_line_id"]),
                int(outcome["kept_quantity"]),
                Decimal(str(outcome["kept_subtotal"])),
                Decimal(str(outcome["kept_total"])),
            )
            outcome["new_total"] = new_total
            audit.record(
                store_id, order_id, "call", what_was_done(record, outcome), cancel_key=key
            )  # fmt: skip
        else:
            new_total = platform.remove_line(order_id, str(outcome["backorder_line_id"]))
            outcome["new_total"] = new_total
            audit.record(
                store_id, order_id, "call", what_was_done(record, outcome), cancel_key=key
            )  # fmt: skip
        return {"outcome": outcome}

    def note_backorder() -> None:
        platform.add_note(order_id, backorder_note(record, outcome))
        audit.record(
            store_id, order_id, "info", backorder_note(record, outcome), cancel_key=key
        )  # fmt: skip

    def note_original() -> None:
        # One order (held whole, or a held part of the original): its note says it all.
        if record.is_held_whole or outcome.get("part_of"):
            return
        platform.add_note(record.original_order_id, original_note(record, outcome))
        audit.record(
            store_id, record.original_order_id, "info", original_note(record, outcome),
            cancel_key=key,
        )  # fmt: skip

    carry_out(
        record.state,
        [
            Step((CancelState.REQUESTED,), CancelState.WRITTEN, write),
            Step((CancelState.WRITTEN,), CancelState.NOTED, note_backorder),
            Step((CancelState.NOTED,), CancelState.DONE, note_original),
        ],
        lambda state, **values: cancellations.advance(store_id, key, state, **values),
    )
    log.info("cancelled store=%s key=%s", store_id, key)


def _plan(
    record: CancellationRecord,
    platform: CancelPlatform,
    releases: ReleaseLedger,
    label: str | None = None,
) -> dict[str, Any]:
    """Check that the line can be cancelled now and decide the write (raises CancelRefused)."""
    order_id = record.backorder_order_id
    named = {"label": label} if label else {}
    name = order_name(record, named)
    if releases.for_order(record.store_id, order_id):
        raise CancelRefused(f"backorder order {name} was already released")
    order = platform.get_order(order_id)
    held = record.is_held_whole
    if order.status is not (Status.ON_HOLD if held else Status.NEW_BACKORDER):
        raise CancelRefused(
            f"{'order' if held else 'backorder order'} {name} is no longer waiting on "
            f"hold (status {order.status.value})"
        )
    if held:  # the original's own line: no meta to follow
        line = next((line for line in order.lines if line.line_id == record.line_id), None)
    else:
        line = _find_line(order, platform.original_line_ids(order_id), record)
    if line is None:
        raise CancelRefused(
            f"backorder order {name} no longer has the line of {product_text(record)}"
        )
    others = [other for other in order.lines if other.line_id != line.line_id]
    try:
        decided = plan_line_cancel(
            line, record.units, other_lines=len(others), currency=order.currency
        )
    except CancelError as error:
        raise CancelRefused(str(error), product={"product": line.name, "sku": line.sku}) from error
    outcome: dict[str, Any] = {
        "backorder_line_id": line.line_id,
        "product": line.name,
        "sku": line.sku,
        "number": order.number,
        "part_of": order.links.part_of,
        "quantity": decided.cancelled_units,
        "amount": str(decided.amount),
        "currency": order.currency,
        "paid": order.payment_state is PaymentState.PAID,
        "cancels_order": decided.write is CancelWrite.CANCEL_ORDER,
        **named,
    }
    if decided.write is CancelWrite.REDUCE_LINE:
        outcome.update(
            reduces_line=True,
            line_quantity=line.quantity,
            kept_quantity=decided.kept_units,
            kept_subtotal=str(decided.kept.subtotal),
            kept_total=str(decided.kept.total),
        )
    return outcome


def _find_line(
    order: Order, original_ids: Mapping[str, str], record: CancellationRecord
) -> Line | None:
    """The backorder order's line made from the original's line `record.line_id`; failing
    that meta, the only line of the same product. (A `-002` order made by a re-split names the
    `-001` order's line in its meta, as its split plan does.)"""
    for line in order.lines:
        if original_ids.get(line.line_id) == record.line_id:
            return line
    same = [line for line in order.lines if line.ref == record.ref]
    return same[0] if len(same) == 1 else None


def _what(record: CancellationRecord, outcome: Mapping[str, Any]) -> str:
    return f"{product_text(record, outcome)} × {outcome['quantity']} ({money(outcome)})"


def _some_units(record: CancellationRecord, outcome: Mapping[str, Any]) -> str:
    return (
        f"{outcome['quantity']} of the {outcome['line_quantity']} backordered units of "
        f"{product_text(record, outcome)} ({money(outcome)})"
    )


def backorder_note(record: CancellationRecord, outcome: Mapping[str, Any]) -> str:
    """Private note on the backorder order (or the order held whole, or the original whose
    held part it is): what was cancelled, by whom, why."""
    if record.is_held_whole:
        return _held_note(record, outcome)
    if outcome.get("part_of"):
        return _held_part_note(record, outcome)
    if outcome.get("reduces_line"):
        return (
            f"Backorders cancelled {_some_units(record, outcome)} at the request of "
            f"{record.requested_by}. Reason: {sentence(record.reason)} The line keeps "
            f"{units(outcome['kept_quantity'])}, and the stock of what was cancelled is given "
            f"back{total_now(outcome, THIS_ORDERS)} The cancelled units are no longer "
            f"owed to the customer; original order #{record.original_order_id} is unchanged. "
            f"{payment(record, outcome)}"
        )
    if outcome.get("cancels_order"):
        change = "It was this order's only line, so the order is cancelled and its stock restored."
    else:
        change = "The line is removed and its stock given back" + total_now(outcome, THIS_ORDERS)
    return (
        f"Backorders cancelled the backorder line {_what(record, outcome)} at the request of "
        f"{record.requested_by}. Reason: {sentence(record.reason)} {change} The units are no "
        f"longer owed to the customer; original order #{record.original_order_id} is unchanged. "
        f"{payment(record, outcome)}"
    )


def _held_part_note(record: CancellationRecord, outcome: Mapping[str, Any]) -> str:
    """The note on an original whose held part the units were taken off (`Links.part_of`):
    one order, so one note."""
    if outcome.get("reduces_line"):
        cancelled = _some_units(record, outcome)
        kept = int(outcome["kept_quantity"])
        left = f"{units(kept)} of them still {waits(kept)}"
    else:
        cancelled = f"the backordered {_what(record, outcome)}"
        left = "the held part closes" if outcome.get("cancels_order") else "the rest still waits"
    total = outcome.get("new_total")
    head = (
        f"Backorders took {cancelled} off {held_part(outcome)} at the request of "
        f"{record.requested_by}. Reason: {sentence(record.reason)}"
    )
    if outcome.get("cancels_order") and outcome.get("order_cancelled"):
        return (
            f"{head} They were all this order had left, so the order is cancelled and its "
            f"stock restored. {payment(record, outcome)}"
        )
    return (
        f"{head} The units will not be shipped and their stock is given back; {left}"
        + (f" (the held part's total is now {total})" if total is not None else "")
        + f". This order is not cancelled: it keeps what ships now. {payment(record, outcome)}"
    )


def _held_note(record: CancellationRecord, outcome: Mapping[str, Any]) -> str:
    """The note on an order that waited whole for stock (`core.split.hold_key`)."""
    if outcome.get("reduces_line"):
        change = f"The line keeps {units(outcome['kept_quantity'])}"
    elif outcome.get("cancels_order") and outcome.get("order_cancelled", True):
        change = "It was the order's last line, so the order is cancelled and its stock restored"
    elif outcome.get("cancels_order"):
        change = "It was the order's last waiting line; the order is not cancelled"
    else:
        change = "The line is removed and its stock given back"
    return (
        f"Backorders cancelled {_what(record, outcome)} of this order, which waited whole for "
        f"stock, at the request of {record.requested_by}. Reason: {sentence(record.reason)} "
        f"{change}"
        f"{total_now(outcome, THIS_ORDERS)} {payment(record, outcome)}"
    )


def original_note(record: CancellationRecord, outcome: Mapping[str, Any]) -> str:
    """Private note on the original order: its backordered units will not follow."""
    if outcome.get("reduces_line"):
        return (
            f"Backorders cancelled {_some_units(record, outcome)} of backorder order "
            f"{order_name(record, outcome)} at the request of {record.requested_by}. Reason: "
            f"{sentence(record.reason)} These units will not be shipped "
            f"({outcome['kept_quantity']} still {waits(int(outcome['kept_quantity']))}); this "
            "order is unchanged. "
            f"{payment(record, outcome)}"
        )
    return (
        f"Backorders cancelled the backordered {_what(record, outcome)} of backorder order "
        f"{order_name(record, outcome)} at the request of {record.requested_by}. Reason: "
        f"{sentence(record.reason)} These units will not be shipped; this order is unchanged. "
        f"{payment(record, outcome)}"
    )
