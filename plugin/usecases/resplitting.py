"""Use case: split a partly released backorder order again (issue 6).

Arriving stock covers only part of backorder order B (`1042-001`) and the customer's delivery
condition allows shipping part of it (ship what is available; lines complete with some whole
lines in stock; never whole order, `plugin/core/release.py` gives that all or nothing). B keeps
what ships now and a new backorder order of the same original (`1042-002`) takes what still
waits; `plugin/usecases/releasing.py` then releases B.

Exactly once, like the first split (`plugin/usecases/splitting.py`): the re-split is a row of the
split ledger keyed `resplit:<B id>` (`original_order_id` = B, `backorder_order_id` = the new order),
moved forward planned → backorder_created → original_updated → noted → done, and carried out from
its stored plan. `create_attempted` is committed before the create call, so a retry after a crash
looks for the new order first (`GET /orders?parent=<original>`, matched on the key written on it).
The caller holds B's order lock, so two allocation jobs (for two products of B) never carry one
re-split out at once.

An original that waited whole for stock (recorded under `core.split.hold_key`, like the
customer's order with nothing in stock for a "ship what is available" customer) is split the
same way when arriving stock covers part of it within its delivery condition: it is its own
original (`original_of`), so the new order is its first backorder order (`1042-001`).

Stock (README "Stock accounting"): the new order is created on-hold, which takes its units from
stock, and reducing B's lines gives the same units back, in one batch call; the figure is
unchanged and the units that still wait are counted once, by the new order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from plugin.core.model import Order, Plan, StoreSettings
from plugin.core.serialize import plan_from_dict, plan_to_dict
from plugin.core.split import plan_resplit, resplit_key
from plugin.core.wording import agree, counted
from plugin.errors import PermanentError
from plugin.ports import AuditLog, ResplitPlatform, SplitLedger, SplitRecord, SplitState
from plugin.steps import SplitWrite, Step, carry_out

log = logging.getLogger(__name__)


def original_of(order: Order) -> str | None:
    """The original of an order split again: a backorder order's parent; an original that
    waited whole for stock (`core.split.hold_key`) is its own."""
    if order.links.is_backorder_order:
        return order.links.parent_id
    return order.id


def start_resplit(
    store_id: int,
    backorder: Order,
    released: Mapping[str, int],
    *,
    platform: ResplitPlatform,
    splits: SplitLedger,
    settings: StoreSettings,
) -> SplitRecord:
    """Plan the re-split of `backorder` (`released` units per line id ship now) and record it
    PLANNED; an existing record for its key is returned as it is (its plan wins)."""
    existing = splits.get(store_id, resplit_key(backorder.id))
    if existing is not None:
        return existing
    original_id = original_of(backorder)
    if not original_id:
        raise PermanentError(f"order {backorder.id} names no original order", reason="no_parent")
    original = platform.get_order(original_id)
    try:
        plan = plan_resplit(
            backorder,
            released,
            original_number=original.number,
            taken_numbers=platform.backorder_numbers(original_id),
            settings=settings,
        )
    except ValueError as exc:
        raise PermanentError(f"order {backorder.id}: {exc}", reason="invalid_plan") from exc
    assert plan.split_key is not None  # a re-split plan always carries its key
    return splits.start(store_id, backorder.id, plan.split_key, plan_to_dict(plan))


def carry_out_resplit(
    store_id: int,
    record: SplitRecord,
    *,
    platform: ResplitPlatform,
    splits: SplitLedger,
    audit: AuditLog,
    customer_note: bool,
    backorder: Order | None = None,
) -> str:
    """Move a re-split from its recorded state to DONE (every step is safe to repeat); returns
    the new backorder order's id. `backorder` is the order as just read, when the caller has
    it; otherwise (resuming) it is read again."""
    key = record.split_key
    plan = plan_from_dict(record.plan)
    if backorder is None:
        backorder = platform.get_order(record.original_order_id)
    order = backorder
    original_id = original_of(order)
    write = SplitWrite(
        record, ledger=splits, audit=audit, order_id=order.id, what="re-split",
        find=lambda: platform.find_backorder_order(original_id, key) if original_id else None,
        write=lambda existing: platform.write_resplit(order, plan, new_order_id=existing),
    )  # fmt: skip

    def note() -> None:
        # One private note, on the order that ships: it names the new order, whose own meta
        # carries its number, split key and payment (no note of its own: one call less).
        new_id = write.backorder_order_id
        assert new_id is not None  # recorded with BACKORDER_CREATED
        platform.add_note(order.id, resplit_note(plan, new_id, order))
        if customer_note:
            platform.add_note(order.id, customer_resplit_note(plan), customer=True)

    def done() -> None:
        audit.record(
            store_id, order.id, "info",
            f"Split again: backorder order {plan.backorder_number} (id {write.backorder_order_id})"
            " holds what still waits.",
            split_key=key, backorder_order_id=write.backorder_order_id,
        )  # fmt: skip
        log.info(
            "re-split done store=%s backorder=%s new=%s",
            store_id, order.id, write.backorder_order_id,
        )  # fmt: skip

    carry_out(
        record.state,
        [
            *write.steps(),
            Step((SplitState.ORIGINAL_UPDATED,), SplitState.NOTED, note),
            Step((SplitState.NOTED,), SplitState.DONE, lambda: None, then=done),
        ],
        lambda state, **values: splits.advance(store_id, key, state, **values),
    )
    new_id = write.backorder_order_id
    assert new_id is not None  # recorded with BACKORDER_CREATED
    return new_id


def released_lines(plan: Plan) -> list[dict[str, object]]:
    """The release lines of the order a re-split reduced: what stayed on it ships now."""
    return [
        {"line_id": lp.line_id, "product_id": lp.ref.product_id,
         "variant_id": lp.ref.variant_id, "units": lp.keep}
        for lp in plan.lines
        if lp.keep > 0
    ]  # fmt: skip


# --- notes ------------------------------------------------------------------------------------


def resplit_note(plan: Plan, new_order_id: str, order: Order) -> str:
    """Private note on the order split again: what ships now, what moved where, and why."""
    what = (
        "this backorder order again"
        if order.links.is_backorder_order
        else "this order, which waited whole for stock,"
    )
    lines = [
        f"Backorders split {what} (key {plan.split_key}): what is in stock ships with it now; "
        f"backorder order {plan.backorder_number} (id {new_order_id}) holds the rest:"
    ]
    lines += [f"- {lp.reason.message}" for lp in plan.lines]
    lines += [reason.message for reason in plan.reasons if reason.line_id is None]
    return "\n".join(lines)


def customer_resplit_note(plan: Plan) -> str:
    """Note to the customer: part of the backorder ships now, the rest follows."""
    waiting = sum(lp.backorder for lp in plan.lines)
    return (
        f"Part of your backorder is in stock and ships now. The other {counted(waiting, 'item')} "
        f"{agree(waiting, 'follows', 'follow')} "
        f"in order {plan.backorder_number} as soon as they are in stock."
    )
