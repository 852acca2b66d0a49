"""Open backorders of a store (filters, sorting, totals, CSV, age chart), each order's audit
trail, and "split now" for an order that was not split automatically. Cancelling a backorder
line has its own blueprint (web/cancellations.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import redis
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from plugin.adapters.queue.relay import enqueue_event
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.models import utcnow
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.purchasing import SqlPurchasing
from plugin.adapters.sql.reports import (
    order_labels,
    recent_audited_orders,
    released_order_ids,
    splits_of_store,
)
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.cancellation import after_cancels
from plugin.core.model import ProductPolicy, ProductRef, Status, minor_unit
from plugin.core.split import hold_key
from plugin.errors import BackordersError
from plugin.ports import AdminLinks, OrderSummary, SplitRecord
from plugin.usecases import cancel_wording
from plugin.usecases.cancelling import cancel_key
from web.auth import login_required, owned_store, services, store_platform
from web.inputs import is_numeric_id, is_order_id, whole_number
from web.purchasing import covered_by_free_stock

logger = logging.getLogger(__name__)

bp = Blueprint("backorders", __name__)

# Statuses after which a backorder order is no longer open (the platform maps its own onto them).
CLOSED_STATUSES = frozenset({Status.DISPATCHED, Status.CANCELLED})
ON_HOLD_STATUSES = frozenset({Status.ON_HOLD, Status.NEW_BACKORDER})
AGE_BUCKETS = ((0, 7, "0-7 days"), (8, 14, "8-14 days"), (15, 30, "15-30 days"))
OLDEST_BUCKET = "31+ days"
SORT_KEYS = ("age", "value", "quantity", "customer", "product", "expected")
MAX_AGE_DAYS = 36_500


def admin_links(store: StoreRecord) -> Callable[[StoreRecord, str], str]:
    """`admin_order_url(store, order_id)` for a page's template: the order's page in the
    store's own admin, the platform opened on the first link only."""
    opened: list[AdminLinks] = []

    def admin_order_url(_store: StoreRecord, order_id: str) -> str:
        if not opened:
            opened.append(store_platform(store))
        return opened[0].order_admin_url(order_id)

    return admin_order_url


@dataclass(frozen=True)
class BackorderLine:
    split_key: str
    original_order_id: str
    backorder_order_id: str
    backorder_number: str
    product_id: str
    variant_id: str | None
    product: str
    customer: str
    quantity: int
    value: Decimal
    currency: str
    created_at: dt.datetime
    age_days: int
    expected_date: dt.date | None
    status: str
    line_id: str = ""  # the original's line id (the split plan's line)
    held: bool = False  # the original itself waits whole for stock (core.split.hold_key)
    original_number: str = ""  # as the store shows it (Shopify: `1001` for id 10000000028)
    on_hold: bool = False  # the store holds it waiting (canonical status), so it can be cancelled

    @property
    def age_bucket(self) -> str:
        return age_bucket(self.age_days)

    @property
    def ref(self) -> ProductRef:
        return ProductRef(self.product_id, self.variant_id)


def age_bucket(days: int) -> str:
    """The chart bucket of an age in days."""
    for low, high, label in AGE_BUCKETS:
        if low <= days <= high:
            return label
    return OLDEST_BUCKET


def fetch_orders(store: StoreRecord, order_ids: Iterable[str]) -> dict[str, OrderSummary]:
    """Orders by id as the pages show them, read from the store at once; {} when unreachable."""
    ids = {str(i) for i in order_ids if is_order_id(str(i))}
    if not ids or not store.is_connected:
        return {}
    try:
        return store_platform(store, timeout=5).order_summaries(ids)
    except (BackordersError, ValueError, KeyError) as error:
        logger.info("event=backorders_fetch_failed store_id=%s error=%s", store.id, error)
        return {}


def product_name(order: OrderSummary | None, product_id: str, variant_id: str | None) -> str:
    found = order.product_name(product_id, variant_id) if order is not None else None
    if found is not None:
        return found
    return f"Product {product_id}" + (f" / {variant_id}" if variant_id else "")


def decision_lines(trail: Iterable[Any], split_key: str) -> list[Any]:
    """The lines a split's decision in the audit trail records (plugin/usecases/splitting.py):
    each with its line id and, when recorded, the product's name and SKU."""
    return [
        line
        for entry in trail
        if entry.kind == "decision" and entry.data.get("split_key") == split_key
        for line in cast(list[Any], entry.data.get("lines") or [])
    ]


def plan_line_names(store: StoreRecord, splits: Iterable[SplitRecord]) -> dict[str, dict[str, str]]:
    """Product names per split key and plan line id. A split's decision in the audit trail
    names them (plugin/usecases/splitting.py); for a split recorded without (a re-split, or
    before names were recorded) one read of the orders involved, for every such split at once,
    names them: the original's lines by id, the backorder order's by the original's line each
    came from."""
    audit = SqlAuditLog(services().db)
    names: dict[str, dict[str, str]] = {}
    unnamed: list[SplitRecord] = []
    trails: dict[str, list[Any]] = {}
    for split in splits:
        if split.original_order_id not in trails:
            trails[split.original_order_id] = audit.for_order(store.id, split.original_order_id)
        names[split.split_key] = found = {
            str(line.get("line_id")): str(line["product"])
            for line in decision_lines(trails[split.original_order_id], split.split_key)
            if line.get("product")
        }
        planned = cast(list[Any], split.plan.get("lines") or [])
        if any(str(line.get("line_id")) not in found for line in planned):
            unnamed.append(split)
    if not unnamed:
        return names
    orders = fetch_orders(
        store,
        {i for s in unnamed for i in (s.original_order_id, s.backorder_order_id or "") if i},
    )
    for split in unnamed:
        found = names[split.split_key]
        original = orders.get(split.original_order_id)
        for line_id, name in (original.lines if original else {}).items():
            found.setdefault(line_id, name)
        backorder = orders.get(str(split.backorder_order_id))
        for line_id, name in (backorder.original_lines if backorder else {}).items():
            found.setdefault(line_id, name)
    return names


def _expected(policies: list[ProductPolicy], product_id: str, variant_id: str | None) -> Any:
    by_ref = {(p.ref.product_id, p.ref.variant_id): p for p in policies}
    policy = by_ref.get((product_id, variant_id)) or by_ref.get((product_id, None))
    return policy.expected_date if policy else None


def open_backorder_lines(store: StoreRecord, now: dt.datetime) -> list[BackorderLine]:
    """Every line of every open backorder order of the store (from the splits ledger), and of
    every original held whole waiting for stock (`core.split.hold_key`) still on hold; a
    released one is no longer open (what a partial release left waiting is on its -002)."""
    db = services().db
    released = released_order_ids(db, store.id)
    finished = [s for s in splits_of_store(db, store.id) if s.state == "done"]
    splits = [
        s
        for s in finished
        if s.backorder_order_id
        and s.backorder_order_id not in released
        and (s.plan or {}).get("outcome") == "split"
    ]
    holds = [
        s
        for s in finished
        if s.split_key == hold_key(s.original_order_id) and s.original_order_id not in released
    ]
    orders = fetch_orders(
        store,
        [*(s.backorder_order_id or "" for s in splits), *(s.original_order_id for s in holds)],
    )
    policies = SqlPolicyStore(db).product_policies(store.id)
    cancellations = SqlCancellationLedger(db).of_store(store.id)
    cancelled = {c.cancel_key for c in cancellations if c.removes_line}
    # Some units cancelled from a line (the cancel form, the customer's page): what waits is what
    # those cancellations left, in order, as the cancel form counts it (`after_cancels`).
    units_taken: dict[tuple[str, str], list[int]] = {}
    for c in cancellations:
        if c.units_taken_off:
            units_taken.setdefault((c.backorder_order_id, c.line_id), []).append(c.units_taken_off)
    lines: list[BackorderLine] = []
    for split in [*splits, *holds]:
        held = split in holds
        waiting_id = split.original_order_id if held else str(split.backorder_order_id)
        order = orders.get(waiting_id)
        status = order.store_status if order else ""
        if order is not None and (
            order.status in CLOSED_STATUSES or (held and order.status not in ON_HOLD_STATUSES)
        ):
            continue  # a held order sent on or cancelled by the merchant no longer waits
        currency = order.currency if order else ""
        for line in split.plan.get("lines", []):
            quantity = int(line.get("waiting" if held else "backorder", 0))
            if quantity <= 0:
                continue
            if cancel_key(waiting_id, str(line.get("line_id"))) in cancelled:
                continue  # cancelled by the merchant (web/cancellations.py)
            value = _waiting_value(line, quantity, held, currency)
            taken = units_taken.get((waiting_id, str(line.get("line_id"))))
            if taken and held:
                quantity -= sum(taken)
                value = _waiting_value(line, quantity, held, currency)
            elif taken:
                tax = Decimal(str((line.get("moved_amounts") or {}).get("tax", "0")))
                value, _tax, quantity = after_cancels(value, tax, quantity, taken, currency)
            if quantity <= 0:
                continue
            ref = line.get("ref") or {}
            product_id = str(ref.get("product_id", ""))
            variant_id = ref.get("variant_id") or None
            lines.append(
                BackorderLine(
                    split_key=split.split_key,
                    original_order_id=split.original_order_id,
                    backorder_order_id=waiting_id,
                    backorder_number=str(split.plan.get("backorder_number") or ""),
                    product_id=product_id,
                    variant_id=variant_id,
                    product=product_name(order, product_id, variant_id),
                    customer=order.customer if order else "",
                    quantity=quantity,
                    value=value,
                    currency=currency,
                    created_at=split.created_at,
                    age_days=max(0, (now - split.created_at).days),
                    expected_date=_expected(policies, product_id, variant_id),
                    status=status or "unknown",
                    line_id=str(line.get("line_id", "")),
                    held=held,
                    on_hold=order is not None and order.status in ON_HOLD_STATUSES,
                    original_number=_original_number(
                        split.plan, split.original_order_id, order if held else None
                    ),
                )
            )
    return lines


def _original_number(
    plan: Mapping[str, Any], original_order_id: str, original: OrderSummary | None
) -> str:
    """The original's number: its own, when read; else the backorder number's stem (`1042` of
    `1042-001`); else its id."""
    if original is not None and original.number:
        return original.number
    number = str(plan.get("backorder_number") or "")
    return number.rsplit("-", 1)[0] if "-" in number else original_order_id


def _waiting_value(line: Mapping[str, Any], quantity: int, held: bool, currency: str) -> Decimal:
    """The value of a line's waiting units: what moved to the backorder order, or for a held
    original its share of the line's total."""
    if not held:
        return Decimal(str((line.get("moved_amounts") or {}).get("total", "0")))
    total = Decimal(str((line.get("kept_amounts") or {}).get("total", "0")))
    ordered = int(line.get("ordered") or 0)
    if ordered <= 0:
        return Decimal("0")
    return (total * quantity / ordered).quantize(minor_unit(currency or "USD"))


@dataclass(frozen=True)
class Filters:
    customer: str = ""
    product: str = ""
    min_age: int | None = None
    status: str = ""
    sort: str = "age"
    descending: bool = True

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Filters from the query string; anything unusable is ignored."""
        min_age = args.get("min_age", "").strip()
        sort = args.get("sort", "age")
        return cls(
            customer=args.get("customer", "").strip()[:100],
            product=args.get("product", "").strip()[:100],
            min_age=whole_number(min_age, maximum=MAX_AGE_DAYS),
            status=args.get("status", "").strip()[:40],
            sort=sort if sort in SORT_KEYS else "age",
            descending=args.get("dir", "desc") != "asc",
        )

    def apply(self, lines: list[BackorderLine]) -> list[BackorderLine]:
        """Lines that pass every filter, sorted."""
        selected = [
            line
            for line in lines
            if self.customer.lower() in line.customer.lower()
            and (
                not self.product
                or self.product.lower() in line.product.lower()
                or self.product == line.product_id
            )
            and (self.min_age is None or line.age_days >= self.min_age)
            and (not self.status or line.status == self.status)
        ]
        keys = {
            "age": lambda b: (b.age_days, b.created_at),
            "value": lambda b: (b.value, b.created_at),
            "quantity": lambda b: (b.quantity, b.created_at),
            "customer": lambda b: (b.customer.lower(), b.created_at),
            "product": lambda b: (b.product.lower(), b.created_at),
            "expected": lambda b: (b.expected_date or dt.date.max, b.created_at),
        }
        return sorted(selected, key=keys[self.sort], reverse=self.descending)


def chart(lines: list[BackorderLine]) -> list[dict[str, Any]]:
    """Open backorders per age bucket: lines, quantity and value, with bar widths (0-100)."""
    labels = [label for _, _, label in AGE_BUCKETS] + [OLDEST_BUCKET]
    buckets: dict[str, dict[str, Any]] = {
        label: {"label": label, "lines": 0, "quantity": 0, "value": Decimal("0")}
        for label in labels
    }
    for line in lines:
        bucket = buckets[line.age_bucket]
        bucket["lines"] += 1
        bucket["quantity"] += line.quantity
        bucket["value"] += line.value
    top_value = max((b["value"] for b in buckets.values()), default=Decimal("0")) or Decimal("1")
    top_lines = max((b["lines"] for b in buckets.values()), default=0) or 1
    for bucket in buckets.values():
        bucket["value_width"] = int(bucket["value"] * 100 / top_value)
        bucket["lines_width"] = int(bucket["lines"] * 100 / top_lines)
    return [buckets[label] for label in labels]


@bp.get("/stores/<int:store_id>/backorders")
@login_required
def index(store_id: int) -> BaseResponse | str:
    """Every open backorder line, filtered and sorted; `?format=csv` downloads them."""
    store = owned_store(store_id)
    min_age = request.args.get("min_age", "").strip()
    if min_age and whole_number(min_age, maximum=MAX_AGE_DAYS) is None:
        abort(400, description=f"min_age must be a number of days from 0 to {MAX_AGE_DAYS}.")
    filters = Filters.from_args(request.args)
    all_lines = open_backorder_lines(store, utcnow())
    lines = filters.apply(all_lines)
    if request.args.get("format") == "csv":
        return _csv(store, lines)
    totals = {
        "lines": len(lines),
        "orders": len({line.backorder_order_id for line in lines}),
        "quantity": sum(line.quantity for line in lines),
        "value": sum((line.value for line in lines), Decimal("0")),
    }
    return render_template(
        "backorders/index.html",
        store=store,
        lines=lines,
        filters=filters,
        totals=totals,
        chart=chart(lines),
        statuses=sorted({line.status for line in all_lines}),
        recent=recent_audited_orders(services().db, store.id),
        admin_order_url=admin_links(store),
        csv_args={**request.args.to_dict(), "format": "csv"},
        covering=SqlPurchasing(services().db).covering(store.id),  # purchase orders (issue 14)
        covered=_covered(store) if request.args.get("stock") == "1" else None,
        elsewhere=_elsewhere(store, lines) if request.args.get("stock") == "1" else None,
    )


def _covered(store: StoreRecord) -> set[tuple[str, ProductRef]] | None:
    """Lines free stock covers now (reads the store per product: asked for with ?stock=1)."""
    try:
        return covered_by_free_stock(store)
    except BackordersError as exc:
        flash(f"The store's stock could not be read: {exc.reason}.", "error")
        return None


def _elsewhere(
    store: StoreRecord, lines: list[BackorderLine]
) -> Mapping[tuple[str, ProductRef], int] | None:
    """Units at another location than the one fulfilling each line's order, which allocation
    does not take (the platform answers; empty where stock has no locations)."""
    try:
        return store_platform(store).stock_elsewhere(
            sorted({line.backorder_order_id for line in lines})
        )
    except BackordersError as exc:
        flash(f"The store's stock at other locations could not be read: {exc.reason}.", "error")
        return None


def _csv(store: StoreRecord, lines: list[BackorderLine]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "original_order",
            "backorder_order",
            "backorder_number",
            "customer",
            "product_id",
            "variant_id",
            "product",
            "quantity",
            "value",
            "currency",
            "age_days",
            "expected_date",
            "status",
            "held_whole",
        ]
    )
    for line in lines:
        writer.writerow(
            [
                line.original_order_id,
                line.backorder_order_id,
                line.backorder_number,
                _csv_safe(line.customer),
                line.product_id,
                line.variant_id or "",
                _csv_safe(line.product),
                line.quantity,
                f"{line.value:.2f}",
                line.currency,
                line.age_days,
                line.expected_date.isoformat() if line.expected_date else "",
                line.status,
                "yes" if line.held else "",
            ]
        )
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="backorders-store-{store.id}.csv"'},
    )


def _csv_safe(text: str) -> str:
    """Shopper-typed text cannot become a spreadsheet formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- one order -------------------------------------------------------------------------------


@bp.get("/stores/<int:store_id>/orders/<order_id>")
@login_required
def order(store_id: int, order_id: str) -> str:
    """The order's audit trail: every decision with its reason, platform call and retry."""
    store = owned_store(store_id)
    if not is_order_id(order_id):  # a Shopify held part is `fo-<n>`
        abort(404)
    db = services().db
    splits = SqlSplitLedger(db).for_order(store.id, order_id)
    trail = SqlAuditLog(db).for_order(store.id, order_id)
    events = [e for e in InboxRepository(db).list(store.id, limit=500) if e.resource_id == order_id]
    cancellations = SqlCancellationLedger(db).for_order(store.id, order_id)
    named = [order_id]
    named += [i for s in splits for i in (s.original_order_id, s.backorder_order_id) if i]
    named += [c.backorder_order_id for c in cancellations]
    labels = order_labels(db, store.id, named)
    return render_template(
        "backorders/order.html",
        store=store,
        order_id=order_id,
        labels=labels,
        splits=splits,
        names=plan_line_names(store, splits),
        cancellations=cancellations,
        cancel_results={
            c.cancel_key: cancel_wording.result(c, labels[c.backorder_order_id])
            for c in cancellations
        },
        cancelled_keys={c.cancel_key for c in cancellations if c.removes_line},
        cancel_key=cancel_key,
        trail=trail,
        events=events,
        can_split=not any(s.original_order_id == order_id for s in splits)
        and not any(s.backorder_order_id == order_id for s in splits),
        admin_order_url=admin_links(store),
    )


@bp.post("/stores/<int:store_id>/orders/<order_id>/split")
@login_required
def split_now(store_id: int, order_id: str) -> BaseResponse:
    """Queue the order like a webhook would (inbox source 'manual'); the worker decides."""
    store = owned_store(store_id)
    if not is_numeric_id(order_id):
        abort(404)
    state = services()
    if SqlSplitLedger(state.db).for_order(store.id, order_id):
        flash("This order was already split; nothing was queued.", "error")
        return redirect(url_for("backorders.order", store_id=store.id, order_id=order_id), 303)
    # A fresh dedupe key per click: the time stands in for date_modified_gmt. Two clicks make
    # two events, and the split ledger still splits the order once (deterministic split key).
    event_id = state.inbox.add(store.id, "order.updated", order_id, utcnow().isoformat(), "manual")
    if event_id is None:
        flash("This order is already queued.", "ok")
    else:
        try:
            enqueue_event(state.redis, event_id)
            state.events.mark_enqueued(event_id)
            flash(f"Order {order_id} is queued for splitting.", "ok")
        except redis.RedisError:
            # The event stays 'pending'; the worker's requeue picks it up when Redis is back.
            flash(f"Order {order_id} will be queued as soon as the queue is back.", "ok")
    logger.info("event=split_now store_id=%s order=%s event_id=%s", store.id, order_id, event_id)
    return redirect(url_for("backorders.order", store_id=store.id, order_id=order_id), 303)
