"""Purchasing pages (issue 14): suppliers and product links (with CSV import and export), the
purchase proposal, and purchase orders (create, send, print, receive, move, cancel).

Every change goes through `plugin/usecases/purchasing.py` and the core's checks: a refusal is
shown with what to change and writes nothing. A receipt is recorded here and carried out in the
store by the receipt job (`jobs/purchasing.py`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import redis
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from plugin.adapters.queue.jobs import enqueue_mail, enqueue_receipt
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.outbox import OutboxRepository
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.purchasing import (
    PurchasingSettings,
    SqlPurchasing,
    SqlReceiptLedger,
    StoredOrder,
)
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import ProductRef
from plugin.core.purchasing import (
    OPEN_STATUSES,
    Proposal,
    PurchaseOrder,
    PurchaseOrderStatus,
    PurchasingError,
    ReorderPoint,
    Supplier,
    SupplierProduct,
    plan_proposal,
)
from plugin.core.release import OpenBackorder
from plugin.core.wording import counted
from plugin.errors import BackordersError
from plugin.ports import Message, Platform, ReceiptState
from plugin.usecases import purchasing as usecase
from plugin.usecases.releasing import Preview, free_in_stock, preview_allocation
from web.auth import login_required, owned_store, services, store_platform
from web.inputs import is_numeric_id, is_order_id

logger = logging.getLogger(__name__)

bp = Blueprint("purchasing", __name__)

MAX_CSV_BYTES = 1_000_000
WHOLE = re.compile(r"-?[0-9]{1,9}")
SUPPLIER_COLUMNS = (
    "name", "email", "currency", "lead_time_days", "minimum_order_value", "exchange_rate", "notes",
)  # fmt: skip
LINK_COLUMNS = (
    "supplier", "product_id", "variant_id", "supplier_sku", "unit_cost", "pack_size",
    "minimum_quantity", "preferred",
)  # fmt: skip


def _purchasing() -> SqlPurchasing:
    return SqlPurchasing(services().db)


def _platform(store: StoreRecord) -> Platform:
    return store_platform(store)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _refused(exc: PurchasingError, target: str) -> BaseResponse:
    flash(exc.message, "error")
    return redirect(target, 303)


# --- form fields ----------------------------------------------------------------------------


def _amount(raw: str, what: str, *, optional: bool = False) -> Decimal | None:
    text = raw.strip()
    if not text and optional:
        return None
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        raise PurchasingError("not_an_amount", f"{what} must be a number, not {raw!r}.") from None
    if not value.is_finite():
        raise PurchasingError("not_an_amount", f"{what} must be a number, not {raw!r}.")
    return value


def _whole(raw: str, what: str, default: int = 0) -> int:
    text = raw.strip()
    if not text:
        return default
    if WHOLE.fullmatch(text):  # ASCII digits, and few enough for an SQL INTEGER
        number = int(text)
        if number < 0:
            raise PurchasingError("negative_quantity", f"{what} must be 0 or more, not {text}.")
        return number
    raise PurchasingError("not_a_quantity", f"{what} must be a whole number, not {raw!r}.")


def _supplier_from(form: Mapping[str, str], supplier_id: str = "") -> Supplier:
    name = form.get("name", "").strip()
    return Supplier(
        id=supplier_id,
        name=name,
        currency=form.get("currency", "").strip().upper(),
        email=form.get("email", "").strip(),
        lead_time_days=_whole(form.get("lead_time_days", ""), f"Supplier {name}: the lead time"),
        minimum_order_value=_amount(
            form.get("minimum_order_value", ""), f"Supplier {name}: the minimum order value"
        )
        or Decimal("0"),
        exchange_rate=_amount(
            form.get("exchange_rate", ""), f"Supplier {name}: the exchange rate", optional=True
        ),
        notes=form.get("notes", "").strip(),
    )


def _ref_from(form: Mapping[str, str]) -> ProductRef:
    product_id = form.get("product_id", "").strip()
    variant_id = form.get("variant_id", "").strip()
    if not is_numeric_id(product_id) or (variant_id and not is_numeric_id(variant_id)):
        raise PurchasingError(
            "unknown_product",
            f"Give the product's id in the store (digits), not {product_id!r}"
            + (f" / {variant_id!r}" if variant_id else "")
            + ".",
        )
    return ProductRef(product_id, variant_id or None)


def _link_from(form: Mapping[str, str], supplier_id: str) -> SupplierProduct:
    ref = _ref_from(form)
    what = usecase.ref_label(ref).capitalize()
    cost = _amount(form.get("unit_cost", ""), f"{what}: the unit cost")
    assert cost is not None
    return SupplierProduct(
        supplier_id=supplier_id,
        ref=ref,
        unit_cost=cost,
        supplier_sku=form.get("supplier_sku", "").strip(),
        pack_size=_whole(form.get("pack_size", ""), f"{what}: the pack size", default=1),
        minimum_quantity=_whole(form.get("minimum_quantity", ""), f"{what}: the minimum"),
        preferred=form.get("preferred", "").strip().lower() in ("1", "yes", "true", "on", "y"),
    )


# --- suppliers, links and settings ---------------------------------------------------------


@bp.get("/stores/<int:store_id>/purchasing/suppliers")
@login_required
def suppliers(store_id: int) -> str:
    store = owned_store(store_id)
    purchasing = _purchasing()
    listed = purchasing.suppliers(store.id)
    links = purchasing.links(store.id)
    kept = purchasing.reorder_points(store.id)
    return render_template(
        "purchasing/suppliers.html",
        store=store,
        settings=purchasing.settings(store.id),
        suppliers=listed,
        names={s.id: s.name for s in listed},
        links=links,
        reorder_points=kept,
        product_names=_names_of(store, dict.fromkeys([*(link.ref for link in links), *kept])),
    )


def _back_to_suppliers(store: StoreRecord) -> str:
    return url_for("purchasing.suppliers", store_id=store.id)


@bp.post("/stores/<int:store_id>/purchasing/settings")
@login_required
def save_settings(store_id: int) -> BaseResponse:
    store = owned_store(store_id)
    try:
        _purchasing().save_settings(
            store.id,
            PurchasingSettings(
                request.form.get("currency", "").strip().upper(),
                request.form.get("numbering_pattern", "").strip(),
            ),
        )
    except PurchasingError as exc:
        return _refused(exc, _back_to_suppliers(store))
    flash("Purchasing settings saved.", "ok")
    return redirect(_back_to_suppliers(store), 303)


@bp.post("/stores/<int:store_id>/purchasing/suppliers")
@login_required
def save_supplier(store_id: int) -> BaseResponse:
    store = owned_store(store_id)
    supplier_id = request.form.get("supplier_id", "").strip()
    if supplier_id and not is_numeric_id(supplier_id):
        abort(404)
    try:
        supplier = _supplier_from(request.form, supplier_id)
        _purchasing().save_supplier(store.id, supplier)
    except PurchasingError as exc:
        return _refused(exc, _back_to_suppliers(store))
    flash(f"Supplier {supplier.name} saved.", "ok")
    return redirect(_back_to_suppliers(store), 303)


@bp.post("/stores/<int:store_id>/purchasing/suppliers/<supplier_id>/delete")
@login_required
def delete_supplier(store_id: int, supplier_id: str) -> BaseResponse:
    store = owned_store(store_id)
    if not is_numeric_id(supplier_id):
        abort(404)
    try:
        _purchasing().delete_supplier(store.id, supplier_id)
    except PurchasingError as exc:
        return _refused(exc, _back_to_suppliers(store))
    flash("Supplier deleted.", "ok")
    return redirect(_back_to_suppliers(store), 303)


@bp.post("/stores/<int:store_id>/purchasing/links")
@login_required
def save_link(store_id: int) -> BaseResponse:
    store = owned_store(store_id)
    supplier_id = request.form.get("supplier_id", "").strip()
    if not is_numeric_id(supplier_id):
        return _refused(
            PurchasingError("unknown_supplier", "Choose the supplier."), _back_to_suppliers(store)
        )
    try:
        link = _link_from(request.form, supplier_id)
        _purchasing().save_links(store.id, [link])
    except PurchasingError as exc:
        return _refused(exc, _back_to_suppliers(store))
    flash(f"{usecase.ref_label(link.ref).capitalize()} linked.", "ok")
    return redirect(_back_to_suppliers(store), 303)


@bp.post("/stores/<int:store_id>/purchasing/reorder-points")
@login_required
def save_reorder_point(store_id: int) -> BaseResponse:
    """Set a product's reorder point and the quantity to order it up to (0 and empty: remove)."""
    store = owned_store(store_id)
    try:
        ref = _ref_from(request.form)
        what = usecase.ref_label(ref).capitalize()
        kept = ReorderPoint(
            _whole(request.form.get("reorder_point", ""), f"{what}: the reorder point"),
            _whole(request.form.get("order_up_to", ""), f"{what}: the quantity to order up to"),
        )
        _purchasing().save_reorder_point(store.id, ref, kept)
    except PurchasingError as exc:
        return _refused(exc, _back_to_suppliers(store))
    if kept.point or kept.up_to:
        flash(f"{what}: reorder point {kept.point}, ordered up to {kept.target}.", "ok")
    else:
        flash(f"{what}: reorder point removed.", "ok")
    return redirect(_back_to_suppliers(store), 303)


@bp.post("/stores/<int:store_id>/purchasing/links/delete")
@login_required
def delete_link(store_id: int) -> BaseResponse:
    store = owned_store(store_id)
    supplier_id = request.form.get("supplier_id", "").strip()
    try:
        if not is_numeric_id(supplier_id):
            raise PurchasingError("unknown_link", "There is no such product link.")
        _purchasing().delete_link(store.id, supplier_id, _ref_from(request.form))
    except PurchasingError as exc:
        return _refused(exc, _back_to_suppliers(store))
    flash("Product link deleted.", "ok")
    return redirect(_back_to_suppliers(store), 303)


# --- CSV ------------------------------------------------------------------------------------


def _csv_response(name: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/stores/<int:store_id>/purchasing/suppliers.csv")
@login_required
def export_suppliers(store_id: int) -> Response:
    store = owned_store(store_id)
    rows = [
        (
            s.name,
            s.email,
            s.currency,
            s.lead_time_days,
            s.minimum_order_value,
            s.exchange_rate if s.exchange_rate is not None else "",
            s.notes,
        )  # fmt: skip
        for s in _purchasing().suppliers(store.id)
    ]
    return _csv_response(f"suppliers-{store.id}.csv", SUPPLIER_COLUMNS, rows)


@bp.get("/stores/<int:store_id>/purchasing/links.csv")
@login_required
def export_links(store_id: int) -> Response:
    store = owned_store(store_id)
    purchasing = _purchasing()
    names = {s.id: s.name for s in purchasing.suppliers(store.id)}
    rows = [
        (
            names[link.supplier_id],
            link.ref.product_id,
            link.ref.variant_id or "",
            link.supplier_sku,
            link.unit_cost,
            link.pack_size,
            link.minimum_quantity,
            "yes" if link.preferred else "no",
        )  # fmt: skip
        for link in purchasing.links(store.id)
    ]
    return _csv_response(f"product-links-{store.id}.csv", LINK_COLUMNS, rows)


def _csv_rows(columns: Sequence[str]) -> list[dict[str, str]]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise PurchasingError("csv_missing", "Choose a CSV file to import.")
    data = upload.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise PurchasingError("csv_too_large", "The CSV file is over 1 MB: split it in parts.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PurchasingError(
            "csv_encoding", "Save the CSV file as UTF-8 and import it again."
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise PurchasingError(
            "csv_columns",
            f"The CSV file has no column {', '.join(missing)}: its first row must name the "
            f"columns {', '.join(columns)}.",
        )
    return [{key: (value or "") for key, value in row.items() if key} for row in reader]


def _import(
    store: StoreRecord, columns: Sequence[str], save: Callable[[dict[str, str]], None]
) -> str:
    """Import each row on its own (a refused row writes nothing); the report lists them."""
    try:
        rows = _csv_rows(columns)
    except PurchasingError as exc:
        flash(exc.message, "error")
        return render_template("purchasing/import.html", store=store, saved=0, refused=[])
    refused: list[tuple[int, str]] = []
    saved = 0
    for number, row in enumerate(rows, start=2):  # row 1 names the columns
        try:
            save(row)
            saved += 1
        except PurchasingError as exc:
            refused.append((number, exc.message))
    logger.info("event=purchasing_import store_id=%s saved=%s refused=%s",
                store.id, saved, len(refused))  # fmt: skip
    return render_template("purchasing/import.html", store=store, saved=saved, refused=refused)


@bp.post("/stores/<int:store_id>/purchasing/suppliers/import")
@login_required
def import_suppliers(store_id: int) -> str:
    store = owned_store(store_id)
    purchasing = _purchasing()

    def save(row: dict[str, str]) -> None:
        existing = {s.name: s.id for s in purchasing.suppliers(store.id)}
        supplier = _supplier_from(row)
        purchasing.save_supplier(store.id, _supplier_from(row, existing.get(supplier.name, "")))

    return _import(store, SUPPLIER_COLUMNS, save)


@bp.post("/stores/<int:store_id>/purchasing/links/import")
@login_required
def import_links(store_id: int) -> str:
    store = owned_store(store_id)
    purchasing = _purchasing()
    platform = _platform(store)

    def save(row: dict[str, str]) -> None:
        ids = {s.name: s.id for s in purchasing.suppliers(store.id)}
        name = row.get("supplier", "").strip()
        if name not in ids:
            raise PurchasingError(
                "unknown_supplier",
                f"There is no supplier named {name!r}: add it first, or correct the name.",
            )
        link = _link_from(row, ids[name])
        if not _product_exists(platform, link.ref):
            raise PurchasingError(
                "unknown_product",
                f"The store has no {usecase.ref_label(link.ref)}: correct the product id.",
            )
        purchasing.save_links(store.id, [link])

    return _import(store, LINK_COLUMNS, save)


def _product_exists(platform: Any, ref: ProductRef) -> bool:
    try:
        return bool(platform.product_exists(ref))
    except BackordersError as exc:
        raise PurchasingError(
            "store_unreachable", f"The store could not be read ({exc.reason}): try again later."
        ) from exc


# --- the proposal ---------------------------------------------------------------------------


def _previews(store: StoreRecord) -> list[Preview]:
    """Allocation's view of each product open backorders wait for, as if nothing arrived:
    the orders in rank order, the units free now and what they would release."""
    db = services().db
    ledger = SqlReleaseLedger(db)
    platform = _platform(store)
    bumps = ledger.bumps(store.id)
    products = dict.fromkeys(
        ledger.parent_product(store.id, p) for p in ledger.waiting_products(store.id)
    )
    return [
        preview_allocation(
            store.id,
            product_id,
            0,
            platform=platform,
            releases=ledger,
            policies=SqlPolicyStore(db),
            priority_bumps=bumps,
        )  # fmt: skip
        for product_id in products
    ]


def covered_by_free_stock(store: StoreRecord) -> set[tuple[str, ProductRef]]:
    """(backorder order, product) of the waiting lines that free stock covers now: a release
    is possible (the backorders page shows them green). Reads the store."""
    return {
        (ranked.order_id, line.ref)
        for preview in _previews(store)
        for ranked in preview.ranking
        for line in ranked.lines
        if line.requested and line.allocated >= line.requested
    }


def open_demand(
    store: StoreRecord,
) -> tuple[dict[str, OpenBackorder], dict[ProductRef, int]]:
    """The open backorder orders (as allocation ranks them) and the free units of each stock
    figure they draw on (as allocation counts them, keyed by `OpenLine.pool_ref`: variations
    sharing their parent's figure share its units), read from the store.

    A figure is taken from the preview of its own product, which counts every order waiting
    for it; another product's preview counts only its own orders' claims on the figure."""
    orders: dict[str, OpenBackorder] = {}
    own: dict[ProductRef, int] = {}
    seen: dict[ProductRef, int] = {}
    for preview in _previews(store):
        orders.update(preview.orders)
        for figure, units in preview.available_now.items():
            (own if figure.product_id == preview.product_id else seen)[figure] = units
    return orders, {**seen, **own}


def _proposal(store: StoreRecord) -> tuple[Proposal, dict[str, OpenBackorder], list[str]]:
    """The proposal from the store's figures now, the open backorder orders behind it, and
    the orders to read product names from (those, and one per product kept in stock)."""
    purchasing = _purchasing()
    orders, free = open_demand(store)
    kept = purchasing.reorder_points(store.id)
    waiting = {line.ref for order in orders.values() for line in order.lines}
    alone = [ref for ref, rp in kept.items() if rp.point and ref not in waiting]
    figures: dict[ProductRef, ProductRef] = {}
    if alone:
        ledger = SqlReleaseLedger(services().db)
        in_stock, figures = free_in_stock(
            store.id, alone, platform=_platform(store), releases=ledger
        )
        free = {**in_stock, **free}  # a figure orders wait on is counted with their claims
        # A product whose stock the store does not count cannot be kept at a level.
        kept = {ref: rp for ref, rp in kept.items() if ref in waiting or ref in figures}
    stored = [s.order for s in purchasing.purchase_orders(store.id)]
    proposal = plan_proposal(
        orders.values(), free, stored, purchasing.catalogue(store.id),
        reorder_points=kept, stock_figures=figures,
    )  # fmt: skip
    return proposal, orders, [*orders, *_naming_orders(store, alone)]


@bp.get("/stores/<int:store_id>/purchasing/proposal")
@login_required
def proposal(store_id: int) -> tuple[str, int]:
    store = owned_store(store_id)
    error, status = None, 200
    result: Proposal | None = None
    orders: dict[str, OpenBackorder] = {}
    naming: list[str] = []
    try:
        result, orders, naming = _proposal(store)
    except PurchasingError as exc:
        error, status = exc.message, 400
    except BackordersError as exc:
        error, status = f"The store could not be read: {exc.reason}.", 502
    return render_template(
        "purchasing/proposal.html",
        store=store,
        proposal=result,
        orders=orders,
        names=product_names(store, naming) if result is not None else {},
        now=dt.datetime.now(dt.UTC),
        error=error,
    ), status


@bp.post("/stores/<int:store_id>/purchasing/proposal")
@login_required
def create_purchase_orders(store_id: int) -> BaseResponse:
    """Draft purchase orders, one per supplier, for the chosen products (planned again now)."""
    store = owned_store(store_id)
    back = url_for("purchasing.proposal", store_id=store.id)
    chosen = request.form.getlist("product")
    products = set()
    for value in chosen:
        product_id, _, variant_id = value.partition("/")
        if not is_numeric_id(product_id) or (variant_id and not is_numeric_id(variant_id)):
            abort(400)
        products.add(ProductRef(product_id, variant_id or None))
    if not products:
        flash("Choose at least one line to order.", "error")
        return redirect(back, 303)
    chosen_orders = request.form.getlist("order")
    if not all(is_order_id(order_id) for order_id in chosen_orders):
        abort(400)
    drop_ship = request.form.get("drop_ship") == "yes"
    purchasing = _purchasing()
    try:
        planned, _orders, _naming = _proposal(store)
        drafts = usecase.create_drafts(
            store.id, planned, orders=purchasing, today=_today(),
            pattern=purchasing.settings(store.id).numbering_pattern, products=products,
            backorder_orders=set(chosen_orders) or None, drop_ship=drop_ship,
        )  # fmt: skip
    except PurchasingError as exc:
        return _refused(exc, back)
    except BackordersError as exc:
        flash(f"The store could not be read: {exc.reason}. Nothing was created.", "error")
        return redirect(back, 303)
    for warning in drafts.warnings:
        flash(warning.message, "warning")
    numbers = ", ".join(order.number for order in drafts.purchase_orders)
    flash(f"Draft purchase orders created: {numbers}.", "ok")
    return redirect(url_for("purchasing.orders", store_id=store.id), 303)


# --- purchase orders ------------------------------------------------------------------------


@bp.get("/stores/<int:store_id>/purchasing/orders")
@login_required
def orders(store_id: int) -> str:
    store = owned_store(store_id)
    return render_template(
        "purchasing/orders.html", store=store, orders=_purchasing().purchase_orders(store.id)
    )


def _stored(store: StoreRecord, number: str) -> StoredOrder:
    if len(number) > 64:
        abort(404)
    found = _purchasing().get(store.id, number)
    if found is None:
        abort(404)
    return found


def _supplier_of(store: StoreRecord, order: PurchaseOrder) -> Supplier:
    for supplier in _purchasing().suppliers(store.id):
        if supplier.id == order.supplier_id:
            return supplier
    abort(404)


def _order_url(store: StoreRecord, number: str) -> str:
    return url_for("purchasing.order", store_id=store.id, number=number)


@bp.get("/stores/<int:store_id>/purchasing/orders/<number>")
@login_required
def order(store_id: int, number: str) -> str:
    store = owned_store(store_id)
    stored = _stored(store, number)
    receipts = SqlReceiptLedger(services().db).receipts(store.id, number)
    return render_template(
        "purchasing/order.html",
        store=store,
        stored=stored,
        po=stored.order,
        names=_order_names(store, stored.order),
        supplier=_supplier_of(store, stored.order),
        receipts=receipts,
        unfinished=[r for r in receipts if r.state not in (ReceiptState.DONE, ReceiptState.FAILED)],
        is_open=stored.order.status in OPEN_STATUSES,
        today=_today(),
    )


@bp.get("/stores/<int:store_id>/purchasing/orders/<number>/print")
@login_required
def print_order(store_id: int, number: str) -> str:
    store = owned_store(store_id)
    stored = _stored(store, number)
    return render_template(
        "purchasing/print.html",
        store=store,
        po=stored.order,
        names=_order_names(store, stored.order),
        supplier=_supplier_of(store, stored.order),
    )


def _date(raw: str) -> dt.date | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise PurchasingError(
            "date_invalid", f"Enter the expected date as YYYY-MM-DD, not {raw!r}."
        ) from None


def _mail(store_id: int, key: str, recipient: str, subject: str, body: str,
          attachments: Sequence[tuple[str, str, str]] = ()) -> int:  # fmt: skip
    message_id, _new = OutboxRepository(services().db).add(
        Message(store_id, key, "purchase_order", recipient, subject, body, tuple(attachments))
    )
    try:
        enqueue_mail(services().redis, message_id)
    except redis.RedisError as exc:
        logger.warning("event=purchase_order_mail_not_queued id=%s error=%s",
                       message_id, type(exc).__name__)  # fmt: skip
    return message_id


@bp.post("/stores/<int:store_id>/purchasing/orders/<number>/send")
@login_required
def send_order(store_id: int, number: str) -> BaseResponse:
    store = owned_store(store_id)
    stored = _stored(store, number)
    back = _order_url(store, number)
    try:
        sent = usecase.send_purchase_order(
            store.id, stored.order, _supplier_of(store, stored.order),
            orders=_purchasing(), mail=_mail, audit=SqlAuditLog(services().db), today=_today(),
            store_name=store.name, expected_date=_date(request.form.get("expected_date", "")),
        )  # fmt: skip
    except PurchasingError as exc:
        return _refused(exc, back)
    if any(line.reservations for line in sent.lines):  # the orders it covers have a date now
        _check_delays(store.id, number, f"sent-{sent.expected_date}")
    flash(f"Purchase order {sent.number} sent, expected {sent.expected_date}.", "ok")
    return redirect(back, 303)


@bp.post("/stores/<int:store_id>/purchasing/orders/<number>/expected")
@login_required
def move_expected(store_id: int, number: str) -> BaseResponse:
    store = owned_store(store_id)
    stored = _stored(store, number)
    back = _order_url(store, number)
    try:
        date = _date(request.form.get("expected_date", ""))
        if date is None:
            raise PurchasingError("date_missing", "Enter the new expected date.")
        moved_to: dt.date = date
        usecase.move_expected_date(
            store.id, stored.order, moved_to, orders=_purchasing(),
            audit=SqlAuditLog(services().db),
            check_delays=lambda: _check_delays(store.id, number, moved_to.isoformat()),
        )  # fmt: skip
    except PurchasingError as exc:
        return _refused(exc, back)
    flash(f"Purchase order {number} is now expected on {date}.", "ok")
    return redirect(back, 303)


def _check_delays(store_id: int, number: str, change: str) -> None:
    """A purchase order's dates changed for the orders it covers (issue 15)."""
    from jobs.delay_notices import check_soon

    check_soon(services().db, services().redis, store_id, f"po-{number}-{change}")


@bp.post("/stores/<int:store_id>/purchasing/orders/<number>/cancel")
@login_required
def cancel_order(store_id: int, number: str) -> BaseResponse:
    store = owned_store(store_id)
    stored = _stored(store, number)
    back = _order_url(store, number)
    try:
        freed = usecase.cancel_purchase_order(
            store.id, stored.order, orders=_purchasing(), audit=SqlAuditLog(services().db)
        )
    except PurchasingError as exc:
        return _refused(exc, back)
    if freed and stored.order.status is not PurchaseOrderStatus.DRAFT:
        _check_delays(store.id, number, "cancelled")  # its orders lost the date it promised
    flash(
        f"Purchase order {number} cancelled; "
        f"{counted(sum(f.units for f in freed), 'reserved unit')} freed: the proposal shows "
        "their demand again.",
        "ok",
    )
    return redirect(back, 303)


@bp.post("/stores/<int:store_id>/purchasing/orders/<number>/shorten")
@login_required
def shorten(store_id: int, number: str) -> BaseResponse:
    """Lower one line: the last-served backorder orders lose their reservations first."""
    store = owned_store(store_id)
    stored = _stored(store, number)
    back = _order_url(store, number)
    try:
        ref = _ref_from(request.form)
        quantity = usecase.check_quantities({ref: request.form.get("quantity", "")}).get(ref)
        if quantity is None:
            raise PurchasingError("not_a_quantity", "Enter the new quantity of the line.")
        freed = usecase.shorten_line(
            store.id, stored.order, ref, quantity, orders=_purchasing(),
            audit=SqlAuditLog(services().db),
        )  # fmt: skip
    except PurchasingError as exc:
        return _refused(exc, back)
    flash(
        f"{usecase.ref_label(ref).capitalize()} lowered to {quantity}; "
        f"{counted(sum(f.units for f in freed), 'reserved unit')} freed.",
        "ok",
    )
    return redirect(back, 303)


@bp.post("/stores/<int:store_id>/purchasing/orders/<number>/receive")
@login_required
def receive(store_id: int, number: str) -> BaseResponse:
    """Record what arrived (partial and over-receipts allowed) and queue the receipt job."""
    store = owned_store(store_id)
    stored = _stored(store, number)
    back = _order_url(store, number)
    raw = {
        line.ref: request.form.get(f"received-{_line_field(line.ref)}", "")
        for line in stored.order.lines
    }
    count = len(SqlReceiptLedger(services().db).receipts(store.id, number))
    try:
        received = usecase.check_quantities(raw)
        record, warnings = usecase.record_receipt(
            store.id, stored.order, received, orders=_purchasing(),
            key=usecase.receipt_key(number, count + 1),
        )  # fmt: skip
    except PurchasingError as exc:
        return _refused(exc, back)
    for warning in warnings:
        flash(warning, "warning")
    _queue_receipt(store, record.receipt_key)
    return redirect(back, 303)


def _queue_receipt(store: StoreRecord, key: str, attempt: int = 1) -> None:
    try:
        queued = enqueue_receipt(services().redis, store.id, key, attempt)
    except redis.RedisError:
        flash(
            'The receipt is recorded, but the queue is not reachable: use "Carry out again" '
            "in a moment to add the units to the store's stock.",
            "error",
        )
        return
    flash(
        "Receipt recorded: the units are being added to the store's stock."
        if queued
        else "This receipt is already being carried out.",
        "ok",
    )


@bp.post("/stores/<int:store_id>/purchasing/orders/<number>/resume")
@login_required
def resume(store_id: int, number: str) -> BaseResponse:
    """Queue an unfinished receipt again (its recorded steps make a second run safe)."""
    store = owned_store(store_id)
    _stored(store, number)
    key = request.form.get("receipt_key", "")
    record = SqlReceiptLedger(services().db).get(store.id, key)
    if record is None or record.number != number:
        abort(404)
    _queue_receipt(store, key, attempt=int(dt.datetime.now(dt.UTC).timestamp()))
    return redirect(_order_url(store, number), 303)


def _line_field(ref: ProductRef) -> str:
    return f"{ref.product_id}-{ref.variant_id}" if ref.variant_id else ref.product_id


@bp.app_template_global("po_line_field")
def po_line_field(ref: ProductRef) -> str:
    return _line_field(ref)


@bp.app_template_global("ref_label")
def template_ref_label(ref: ProductRef) -> str:
    return usecase.ref_label(ref)


@bp.app_template_global("product_label")
def template_product_label(ref: ProductRef, names: Mapping[ProductRef, str]) -> str:
    return usecase.product_label(ref, names)


def product_names(store: StoreRecord, order_ids: Iterable[str]) -> dict[ProductRef, str]:
    """Product names as the store's orders `order_ids` name their lines, the way the order page
    names them: one read of order summaries (per 100 orders, short timeout); {} when the store
    does not answer, and the pages show the ids alone."""
    ids = sorted({str(i) for i in order_ids if is_order_id(str(i))})
    if not ids or not store.is_connected:
        return {}
    try:
        summaries = store_platform(store, timeout=5).order_summaries(ids)
    except (BackordersError, ValueError, KeyError) as error:
        logger.info("event=purchasing_names_failed store_id=%s error=%s", store.id, error)
        return {}
    names: dict[ProductRef, str] = {}
    for summary in summaries.values():
        for (product_id, variant_id), name in summary.line_names.items():
            if name:
                names.setdefault(ProductRef(str(product_id), variant_id or None), name)
    return names


def _order_names(store: StoreRecord, order: PurchaseOrder) -> dict[ProductRef, str]:
    """Names of a purchase order's products: read from the backorder orders its lines reserve
    units for, else from the first backorder order of the product."""
    return _names_of(
        store,
        [line.ref for line in order.lines],
        {line.ref: [r.order_id for r in line.reservations] for line in order.lines},
    )


def _names_of(
    store: StoreRecord,
    refs: Iterable[ProductRef],
    orders_of: Mapping[ProductRef, Sequence[str]] | None = None,
) -> dict[ProductRef, str]:
    """Names of products as the store's orders name them (`product_names`) from one order per
    product (`_naming_orders`); a product no backorder order ever named shows its id alone."""
    return product_names(store, _naming_orders(store, refs, orders_of))


def _naming_orders(
    store: StoreRecord,
    refs: Iterable[ProductRef],
    orders_of: Mapping[ProductRef, Sequence[str]] | None = None,
) -> list[str]:
    """One order to read each product's name from: the first of `orders_of` given for it,
    else the first backorder order of the product (the ledger read once per product id)."""
    ledger = SqlReleaseLedger(services().db)
    by_product: dict[str, list[str]] = {}
    order_ids: list[str] = []
    for ref in refs:
        given = list((orders_of or {}).get(ref, ()))[:1]
        if not given:
            if ref.product_id not in by_product:
                by_product[ref.product_id] = ledger.backorder_orders_for(store.id, ref)
            given = by_product[ref.product_id][:1]
        order_ids.extend(given)
    return order_ids


@bp.app_template_global("po_status_label")
def po_status_label(status: PurchaseOrderStatus) -> str:
    return status.value.replace("_", " ")
