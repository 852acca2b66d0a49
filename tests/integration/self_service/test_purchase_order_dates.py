"""A purchase order's date reaches the customers it covers (issues 14 and 15): real splits in the
sandbox store, real storage and Redis, a purchase order reserving units for two of three
backorder orders. Moving its date later runs the store's delay check (as the web page queues
it): exactly one notice goes to each covered customer, none to the third, and running the
check again sends nothing more."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from jobs.delay_notices import check_store
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.models import OutboxMessage
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.purchasing import SqlPurchasing
from plugin.adapters.sql.self_service import SqlDelayRecords, SqlSelfServiceSettings
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.core.model import ProductPolicy, ProductRef
from plugin.core.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Reservation,
    Supplier,
)
from plugin.ports import SelfServiceSettings
from plugin.usecases import purchasing
from tests.integration.self_service.test_delay_scenario import _context
from tests.integration.worker.conftest import Instance, Sandbox, wait_until

DAY = dt.timedelta(days=1)
CUSTOMERS = ("ann@example.com", "bob@example.com", "cy@example.com")


def _split_three(instance: Instance, sandbox: Sandbox) -> tuple[int, list[dict[str, Any]]]:
    """Three customers each order 2 lamps (none in stock); a real worker splits each order."""
    client = sandbox.client()
    lamp = client.post(
        "/products",
        {"name": "Lamp", "regular_price": "25.00", "manage_stock": True, "stock_quantity": 0,
         "backorders": "yes"},
    )  # fmt: skip
    keeper = client.post(
        "/products",
        {"name": "Bulb", "regular_price": "2.00", "manage_stock": True, "stock_quantity": 50},
    )
    placed = []
    for email in CUSTOMERS:
        order = client.post(
            "/orders",
            {"status": "on-hold", "payment_method": "bacs", "billing": {"email": email},
             "line_items": [{"product_id": lamp["id"], "quantity": 2},
                            {"product_id": keeper["id"], "quantity": 1}]},
        )  # fmt: skip
        event = instance.add_event(str(order["id"]), order["date_modified_gmt"])
        wait_until(lambda e=event: instance.event(e).status == "done", 60, "the split")
        [backorder] = client.list_orders(parent=[order["id"]])
        placed.append({"original": str(order["id"]), "backorder": str(backorder["id"]),
                       "email": email})  # fmt: skip
    return int(lamp["id"]), placed


def _notices(instance: Instance) -> list[tuple[str, str]]:
    with instance.db.session() as session:
        rows = session.execute(
            select(OutboxMessage.recipient, OutboxMessage.body)
            .where(OutboxMessage.kind == "delay_notice")
            .order_by(OutboxMessage.id)
        ).all()
    return [(str(recipient), str(body)) for recipient, body in rows]


def test_a_purchase_order_moved_later_sends_one_notice_to_each_customer_it_covers(
    instance: Instance, sandbox: Sandbox
) -> None:
    store_id = instance.store_id
    SqlSelfServiceSettings(instance.db).save(
        store_id, SelfServiceSettings(delay_rule="ftc_30_day", stated_shipping_days=10)
    )
    instance.start_worker("w-po-dates")
    lamp_id, placed = _split_three(instance, sandbox)
    instance.stop_all()  # from here the test drives the delay checks
    assert all(SqlSplitLedger(instance.db).for_order(store_id, p["original"]) for p in placed)
    lamp = ProductRef(str(lamp_id))
    t0 = dt.datetime.now(dt.UTC)
    promised = t0.date() + 5 * DAY
    # The product's own date is the promised one; the purchase order brings the lamps of the
    # first two customers on that same day.
    SqlPolicyStore(instance.db).set_product_policy(
        store_id, ProductPolicy(lamp, expected_date=promised)
    )
    shop = SqlPurchasing(instance.db)
    supplier_id = shop.save_supplier(
        store_id, Supplier(id="", name="Lamps Ltd", currency="USD", email="po@lamps.test")
    )
    covered, uncovered = placed[:2], placed[2]
    sent = PurchaseOrder(
        number="PO-1-001", supplier_id=supplier_id, currency="USD",
        status=PurchaseOrderStatus.SENT, expected_date=promised,
        lines=(PurchaseOrderLine(lamp, 4, Decimal("12.00"), reservations=tuple(
            Reservation(p["backorder"], 2) for p in covered)),),
    )  # fmt: skip
    shop.add(store_id, [sent])
    context = _context(instance, sandbox)
    records = SqlDelayRecords(instance.db)

    # First look: every backorder followed, promised the same day, on time: nothing sent.
    check_store(context, t0)
    assert _notices(instance) == []
    assert {p["backorder"]: records.get(store_id, p["backorder"]).promised_date  # type: ignore[union-attr]
            for p in placed} == {p["backorder"]: promised for p in placed}  # fmt: skip

    # Day 1: the supplier says 20 days later; the merchant moves the purchase order's date.
    t1 = t0 + DAY
    later = promised + 20 * DAY
    checks: list[int] = []

    def check_now() -> None:  # what the queued `check_store_delays` job does
        checks.append(len(check_store(context, t1)))

    stored = shop.get(store_id, "PO-1-001")
    assert stored is not None
    purchasing.move_expected_date(
        store_id, stored.order, later, orders=shop, audit=SqlAuditLog(instance.db),
        check_delays=check_now,
    )  # fmt: skip
    assert checks == [3]  # the check ran at once, over the three waiting backorders
    notices = _notices(instance)
    assert sorted(recipient for recipient, _ in notices) == [p["email"] for p in covered]
    for _recipient, body in notices:
        assert later.isoformat() in body, body  # the new date, in the store's (ISO) style
    for p in covered:
        watch = records.get(store_id, p["backorder"])
        assert watch is not None and len(watch.notices) == 1
        assert watch.notices[0]["revised_date"] == later.isoformat()
    assert records.get(store_id, uncovered["backorder"]).notices == ()  # type: ignore[union-attr]

    # The check again (the periodic tick, a second click): nothing more is sent.
    check_now()
    check_store(context, t1 + dt.timedelta(hours=1))
    assert _notices(instance) == notices
    for p in covered:
        watch = records.get(store_id, p["backorder"])
        assert watch is not None and len(watch.notices) == 1
    # Moving it earlier again needs no notice and runs no check.
    stored = shop.get(store_id, "PO-1-001")
    assert stored is not None
    purchasing.move_expected_date(
        store_id, stored.order, promised + 10 * DAY, orders=shop,
        audit=SqlAuditLog(instance.db), check_delays=check_now,
    )  # fmt: skip
    assert len(checks) == 2 and _notices(instance) == notices
