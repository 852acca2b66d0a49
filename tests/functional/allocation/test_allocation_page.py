"""Allocation preview page: the ranking for N arriving units, move up, release now."""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis
from flask import Flask

from plugin.adapters.queue.jobs import event_queue
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.core.model import CustomerPolicy
from tests.functional.web.conftest import Merchant, state
from tests.integration.worker.conftest import Sandbox


@pytest.fixture
def world(app: Flask, alice: Merchant, sandbox: Sandbox) -> dict[str, Any]:
    """Alice's sandbox store: customers priority 0, 10, 5 each wait for 2 widgets (no stock)."""
    from sandbox.woocommerce.app import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

    store = state(app).stores.create(
        name="Sandbox", base_url=sandbox.url, consumer_key=DEMO_CONSUMER_KEY,
        consumer_secret=DEMO_CONSUMER_SECRET, webhook_secret="whs", merchant_id=alice.id,
    )  # fmt: skip
    client = sandbox.client()
    widget = client.post(
        "/products",
        {"name": "Widget", "regular_price": "10.00", "manage_stock": True,
         "stock_quantity": 0, "backorders": "yes"},
    )  # fmt: skip
    ledger = SqlSplitLedger(state(app).db)
    result: dict[str, Any] = {"store": store.id, "widget": str(widget["id"])}
    for letter, priority in (("a", 0), ("b", 10), ("c", 5)):
        customer = client.post("/customers", {"email": f"{letter}@example.com"})
        SqlPolicyStore(state(app).db).set_customer_policy(
            store.id, CustomerPolicy(str(customer["id"]), priority=priority)
        )
        order = client.post(
            "/orders",
            {"customer_id": customer["id"], "status": "on-hold",
             "meta_data": [{"key": "backorders_role", "value": "backorder"}],
             "line_items": [{"product_id": widget["id"], "quantity": 2}]},
        )  # fmt: skip
        key = f"{letter}:1"
        plan = {"outcome": "split", "backorder_number": f"{letter}-001", "lines": [
            {"line_id": "1", "ref": {"product_id": str(widget["id"]), "variant_id": None},
             "backorder": 2}]}  # fmt: skip
        ledger.start(store.id, "1", key, plan)
        ledger.advance(store.id, key, "done", backorder_order_id=str(order["id"]))
        result[letter] = str(order["id"])
    return result


def page(world: dict[str, Any], units: int | str = 4) -> str:
    return f"/stores/{world['store']}/products/{world['widget']}/allocation?units={units}"


def ranking(html: str) -> list[tuple[str, int]]:
    rows = re.findall(r'data-order="(\d+)" data-allocated="(\d+)"', html)
    return [(order, int(units)) for order, units in rows]


def test_preview_ranks_by_priority_and_explains(world: dict[str, Any], alice: Merchant) -> None:
    response = alice.get(page(world, 4))

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ranking(html) == [(world["b"], 2), (world["c"], 2), (world["a"], 0)]
    assert "served 1st of 3" in html and "gets nothing yet" in html
    assert response.headers["X-Frame-Options"] == "DENY"
    # Stock -6 with 6 units claimed by the three open backorders: nothing free yet.
    assert re.search(rf"{world['widget']}: 0\.", html)


def test_move_up_stores_a_bump_that_reorders(
    app: Flask, world: dict[str, Any], alice: Merchant
) -> None:
    path = f"/stores/{world['store']}/products/{world['widget']}/allocation/move-up"

    response = alice.post(path, {"order_id": world["a"], "units": "4"}, token_from=page(world))

    assert response.status_code == 303
    assert response.headers["Location"].endswith(page(world, 4))
    assert SqlReleaseLedger(state(app).db).bumps(world["store"]) == {world["a"]: 6}
    html = alice.get(page(world, 4)).get_data(as_text=True)
    assert ranking(html) == [(world["b"], 2), (world["a"], 2), (world["c"], 0)]


def test_release_now_queues_the_allocation_job(
    world: dict[str, Any], alice: Merchant, redis_client: redis.Redis
) -> None:
    path = f"/stores/{world['store']}/products/{world['widget']}/allocation/release"

    response = alice.post(path, {"units": "4"}, token_from=page(world))

    assert response.status_code == 303
    assert event_queue(redis_client).get_job_ids() == [
        f"allocate-{world['store']}-{world['widget']}"
    ]


def test_other_merchants_and_forged_posts_change_nothing(
    app: Flask, world: dict[str, Any], alice: Merchant, bob: Merchant, redis_client: redis.Redis
) -> None:
    base = f"/stores/{world['store']}/products/{world['widget']}/allocation"
    token = alice.token(page(world))

    assert bob.get(page(world)).status_code == 404
    bob_token = bob.token("/stores")
    assert bob.client.post(f"{base}/release", data={"csrf_token": bob_token}).status_code == 404
    assert (
        bob.client.post(
            f"{base}/move-up", data={"csrf_token": bob_token, "order_id": world["a"]}
        ).status_code
        == 404
    )
    assert alice.client.post(f"{base}/move-up", data={"order_id": world["a"]}).status_code == 400
    assert alice.client.post(f"{base}/release", data={}).status_code == 400
    not_waiting = {"csrf_token": token, "order_id": "999999"}
    assert alice.client.post(f"{base}/move-up", data=not_waiting).status_code == 404
    assert alice.get(page(world, "abc")).status_code == 400
    assert alice.get(f"/stores/{world['store']}/products/x1/allocation").status_code == 404

    assert SqlReleaseLedger(state(app).db).bumps(world["store"]) == {}
    assert event_queue(redis_client).get_job_ids() == []


def test_products_page_links_to_the_allocation_of_a_backordered_product(
    world: dict[str, Any], alice: Merchant
) -> None:
    html = alice.get(f"/stores/{world['store']}/products").get_data(as_text=True)

    links = re.findall(r'class="allocation-link" href="([^"]+)"', html)
    assert links == [f"/stores/{world['store']}/products/{world['widget']}/allocation?units=6"]
