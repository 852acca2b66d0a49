"""Use case: an order that waits whole for stock is put On Hold and recorded as a backorder.

When nothing of an order can ship now (a "whole order" customer with a short line, or no line in
stock at all), it is not split: it is put On Hold with a private note saying why and recorded in
the split ledger under `core.split.hold_key` (planned → status set → noted → done, so a retry
never repeats the note). Allocation then serves it in its priority and age place, like a
backorder order (plugin/usecases/releasing.py). An order held for the merchant's review (an
oversold line under the store's "hold" action) is put On Hold without a record.
"""

from __future__ import annotations

from plugin.core.model import Order, Plan, Status
from plugin.core.serialize import plan_from_dict
from plugin.ports import AuditLog, SplitLedger, SplitPlatform, SplitRecord, SplitState
from plugin.steps import Step, carry_out


def carry_out_hold(
    store_id: int,
    order: Order,
    record: SplitRecord,
    platform: SplitPlatform,
    ledger: SplitLedger,
    audit: AuditLog,
) -> None:
    """Put an order that waits whole for stock On Hold and record it, exactly once: planned →
    original_updated (status set) → noted → done, under key `hold:<order id>`. Allocation
    then serves it like a backorder order (README "When stock arrives")."""
    key = record.split_key
    plan = plan_from_dict(record.plan)

    def set_on_hold() -> None:
        if order.status is not Status.ON_HOLD:
            # The store takes the order's units from stock on the way to On Hold (WooCommerce:
            # wc_maybe_reduce_stock_levels), so they count as waiting, like a backorder order's.
            platform.set_status(order.id, Status.ON_HOLD.value)

    def done() -> None:
        audit.record(
            store_id, order.id, "info",
            "Order put On Hold: it waits whole for stock and is released when stock arrives.",
            outcome=plan.outcome.value, split_key=key,
        )  # fmt: skip

    carry_out(
        record.state,
        [
            Step(
                (SplitState.PLANNED, SplitState.BACKORDER_CREATED),
                SplitState.ORIGINAL_UPDATED,
                set_on_hold,
            ),
            Step(
                (SplitState.ORIGINAL_UPDATED,),
                SplitState.NOTED,
                lambda: platform.add_note(order.id, hold_note(plan)),
            ),
            Step((SplitState.NOTED,), SplitState.DONE, lambda: None, then=done),
        ],
        lambda state, **values: ledger.advance(store_id, key, state, **values),
    )


def hold_for_review(
    store_id: int, order: Order, plan: Plan, platform: SplitPlatform, audit: AuditLog
) -> str:
    """Put an order On Hold for the merchant's review (an oversold line, "hold" action);
    returns what was done ("" or "already on hold")."""
    if order.status is Status.ON_HOLD:
        # Already waiting (possibly our own status change coming back as a webhook): a note
        # now would repeat itself on every later event.
        return "already on hold"
    platform.set_status(order.id, Status.ON_HOLD.value)
    platform.add_note(order.id, hold_note(plan))
    audit.record(store_id, order.id, "info", "Order put On Hold.", outcome=plan.outcome.value)
    return ""


def hold_note(plan: Plan) -> str:
    """Private note explaining why the order was put On Hold."""
    return "Backorders put this order On Hold:\n" + "\n".join(r.message for r in plan.reasons)
