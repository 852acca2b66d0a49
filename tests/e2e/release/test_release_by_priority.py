"""The running stack releases backorder orders by priority when stock is raised over REST."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

import run
from plugin.adapters.sql.models import OutboxMessage, Release
from plugin.core.model import CustomerPolicy
from tests.e2e.helpers import Api, PluginDb, create_order, meta, wait_for

# Also on PostgreSQL: one of the representative e2e tests (tests/README.md).
pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite", "postgresql")]


def _backorder_of(api: Api, order_id: int) -> dict[str, Any]:
    def split() -> dict[str, Any] | None:
        children = api.children(order_id)
        if len(children) != 1 or children[0]["status"] != "on-hold":
            return None
        number = meta(children[0], "backorders_number")
        notes = api.notes(order_id)
        return children[0] if any(number and number in n["note"] for n in notes) else None

    return wait_for(split, what=f"split of order {order_id}")


def test_three_customers_are_released_in_priority_order(
    stack: run.Stack, api: Api, plugin_db: PluginDb
) -> None:
    assert stack.store_id is not None
    tag = uuid.uuid4().hex[:6]
    widget = api.create_product(f"Widget {tag}", price="10.00", stock=0, backorders="yes")
    mug = api.create_product(f"Mug {tag}", price="5.00", stock=50, backorders="no")
    backorders: dict[str, dict[str, Any]] = {}
    originals: list[str] = []
    for letter, priority, paid in (("a", 0, True), ("b", 10, False), ("c", 5, True)):
        customer = api.post("/customers", {"email": f"{letter}-{tag}@example.com"})
        plugin_db.policies.set_customer_policy(
            stack.store_id, CustomerPolicy(str(customer["id"]), priority=priority)
        )
        order = create_order(
            api,
            [(widget["id"], 2), (mug["id"], 1)],
            status="processing" if paid else "pending",
            set_paid=paid,
            customer_id=customer["id"],
        )
        originals.append(str(order["id"]))
        backorders[letter] = _backorder_of(api, int(order["id"]))
    assert api.get(f"/products/{widget['id']}")["stock_quantity"] == -6

    raised = time.monotonic()
    api.put(f"/products/{widget['id']}", {"stock_quantity": -2})  # 4 widgets arrive

    def released() -> list[Any] | None:
        with plugin_db.db.session() as session:
            rows = session.scalars(
                select(Release)
                .where(
                    Release.store_id == stack.store_id,
                    Release.order_id.in_([str(b["id"]) for b in backorders.values()]),
                    Release.state == "done",
                )
                .order_by(Release.id)
            ).all()
            return [(r.order_id, r.target_status, r.payment_url) for r in rows] or None

    rows = wait_for(lambda: (r := released()) and len(r) == 2 and r, timeout=10, what="2 releases")
    took = time.monotonic() - raised

    b_id, c_id = str(backorders["b"]["id"]), str(backorders["c"]["id"])
    unpaid = api.order(int(b_id))
    assert [(r[0], r[1]) for r in rows] == [(b_id, "pending"), (c_id, "processing")]
    assert unpaid["status"] == "pending"
    assert rows[0][2] == unpaid["payment_url"] and "order-pay" in unpaid["payment_url"]
    assert api.order(int(c_id))["status"] == "processing"
    assert api.order(int(backorders["a"]["id"]))["status"] == "on-hold"
    assert api.get(f"/products/{widget['id']}")["stock_quantity"] == 0  # b's 2 given back
    print(f"released in priority order {took:.2f}s after the stock was raised")

    # The e-mails (captured in the outbox: the stack runs in development without SMTP_URL).
    def mails() -> dict[str, OutboxMessage] | None:
        with plugin_db.db.session() as session:
            rows = session.scalars(
                select(OutboxMessage).where(OutboxMessage.store_id == stack.store_id)
            ).all()
            found = {row.message_key: row for row in rows}
        wanted = (f"released:{b_id}", f"released:{c_id}")
        done = all(key in found and found[key].status == "captured" for key in wanted)
        return found if done else None

    sent = wait_for(mails, timeout=10, what="the release e-mails, handled by the mail job")
    # The stack is shared with other e2e tests: only this test's orders count.
    ours = {f"released:{b['id']}" for b in backorders.values()}
    released_mails = {k: m for k, m in sent.items() if k in ours}
    assert sorted(released_mails) == sorted([f"released:{b_id}", f"released:{c_id}"])
    assert {m.kind for m in released_mails.values()} == {"backorder_released"}
    assert unpaid["payment_url"] in released_mails[f"released:{b_id}"].body
    assert "order-pay" not in released_mails[f"released:{c_id}"].body  # paid from the original
    split_mails = [
        m for k, m in sent.items() if m.kind == "order_split" and k.split(":")[1] in originals
    ]
    assert len(split_mails) == 3  # one per original, each told what follows
    assert {m.status for m in [*released_mails.values(), *split_mails]} == {"captured"}, [
        (m.message_key, m.status) for m in sent.values()
    ]
