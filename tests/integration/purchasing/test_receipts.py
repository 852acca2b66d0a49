"""Carrying a receipt out (plugin/usecases/purchasing.py) on the real SQL ledger: stock raised by
exactly the units received, once, whatever attempt dies where; then allocation and the alert."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

import pytest

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.purchasing import SqlPurchasing, SqlReceiptLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import Order, ProductRef, Status, StockFigure
from plugin.core.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    PurchasingError,
    Reservation,
    Supplier,
    send,
)
from plugin.errors import NotFound
from plugin.ports import ReceiptState
from plugin.usecases.purchasing import carry_out_receipt, record_receipt
from tests.fakes import Crash, FakeAlerts, FakeAudit, make_line, make_order

TODAY = dt.date(2026, 12, 4)
P1 = ProductRef("11")
P2 = ProductRef("12", "13")
PARENT = ProductRef("12")


@dataclass
class Shop:
    """Stock figures; variation 13 draws on its parent's figure. `crash` names when a write
    dies: "before" it reaches the store, or "after" it changed the figure."""

    stock: dict[ProductRef, int | None]
    crash: str = ""
    writes: list[tuple[ProductRef, int]] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)

    def get_order(self, order_id: str) -> Order:
        if order_id not in self.orders:
            raise NotFound(f"order {order_id} not found")
        return self.orders[order_id]

    def stock_figure(self, ref: ProductRef) -> StockFigure:
        pool = PARENT if ref == P2 else ref
        return StockFigure(pool, self.stock[pool])

    def set_stock(self, pool: ProductRef, quantity: int) -> None:
        if self.crash == "before":
            self.crash = ""
            raise Crash()
        self.writes.append((pool, quantity))
        self.stock[pool] = quantity
        if self.crash == "after":
            self.crash = ""
            raise Crash()

    def set_status(self, order_id: str, canonical_status: str) -> None:
        self.statuses.append((order_id, canonical_status))
        self.orders[order_id] = replace(self.orders[order_id], status=Status(canonical_status))

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None:
        self.notes.append((order_id, text))


@dataclass
class Releases:
    """Backorder orders waiting per product; `allocate` releases those listed in `frees`."""

    waiting: dict[str, list[str]]
    frees: list[str]
    released: set[str] = field(default_factory=set)
    allocated: list[str] = field(default_factory=list)

    def backorder_orders_for(self, store_id: int, ref: ProductRef) -> list[str]:
        return list(self.waiting.get(ref.product_id, []))

    def for_order(self, store_id: int, order_id: str) -> list[object]:
        return [order_id] if order_id in self.released else []

    def allocate(self, product_id: str) -> None:
        self.allocated.append(product_id)
        self.released.update(o for o in self.waiting.get(product_id, []) if o in self.frees)


@pytest.fixture
def purchasing(db: Database) -> SqlPurchasing:
    return SqlPurchasing(db)


def _received(purchasing: SqlPurchasing, store: StoreRecord, units: dict[ProductRef, int]) -> str:
    supplier_id = purchasing.save_supplier(store.id, Supplier("", "Acme", "USD", "a@acme.test"))
    supplier = purchasing.suppliers(store.id)[0]
    draft = PurchaseOrder(
        "PO-1",
        supplier_id,
        "USD",
        PurchaseOrderStatus.DRAFT,
        (
            PurchaseOrderLine(P1, 5, Decimal("2"), reservations=(Reservation("301", 3),)),
            PurchaseOrderLine(P2, 4, Decimal("3")),
        ),
    )
    purchasing.add(store.id, [draft])
    sent = send(draft, supplier, TODAY)
    purchasing.replace(store.id, draft, sent)
    record, _warnings = record_receipt(
        store.id, sent, units, orders=purchasing, key="receipt:PO-1:1"
    )
    return record.receipt_key


def _run(
    db: Database, store: StoreRecord, shop: Shop, releases: Releases, key: str
) -> tuple[FakeAlerts, object]:
    alerts = FakeAlerts()
    record = carry_out_receipt(
        store.id, key, platform=shop, receipts=SqlReceiptLedger(db), releases=releases,
        audit=FakeAudit(), alerts=alerts, allocate=releases.allocate,
    )  # fmt: skip
    return alerts, record


def test_a_receipt_raises_stock_by_the_units_received_releases_and_names_them(
    db: Database, purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    key = _received(purchasing, store, {P1: 4, P2: 2})
    shop = Shop({P1: -3, PARENT: 1})
    # The alert names a product as the first order waiting for it does (one read); product 12
    # has no order waiting, so its id stands alone.
    shop.orders = {"301": make_order("301", [make_line("1", "11", 3, name="Blue Widget")])}
    releases = Releases({"11": ["301", "302"], "12": []}, frees=["301"])
    alerts, record = _run(db, store, shop, releases, key)
    assert shop.writes == [(P1, 1), (PARENT, 3)]
    assert shop.stock == {P1: 1, PARENT: 3}
    assert releases.allocated == ["11", "12"]
    assert record is not None and record.state == ReceiptState.DONE  # type: ignore[attr-defined]
    assert alerts.alerts == [
        (
            store.id,
            None,
            "shortfall_received",
            "Shortfall received on purchase order PO-1: 4 x Blue Widget (product 11) "
            "(stock -3 → 1); "
            "2 x product 12 (variation 13) (stock 1 → 3). Released: order 301. "
            "Still waiting: order 302.",
        )
    ]
    # Run again (a retried job): nothing more is written or told.
    again, _ = _run(db, store, shop, releases, key)
    assert shop.writes == [(P1, 1), (PARENT, 3)]
    assert again.alerts == []


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_worker_dying_at_the_write_raises_stock_once(
    db: Database, purchasing: SqlPurchasing, store: StoreRecord, when: str
) -> None:
    key = _received(purchasing, store, {P1: 4})
    shop = Shop({P1: 2}, crash=when)
    releases = Releases({"11": []}, frees=[])
    with pytest.raises(Crash):
        _run(db, store, shop, releases, key)
    stored = SqlReceiptLedger(db).get(store.id, key)
    assert stored is not None and stored.state == ReceiptState.PLANNED
    assert stored.stock["11"]["attempted"] is True
    assert stored.stock["11"]["written"] is False
    _alerts, record = _run(db, store, shop, releases, key)
    assert shop.stock[P1] == 6
    assert shop.writes == [(P1, 6)]
    assert record.state == ReceiptState.DONE  # type: ignore[attr-defined]


def test_a_figure_that_moved_for_another_reason_after_a_write_attempt_stops_for_the_merchant(
    db: Database, purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    key = _received(purchasing, store, {P1: 4})
    shop = Shop({P1: 2}, crash="after")
    releases = Releases({"11": []}, frees=[])
    with pytest.raises(Crash):
        _run(db, store, shop, releases, key)
    shop.stock[P1] = 5  # a sale after our write landed: 6 - 1
    alerts, record = _run(db, store, shop, releases, key)
    assert shop.writes == [(P1, 6)]  # nothing written a second time
    assert shop.stock[P1] == 5
    assert record.state == ReceiptState.FAILED  # type: ignore[attr-defined]
    assert releases.allocated == []
    assert [a[2] for a in alerts.alerts] == ["purchase_receipt_failed"]
    assert "Check that figure in the store" in alerts.alerts[0][3]


def test_a_product_whose_stock_the_store_does_not_count_is_refused_without_a_write(
    db: Database, purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    key = _received(purchasing, store, {P1: 4})
    shop = Shop({P1: None})
    releases = Releases({"11": []}, frees=[])
    alerts, record = _run(db, store, shop, releases, key)
    assert shop.writes == []
    assert record.state == ReceiptState.FAILED  # type: ignore[attr-defined]
    assert "turn stock management on" in alerts.alerts[0][3]


def test_a_receipt_on_a_cancelled_purchase_order_is_refused_and_records_nothing(
    db: Database, purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    supplier_id = purchasing.save_supplier(store.id, Supplier("", "Acme", "USD", "a@acme.test"))
    order = PurchaseOrder(
        "PO-9", supplier_id, "USD", PurchaseOrderStatus.CANCELLED,
        (PurchaseOrderLine(P1, 5, Decimal("2")),),
    )  # fmt: skip
    purchasing.add(store.id, [order])
    with pytest.raises(PurchasingError) as refused:
        record_receipt(store.id, order, {P1: 1}, orders=purchasing, key="receipt:PO-9:1")
    assert refused.value.reason == "purchase_order_cancelled"
    assert SqlReceiptLedger(db).receipts(store.id) == []
    stored = purchasing.get(store.id, "PO-9")
    assert stored is not None and stored.order == order


def test_drop_shipped_units_complete_the_orders_they_cover_without_touching_stock(
    db: Database, purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    supplier_id = purchasing.save_supplier(store.id, Supplier("", "Acme", "USD", "a@acme.test"))
    supplier = purchasing.suppliers(store.id)[0]
    draft = PurchaseOrder(
        "PO-7", supplier_id, "USD", PurchaseOrderStatus.DRAFT,
        (PurchaseOrderLine(P1, 3, Decimal("2"), drop_ship=True,
                           reservations=(Reservation("301", 2), Reservation("302", 1))),),
    )  # fmt: skip
    purchasing.add(store.id, [draft])
    sent = send(draft, supplier, TODAY)
    purchasing.replace(store.id, draft, sent)
    record, _ = record_receipt(store.id, sent, {P1: 3}, orders=purchasing, key="receipt:PO-7:1")
    shop = Shop({P1: -3})
    shop.orders = {
        "301": make_order(
            "301", [make_line("1", "11", 2, name="Blue Widget")], status=Status.NEW_BACKORDER
        ),
        "302": make_order(
            "302",
            [make_line("1", "11", 1, name="Blue Widget"), make_line("2", "14", 1)],
            status=Status.NEW_BACKORDER,
        ),
    }
    releases = Releases({"11": ["301", "302"]}, frees=[])
    alerts, done = _run(db, store, shop, releases, record.receipt_key)
    assert done.state == ReceiptState.DONE  # type: ignore[attr-defined]
    assert shop.writes == []  # no stock moves
    assert shop.statuses == [("301", Status.DISPATCHED)]  # 302 still waits for product 14
    assert shop.notes == [
        ("301", "Shipped by the supplier on purchase order PO-7: 2 x Blue Widget (product 11)."),
        ("302", "Shipped by the supplier on purchase order PO-7: 1 x Blue Widget (product 11)."),
    ]
    assert releases.allocated == []
    assert alerts.alerts[0][3] == (
        "Shortfall received on purchase order PO-7: 2 x Blue Widget (product 11) shipped by the "
        "supplier to order 301; 1 x Blue Widget (product 11) shipped by the supplier to order "
        "302. Nothing was released."
    )
