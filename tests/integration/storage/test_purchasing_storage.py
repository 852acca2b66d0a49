"""Purchasing storage (plugin/adapters/sql/purchasing.py): suppliers, links, purchase orders with
their reservations in allocation order, receipts; refusals leave nothing written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.purchasing import PurchasingSettings, SqlPurchasing, SqlReceiptLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import ProductRef
from plugin.core.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    PurchasingError,
    ReorderPoint,
    Reservation,
    Supplier,
    SupplierProduct,
    apply_receipt,
    cancel,
    send,
)
from plugin.ports import ReceiptState

TODAY = dt.date(2026, 12, 4)
P1 = ProductRef("11")
P2 = ProductRef("12", "13")


@pytest.fixture
def purchasing(db: Database) -> SqlPurchasing:
    return SqlPurchasing(db)


def _supplier(purchasing: SqlPurchasing, store: StoreRecord, name: str = "Acme") -> Supplier:
    supplier = Supplier("", name, "USD", email="po@acme.test", lead_time_days=10)
    new_id = purchasing.save_supplier(store.id, supplier)
    return next(s for s in purchasing.suppliers(store.id) if s.id == new_id)


def _order(supplier: Supplier, number: str = "PO-20261204-001") -> PurchaseOrder:
    return PurchaseOrder(
        number,
        supplier.id,
        "USD",
        PurchaseOrderStatus.DRAFT,
        (
            PurchaseOrderLine(
                P1, 5, Decimal("2.50"), "A-1", 0, (Reservation("301", 3), Reservation("299", 2))
            ),
            PurchaseOrderLine(P2, 2, Decimal("1.00"), "B-1"),
        ),
    )


def test_suppliers_links_and_settings_round_trip(
    purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    assert purchasing.settings(store.id) == PurchasingSettings()
    purchasing.save_settings(store.id, PurchasingSettings("EUR", "PO-{number}-{seq:02d}"))
    assert purchasing.settings(store.id) == PurchasingSettings("EUR", "PO-{number}-{seq:02d}")
    supplier = Supplier("", "Acme", "EUR", email="po@acme.test", minimum_order_value=Decimal("50"))
    supplier_id = purchasing.save_supplier(store.id, supplier)
    purchasing.save_links(
        store.id,
        [SupplierProduct(supplier_id, P2, Decimal("1.25"), "B-1", 6, 12, preferred=True)],
    )
    catalogue = purchasing.catalogue(store.id)
    assert catalogue.suppliers == (
        Supplier(supplier_id, "Acme", "EUR", "po@acme.test", 0, Decimal("50"), None, ""),
    )
    assert catalogue.link_for(P2) == SupplierProduct(
        supplier_id, P2, Decimal("1.25"), "B-1", 6, 12, True
    )


def test_a_supplier_in_another_currency_without_a_rate_is_refused_and_not_saved(
    purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    with pytest.raises(PurchasingError) as refused:
        purchasing.save_supplier(store.id, Supplier("", "Euro Ltd", "EUR", email="a@b.test"))
    assert refused.value.reason == "exchange_rate_missing"
    assert "enter an exchange rate (USD per 1 EUR)" in refused.value.message
    assert purchasing.suppliers(store.id) == []


def test_a_second_supplier_with_the_same_name_is_refused(
    purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    _supplier(purchasing, store)
    with pytest.raises(PurchasingError) as refused:
        _supplier(purchasing, store)
    assert refused.value.reason == "supplier_name_taken"
    assert [s.name for s in purchasing.suppliers(store.id)] == ["Acme"]


def test_a_link_to_a_second_preferred_supplier_takes_the_preference(
    purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    one = _supplier(purchasing, store, "One")
    two = _supplier(purchasing, store, "Two")
    purchasing.save_links(store.id, [SupplierProduct(one.id, P1, Decimal("1"), preferred=True)])
    purchasing.save_links(store.id, [SupplierProduct(two.id, P1, Decimal("2"), preferred=True)])
    preferred = {link.supplier_id: link.preferred for link in purchasing.links(store.id)}
    assert preferred == {one.id: False, two.id: True}


def test_purchase_orders_keep_lines_and_reservations_in_allocation_order(
    purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    supplier = _supplier(purchasing, store)
    order = _order(supplier)
    purchasing.add(store.id, [order])
    stored = purchasing.get(store.id, order.number)
    assert stored is not None
    assert stored.order == order
    assert stored.supplier_name == "Acme"
    assert purchasing.taken_numbers(store.id) == {order.number}
    assert purchasing.reserved_orders(store.id) == {
        "301": [(order.number, P1)],
        "299": [(order.number, P1)],
    }


def test_replacing_an_order_that_changed_meanwhile_is_refused(
    purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    supplier = _supplier(purchasing, store)
    order = _order(supplier)
    purchasing.add(store.id, [order])
    sent = send(order, supplier, TODAY)
    purchasing.replace(store.id, order, sent)
    with pytest.raises(PurchasingError) as refused:
        purchasing.replace(store.id, order, cancel(order).purchase_order)
    assert refused.value.reason == "purchase_order_changed"
    stored = purchasing.get(store.id, order.number)
    assert stored is not None and stored.order == sent


def test_a_receipt_is_recorded_with_the_order_once(
    db: Database, purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    supplier = _supplier(purchasing, store)
    order = _order(supplier)
    purchasing.add(store.id, [order])
    sent = send(order, supplier, TODAY)
    purchasing.replace(store.id, order, sent)
    receipt = apply_receipt(sent, {P1: 4})
    record = purchasing.record_receipt(store.id, sent, receipt, "receipt:1")
    assert record.state == ReceiptState.PLANNED
    assert record.lines == ({"product_id": "11", "variant_id": None, "units": 4},)
    assert record.number == order.number
    stored = purchasing.get(store.id, order.number)
    assert stored is not None
    assert stored.order.status is PurchaseOrderStatus.PARTLY_RECEIVED
    assert stored.order.lines[0].reservations == (Reservation("299", 1),)
    # The same form sent twice: the second finds the order changed and records nothing.
    with pytest.raises(PurchasingError):
        purchasing.record_receipt(store.id, sent, receipt, "receipt:2")
    ledger = SqlReceiptLedger(db)
    assert ledger.get(store.id, "receipt:2") is None
    ledger.set_stock_entry(store.id, "receipt:1", "11", {"base": 0, "target": 4})
    ledger.advance(store.id, "receipt:1", ReceiptState.STOCKED)
    again = ledger.get(store.id, "receipt:1")
    assert again is not None
    assert again.state == ReceiptState.STOCKED
    assert again.stock == {"11": {"base": 0, "target": 4}}


def test_deleting_a_supplier_or_link_used_by_an_open_order_is_refused(
    purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    supplier = _supplier(purchasing, store)
    purchasing.save_links(store.id, [SupplierProduct(supplier.id, P1, Decimal("2.50"))])
    purchasing.add(store.id, [_order(supplier)])
    with pytest.raises(PurchasingError) as refused:
        purchasing.delete_supplier(store.id, supplier.id)
    assert refused.value.reason == "supplier_in_use"
    assert "PO-20261204-001" in refused.value.message
    with pytest.raises(PurchasingError) as refused_link:
        purchasing.delete_link(store.id, supplier.id, P1)
    assert refused_link.value.reason == "link_in_use"
    assert [s.name for s in purchasing.suppliers(store.id)] == ["Acme"]
    assert len(purchasing.links(store.id)) == 1


def test_an_unused_supplier_is_deleted_with_its_links(
    purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    supplier = _supplier(purchasing, store)
    purchasing.save_links(store.id, [SupplierProduct(supplier.id, P1, Decimal("2.50"))])
    purchasing.delete_supplier(store.id, supplier.id)
    assert purchasing.suppliers(store.id) == []
    assert purchasing.links(store.id) == []


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        (PurchasingSettings("eur", "PO-{number}-{seq:03d}"), "store_currency_invalid"),
        (PurchasingSettings("ÄÖÜ", "PO-{number}-{seq:03d}"), "store_currency_invalid"),
        (PurchasingSettings("EUR", "PO-{number}"), "numbering_pattern_invalid"),
        (PurchasingSettings("EUR", "P" * 41 + "{number}-{seq}"), "numbering_pattern_invalid"),
    ],
)
def test_bad_purchasing_settings_are_refused_and_not_saved(
    purchasing: SqlPurchasing, store: StoreRecord, settings: PurchasingSettings, reason: str
) -> None:
    with pytest.raises(PurchasingError) as refused:
        purchasing.save_settings(store.id, settings)
    assert refused.value.reason == reason
    assert purchasing.settings(store.id) == PurchasingSettings()


def test_text_longer_than_its_column_is_refused_and_not_saved(
    purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    with pytest.raises(PurchasingError) as refused:
        purchasing.save_supplier(store.id, Supplier("", "A" * 201, "USD"))
    assert (
        refused.value.message == f"Supplier {'A' * 40}: the name may have at most 200 characters."
    )
    supplier = _supplier(purchasing, store)
    with pytest.raises(PurchasingError) as refused_sku:
        purchasing.save_links(
            store.id, [SupplierProduct(supplier.id, P1, Decimal("1"), supplier_sku="S" * 101)]
        )
    assert refused_sku.value.reason == "too_long"
    assert [s.name for s in purchasing.suppliers(store.id)] == ["Acme"]
    assert purchasing.links(store.id) == []


def test_the_covering_purchase_orders_of_some_orders_read_as_the_whole_stores_do(
    purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    supplier = _supplier(purchasing, store)

    def order(number: str, status: PurchaseOrderStatus, date: dt.date | None,
              *lines: tuple[ProductRef, tuple[str, ...]]) -> PurchaseOrder:  # fmt: skip
        return PurchaseOrder(number, supplier.id, "USD", status, tuple(
            PurchaseOrderLine(ref, 9, Decimal("1.00"), reservations=tuple(
                Reservation(o, 1) for o in orders))
            for ref, orders in lines), date)  # fmt: skip

    sent, partly = PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED
    purchasing.add(store.id, [
        order("PO-1", sent, dt.date(2027, 1, 5), (P1, ("301", "302")), (P2, ("301",))),
        order("PO-2", partly, dt.date(2027, 2, 1), (P1, ("301",))),  # later: it wins for 301
        order("PO-3", PurchaseOrderStatus.DRAFT, dt.date(2027, 3, 1), (P1, ("303",))),
        # Newer but expected earlier: 301 still waits for PO-2's units, the later date.
        order("PO-6", sent, dt.date(2027, 1, 1), (P1, ("302", "301"))),
    ])  # fmt: skip
    stored = purchasing.get(store.id, "PO-1")
    assert stored is not None
    purchasing.replace(store.id, stored.order, cancel(stored.order).purchase_order)
    purchasing.add(store.id, [order("PO-7", sent, dt.date(2027, 9, 1), (P2, ("301", "302")))])
    stored = purchasing.get(store.id, "PO-7")
    assert stored is not None
    purchasing.replace(store.id, stored.order, cancel(stored.order).purchase_order)  # freed
    whole = purchasing.covering(store.id)
    assert whole == {
        ("301", P1): ("PO-2", dt.date(2027, 2, 1)),
        ("302", P1): ("PO-6", dt.date(2027, 1, 1)),
        ("303", P1): ("PO-3", None),  # a draft promised no date
    }
    assert purchasing.covering_orders(store.id, ["301", "302", "303", "999"]) == whole
    assert purchasing.covering_orders(store.id, ["302"]) == {
        ("302", P1): ("PO-6", dt.date(2027, 1, 1))
    }
    assert purchasing.covering_orders(store.id, []) == {}
    other = purchasing.covering_orders(store.id + 1, ["301"])  # another store sees none of it
    assert other == {}


def test_reorder_points_round_trip_and_a_bad_one_writes_nothing(
    purchasing: SqlPurchasing, store: StoreRecord
) -> None:
    purchasing.save_reorder_point(store.id, P1, ReorderPoint(5, 20))
    purchasing.save_reorder_point(store.id, P2, ReorderPoint(3))
    assert purchasing.reorder_points(store.id) == {P1: ReorderPoint(5, 20), P2: ReorderPoint(3)}
    with pytest.raises(PurchasingError) as refused:
        purchasing.save_reorder_point(store.id, P1, ReorderPoint(8, 4))
    assert refused.value.reason == "order_up_to_below_reorder_point"
    purchasing.save_reorder_point(store.id, P2, ReorderPoint(4, 9))  # changed in place
    purchasing.save_reorder_point(store.id, P1, ReorderPoint(0))  # 0: removed
    assert purchasing.reorder_points(store.id) == {P2: ReorderPoint(4, 9)}
