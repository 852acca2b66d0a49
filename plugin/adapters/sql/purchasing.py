"""Purchasing on SQL (issue 14): suppliers, product links, purchase orders with their lines and
reservations, receipts (`plugin.ports.ReceiptLedger`), and the purchasing settings.

A purchase order is written whole: `replace` and `record_receipt` compare the stored order
with the one the caller read and refuse when another request changed it meanwhile, so two
clicks never record one delivery twice and nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import (
    PurchaseOrderLineRow,
    PurchaseOrderRow,
    PurchaseReceiptRow,
    PurchaseReservationRow,
    ReorderPointRow,
    Store,
    SupplierProductRow,
    SupplierRow,
    utcnow,
)
from plugin.adapters.sql.statements import UnknownRecord
from plugin.adapters.sql.stores import locked_store
from plugin.core.model import ProductRef
from plugin.core.purchasing import (
    DEFAULT_PURCHASE_NUMBERING_PATTERN,
    OPEN_STATUSES,
    Catalogue,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    PurchasingError,
    Receipt,
    ReorderPoint,
    Reservation,
    Supplier,
    SupplierProduct,
    check_link,
    check_reorder_point,
    check_supplier,
)
from plugin.core.split import numbering_pattern_errors
from plugin.ports import ReceiptRecord, ReceiptState

SETTINGS_KEY = "purchasing"  # extra key in `stores.settings` (ignored by the core)
MAX_PATTERN_LENGTH = 40  # numbers are stored in 64 characters; {number} and {seq} grow
DEFAULT_CURRENCY = "USD"  # WooCommerce's and the sandbox's; the merchant sets the store's own


@dataclass(frozen=True)
class PurchasingSettings:
    currency: str = DEFAULT_CURRENCY
    numbering_pattern: str = DEFAULT_PURCHASE_NUMBERING_PATTERN


@dataclass(frozen=True)
class StoredOrder:
    """A purchase order with its supplier's name and its row's times."""

    order: PurchaseOrder
    supplier_name: str
    created_at: dt.datetime


def _text(ref: ProductRef) -> tuple[str, str]:
    return ref.product_id, ref.variant_id or ""


def _ref(product_id: str, variant_id: str) -> ProductRef:
    return ProductRef(product_id, variant_id or None)


def _supplier(row: SupplierRow) -> Supplier:
    return Supplier(
        id=str(row.id),
        name=row.name,
        currency=row.currency,
        email=row.email,
        lead_time_days=row.lead_time_days,
        minimum_order_value=Decimal(row.minimum_order_value),
        exchange_rate=Decimal(row.exchange_rate) if row.exchange_rate is not None else None,
        notes=row.notes,
    )


def _link(row: SupplierProductRow) -> SupplierProduct:
    return SupplierProduct(
        supplier_id=str(row.supplier_id),
        ref=_ref(row.product_id, row.variant_id),
        unit_cost=Decimal(row.unit_cost),
        supplier_sku=row.supplier_sku,
        pack_size=row.pack_size,
        minimum_quantity=row.minimum_quantity,
        preferred=row.preferred,
    )


def _receipt(row: PurchaseReceiptRow) -> ReceiptRecord:
    return ReceiptRecord(
        store_id=row.store_id,
        receipt_key=row.receipt_key,
        number=row.number,
        state=row.state,
        lines=tuple(line for line in row.lines or () if not line.get("order_id")),
        stock=dict(row.stock or {}),
        drop_shipped=tuple(line for line in row.lines or () if line.get("order_id")),
        released=tuple(row.released or ()),
        error=row.error,
    )


def _fits(what: str, text: str, limit: int) -> None:
    """Refuse text longer than its column holds (PostgreSQL would refuse the whole write)."""
    if len(text) > limit:
        raise PurchasingError("too_long", f"{what} may have at most {limit} characters.")


def _supplier_id(supplier_id: str) -> int:
    if not str(supplier_id).isdigit():
        raise PurchasingError("unknown_supplier", f"There is no supplier {supplier_id}.")
    return int(supplier_id)


# The purchase orders that can bring a new backorder its expected date: sent (or partly
# received) and dated. Every split's e-mail asks (`next_expected`), so the statement is built
# once: SQLAlchemy then reuses its cache key instead of computing it for each call.
_DATED_SENT_ORDERS = (
    select(PurchaseOrderRow)
    .where(
        PurchaseOrderRow.store_id == bindparam("store"),
        # Equalities, not IN: SQLAlchemy renders an IN list anew at every execution.
        or_(
            *(
                PurchaseOrderRow.status == status.value
                for status in sorted(OPEN_STATUSES - {PurchaseOrderStatus.DRAFT})
            )
        ),
        PurchaseOrderRow.expected_date.is_not(None),
    )
    .order_by(PurchaseOrderRow.id.desc())
)
_DATED_SENT_ORDER_IDS = _DATED_SENT_ORDERS.with_only_columns(PurchaseOrderRow.id).limit(1)


class SqlPurchasing:
    """Suppliers, product links, purchase orders and receipts of every store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- settings ----------------------------------------------------------------------------

    def settings(self, store_id: int) -> PurchasingSettings:
        with self.db.session() as session:
            store = session.get(Store, store_id)
            data = dict((store.settings or {}).get(SETTINGS_KEY) or {}) if store else {}
        defaults = PurchasingSettings()
        return PurchasingSettings(
            currency=str(data.get("currency", defaults.currency)),
            numbering_pattern=str(data.get("numbering_pattern", defaults.numbering_pattern)),
        )

    def save_settings(self, store_id: int, settings: PurchasingSettings) -> None:
        """Refuse a currency that is not an ISO code and a numbering pattern that numbers
        nothing; otherwise keep them in the store's settings."""
        if not re.fullmatch(r"[A-Z]{3}", settings.currency):
            raise PurchasingError(
                "store_currency_invalid",
                f"The store's currency must be a three-letter ISO code such as EUR, not "
                f"{settings.currency!r}.",
            )
        if len(settings.numbering_pattern) > MAX_PATTERN_LENGTH:
            raise PurchasingError(
                "numbering_pattern_invalid",
                f"The purchase order numbering pattern may have at most {MAX_PATTERN_LENGTH} "
                "characters: shorten it.",
            )
        errors = numbering_pattern_errors(settings.numbering_pattern)
        if errors:
            raise PurchasingError(
                "numbering_pattern_invalid",
                f"The purchase order numbering pattern is not valid: {' '.join(errors)}",
            )
        with self.db.session(write=True) as session:
            store = locked_store(session, store_id)
            if store is None:
                raise UnknownRecord(f"store {store_id}")
            data = dict(store.settings or {})
            data[SETTINGS_KEY] = {
                "currency": settings.currency.upper(),
                "numbering_pattern": settings.numbering_pattern,
            }
            store.settings = data

    # --- suppliers and links -----------------------------------------------------------------

    def suppliers(self, store_id: int) -> list[Supplier]:
        """The store's suppliers by name."""
        with self.db.session() as session:
            rows = session.scalars(
                select(SupplierRow)
                .where(SupplierRow.store_id == store_id)
                .order_by(SupplierRow.name, SupplierRow.id)
            )
            return [_supplier(row) for row in rows]

    def save_supplier(self, store_id: int, supplier: Supplier) -> str:
        """Add a supplier (`supplier.id` empty) or change one; returns its id."""
        check_supplier(supplier, self.settings(store_id).currency)
        _fits(f"Supplier {supplier.name.strip()[:40]}: the name", supplier.name.strip(), 200)
        _fits(f"Supplier {supplier.name.strip()}: the e-mail address", supplier.email.strip(), 320)
        values = {
            "name": supplier.name.strip(),
            "email": supplier.email.strip(),
            "currency": supplier.currency,
            "lead_time_days": supplier.lead_time_days,
            "minimum_order_value": str(supplier.minimum_order_value),
            "exchange_rate": (
                str(supplier.exchange_rate) if supplier.exchange_rate is not None else None
            ),
            "notes": supplier.notes,
        }
        try:
            with self.db.session(write=True) as session:
                if not supplier.id:
                    row = SupplierRow(store_id=store_id, created_at=utcnow(), **values)
                    session.add(row)
                    session.flush()
                    return str(row.id)
                found = session.execute(
                    update(SupplierRow)
                    .where(
                        SupplierRow.store_id == store_id,
                        SupplierRow.id == _supplier_id(supplier.id),
                    )
                    .values(**values)
                )
                if not found.rowcount:  # type: ignore[attr-defined]
                    raise PurchasingError(
                        "unknown_supplier", f"There is no supplier {supplier.id}."
                    )
                return supplier.id
        except IntegrityError as exc:
            raise PurchasingError(
                "supplier_name_taken",
                f"There is a supplier named {supplier.name.strip()} already: choose another "
                "name or change that supplier.",
            ) from exc

    def delete_supplier(self, store_id: int, supplier_id: str) -> None:
        """Delete a supplier and its product links; refused while it has purchase orders."""
        key = _supplier_id(supplier_id)
        with self.db.session(write=True) as session:
            row = session.get(SupplierRow, key)
            if row is None or row.store_id != store_id:
                raise PurchasingError("unknown_supplier", f"There is no supplier {supplier_id}.")
            numbers = self._numbers(session, store_id, PurchaseOrderRow.supplier_id == key)
            if numbers:
                raise PurchasingError(
                    "supplier_in_use",
                    f"Supplier {row.name} has purchase orders ({', '.join(numbers)}): cancel "
                    "or receive the open ones; a supplier with purchase orders is kept for "
                    "their record.",
                )
            session.execute(delete(SupplierProductRow).where(SupplierProductRow.supplier_id == key))
            session.delete(row)

    def links(self, store_id: int) -> list[SupplierProduct]:
        """The store's product links, by product."""
        with self.db.session() as session:
            rows = session.scalars(
                select(SupplierProductRow)
                .where(SupplierProductRow.store_id == store_id)
                .order_by(
                    SupplierProductRow.product_id,
                    SupplierProductRow.variant_id,
                    SupplierProductRow.supplier_id,
                )
            )
            return [_link(row) for row in rows]

    def save_links(self, store_id: int, links: Sequence[SupplierProduct]) -> None:
        """Add or change product links, all or none: the store's links with these ones must
        form a valid catalogue (one link per supplier and product, one preferred supplier)."""
        for link in links:
            check_link(link)
            _fits(f"Supplier SKU {link.supplier_sku[:40]}", link.supplier_sku, 100)
        keys = {(link.supplier_id, link.ref) for link in links}
        if len(keys) != len(links):
            raise PurchasingError(
                "link_listed_twice", "A product is linked to the same supplier twice: keep one."
            )
        kept = [old for old in self.links(store_id) if (old.supplier_id, old.ref) not in keys]
        # A link made preferred takes that from the product's other links.
        preferred = {link.ref for link in links if link.preferred}
        kept = [
            replace(old, preferred=False) if old.ref in preferred and old.preferred else old
            for old in kept
        ]
        Catalogue(
            self.settings(store_id).currency,
            tuple(self.suppliers(store_id)),
            tuple([*kept, *links]),
        )  # raises what to change
        with self.db.session(write=True) as session:
            for ref in preferred:
                product_id, variant_id = _text(ref)
                session.execute(
                    update(SupplierProductRow)
                    .where(
                        SupplierProductRow.store_id == store_id,
                        SupplierProductRow.product_id == product_id,
                        SupplierProductRow.variant_id == variant_id,
                    )
                    .values(preferred=False)
                )
            for link in links:
                product_id, variant_id = _text(link.ref)
                session.execute(
                    delete(SupplierProductRow).where(
                        SupplierProductRow.store_id == store_id,
                        SupplierProductRow.supplier_id == _supplier_id(link.supplier_id),
                        SupplierProductRow.product_id == product_id,
                        SupplierProductRow.variant_id == variant_id,
                    )
                )
                session.add(
                    SupplierProductRow(
                        store_id=store_id,
                        supplier_id=_supplier_id(link.supplier_id),
                        product_id=product_id,
                        variant_id=variant_id,
                        supplier_sku=link.supplier_sku,
                        unit_cost=str(link.unit_cost),
                        pack_size=link.pack_size,
                        minimum_quantity=link.minimum_quantity,
                        preferred=link.preferred,
                    )
                )

    def delete_link(self, store_id: int, supplier_id: str, ref: ProductRef) -> None:
        """Delete a product link; refused while an open purchase order of that supplier
        orders the product."""
        key = _supplier_id(supplier_id)
        product_id, variant_id = _text(ref)
        with self.db.session(write=True) as session:
            numbers = self._numbers(
                session,
                store_id,
                PurchaseOrderRow.supplier_id == key,
                PurchaseOrderRow.status.in_([s.value for s in OPEN_STATUSES]),
                PurchaseOrderRow.id.in_(
                    select(PurchaseOrderLineRow.purchase_order_id).where(
                        PurchaseOrderLineRow.product_id == product_id,
                        PurchaseOrderLineRow.variant_id == variant_id,
                    )
                ),
            )
            if numbers:
                raise PurchasingError(
                    "link_in_use",
                    f"Open purchase orders ({', '.join(numbers)}) order this product from this "
                    "supplier: receive or cancel them before deleting the link.",
                )
            deleted = session.execute(
                delete(SupplierProductRow).where(
                    SupplierProductRow.store_id == store_id,
                    SupplierProductRow.supplier_id == key,
                    SupplierProductRow.product_id == product_id,
                    SupplierProductRow.variant_id == variant_id,
                )
            )
            if not deleted.rowcount:  # type: ignore[attr-defined]
                raise PurchasingError("unknown_link", "There is no such product link.")

    def reorder_points(self, store_id: int) -> dict[ProductRef, ReorderPoint]:
        """The store's reorder points, by product."""
        with self.db.session() as session:
            rows = session.scalars(
                select(ReorderPointRow)
                .where(ReorderPointRow.store_id == store_id)
                .order_by(ReorderPointRow.product_id, ReorderPointRow.variant_id)
            )
            return {
                _ref(row.product_id, row.variant_id): ReorderPoint(
                    row.reorder_point, row.order_up_to
                )
                for row in rows
            }

    def save_reorder_point(self, store_id: int, ref: ProductRef, kept: ReorderPoint) -> None:
        """Set the reorder point of a product (a reorder point of 0 with nothing to order up
        to removes it); refused, nothing written, when it cannot be saved."""
        kept = check_reorder_point(ref, kept)
        product_id, variant_id = _text(ref)
        with self.db.session(write=True) as session:
            session.execute(
                delete(ReorderPointRow).where(
                    ReorderPointRow.store_id == store_id,
                    ReorderPointRow.product_id == product_id,
                    ReorderPointRow.variant_id == variant_id,
                )
            )
            if kept.point or kept.up_to:
                session.add(
                    ReorderPointRow(
                        store_id=store_id,
                        product_id=product_id,
                        variant_id=variant_id,
                        reorder_point=kept.point,
                        order_up_to=kept.up_to,
                    )
                )

    def catalogue(self, store_id: int) -> Catalogue:
        """The store's suppliers and links, checked together."""
        return Catalogue(
            self.settings(store_id).currency,
            tuple(self.suppliers(store_id)),
            tuple(self.links(store_id)),
        )

    # --- purchase orders ---------------------------------------------------------------------

    def purchase_orders(self, store_id: int) -> list[StoredOrder]:
        """Every purchase order of the store, newest first."""
        with self.db.session() as session:
            rows = session.scalars(
                select(PurchaseOrderRow)
                .where(PurchaseOrderRow.store_id == store_id)
                .order_by(PurchaseOrderRow.id.desc())
            ).all()
            return self._load(session, rows)

    def get(self, store_id: int, number: str) -> StoredOrder | None:
        with self.db.session() as session:
            row = self._row(session, store_id, number)
            return self._load(session, [row])[0] if row is not None else None

    def taken_numbers(self, store_id: int) -> set[str]:
        with self.db.session() as session:
            return set(
                session.scalars(
                    select(PurchaseOrderRow.number).where(PurchaseOrderRow.store_id == store_id)
                )
            )

    def add(self, store_id: int, orders: Iterable[PurchaseOrder]) -> None:
        """Store new purchase orders (drafts), all or none."""
        try:
            with self.db.session(write=True) as session:
                for order in orders:
                    row = PurchaseOrderRow(
                        store_id=store_id,
                        number=order.number,
                        supplier_id=_supplier_id(order.supplier_id),
                        currency=order.currency,
                        status=order.status.value,
                        expected_date=order.expected_date,
                        created_at=utcnow(),
                        updated_at=utcnow(),
                    )
                    session.add(row)
                    session.flush()
                    self._write_lines(session, row.id, order.lines)
        except IntegrityError as exc:
            raise PurchasingError(
                "purchase_order_number_taken",
                "Another purchase order was drafted with the same number at the same moment: "
                "create the purchase orders again.",
            ) from exc

    def replace(self, store_id: int, old: PurchaseOrder, new: PurchaseOrder) -> None:
        """Write `new` over `old`; refused when the stored order is no longer `old`."""
        with self.db.session(write=True) as session:
            self._replace(session, store_id, old, new)

    def record_receipt(
        self, store_id: int, old: PurchaseOrder, receipt: Receipt, receipt_key: str
    ) -> ReceiptRecord:
        """The purchase order as received and the receipt to carry out, in one transaction."""
        with self.db.session(write=True) as session:
            row = self._replace(session, store_id, old, receipt.purchase_order)
            now = utcnow()
            session.add(
                PurchaseReceiptRow(
                    store_id=store_id,
                    receipt_key=receipt_key,
                    purchase_order_id=row.id,
                    number=old.number,
                    state=ReceiptState.PLANNED,
                    # Units to stock, then units the supplier shipped to a backorder order.
                    lines=[
                        *(
                            {"product_id": ref.product_id, "variant_id": ref.variant_id, "units": n}
                            for ref, n in receipt.stock_increase
                        ),
                        *(
                            {
                                "order_id": r.order_id,
                                "product_id": r.ref.product_id,
                                "variant_id": r.ref.variant_id,
                                "units": r.units,
                            }
                            for r in receipt.drop_shipped
                        ),
                    ],
                    stock={},
                    released=[],
                    warnings=[{"code": w.code, "message": w.message} for w in receipt.warnings],
                    created_at=now,
                    updated_at=now,
                )
            )
        record = SqlReceiptLedger(self.db).get(store_id, receipt_key)
        assert record is not None
        return record

    def _replace(
        self, session: Session, store_id: int, old: PurchaseOrder, new: PurchaseOrder
    ) -> PurchaseOrderRow:
        locked_store(session, store_id)  # one writer of a store's purchase orders at a time
        row = self._row(session, store_id, old.number)
        if row is None or self._load(session, [row])[0].order != old:
            raise PurchasingError(
                "purchase_order_changed",
                f"Purchase order {old.number} was changed meanwhile: reload the page and "
                "enter it again.",
            )
        row.status = new.status.value
        row.expected_date = new.expected_date
        row.updated_at = utcnow()
        session.execute(
            delete(PurchaseOrderLineRow).where(PurchaseOrderLineRow.purchase_order_id == row.id)
        )
        self._write_lines(session, row.id, new.lines)
        return row

    def reserved_orders(self, store_id: int) -> dict[str, list[tuple[str, ProductRef]]]:
        """Per backorder order: the open purchase orders (number) reserving units for it."""
        found: dict[str, list[tuple[str, ProductRef]]] = {}
        for stored in self.purchase_orders(store_id):
            if stored.order.status not in OPEN_STATUSES:
                continue
            for line in stored.order.lines:
                for reservation in line.reservations:
                    found.setdefault(reservation.order_id, []).append(
                        (stored.order.number, line.ref)
                    )
        return found

    def covering(self, store_id: int) -> dict[tuple[str, ProductRef], tuple[str, dt.date | None]]:
        """Per backorder order and product: the open purchase order reserving units for it
        (number, expected date; None for a draft: nothing was promised yet). With several,
        the one expected last, as the order waits for all of them."""
        found: dict[tuple[str, ProductRef], tuple[str, dt.date | None]] = {}
        for stored in self.purchase_orders(store_id):
            order = stored.order
            if order.status not in OPEN_STATUSES:
                continue
            date = order.expected_date if order.status is not PurchaseOrderStatus.DRAFT else None
            for line in order.lines:
                for reservation in line.reservations:
                    key = (reservation.order_id, line.ref)
                    known = found.get(key)
                    if known is None or (date and (known[1] is None or date > known[1])):
                        found[key] = (order.number, date)
        return found

    def covering_orders(
        self, store_id: int, order_ids: Iterable[str]
    ) -> dict[tuple[str, ProductRef], tuple[str, dt.date | None]]:
        """`covering` for the backorder orders `order_ids` only: their reservations read
        through the reservations' order index, then only the purchase order lines they sit
        on (500 ids a query). The customer's page and the delay check read it on every view
        and check, without loading every purchase order of the store."""
        ids = sorted({str(order_id) for order_id in order_ids})
        reserved: list[tuple[str, int]] = []
        with self.db.session() as session:
            for start in range(0, len(ids), 500):
                reserved.extend(
                    (str(order_id), int(line_id))
                    for order_id, line_id in session.execute(
                        select(
                            PurchaseReservationRow.order_id, PurchaseReservationRow.line_id
                        ).where(PurchaseReservationRow.order_id.in_(ids[start : start + 500]))
                    )
                )
            line_ids = sorted({line_id for _, line_id in reserved})
            lines: dict[int, tuple[int, ProductRef, str, dt.date | None]] = {}
            open_statuses = [status.value for status in OPEN_STATUSES]
            for start in range(0, len(line_ids), 500):
                rows = session.execute(
                    select(
                        PurchaseOrderLineRow.id,
                        PurchaseOrderLineRow.product_id,
                        PurchaseOrderLineRow.variant_id,
                        PurchaseOrderRow.id,
                        PurchaseOrderRow.number,
                        PurchaseOrderRow.status,
                        PurchaseOrderRow.expected_date,
                    )
                    .join(
                        PurchaseOrderRow,
                        PurchaseOrderLineRow.purchase_order_id == PurchaseOrderRow.id,
                    )
                    .where(
                        PurchaseOrderLineRow.id.in_(line_ids[start : start + 500]),
                        PurchaseOrderRow.store_id == store_id,
                        PurchaseOrderRow.status.in_(open_statuses),
                    )
                )
                for line_id, product_id, variant_id, po_id, number, status, expected in rows:
                    date = expected if status != PurchaseOrderStatus.DRAFT.value else None
                    lines[line_id] = (po_id, _ref(product_id, variant_id), number, date)
        found: dict[tuple[str, ProductRef], tuple[str, dt.date | None]] = {}
        # Newest purchase order first, as `covering` reads them, so ties resolve alike.
        for order_id, line_id in sorted(
            (r for r in reserved if r[1] in lines), key=lambda r: -lines[r[1]][0]
        ):
            _po_id, ref, number, date = lines[line_id]
            key = (order_id, ref)
            known = found.get(key)
            if known is None or (date and (known[1] is None or date > known[1])):
                found[key] = (number, date)
        return found

    def next_expected(self, store_id: int) -> dict[ProductRef, dt.date]:
        """Per product: the earliest date a sent purchase order brings units reserved for
        nobody yet, so a new backorder of it can expect them then (the storefront widget)."""
        found: dict[ProductRef, dt.date] = {}
        with self.db.transaction() as connection:
            if connection.execute(_DATED_SENT_ORDER_IDS, {"store": store_id}).first() is None:
                return found  # most stores, most of the time: one light Core read
        with self.db.session() as session:
            rows = session.scalars(_DATED_SENT_ORDERS, {"store": store_id}).all()
            candidates = self._load(session, rows)
        for stored in candidates:
            order = stored.order
            date = order.expected_date
            if order.status is PurchaseOrderStatus.DRAFT or date is None:
                continue
            if order.status not in OPEN_STATUSES:
                continue
            for line in order.lines:
                if line.outstanding > line.reserved and (
                    line.ref not in found or date < found[line.ref]
                ):
                    found[line.ref] = date
        return found

    # --- rows --------------------------------------------------------------------------------

    @staticmethod
    def _row(session: Session, store_id: int, number: str) -> PurchaseOrderRow | None:
        return session.scalars(
            select(PurchaseOrderRow).where(
                PurchaseOrderRow.store_id == store_id, PurchaseOrderRow.number == number
            )
        ).one_or_none()

    @staticmethod
    def _numbers(session: Session, store_id: int, *where: Any) -> list[str]:
        return list(
            session.scalars(
                select(PurchaseOrderRow.number)
                .where(PurchaseOrderRow.store_id == store_id, *where)
                .order_by(PurchaseOrderRow.number)
            )
        )

    @staticmethod
    def _write_lines(session: Session, order_id: int, lines: Iterable[PurchaseOrderLine]) -> None:
        for position, line in enumerate(lines):
            product_id, variant_id = _text(line.ref)
            row = PurchaseOrderLineRow(
                purchase_order_id=order_id,
                position=position,
                product_id=product_id,
                variant_id=variant_id,
                supplier_sku=line.supplier_sku,
                quantity=line.quantity,
                unit_cost=str(line.unit_cost),
                received=line.received,
                drop_ship=line.drop_ship,
            )
            session.add(row)
            session.flush()
            for place, reservation in enumerate(line.reservations):
                session.add(
                    PurchaseReservationRow(
                        line_id=row.id,
                        position=place,
                        order_id=reservation.order_id,
                        units=reservation.units,
                    )
                )

    @staticmethod
    def _load(session: Session, rows: Sequence[PurchaseOrderRow]) -> list[StoredOrder]:
        ids = [row.id for row in rows]
        lines = session.scalars(
            select(PurchaseOrderLineRow)
            .where(PurchaseOrderLineRow.purchase_order_id.in_(ids))
            .order_by(PurchaseOrderLineRow.purchase_order_id, PurchaseOrderLineRow.position)
        ).all()
        reservations = session.scalars(
            select(PurchaseReservationRow)
            .where(PurchaseReservationRow.line_id.in_([line.id for line in lines]))
            .order_by(PurchaseReservationRow.line_id, PurchaseReservationRow.position)
        ).all()
        held: dict[int, list[Reservation]] = {}
        for reservation in reservations:
            held.setdefault(reservation.line_id, []).append(
                Reservation(reservation.order_id, reservation.units)
            )
        by_order: dict[int, list[PurchaseOrderLine]] = {}
        for line in lines:
            by_order.setdefault(line.purchase_order_id, []).append(
                PurchaseOrderLine(
                    ref=_ref(line.product_id, line.variant_id),
                    quantity=line.quantity,
                    unit_cost=Decimal(line.unit_cost),
                    supplier_sku=line.supplier_sku,
                    received=line.received,
                    reservations=tuple(held.get(line.id, ())),
                    drop_ship=line.drop_ship,
                )
            )
        names = dict(
            session.execute(
                select(SupplierRow.id, SupplierRow.name).where(
                    SupplierRow.id.in_({row.supplier_id for row in rows})
                )
            ).all()
        )
        return [
            StoredOrder(
                PurchaseOrder(
                    number=row.number,
                    supplier_id=str(row.supplier_id),
                    currency=row.currency,
                    status=PurchaseOrderStatus(row.status),
                    lines=tuple(by_order.get(row.id, ())),
                    expected_date=row.expected_date,
                ),
                names.get(row.supplier_id, ""),
                row.created_at,
            )
            for row in rows
        ]


class SqlReceiptLedger:
    """Receipts of purchase orders (`plugin.ports.ReceiptLedger`), unique per store and key."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, store_id: int, receipt_key: str) -> ReceiptRecord | None:
        with self.db.session() as session:
            row = session.scalars(
                select(PurchaseReceiptRow).where(
                    PurchaseReceiptRow.store_id == store_id,
                    PurchaseReceiptRow.receipt_key == receipt_key,
                )
            ).one_or_none()
            return _receipt(row) if row is not None else None

    def receipts(self, store_id: int, number: str | None = None) -> list[ReceiptRecord]:
        """Receipts of the store (of one purchase order), oldest first."""
        with self.db.session() as session:
            query = select(PurchaseReceiptRow).where(PurchaseReceiptRow.store_id == store_id)
            if number is not None:
                query = query.where(PurchaseReceiptRow.number == number)
            rows = session.scalars(query.order_by(PurchaseReceiptRow.id)).all()
            return [_receipt(row) for row in rows]

    def receipt_warnings(self, store_id: int, receipt_key: str) -> list[Mapping[str, Any]]:
        with self.db.session() as session:
            warnings = session.scalars(
                select(PurchaseReceiptRow.warnings).where(
                    PurchaseReceiptRow.store_id == store_id,
                    PurchaseReceiptRow.receipt_key == receipt_key,
                )
            ).one_or_none()
            return list(warnings or [])

    def set_stock_entry(
        self, store_id: int, receipt_key: str, figure: str, entry: Mapping[str, Any]
    ) -> None:
        with self.db.session(write=True) as session:
            row = session.scalars(
                select(PurchaseReceiptRow).where(
                    PurchaseReceiptRow.store_id == store_id,
                    PurchaseReceiptRow.receipt_key == receipt_key,
                )
            ).one()
            row.stock = {**(row.stock or {}), figure: dict(entry)}
            row.updated_at = utcnow()

    def advance(
        self,
        store_id: int,
        receipt_key: str,
        state: str,
        *,
        released: Sequence[str] | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"state": state, "updated_at": utcnow()}
        if released is not None:
            values["released"] = list(released)
        if error is not None:
            values["error"] = error[:2000]
        with self.db.session(write=True) as session:
            session.execute(
                update(PurchaseReceiptRow)
                .where(
                    PurchaseReceiptRow.store_id == store_id,
                    PurchaseReceiptRow.receipt_key == receipt_key,
                )
                .values(**values)
            )
