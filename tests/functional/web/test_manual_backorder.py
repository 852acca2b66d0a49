"""Putting units on backorder by hand from the order page (issue 14): the form against the real
sandbox store over HTTP, its refusals (nothing written, nothing queued), the one job a double
submit queues, and that job run by a real RQ worker in this process."""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from plugin.adapters.queue.inprocess import InProcessWorker
from plugin.adapters.queue.jobs import event_queue, manual_split_job_id
from plugin.adapters.sql.models import AuditEntry, Split
from plugin.adapters.sql.splits import SqlSplitLedger
from tests.functional.web.conftest import LiveStore, Merchant, state


def _product(live: LiveStore, name: str, stock: int) -> int:
    return int(
        live.shop.create_product(
            {"name": name, "regular_price": "10.00", "manage_stock": True,
             "stock_quantity": stock, "backorders": "no"}
        )["id"]
    )  # fmt: skip


def _order(live: LiveStore, lines: list[tuple[int, int]]) -> dict[str, Any]:
    order = live.shop.create_order(
        {
            "status": "processing",
            "set_paid": True,
            "payment_method": "card",
            "billing": {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"},
            "line_items": [{"product_id": p, "quantity": q} for p, q in lines],
        }
    )
    return dict(live.shop.order_json(int(order["id"])))


def _stock(live: LiveStore, product_id: int) -> int:
    return int(live.shop.product_json(product_id)["stock_quantity"])


def _written(app: Flask, connection: redis.Redis, live: LiveStore, order_id: int) -> Any:
    """Everything a refused request must leave as it was: split rows, audit entries, queued
    jobs, and the order in the store."""
    with state(app).db.session() as session:
        splits = session.scalar(select(func.count()).select_from(Split)) or 0
        audit = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    order = live.shop.order_json(order_id)
    lines = [(li["product_id"], li["quantity"]) for li in order["line_items"]]
    return splits, audit, sorted(event_queue(connection).job_ids), order["status"], lines


def test_the_form_refuses_what_does_not_fit_and_queues_one_job_that_splits_the_order(
    app: Flask,
    alice: Merchant,
    live_store: LiveStore,
    redis_client: redis.Redis,
    worker_env: None,
) -> None:
    store = live_store.store
    # A store rate the pages and the job never wait on (about 35 waits for a slot at the
    # default 5 calls a second): the limiter is not what is shown here.
    state(app).stores.update(store.id, api_rate_limit=10_000.0)
    mug, kettle = _product(live_store, "Test Mug", 5), _product(live_store, "Test Kettle", 9)
    order = _order(live_store, [(mug, 5), (kettle, 1)])
    order_id = int(order["id"])
    mug_line, kettle_line = (str(li["id"]) for li in order["line_items"])
    assert (_stock(live_store, mug), _stock(live_store, kettle)) == (0, 8)
    order_page = f"/stores/{store.id}/orders/{order_id}"
    form_page = f"{order_page}/backorder-by-hand"

    assert f'href="{form_page}" id="backorder-by-hand"' in alice.get(order_page).get_data(
        as_text=True
    )
    page = alice.get(form_page).get_data(as_text=True)
    assert f'name="units-{mug_line}" id="units-1" min="0" max="5"' in page
    assert f'name="units-{kettle_line}" id="units-2" min="0" max="1"' in page
    assert "The units are set aside from the store's stock figure" in page

    before = _written(app, redis_client, live_store, order_id)
    refusals = [
        ({f"units-{mug_line}": "-1"}, 400, "Enter a whole number of units from 0 to 5."),
        ({f"units-{mug_line}": "1.5"}, 400, "Enter a whole number of units from 0 to 5."),
        ({f"units-{mug_line}": "6"}, 400,
         "'Test Mug': 6 units cannot go on backorder; choose 0 to 5, the ordered quantity."),
        ({f"units-{mug_line}": "0", f"units-{kettle_line}": ""}, 400,
         "Choose at least one unit to put on backorder; 0 on every line changes nothing."),
        ({"units-999999": "1"}, 400, f"Order {order_id} has no line 999999."),
        ({f"units-{mug_line}": "2", "confirm": ""}, 400,
         "Confirm that these units are set aside and go on backorder."),
    ]  # fmt: skip
    for fields, status, message in refusals:
        data = {"confirm": "yes", **fields}
        response = alice.post(form_page, data, token_from=form_page)
        html = response.get_data(as_text=True)
        assert response.status_code == status, (fields, response.status_code)
        assert message.replace("'", "&#39;") in html, (fields, html[:2000])
        assert _written(app, redis_client, live_store, order_id) == before, fields
    # Without the CSRF token: refused before anything is read or written.
    response = alice.post(form_page, {f"units-{mug_line}": "2", "confirm": "yes"})
    assert response.status_code == 400
    assert _written(app, redis_client, live_store, order_id) == before

    # Two submits of the confirmed form: one job, one audit entry.
    data = {f"units-{mug_line}": "2", f"units-{kettle_line}": "0", "confirm": "yes"}
    token = alice.token(form_page)
    first = alice.post(form_page, {**data, "csrf_token": token})
    second = alice.post(form_page, {**data, "csrf_token": token})
    assert (first.status_code, second.status_code) == (303, 303)
    flashes = alice.get(order_page).get_data(as_text=True)
    assert f"2 × Test Mug of order #{order_id} are being put on backorder as {order_id}-001" in (
        flashes
    )
    assert f"Units of order #{order_id} are already being put on backorder" in flashes
    job_id = manual_split_job_id(store.id, str(order_id))
    assert event_queue(redis_client).job_ids == [job_id]
    job = event_queue(redis_client).fetch_job(job_id)
    assert job is not None and job.args == [store.id, str(order_id), {mug_line: 2}, alice.email]
    with state(app).db.session() as session:
        asked = session.scalars(
            select(AuditEntry.message).where(AuditEntry.order_id == str(order_id))
        ).all()
    assert asked == [
        f"{alice.email} asked to put 2 × Test Mug on backorder by hand (backorder order "
        f"{order_id}-001)."
    ]
    assert _stock(live_store, mug) == 0  # nothing changes before the job runs

    worker = InProcessWorker([event_queue(redis_client)], connection=redis_client,
                             serializer=JSONSerializer)  # fmt: skip
    assert worker.work(burst=True) is True

    [split] = SqlSplitLedger(state(app).db).for_order(store.id, str(order_id))
    assert (split.split_key, split.state) == (f"{order_id}:1", "done")
    original = live_store.shop.order_json(order_id)
    child = live_store.shop.order_json(int(str(split.backorder_order_id)))
    assert [(li["product_id"], li["quantity"]) for li in original["line_items"]] == [
        (mug, 3),
        (kettle, 1),
    ]
    assert child["status"] == "on-hold"
    assert [(li["product_id"], li["quantity"]) for li in child["line_items"]] == [(mug, 2)]
    # The order took 5 (0 left); the split gave 2 back and the backorder order took them; the
    # 2 set aside leave the figure: minus the units waiting, so allocation frees none of them.
    assert (_stock(live_store, mug), _stock(live_store, kettle)) == (-2, 8)

    # Now split: the form refuses with the reason, and writes nothing.
    after = _written(app, redis_client, live_store, order_id)
    response = alice.post(form_page, data, token_from=order_page)
    assert response.status_code == 409
    assert (
        f"Order {order_id} already has a split or a backorder order: {order_id}:1 is done."
        in response.get_data(as_text=True)
    )
    assert _written(app, redis_client, live_store, order_id) == after


def test_an_order_in_a_status_not_eligible_is_refused_with_the_reason(
    app: Flask, alice: Merchant, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    mug = _product(live_store, "Test Mug", 5)
    order_id = int(_order(live_store, [(mug, 2)])["id"])
    live_store.shop.update_order(order_id, {"status": "completed"})
    form_page = f"/stores/{live_store.store.id}/orders/{order_id}/backorder-by-hand"
    line = str(live_store.shop.order_json(order_id)["line_items"][0]["id"])
    before = _written(app, redis_client, live_store, order_id)

    page = alice.get(form_page).get_data(as_text=True)
    assert 'id="manual-refused"' in page and 'id="manual-backorder-form"' not in page
    response = alice.post(
        form_page,
        {f"units-{line}": "1", "confirm": "yes"},
        token_from=f"/stores/{live_store.store.id}/orders/{order_id}",
    )

    assert response.status_code == 409
    assert (
        f"Order {order_id} is Dispatched; only orders in these statuses may have lines put on "
        "backorder: New, On Hold." in response.get_data(as_text=True)
    )
    assert _written(app, redis_client, live_store, order_id) == before


def test_another_merchants_order_page_is_not_found(
    app: Flask, bob: Merchant, live_store: LiveStore
) -> None:
    response = bob.get(f"/stores/{live_store.store.id}/orders/1/backorder-by-hand")
    assert response.status_code == 404
