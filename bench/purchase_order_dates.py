"""How long the customer's page and the delay check take to find the purchase order covering
each waiting line (`SqlPurchasing.covering_orders`), on SQLite, with 100 open purchase orders
of 10 lines, each line reserved for 5 backorder orders (5,000 covered orders). Target: a page
(one customer's orders) under 20 ms; the delay check's read of every covered order is printed
beside the whole-store read (`covering`) it replaces."""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench._timing import measure, report
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.purchasing import SqlPurchasing
from plugin.adapters.sql.stores import StoreRepository
from plugin.adapters.vault import Vault
from plugin.core.model import ProductRef
from plugin.core.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Reservation,
    Supplier,
)

TARGET_SECONDS = 0.020
PURCHASE_ORDERS, LINES, RESERVATIONS = 100, 10, 5
FIRST_ORDER = 100_000
RUNS, WARMUP = 30, 3
QUICK = (2, 2, 2, 3, 1)  # purchase orders, lines, reservations, runs, warmup


def main(quick: bool = False) -> dict[str, Any]:
    """Time the page's read (3 orders), and the delay check's (every covered order)."""
    orders_n, lines_n, res_n, runs, warmup = (
        QUICK if quick else (PURCHASE_ORDERS, LINES, RESERVATIONS, RUNS, WARMUP)
    )
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
        db.migrate()
        stores = StoreRepository(db, Vault("bench-secret-key-0123456789abcdef"))
        store = stores.create(
            name="Bench", base_url="http://127.0.0.1:9", consumer_key="ck",
            consumer_secret="cs", webhook_secret="whs", merchant_id=None,
        )  # fmt: skip
        shop = SqlPurchasing(db)
        supplier = shop.save_supplier(
            store.id, Supplier(id="", name="Bench", currency="USD", email="b@x.test")
        )
        covered = 0
        purchase_orders = []
        for po in range(orders_n):
            lines = []
            for line in range(lines_n):
                reservations = tuple(
                    Reservation(str(FIRST_ORDER + covered + k), 1) for k in range(res_n)
                )
                covered += res_n
                lines.append(
                    PurchaseOrderLine(
                        ProductRef(str(po * lines_n + line)),
                        res_n,
                        Decimal("1.00"),
                        reservations=reservations,
                    )  # fmt: skip
                )
            purchase_orders.append(
                PurchaseOrder(
                    f"PO-{po}",
                    supplier,
                    "USD",
                    PurchaseOrderStatus.SENT,
                    tuple(lines),
                    dt.date(2027, 1, 1),
                )  # fmt: skip
            )
        shop.add(store.id, purchase_orders)
        everyone = [str(FIRST_ORDER + k) for k in range(covered)]
        page_ids = [everyone[0], everyone[covered // 2], "999"]
        assert len(shop.covering_orders(store.id, page_ids)) == 2
        assert shop.covering_orders(store.id, everyone) == shop.covering(store.id)
        page = measure(lambda: shop.covering_orders(store.id, page_ids), runs, warmup,
                       TARGET_SECONDS)  # fmt: skip
        report(f"customer's page: covering purchase orders of 3 orders among {covered}", page)
        check = measure(lambda: shop.covering_orders(store.id, everyone), max(runs // 3, 1),
                        1, 1.0)  # fmt: skip
        report(f"delay check: covering purchase orders of all {covered} orders", check)
        whole = measure(lambda: shop.covering(store.id), max(runs // 3, 1), 1, 1.0)
        report(f"the whole store's covering ({covered} orders)", whole)
        db.dispose()
    return {
        "covered_orders": covered,
        "purchase_orders": orders_n,
        "page": page,
        "delay_check": check,
        "whole_store": whole,
    }


if __name__ == "__main__":
    main()
