"""Orders the plugin must leave whole: other statuses, products without backorders, customers
who want the whole order delivered at once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import run
from plugin.core.model import CustomerPolicy, DeliveryCondition
from tests.e2e.helpers import Api, Jobs, PluginDb, create_order, settle, wait_for

pytestmark = pytest.mark.e2e


def _short_product(api: Api, backorders: str = "notify") -> dict[str, Any]:
    return api.create_product(
        f"Board {uuid.uuid4().hex[:6]}", price="45.00", stock=1, backorders=backorders
    )


def _in_stock_product(api: Api) -> dict[str, Any]:
    return api.create_product(f"Apron {uuid.uuid4().hex[:6]}", price="29.50", stock=50)


def _unchanged(api: Api, before: dict[str, Any]) -> None:
    """The order still has its lines and total, and no order was split from it."""
    after = api.order(before["id"])
    assert [(li["product_id"], li["quantity"]) for li in after["line_items"]] == [
        (li["product_id"], li["quantity"]) for li in before["line_items"]
    ]
    assert after["total"] == before["total"]
    assert api.children(before["id"]) == []
    assert not [m for m in after["meta_data"] if str(m["key"]).startswith("backorders_")]


@pytest.mark.parametrize("status", ["completed", "cancelled", "failed"])
def test_orders_in_other_statuses_are_untouched(
    stack: run.Stack, api: Api, plugin_db: PluginDb, jobs: Jobs, status: str
) -> None:
    assert stack.store_id is not None
    kept, short = _in_stock_product(api), _short_product(api)
    before = create_order(api, [(kept["id"], 1), (short["id"], 4)], status=status, set_paid=False)

    # Wait until the plugin has processed every event about the order, then look.
    events = settle(stack.sandbox_url, plugin_db, jobs, stack.store_id, before["id"])
    assert {e.status for e in events} <= {"done", "ignored"}
    assert plugin_db.ledger.for_order(stack.store_id, str(before["id"])) == []
    _unchanged(api, before)
    assert api.order(before["id"])["status"] == status


def test_a_product_that_does_not_allow_backorders_is_reported_not_split(
    stack: run.Stack, api: Api, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    kept = _in_stock_product(api)
    short = _short_product(api)
    # The merchant turns backorders off for the product (through REST, as WooCommerce's admin
    # would); an order for more than its stock arrives anyway (created by an admin).
    api.put(f"/products/{short['id']}", {"backorders": "no"})
    alerts_before = {a.id for a in plugin_db.stores.list_alerts(stack.store_id)}
    before = create_order(api, [(kept["id"], 1), (short["id"], 3)], status="processing")

    alerts = wait_for(
        lambda: [
            a
            for a in plugin_db.stores.list_alerts(stack.store_id)
            if a.id not in alerts_before and a.order_id == str(before["id"])
        ],
        what="oversold alert",
    )
    assert [a.kind for a in alerts] == ["oversold_not_backorderable"]
    settle(stack.sandbox_url, plugin_db, jobs, stack.store_id, before["id"])
    decisions = [
        e.data["outcome"]
        for e in plugin_db.audit.for_order(stack.store_id, str(before["id"]))
        if e.kind == "decision"
    ]
    assert decisions and set(decisions) == {"no_change"}
    assert plugin_db.ledger.for_order(stack.store_id, str(before["id"])) == []
    _unchanged(api, before)


def test_a_customer_who_wants_the_whole_order_gets_no_split(
    stack: run.Stack, api: Api, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    customer = api.post(
        "/customers",
        {
            "email": f"whole-{uuid.uuid4().hex[:6]}@example.com",
            "first_name": "Whole",
            "last_name": "Order",
        },
    )
    plugin_db.policies.set_customer_policy(
        stack.store_id,
        CustomerPolicy(str(customer["id"]), delivery_condition=DeliveryCondition.WHOLE_ORDER),
    )
    kept, short = _in_stock_product(api), _short_product(api)
    before = create_order(
        api, [(kept["id"], 1), (short["id"], 4)], status="processing", customer_id=customer["id"]
    )

    settle(stack.sandbox_url, plugin_db, jobs, stack.store_id, before["id"])
    trail = plugin_db.audit.for_order(stack.store_id, str(before["id"]))
    decisions = [e.data["outcome"] for e in trail if e.kind == "decision" and "outcome" in e.data]
    assert decisions and set(decisions) == {"hold"}
    # Allocation may have looked at it since (its short product's stock changed): nothing.
    released = [e.data["reason"] for e in trail if e.kind == "decision" and "reason" in e.data]
    assert set(released) <= {"release_none"}
    # Recorded as waiting whole for stock (nothing split): allocation releases it later.
    [hold] = plugin_db.ledger.for_order(stack.store_id, str(before["id"]))
    assert (hold.split_key, hold.state, hold.backorder_order_id) == (
        f"hold:{before['id']}", "done", None,
    )  # fmt: skip
    _unchanged(api, before)
    assert api.order(before["id"])["status"] == "on-hold"  # the whole order waits
