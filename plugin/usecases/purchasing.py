"""Use cases of purchasing (issue 14): draft purchase orders from the proposal, send one to its
supplier, change it (expected date, shorter, cancelled), record a receipt, and carry a receipt
out in the store: stock raised once, backorders released, the merchant told.

Written against `plugin.ports` and the pure core (`plugin/core/purchasing.py`) only: the web
pages and the receipt job (`jobs/purchasing.py`) pass the adapters in.

Raising stock exactly once. A store's API may only set a stock figure (WooCommerce's REST API
has `stock_quantity`, an absolute value, and no increment: products.md / product-variations.md),
so each received line is carried out as recorded steps (`plugin/steps.py`): read the figure,
record the reading and the target (reading + units received) with "write attempted", write the
target, record it written. A retry after a crash finds the record and reads again: the target
means our write landed (nothing more is written), the recorded reading means it did not (the
same target is written), anything else means the figure also moved for another reason
(a sale) between our write attempt and now, so nobody can tell whether our units are in it: the
receipt stops and the merchant is asked to check that figure, rather than risk adding the units
twice. A sale that lands between our read and our write (milliseconds apart, on the same
request path) is overwritten by the write: the store offers no compare-and-set, so that race
stays, narrowed to those milliseconds; README "Purchasing" says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from plugin.core.model import Order, ProductRef, Status
from plugin.core.purchasing import (
    DEFAULT_PURCHASE_NUMBERING_PATTERN,
    Drafts,
    Proposal,
    PurchaseOrder,
    PurchaseOrderStatus,
    PurchasingError,
    ReservedUnits,
    Supplier,
    apply_receipt,
    cancel,
    draft_purchase_orders,
    reschedule,
    send,
    shorten,
)
from plugin.core.wording import agree, units
from plugin.errors import NotFound, PermanentError
from plugin.ports import (
    Alerts,
    AuditLog,
    PurchaseOrders,
    ReceiptLedger,
    ReceiptRecord,
    ReceiptState,
    ReleaseLedger,
    StockRaisePlatform,
    SupplierMail,
)
from plugin.steps import Step, carry_out

log = logging.getLogger(__name__)

_WHOLE = re.compile(r"-?[0-9]{1,9}")

Allocate = Callable[[str], object]  # runs allocation for one product (the worker's job)


def ref_label(ref: ProductRef) -> str:
    return f"product {ref.product_id}" + (
        f" (variation {ref.variant_id})" if ref.variant_id else ""
    )


def product_label(ref: ProductRef, names: Mapping[ProductRef, str]) -> str:
    """How purchasing names a product: its name in the store with its id ("Blue Mug (product
    105)"), or the id alone when the name is not known."""
    name = names.get(ref)
    if not name:
        return ref_label(ref)
    return f"{name} (product {ref.product_id}" + (
        f", variation {ref.variant_id})" if ref.variant_id else ")"
    )


def names_from_orders(
    platform: StockRaisePlatform, orders_by_ref: Mapping[ProductRef, Sequence[str]]
) -> dict[ProductRef, str]:
    """Product names as the store's orders name their lines: one order read per product at
    most (the first order that waits for it), none when no order waits for it; an order that
    cannot be read names nothing (the id is shown instead)."""
    names: dict[ProductRef, str] = {}
    read: dict[str, Order | None] = {}
    for ref, order_ids in orders_by_ref.items():
        for order_id in order_ids[:1]:
            if order_id not in read:
                try:
                    read[order_id] = platform.get_order(order_id)
                except NotFound:
                    read[order_id] = None
            order = read[order_id]
            for line in order.lines if order is not None else ():
                if line.ref == ref and line.name:
                    names[ref] = line.name
                    break
    return names


# --- drafting and changing purchase orders -------------------------------------------------


def create_drafts(
    store_id: int,
    proposal: Proposal,
    *,
    orders: PurchaseOrders,
    today: dt.date,
    pattern: str = DEFAULT_PURCHASE_NUMBERING_PATTERN,
    products: Collection[ProductRef] | None = None,
    backorder_orders: Collection[str] | None = None,
    drop_ship: bool = False,
) -> Drafts:
    """Draft one purchase order per supplier for the selection, and store them all or none."""
    drafts = draft_purchase_orders(
        proposal,
        today=today,
        taken_numbers=orders.taken_numbers(store_id),
        pattern=pattern,
        products=products,
        orders=backorder_orders,
        drop_ship=drop_ship,
    )
    orders.add(store_id, drafts.purchase_orders)
    log.info(
        "purchase orders drafted store=%s numbers=%s",
        store_id, ",".join(o.number for o in drafts.purchase_orders),
    )  # fmt: skip
    return drafts


def send_purchase_order(
    store_id: int,
    order: PurchaseOrder,
    supplier: Supplier,
    *,
    orders: PurchaseOrders,
    mail: SupplierMail,
    audit: AuditLog,
    today: dt.date,
    store_name: str,
    expected_date: dt.date | None = None,
) -> PurchaseOrder:
    """Mark the draft sent (expected after the supplier's lead time unless a date is given)
    and e-mail it to the supplier: plain text and a CSV of its lines. Refused (nothing sent,
    nothing changed) when the supplier has no e-mail address."""
    dated = order if expected_date is None else _dated(order, expected_date)
    sent = send(dated, supplier, today)
    orders.replace(store_id, order, sent)
    mail(
        store_id,
        f"purchase-order:{sent.number}:sent",
        supplier.email,
        f"Purchase order {sent.number} from {store_name}",
        purchase_order_text(sent, supplier, store_name),
        ((f"{sent.number}.csv", "text/csv", purchase_order_csv(sent)),),
    )
    _audit_reserved(
        audit, store_id, sent, f"Purchase order {sent.number} sent to {supplier.name}, "
        f"expected {sent.expected_date}.",
    )  # fmt: skip
    return sent


def _dated(order: PurchaseOrder, expected_date: dt.date) -> PurchaseOrder:
    return replace(order, expected_date=expected_date)


def move_expected_date(
    store_id: int,
    order: PurchaseOrder,
    expected_date: dt.date,
    *,
    orders: PurchaseOrders,
    audit: AuditLog,
    check_delays: Callable[[], object] | None = None,
) -> PurchaseOrder:
    """A new expected date: every backorder order the purchase order covers moves with it,
    recorded on each order's trail. Moved later on a sent order that reserves units,
    `check_delays` runs (the store's delay check, queued at once): the customers whose
    backorder now comes later than they were told get a delay notice (issue 15)."""
    moved = reschedule(order, expected_date)
    orders.replace(store_id, order, moved)
    if order.expected_date != expected_date:
        _audit_reserved(
            audit, store_id, moved,
            f"Expected date moved from {order.expected_date} to {expected_date} "
            f"(purchase order {order.number}).",
            event="expected_date_moved",
        )  # fmt: skip
    later = order.expected_date is None or expected_date > order.expected_date
    promised = order.status is not PurchaseOrderStatus.DRAFT  # a draft promised no date
    covers = any(line.reservations for line in order.lines)
    if check_delays is not None and later and promised and covers:
        check_delays()
    return moved


def cancel_purchase_order(
    store_id: int, order: PurchaseOrder, *, orders: PurchaseOrders, audit: AuditLog
) -> tuple[ReservedUnits, ...]:
    """Cancel the purchase order; its reservations are freed (the proposal shows them again)."""
    amendment = cancel(order)
    orders.replace(store_id, order, amendment.purchase_order)
    _audit_freed(audit, store_id, order.number, amendment.freed, "cancelled")
    return amendment.freed


def shorten_line(
    store_id: int,
    order: PurchaseOrder,
    ref: ProductRef,
    quantity: int,
    *,
    orders: PurchaseOrders,
    audit: AuditLog,
) -> tuple[ReservedUnits, ...]:
    """Lower one line; the last-served backorder orders lose their reservations first."""
    amendment = shorten(order, ref, quantity)
    orders.replace(store_id, order, amendment.purchase_order)
    _audit_freed(audit, store_id, order.number, amendment.freed, "shortened")
    return amendment.freed


def _audit_reserved(
    audit: AuditLog, store_id: int, order: PurchaseOrder, message: str, *, event: str = "sent"
) -> None:
    for line in order.lines:
        for reservation in line.reservations:
            audit.record(
                store_id, reservation.order_id, "info", message, event=event,
                purchase_order=order.number, product_id=line.ref.product_id,
                variant_id=line.ref.variant_id, units=reservation.units,
                expected_date=str(order.expected_date) if order.expected_date else None,
            )  # fmt: skip


def _audit_freed(
    audit: AuditLog, store_id: int, number: str, freed: Sequence[ReservedUnits], what: str
) -> None:
    for reserved in freed:
        audit.record(
            store_id, reserved.order_id, "info",
            f"Purchase order {number} was {what}: {units(reserved.units)} of "
            f"{ref_label(reserved.ref)} {agree(reserved.units, 'is', 'are')} no longer reserved "
            "for this order.",
            purchase_order=number, product_id=reserved.ref.product_id,
        )  # fmt: skip


# --- the e-mail to the supplier -------------------------------------------------------------


def purchase_order_text(order: PurchaseOrder, supplier: Supplier, store_name: str) -> str:
    """The plain-text e-mail of a purchase order."""
    rows = [
        f"Dear {supplier.name},",
        "",
        f"{store_name} orders the following (purchase order {order.number}):",
        "",
    ]
    for line in order.lines:
        sku = line.supplier_sku or ref_label(line.ref)
        rows.append(f"- {line.quantity} x {sku} at {line.unit_cost} {order.currency}")
    rows += [
        "",
        f"Total: {order.value} {order.currency}",
        f"Expected delivery: {order.expected_date}",
        "",
        f"The lines are attached as {order.number}.csv. Please quote {order.number} on the "
        "delivery and the invoice.",
    ]
    return "\n".join(rows) + "\n"


def purchase_order_csv(order: PurchaseOrder) -> str:
    """The lines of a purchase order as CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "purchase_order",
            "supplier_sku",
            "product_id",
            "variant_id",
            "quantity",
            "unit_cost",
            "currency",
            "line_value",
        ]  # fmt: skip
    )
    for line in order.lines:
        writer.writerow(
            [
                order.number,
                _csv_safe(line.supplier_sku),
                line.ref.product_id,
                line.ref.variant_id or "",
                line.quantity,
                line.unit_cost,
                order.currency,
                (line.unit_cost * line.quantity),
            ]
        )
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- receiving ------------------------------------------------------------------------------


def receipt_key(number: str, receipt_no: int) -> str:
    """The key of the `receipt_no`-th receipt of purchase order `number`."""
    return f"receipt:{number}:{receipt_no}"


def record_receipt(
    store_id: int,
    order: PurchaseOrder,
    received: Mapping[ProductRef, int],
    *,
    orders: PurchaseOrders,
    key: str,
) -> tuple[ReceiptRecord, tuple[str, ...]]:
    """Record what arrived on the purchase order, and the receipt to carry out in the store
    (`carry_out_receipt`), in one write; returns it with the warnings to show."""
    receipt = apply_receipt(order, received)
    record = orders.record_receipt(store_id, order, receipt, key)
    return record, tuple(warning.message for warning in receipt.warnings)


def carry_out_receipt(
    store_id: int,
    key: str,
    *,
    platform: StockRaisePlatform,
    receipts: ReceiptLedger,
    releases: ReleaseLedger,
    audit: AuditLog,
    alerts: Alerts,
    allocate: Allocate,
) -> ReceiptRecord | None:
    """Carry a recorded receipt out, from wherever an earlier attempt stopped: raise stock by
    exactly the units received (module docstring), complete drop-shipped backorder orders,
    run allocation for the products, and tell the merchant what was released."""
    record = receipts.get(store_id, key)
    if record is None or record.state in (ReceiptState.DONE, ReceiptState.FAILED):
        return record
    run = _ReceiptRun(record, platform, receipts, releases, audit, alerts, allocate)

    def advance(state: str, **values: Any) -> None:
        receipts.advance(store_id, key, state, **values)

    try:
        carry_out(record.state, run.steps(), advance)
    except PermanentError as exc:
        message = f"Receipt on purchase order {record.number} stopped: {exc}"
        receipts.advance(store_id, key, ReceiptState.FAILED, error=message)
        alerts.add_alert(store_id, "purchase_receipt_failed", message)
        audit.record(store_id, record.number, "error", message, reason=exc.reason)
        log.warning("receipt store=%s key=%s failed reason=%s", store_id, key, exc.reason)
    return receipts.get(store_id, key)


def _line_key(line: Mapping[str, Any]) -> str:
    variant = line.get("variant_id")
    return f"{line['product_id']}/{variant}" if variant else str(line["product_id"])


def _line_ref(line: Mapping[str, Any]) -> ProductRef:
    variant = line.get("variant_id")
    return ProductRef(str(line["product_id"]), str(variant) if variant else None)


class _ReceiptRun:
    def __init__(
        self,
        record: ReceiptRecord,
        platform: StockRaisePlatform,
        receipts: ReceiptLedger,
        releases: ReleaseLedger,
        audit: AuditLog,
        alerts: Alerts,
        allocate: Allocate,
    ) -> None:
        self.record = record
        self.platform = platform
        self.receipts = receipts
        self.releases = releases
        self.audit = audit
        self.alerts = alerts
        self.allocate = allocate
        self.stock = {name: dict(entry) for name, entry in record.stock.items()}
        self.released: list[str] = list(record.released)

    def steps(self) -> list[Step]:
        return [
            Step((ReceiptState.PLANNED,), ReceiptState.STOCKED, self._raise_stock),
            Step((ReceiptState.STOCKED,), ReceiptState.RELEASED, self._release),
            Step((ReceiptState.RELEASED,), ReceiptState.DONE, self._tell),
        ]

    def _save(self, name: str, entry: dict[str, Any]) -> None:
        self.stock[name] = entry
        self.receipts.set_stock_entry(self.record.store_id, self.record.receipt_key, name, entry)

    def _raise_stock(self) -> None:
        store_id = self.record.store_id
        for line in self.record.lines:
            name = _line_key(line)
            entry = self.stock.get(name)
            if entry is not None and entry.get("written"):
                continue  # an earlier attempt saw this write land
            ref = _line_ref(line)
            if entry is not None and entry.get("attempted"):
                now = self.platform.stock_figure(ref).quantity
                if now == entry["target"]:
                    self._save(name, {**entry, "written": True})  # it landed before the crash
                    continue
                if now != entry["base"]:
                    raise PermanentError(
                        f"the stock of {ref_label(ref)} was {entry['base']} when we set it to "
                        f"{entry['target']} (+{entry['units']} received), and it is {now} now: "
                        "it also changed for another reason meanwhile, so we cannot tell "
                        f"whether the {entry['units']} units were added. Check that figure in "
                        "the store and correct it by hand; nothing more will be written.",
                        reason="stock_changed_during_write",
                    )
            else:
                figure = self.platform.stock_figure(ref)
                if figure.quantity is None:
                    raise PermanentError(
                        f"the store does not count the stock of {ref_label(ref)}: turn stock "
                        f"management on for it and add the {line['units']} units by hand.",
                        reason="stock_not_counted",
                    )
                entry = {
                    "product_id": ref.product_id,
                    "variant_id": ref.variant_id,
                    "pool": {
                        "product_id": figure.pool.product_id,
                        "variant_id": figure.pool.variant_id,
                    },
                    "units": int(line["units"]),
                    "base": figure.quantity,
                    "target": figure.quantity + int(line["units"]),
                    # Who waited for it before the write, to name who the units released.
                    "waiting": [
                        order_id
                        for order_id in self.releases.backorder_orders_for(store_id, ref)
                        if not self.releases.for_order(store_id, order_id)
                    ],
                    "attempted": True,  # committed before the write: a retry checks first
                    "written": False,
                }
                self._save(name, entry)
            pool = entry["pool"]
            self.platform.set_stock(
                ProductRef(pool["product_id"], pool["variant_id"]), int(entry["target"])
            )
            self._save(name, {**entry, "written": True})
            self.audit.record(
                self.record.store_id, self.record.number, "call",
                f"Stock of {ref_label(ref)} raised from {entry['base']} to {entry['target']} "
                f"({entry['units']} received on purchase order {self.record.number}).",
                receipt_key=self.record.receipt_key,
            )  # fmt: skip

    def _release(self) -> dict[str, Any]:
        self._complete_drop_shipped()
        for product_id in dict.fromkeys(str(line["product_id"]) for line in self.record.lines):
            self.allocate(product_id)
        waiting = dict.fromkeys(
            order_id for entry in self.stock.values() for order_id in entry.get("waiting", ())
        )
        released = [
            order_id
            for order_id in waiting
            if self.releases.for_order(self.record.store_id, order_id)
        ]
        self.released = released
        return {"released": released}

    def _complete_drop_shipped(self) -> None:
        """The supplier shipped to the customers: a backorder order whose every line it shipped
        is completed in the store (no stock moves); one still waiting for other lines gets a
        note, and the merchant completes it when those ship."""
        shipped: dict[str, dict[ProductRef, int]] = {}
        for line in self.record.drop_shipped:
            units = shipped.setdefault(str(line["order_id"]), {})
            units[_line_ref(line)] = units.get(_line_ref(line), 0) + int(line["units"])
        for order_id, units in shipped.items():
            order = self.platform.get_order(order_id)
            if order.status is Status.DISPATCHED:
                continue  # completed by an earlier attempt (or by the merchant)
            # Named as this order names its lines, like every purchasing page (`product_label`).
            names = {line.ref: line.name for line in order.lines if line.name}
            what = ", ".join(f"{n} x {product_label(ref, names)}" for ref, n in units.items())
            note = f"Shipped by the supplier on purchase order {self.record.number}: {what}."
            complete = all(units.get(line.ref, 0) >= line.quantity for line in order.lines)
            self.platform.add_note(order_id, note)
            if complete:
                self.platform.set_status(order_id, Status.DISPATCHED)
            self.audit.record(
                self.record.store_id, order_id, "call",
                note + (" Completed." if complete else " Other lines still wait."),
                purchase_order=self.record.number,
            )  # fmt: skip

    def _tell(self) -> None:
        # The products by name, as the orders that waited for them call them (a read each).
        who: dict[ProductRef, list[str]] = {}
        for entry in self.stock.values():
            ref = ProductRef(entry["product_id"], entry.get("variant_id"))
            who.setdefault(ref, []).extend(str(o) for o in entry.get("waiting", ()))
        for line in self.record.drop_shipped:
            who.setdefault(_line_ref(line), []).append(str(line["order_id"]))
        names = names_from_orders(self.platform, who)
        parts = []
        for entry in self.stock.values():
            ref = ProductRef(entry["product_id"], entry.get("variant_id"))
            parts.append(
                f"{entry['units']} x {product_label(ref, names)} (stock {entry['base']} → "
                f"{entry['target']})"
            )
        for line in self.record.drop_shipped:
            parts.append(
                f"{line['units']} x {product_label(_line_ref(line), names)} shipped by the "
                f"supplier to order {line['order_id']}"
            )
        waiting = [
            order_id
            for entry in self.stock.values()
            for order_id in entry.get("waiting", ())
            if order_id not in self.released
        ]
        message = f"Shortfall received on purchase order {self.record.number}: {'; '.join(parts)}."
        message += (
            f" Released: {', '.join('order ' + o for o in self.released)}."
            if self.released
            else " Nothing was released."
        )
        if waiting:
            message += f" Still waiting: {', '.join('order ' + o for o in dict.fromkeys(waiting))}."
        self.alerts.add_alert(self.record.store_id, "shortfall_received", message)


def check_quantities(raw: Mapping[ProductRef, str]) -> dict[ProductRef, int]:
    """Quantities typed in a form: whole numbers of 0 or more, else a refusal naming the line."""
    found: dict[ProductRef, int] = {}
    for ref, text in raw.items():
        text = text.strip()
        if not text:
            continue
        if _WHOLE.fullmatch(text):  # ASCII digits only: str.isdigit accepts "²", int refuses it
            number = int(text)
            if number < 0:
                raise PurchasingError(
                    "negative_quantity",
                    f"{ref_label(ref).capitalize()}: enter 0 or more, not {text}.",
                )
            found[ref] = number
            continue
        raise PurchasingError(
            "not_a_quantity",
            f"{ref_label(ref).capitalize()}: enter a whole number of units, not {text!r}.",
        )
    return found
