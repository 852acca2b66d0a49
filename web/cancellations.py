"""Cancel one backorder line: a confirmation page, then a worker job (plugin/usecases/cancelling.py)
changes the store. The line is named by its backorder order and the original's line id."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import redis
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from plugin.adapters.queue.jobs import enqueue_cancellation
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.cancellation import after_cancels, units_value
from plugin.core.model import PaymentAction, ProductRef
from plugin.core.rules import product_label
from plugin.core.wording import units
from plugin.ports import CancellationRecord, CancelState, SplitRecord, SplitState
from plugin.usecases.cancel_wording import every_unit_effect, noted_on
from plugin.usecases.cancelling import REASON_MAX_LENGTH, cancel_key, partial_cancel_key
from web.auth import current_merchant, login_required, owned_store, services
from web.backorders import (
    ON_HOLD_STATUSES,
    decision_lines,
    fetch_orders,
    plan_line_names,
    product_name,
)
from web.inputs import is_order_id, units_typed

logger = logging.getLogger(__name__)

bp = Blueprint("cancellations", __name__)

LINE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class CancellableLine:
    split: SplitRecord
    line: Mapping[str, Any]
    existing: CancellationRecord | None
    open_lines: int  # backorder lines of the order not cancelled, this one included
    waiting: int  # units still waiting: the line's less those cancelled from it before
    waiting_total: Decimal  # their money, as the cancellations before left it
    waiting_tax: Decimal

    @property
    def product_id(self) -> str:
        return str((self.line.get("ref") or {}).get("product_id", ""))

    @property
    def variant_id(self) -> str | None:
        return (self.line.get("ref") or {}).get("variant_id") or None

    @property
    def ref(self) -> ProductRef:
        return ProductRef(self.product_id, self.variant_id)

    @property
    def quantity(self) -> int:
        return int(self.line.get("backorder") or 0)

    @property
    def value(self) -> Decimal:
        """What the units still waiting are worth, tax included."""
        return self.waiting_total + self.waiting_tax

    def value_of(self, units: int, currency: str) -> Decimal:
        """What `units` of them are worth, to the cent as a cancellation counts it."""
        return units_value(self.waiting_total, self.waiting_tax, self.waiting, units, currency)

    @property
    def label(self) -> str:
        return split_label(self.split)

    @property
    def paid(self) -> bool:
        return self.split.plan.get("payment") == PaymentAction.PAID_FROM_ORIGINAL.value


@dataclass(frozen=True)
class OrderName:
    """An order as the page links and names it."""

    order_id: str
    label: str  # its number, e.g. "#112" or "112-001"


def split_label(split: SplitRecord) -> str:
    """The backorder order of `split` as the merchant knows it: its number (`1042-001`), not
    its id (WooCommerce's `#113`; Shopify's held part is `fo-<n>`)."""
    return str(split.plan.get("backorder_number") or f"#{split.backorder_order_id}")


class Refused(Exception):
    """The line cannot be cancelled; the message says why (nothing was changed)."""


def _find(store: StoreRecord, order_id: str, line_id: str) -> CancellableLine:
    """The backorder line `line_id` of backorder order `order_id`, when it may be cancelled."""
    db = services().db
    split = next(
        (
            s
            for s in SqlSplitLedger(db).for_order(store.id, order_id)
            if s.backorder_order_id == order_id and s.state == SplitState.DONE
        ),
        None,
    )
    if split is None:
        raise Refused(f"Order #{order_id} is not a backorder order made by Backorders.")
    name = split_label(split)
    this_line = f"This backorder line of backorder order {name}"
    lines = cast(list[Any], split.plan.get("lines") or [])
    moved = [line for line in lines if int(line.get("backorder") or 0) > 0]
    line = next((m for m in moved if str(m.get("line_id")) == line_id), None)
    if line is None:
        raise Refused(f"Backorder order {name} has no backorder line {line_id}.")
    ledger = SqlCancellationLedger(db)
    existing = ledger.get(store.id, cancel_key(order_id, line_id))
    if existing is not None and existing.state == CancelState.DONE:
        raise Refused(f"{this_line} was already cancelled.")
    if existing is not None and (existing.is_open or existing.write_attempted):
        raise Refused(f"{this_line} is already being cancelled.")
    if SqlReleaseLedger(db).for_order(store.id, order_id):
        raise Refused(f"Backorder order {name} was already released; it cannot change now.")
    cancelled = {
        c.line_id for c in ledger.for_order(store.id, order_id) if c.backorder_order_id == order_id
        and c.removes_line
    }  # fmt: skip
    open_lines = sum(1 for m in moved if str(m.get("line_id")) not in cancelled)
    # Some units of the line cancelled before (the customer's page, this form) lower what
    # waits; one such cancellation still open makes the count uncertain, so wait for it.
    partial = [
        c for c in ledger.for_order(store.id, order_id)
        if c.backorder_order_id == order_id and c.line_id == line_id and c.units is not None
    ]  # fmt: skip
    if any(c.is_open for c in partial):
        raise Refused(f"{this_line} is already being cancelled.")
    amounts = line.get("moved_amounts") or {}
    total, tax, waiting = after_cancels(
        Decimal(str(amounts.get("total", "0"))),
        Decimal(str(amounts.get("tax", "0"))),
        int(line.get("backorder") or 0),
        [c.units_taken_off for c in partial if c.units_taken_off],
        "",
    )
    if waiting <= 0:
        raise Refused(f"{this_line} was already cancelled.")
    return CancellableLine(split, line, existing, open_lines, waiting, total, tax)


def _checked(store_id: int, order_id: str, line_id: str) -> tuple[StoreRecord, CancellableLine]:
    store = owned_store(store_id)
    if not is_order_id(order_id) or LINE_ID.fullmatch(line_id) is None:
        abort(404)
    return store, _find(store, order_id, line_id)


def _back(store: StoreRecord, order_id: str) -> BaseResponse:
    return redirect(url_for("backorders.order", store_id=store.id, order_id=order_id), 303)


def _page(
    store: StoreRecord,
    order_id: str,
    line_id: str,
    found: CancellableLine,
    *,
    errors: Mapping[str, list[str]] | None = None,
    reason: str = "",
    units: str | None = None,
) -> str:
    # The product's name, the currency and the original's number, read from the store like
    # the backorders page does (one request, short timeout); the ids alone when it does not
    # answer. The original is the order the customer placed (and paid on): for a line of a
    # re-split `-002`, the `-001`'s own original, not the `-001` it was split from.
    lineage = SqlSplitLedger(services().db).lineage(store.id, order_id) or [found.split]
    original_id = lineage[0].original_order_id
    orders = fetch_orders(store, [order_id, original_id])
    order, original = orders.get(order_id), orders.get(original_id)
    split_from = None
    if len(lineage) > 1:
        parent_id = found.split.original_order_id
        split_from = OrderName(
            parent_id, str(lineage[-2].plan.get("backorder_number") or f"#{parent_id}")
        )
    return render_template(
        "backorders/cancel.html",
        store=store,
        order_id=order_id,
        line_id=line_id,
        found=found,
        original=OrderName(
            original_id,
            f"#{original.number or original_id}" if original else f"#{original_id}",
        ),
        split_from=split_from,
        product=product_name(order, found.product_id, found.variant_id),
        currency=order.currency if order else "",
        status=order.store_status if order else "",
        on_hold=order is not None and order.status in ON_HOLD_STATUSES,
        every_unit=every_unit_effect(
            part_of=order.part_of if order else None,
            last_line=found.open_lines <= 1,
            known=order is not None,
        ),
        noted_on=noted_on(
            part_of=order.part_of if order else None,
            split_from=split_from.label if split_from else None,
        ),
        errors=errors or {},
        reason=reason,
        reason_max=REASON_MAX_LENGTH,
        units=str(found.waiting) if units is None else units,
        unit_values=[
            (count, found.value_of(count, order.currency if order else ""))
            for count in _counts_shown(found.waiting)
        ],
    )


def _product(store: StoreRecord, found: CancellableLine) -> str:
    """The line's product as the audit trail names it: its name and SKU as the split's
    decision recorded them (`plan_line_names` reads the store for a split recorded without),
    else its id."""
    line_id = str(found.line.get("line_id"))
    split_key = found.split.split_key
    trail = SqlAuditLog(services().db).for_order(store.id, found.split.original_order_id)
    recorded: Any = next(
        (line for line in decision_lines(trail, split_key) if str(line.get("line_id")) == line_id),
        {},
    )
    sku = str(recorded.get("sku") or "")
    # The decision's name, else (a split recorded without names) one read of the store.
    name = str(recorded.get("product") or "") or (
        plan_line_names(store, [found.split]).get(split_key, {}).get(line_id, "")
    )
    return product_label(name, sku if name else "", found.ref)


def _units_of(count: int, waiting: int) -> str:
    """`the 3 units waiting`, `1 of the 3 units waiting`."""
    if count == waiting:
        return f"the {units(waiting)} waiting"
    return f"{count} of the {units(waiting)} waiting"


def _counts_shown(waiting: int) -> list[int]:
    """The unit counts whose money the page lists: each up to 12, and all of them."""
    return sorted({*range(1, min(waiting, 12) + 1), waiting})


# One rule for both methods: Werkzeug answers 405 rather than 404 when a store id fails the
# converter on a path that has rules for other methods (tests/functional/abuse).
@bp.route(
    "/stores/<int:store_id>/orders/<order_id>/lines/<line_id>/cancel", methods=["GET", "POST"]
)
@login_required
def cancel_line(store_id: int, order_id: str, line_id: str) -> BaseResponse | str | tuple[str, int]:
    """GET: ask the merchant to confirm and say why. POST: record the cancellation and queue
    the job that writes it to the store."""
    try:
        store, found = _checked(store_id, order_id, line_id)
    except Refused as refusal:
        flash(f"{refusal} Nothing was cancelled.", "error")
        return _back(owned_store(store_id), order_id)
    if request.method == "GET":
        return _page(store, order_id, line_id, found)
    reason = " ".join(request.form.get("reason", "").split())
    errors: dict[str, list[str]] = {}
    if not reason or len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = [
            "Say why the line is cancelled (it goes into the order notes)."
            if not reason
            else f"At most {REASON_MAX_LENGTH} characters."
        ]
    raw_units = request.form.get("units")
    # The customer's page's rule (web/inputs.py): empty is every unit waiting.
    try:
        typed = units_typed(raw_units, waiting=found.waiting, name=f"product {found.product_id}")
    except ValueError as error:
        errors["units"] = [str(error)]
        typed = None
    units = found.waiting if typed is None else typed
    if "units" not in errors and units == 0:
        errors["units"] = [f"Choose at least 1 unit to cancel (of {found.waiting} waiting)."]
    if errors:
        return _page(
            store, order_id, line_id, found, errors=errors, reason=reason, units=raw_units
        ), 400
    merchant = current_merchant()
    assert merchant is not None  # login_required
    state = services()
    ledger = SqlCancellationLedger(state.db)
    some = units < found.waiting
    key = (
        partial_cancel_key(order_id, line_id, units, found.waiting)
        if some
        else cancel_key(order_id, line_id)
    )
    record = ledger.request(
        store.id,
        key,
        backorder_order_id=order_id,
        original_order_id=found.split.original_order_id,
        line_id=line_id,
        product_id=found.product_id,
        variant_id=found.variant_id,
        quantity=units,
        reason=reason,
        requested_by=merchant.email,
        units=units if some else None,
    )
    if record is None:  # another request won the race between the check and the insert
        flash("This backorder line is already being cancelled. Nothing else was changed.", "error")
        return _back(store, order_id)
    product = _product(store, found)
    asked = (
        f"{units} of the {found.waiting} backordered units of {product} "
        f"({found.value_of(units, ''):.2f})"
        if some
        else f"the backorder line of {product} × {units}"
    )
    audit = SqlAuditLog(state.db)
    for audited in (order_id, found.split.original_order_id):
        audit.record(
            store.id, audited, "decision",
            f"{merchant.email} asked to cancel {asked} on backorder order {found.label}. "
            f"Reason: {reason}",
            cancel_key=key, requested_by=merchant.email,
        )  # fmt: skip
    try:
        enqueue_cancellation(state.redis, store.id, key, record.attempt)
        flash(
            f"Cancelling {_units_of(units, found.waiting)} of {product} on backorder order "
            f"{found.label} in the store; this page shows what the store did in a few seconds.",
            "ok",
        )
    except redis.RedisError:
        ledger.fail(store.id, key, "the job queue was unavailable; nothing was changed")
        flash("The job queue is unavailable: nothing was cancelled. Try again shortly.", "error")
    logger.info("event=cancel_line store_id=%s order=%s line=%s", store.id, order_id, line_id)
    return _back(store, order_id)
