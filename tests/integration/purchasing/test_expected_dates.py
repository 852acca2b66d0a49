"""A new backorder's expected date in the split e-mail: the sent purchase order bringing units no
backorder has yet, read from storage (plugin/adapters/sql/outbox.py `store_mail`), before the
product's manual date."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.outbox import store_mail
from plugin.adapters.sql.purchasing import SqlPurchasing
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import BackorderMode, Policies, ProductPolicy, ProductRef
from plugin.core.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Reservation,
    Supplier,
)
from tests.unit.usecases.notifying.test_messages import Outbox, run_split, split_world

P1 = ProductRef("p1")


def test_the_split_e_mail_expects_the_purchase_order_bringing_spare_units(
    db: Database, store: StoreRecord
) -> None:
    purchasing = SqlPurchasing(db)
    supplier_id = purchasing.save_supplier(store.id, Supplier("", "Acme", "USD", "a@acme.test"))
    purchasing.add(
        store.id,
        [
            PurchaseOrder(
                "PO-1", supplier_id, "USD", PurchaseOrderStatus.SENT,
                (PurchaseOrderLine(P1, 6, Decimal("1"), reservations=(Reservation("9", 2),)),),
                expected_date=dt.date(2027, 1, 14),
            ),
            PurchaseOrder(
                "PO-2", supplier_id, "USD", PurchaseOrderStatus.CANCELLED,
                (PurchaseOrderLine(P1, 6, Decimal("1")),), expected_date=dt.date(2027, 1, 2),
            ),
        ],
    )  # fmt: skip
    mail = store_mail(db, store.id)
    assert mail.expected_dates == {P1: dt.date(2027, 1, 14)}

    policies = Policies(products=(ProductPolicy(P1, expected_date=dt.date(2026, 12, 1)),))
    platform = split_world(policies)
    platform.set_stock("p1", 3, backorders=BackorderMode.YES)
    outbox = Outbox(dataclasses.replace(mail, name="Mug Shop"))
    assert run_split(platform, policies, outbox) == "split"
    [message] = outbox.messages
    assert "On backorder in order 1042-001:\n- 2 x Blue mug, expected 2027-01-14\n" in message.body
