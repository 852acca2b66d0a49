"""Use case: a customer follows their backorder and decides (issue 15, the customer's page).

`customer_page` builds what the page shows from the store's orders (read through the platform
port) and our ledgers: what ships now, what waits (with quantities and expected dates), what was
released and how it is paid. It shows nothing of any other order.

`carry_out_request` runs one customer request exactly once, through the recorded-steps state
machine (plugin/steps.py):

- `cancel`: each chosen backorder line is cancelled through the merchant's cancellation path
  (plugin/usecases/cancelling.py, passed in as `cancel_line`), with the customer named as the
  one who asked; that path writes the store once and notes both orders.
- `delivery`: the per-order delivery condition is written on each waiting order (the next
  allocation reads it, `Order.delivery_override`), then a note on each of them and the original.

Imports only the core and the ports; `plugin/jobs/self_service.py` passes the adapters in.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from plugin.core.cancellation import units_value
from plugin.core.model import (
    DeliveryCondition,
    Order,
    PaymentAction,
    PaymentState,
    Policies,
    ProductRef,
    Status,
    minor_unit,
)
from plugin.core.rules import delivery_name
from plugin.core.split import hold_key
from plugin.core.wording import counted
from plugin.ports import (
    AuditLog,
    CancellationRecord,
    CustomerRequestRecord,
    CustomerRequests,
    DateStyle,
    DeliveryPlatform,
    ReleaseRecord,
    RequestState,
    SelfServiceSettings,
    SplitRecord,
    SplitState,
)
from plugin.steps import Step, carry_out

log = logging.getLogger(__name__)

CANCEL = "cancel"
DELIVERY = "delivery"
# The two choices a customer has for the rest of the order (a whole-order customer is never
# split, so "wait and ship everything together" is the whole-order condition).
CUSTOMER_CHOICES = (DeliveryCondition.SHIP_AVAILABLE, DeliveryCondition.WHOLE_ORDER)
CHOICE_TEXT = {
    DeliveryCondition.SHIP_AVAILABLE: "Send what is available as it arrives",
    DeliveryCondition.WHOLE_ORDER: "Wait and ship everything together",
}


def request_key(kind: str, order_id: str, detail: str) -> str:
    """A request's fixed key: a repeated click or a retried job finds the same record."""
    return f"customer:{kind}:{order_id}:{detail}"[:200]


# --- formatting in the store's settings ------------------------------------------------------

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def format_date(date: dt.date | None, style: DateStyle) -> str:
    """`date` as the store writes dates; 'not known yet' for None."""
    if date is None:
        return "not known yet"
    if style is DateStyle.DAY_MONTH:
        return f"{date.day:02d}/{date.month:02d}/{date.year}"
    if style is DateStyle.MONTH_DAY:
        return f"{date.month:02d}/{date.day:02d}/{date.year}"
    if style is DateStyle.LONG:
        return f"{date.day} {_MONTHS[date.month - 1]} {date.year}"
    return date.isoformat()


def format_money(amount: Decimal, currency: str, *, decimal_comma: bool) -> str:
    """`amount` to the currency's minor unit, with the store's decimal mark, then the code."""
    text = f"{amount.quantize(minor_unit(currency)):,}"
    if decimal_comma:
        text = text.replace(",", " ").replace(".", ",")
    return f"{text} {currency}".strip()


# --- the page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageLine:
    name: str
    quantity: int
    expected_date: dt.date | None = None
    value: Decimal = Decimal(0)
    # For a waiting line the customer may cancel: `<backorder order id>:<plan line id>`.
    cancel_ref: str | None = None
    total: Decimal = Decimal(0)  # `value` is total + tax
    tax: Decimal = Decimal(0)

    def value_of(self, units: int, currency: str) -> Decimal:
        """What `units` of this line are worth (taxes included), as a cancellation of them
        counts it (`core.cancellation`)."""
        return units_value(self.total, self.tax, self.quantity, units, currency)


@dataclass(frozen=True)
class PagePart:
    """One order of the customer's: the original, or one of its backorder orders."""

    order_id: str
    number: str
    role: str  # 'ships_now' | 'waiting' | 'released' | 'cancelled' | 'other'
    heading: str
    lines: tuple[PageLine, ...]
    currency: str
    payment: str  # what the customer pays for this part, and when
    payment_url: str | None = None


@dataclass(frozen=True)
class CustomerPage:
    order_id: str
    number: str
    customer_name: str
    parts: tuple[PagePart, ...]
    delivery: DeliveryCondition | None  # the condition in force for what waits
    can_cancel: bool
    can_change_delivery: bool
    paid: bool  # the waiting units were paid with the original order (or, held whole, on it)
    requests: tuple[CustomerRequestRecord, ...] = ()
    cancellations: tuple[CancellationRecord, ...] = ()
    settings: SelfServiceSettings = field(default_factory=SelfServiceSettings)
    held: bool = False  # the original waits whole for stock: its own lines wait, on it

    @property
    def waiting(self) -> tuple[PagePart, ...]:
        return tuple(p for p in self.parts if p.role == "waiting")


def backorder_order_ids(
    original_id: str, splits_of: Callable[[str], Sequence[SplitRecord]]
) -> list[str]:
    """Every backorder order made from `original_id` (re-splits of them included), oldest
    first: finished splits only."""
    found: list[str] = []
    queue = [str(original_id)]
    while queue and len(found) < 100:
        current = queue.pop(0)
        for split in splits_of(current):
            made = split.backorder_order_id
            if (
                split.original_order_id == current
                and split.state == SplitState.DONE
                and made
                and made not in found
            ):
                found.append(made)
                queue.append(made)
    return found


def made_by(order_id: str, splits: Iterable[SplitRecord]) -> SplitRecord | None:
    """The finished split that made backorder order `order_id`."""
    return next(
        (s for s in splits if s.backorder_order_id == order_id and s.state == SplitState.DONE),
        None,
    )


def held_by(order_id: str, splits: Iterable[SplitRecord]) -> SplitRecord | None:
    """The finished record of original `order_id` waiting whole for stock (`core.split.hold_key`:
    put On Hold instead of split, its lines wait on it)."""
    key = hold_key(order_id)
    return next((s for s in splits if s.split_key == key and s.state == SplitState.DONE), None)


def cancel_lines(
    split: SplitRecord,
    order_id: str,
    removed: Collection[tuple[str, str]] = (),
    *,
    held: bool = False,
) -> list[dict[str, Any]]:
    """What the cancellation path needs per waiting line of `order_id` (not in `removed`,
    `(order id, line id)` pairs already cancelled away): the lines `split` moved to that
    backorder order; with `held`, every line of the original held whole by the hold record
    `split` (nothing of it ships until all of it can, so its last line cancels the order)."""
    lines = []
    for plan_line in cast("list[Mapping[str, Any]]", split.plan.get("lines") or []):
        units = int(plan_line.get("ordered" if held else "backorder") or 0)
        line_id = str(plan_line.get("line_id"))
        if not units or (order_id, line_id) in removed:
            continue
        ref = plan_line.get("ref") or {}
        lines.append(
            {
                "backorder_order_id": order_id,
                "original_order_id": split.original_order_id,
                "line_id": line_id,
                "product_id": str(ref.get("product_id", "")),
                "variant_id": ref.get("variant_id") or None,
                "quantity": units,
            }
        )
    return lines


# Per backorder order (or original held whole) and product: the open purchase order covering
# it, as `SqlPurchasing.covering` gives it (number, expected date; None for a draft).
Covering = Mapping[tuple[str, ProductRef], tuple[str, dt.date | None]]


def purchase_order_dates(covering: Covering) -> dict[str, dict[ProductRef, dt.date]]:
    """Per order id: the expected date of the purchase order reserving units for each of its
    products. A draft promises nothing yet, so it gives no date."""
    found: dict[str, dict[ProductRef, dt.date]] = {}
    for (order_id, ref), (_number, date) in covering.items():
        if date is not None:
            found.setdefault(order_id, {})[ref] = date
    return found


def expected_date(
    ref: ProductRef,
    policies: Policies,
    purchase_order_dates: Mapping[ProductRef, dt.date] | None = None,
) -> dt.date | None:
    """When a waiting line of one order is expected: the date of the purchase order covering
    it (`purchase_order_dates`: that order's, from `purchase_order_dates(covering)`; a
    variation's own first, then its product's), else the product's date (a product-level date
    covers its variations), else None ("not known yet")."""
    for candidate in (ref, ProductRef(ref.product_id)):
        if purchase_order_dates and candidate in purchase_order_dates:
            return purchase_order_dates[candidate]
    for candidate in (ref, ProductRef(ref.product_id)):
        for policy in policies.products:
            if policy.ref == candidate and policy.expected_date is not None:
                return policy.expected_date
    return None


def customer_page(
    original: Order,
    backorders: Sequence[Order],
    *,
    splits: Sequence[SplitRecord],
    releases: Mapping[str, Sequence[ReleaseRecord]],
    original_line_ids: Callable[[str], Mapping[str, str]],
    policies: Callable[[Order], Policies],
    settings: SelfServiceSettings,
    requests: Sequence[CustomerRequestRecord] = (),
    cancellations: Sequence[CancellationRecord] = (),
    purchase_order_dates: Mapping[str, Mapping[ProductRef, dt.date]] | None = None,
) -> CustomerPage:
    """What the customer's page shows for `original` and its backorder orders;
    `purchase_order_dates` per order id (`purchase_order_dates(covering)`)."""
    po_dates = purchase_order_dates or {}
    first = made_by(backorders[0].id, splits) if backorders else None
    paid = bool(first and first.plan.get("payment") == PaymentAction.PAID_FROM_ORIGINAL.value)
    hold = None if releases.get(original.id) else held_by(original.id, splits)
    held = hold is not None
    # An order held whole was charged (or not) as itself: a refund is due on it.
    paid = paid or (held and original.payment_state is PaymentState.PAID)
    parts = [_original_part(original, hold, policies, po_dates.get(original.id))]
    delivery: DeliveryCondition | None = original.delivery_override if held else None
    for order in backorders:
        released = releases.get(order.id) or ()
        part = _backorder_part(
            order, released, paid, splits, original_line_ids, policies, po_dates.get(order.id)
        )
        parts.append(part)
        if part.role == "waiting" and delivery is None:
            delivery = order.delivery_override
    any_waiting = any(p.role == "waiting" for p in parts)
    return CustomerPage(
        order_id=original.id,
        number=original.number,
        customer_name=f"{original.billing.first_name} {original.billing.last_name}".strip(),
        parts=tuple(parts),
        delivery=delivery,
        can_cancel=settings.allow_cancel
        and any(line.cancel_ref for p in parts for line in p.lines),
        can_change_delivery=settings.allow_delivery and any_waiting,
        paid=paid,
        held=held,
        requests=tuple(requests),
        cancellations=tuple(cancellations),
        settings=settings,
    )


def _original_part(
    order: Order,
    hold: SplitRecord | None,
    policies: Callable[[Order], Policies],
    po_dates: Mapping[ProductRef, dt.date] | None,
) -> PagePart:
    """The original; `hold` when it waits whole for stock: then each of its lines may be
    cancelled on the order itself (`<order id>:<line id>`, as the delay notices cancel it)."""
    found = policies(order) if hold is not None else None
    cancellable = (
        {line["line_id"] for line in cancel_lines(hold, order.id, held=True)}
        if hold is not None and order.status is Status.ON_HOLD
        else set()
    )
    lines = tuple(
        PageLine(
            line.name,
            line.quantity,
            expected_date(line.ref, found, po_dates) if found is not None else None,
            line.total + line.tax,
            f"{order.id}:{line.line_id}" if line.line_id in cancellable else None,
            line.total,
            line.tax,
        )
        for line in order.lines
    )
    if order.status is Status.CANCELLED:
        return PagePart(order.id, order.number, "cancelled", "Cancelled", lines,
                        order.currency, "")  # fmt: skip
    if hold is not None:
        heading = "Waits whole: everything ships together when it is all in stock"
        role = "waiting"
    elif order.status in (Status.DISPATCHED,):
        heading, role = "Shipped", "ships_now"
    else:
        heading, role = "Ships now", "ships_now"
    payment = (
        "Paid" if order.payment_state is PaymentState.PAID else "To pay as agreed with the shop"
    )
    return PagePart(order.id, order.number, role, heading, lines, order.currency, payment)


def _backorder_part(
    order: Order,
    released: Sequence[ReleaseRecord],
    paid: bool,
    splits: Sequence[SplitRecord],
    original_line_ids: Callable[[str], Mapping[str, str]],
    policies: Callable[[Order], Policies],
    po_dates: Mapping[ProductRef, dt.date] | None,
) -> PagePart:
    payment_url = next((r.payment_url for r in released if r.payment_url), None)
    if order.status is Status.CANCELLED:
        role, heading = "cancelled", "Cancelled"
    elif released or order.status is not Status.NEW_BACKORDER:
        role, heading = "released", "In stock: ships now"
    else:
        role, heading = "waiting", "On backorder: waits for stock"
    waiting = role == "waiting"
    found = policies(order) if waiting else None
    plan_ids = original_line_ids(order.id) if waiting and made_by(order.id, splits) else {}
    lines = tuple(
        PageLine(
            line.name,
            line.quantity,
            expected_date(line.ref, found, po_dates) if found is not None else None,
            line.total + line.tax,
            f"{order.id}:{plan_ids[line.line_id]}" if line.line_id in plan_ids else None,
            line.total,
            line.tax,
        )
        for line in order.lines
    )
    if paid:
        payment = "Paid with your original order"
    elif payment_url:
        payment = "Payment due now"
    elif role == "released":
        payment = "Payment due"
    else:
        payment = "Nothing charged yet: you pay when it ships"
    split = made_by(order.id, splits)
    number = str(split.plan.get("backorder_number") or order.number) if split else order.number
    return PagePart(order.id, number, role, heading, lines, order.currency, payment,
                    payment_url)  # fmt: skip


# --- carrying out a request -------------------------------------------------------------------


def customer_label(email: str) -> str:
    """How notes and the audit trail name the customer."""
    return f"the customer ({email})"


def carry_out_request(
    store_id: int,
    key: str,
    *,
    requests: CustomerRequests,
    audit: AuditLog,
    platform: DeliveryPlatform | None = None,
    cancel_line: Callable[[Mapping[str, Any], str], CancellationRecord | None] | None = None,
) -> CustomerRequestRecord | None:
    """Carry out the customer's recorded request `key` from wherever it stopped."""
    record = requests.get(store_id, key)
    if record is None or record.state == RequestState.DONE or record.error is not None:
        return record
    if record.kind == CANCEL:
        assert cancel_line is not None
        _cancel(record, requests, audit, cancel_line)
    elif record.kind == DELIVERY:
        if platform is None:
            requests.fail(store_id, key, "this store's platform cannot record a delivery choice")
        else:
            _delivery(record, requests, audit, platform)
    else:
        requests.fail(store_id, key, f"unknown request kind {record.kind!r}")
    return requests.get(store_id, key)


def _cancel(
    record: CustomerRequestRecord,
    requests: CustomerRequests,
    audit: AuditLog,
    cancel_line: Callable[[Mapping[str, Any], str], CancellationRecord | None],
) -> None:
    store_id, key = record.store_id, record.request_key
    who = customer_label(record.email)

    def write() -> dict[str, Any]:
        results = []
        for line in record.payload.get("lines", []):
            done = cancel_line(line, who)
            results.append(
                {
                    "cancel_key": done.cancel_key if done else None,
                    "state": done.state if done else "missing",
                    "error": done.error if done else "not found",
                }
            )
        return {"outcome": {"lines": results}}

    def finish() -> None:
        current = requests.get(store_id, key)
        results = (current.outcome or {}).get("lines", []) if current else []
        cancelled = sum(1 for r in results if r["state"] == "done" and not r["error"])
        audit.record(
            store_id, record.order_id, "info",
            f"Request of {who} to cancel {counted(len(results), 'backordered line')} carried out: "
            f"{cancelled} cancelled, {len(results) - cancelled} refused.",
            request_key=key, requested_by=record.email,
        )  # fmt: skip

    carry_out(
        record.state,
        [
            Step((RequestState.REQUESTED,), RequestState.WRITTEN, write),
            Step((RequestState.WRITTEN,), RequestState.DONE, finish),
        ],
        lambda state, **values: requests.advance(store_id, key, state, **values),
    )


def _delivery(
    record: CustomerRequestRecord,
    requests: CustomerRequests,
    audit: AuditLog,
    platform: DeliveryPlatform,
) -> None:
    store_id, key = record.store_id, record.request_key
    who = customer_label(record.email)
    condition = DeliveryCondition(str(record.payload["condition"]))
    orders = [str(o) for o in record.payload.get("orders", [])]
    text = (
        f'Delivery changed to "{delivery_name(condition)}" at the request of {who}; it takes '
        "effect at the next allocation of stock."
    )

    def write() -> None:
        for order_id in orders:
            platform.set_delivery_condition(order_id, condition.value)
            audit.record(
                store_id, order_id, "call", f"Set this order's delivery condition to "
                f"{condition.value} (asked by {who}).", request_key=key,
            )  # fmt: skip

    def note() -> None:
        for order_id in dict.fromkeys([*orders, record.order_id]):
            platform.add_note(order_id, f"Backorders: {text}")
            audit.record(store_id, order_id, "info", text, request_key=key,
                         requested_by=record.email)  # fmt: skip

    carry_out(
        record.state,
        [
            Step((RequestState.REQUESTED,), RequestState.WRITTEN, write),
            Step((RequestState.WRITTEN,), RequestState.NOTED, note),
            Step((RequestState.NOTED,), RequestState.DONE, lambda: None),
        ],
        lambda state, **values: requests.advance(store_id, key, state, **values),
    )
    log.info("customer delivery store=%s key=%s condition=%s", store_id, key, condition.value)
