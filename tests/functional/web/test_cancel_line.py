"""Cancelling a backorder line from the merchant app: the confirmation page and its form
(valid, invalid, unauthorised, CSRF missing). The store is not reachable here: the worker job
that writes to it is tested in tests/integration/worker and tests/e2e."""

from __future__ import annotations

import html
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.adapters.queue.jobs import event_queue
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.models import AuditEntry, Cancellation
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from tests.functional.web.conftest import Merchant, state
from tests.functional.web.test_backorders import _line, add_split


def _changes(app: Flask, connection: redis.Redis) -> tuple[int, int, list[str]]:
    """Cancellation rows, audit entries and queued job ids: what a refused request must not
    change."""
    with state(app).db.session() as session:
        rows = session.scalar(select(func.count()).select_from(Cancellation)) or 0
        audit = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return rows, audit, sorted(event_queue(connection).job_ids)


def _two_line_split(app: Flask, store: StoreRecord) -> None:
    add_split(app, store.id, "100", "101", [_line("7", 2, "20.00"), _line("8", 1, "5.00")])


def _cancel_path(store: StoreRecord, order_id: str = "101", line_id: str = "l7") -> str:
    return f"/stores/{store.id}/orders/{order_id}/lines/{line_id}/cancel"


def test_the_confirmation_page_says_what_will_happen(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    _two_line_split(app, alice_store)
    order_page = alice.get(f"/stores/{alice_store.id}/orders/100").get_data(as_text=True)
    assert f'href="{_cancel_path(alice_store)}"' in order_page
    page = alice.get(_cancel_path(alice_store))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<dd id="cancel-quantity">2</dd>' in html
    assert "<h1>Cancel a backorder line of backorder order 100-001</h1>" in html
    assert '<dd id="cancel-value">20.00</dd>' in html
    # The store does not answer here: the page does not guess what the store will do.
    assert (
        '<p id="cancel-every-unit"><strong>Every unit:</strong> The units are cancelled in the '
        "store and their stock given back; the order page then says exactly what the store "
        "did.</p>"
    ) in html
    assert "The customer was not charged for these units." in html
    assert (
        f'<dd id="cancel-original"><a href="/stores/{alice_store.id}/orders/100">#100</a> '
        "(left as it is: it keeps what ships now)</dd>"
    ) in html
    assert 'id="cancel-split-from"' not in html
    assert "A private note on both orders and the audit trail" in html
    assert 'name="csrf_token"' in html and 'id="confirm-cancel"' in html


def _resplit(app: Flask, store: StoreRecord, source: str, new: str, number: str) -> None:
    """Backorder order `source` split again: `new` (numbered `number`) holds 1 unit of
    product 7, covered by the payment (a paid `-001` makes a paid `-002`)."""
    ledger = SqlSplitLedger(state(app).db)
    plan = {"outcome": "split", "lines": [_line("7", 1, "10.00")], "backorder_number": number,
            "payment": "paid_from_original"}  # fmt: skip
    ledger.start(store.id, source, f"resplit:{source}", plan)
    ledger.advance(store.id, f"resplit:{source}", "done", backorder_order_id=new)


def test_a_resplit_line_names_the_first_original_as_where_the_refund_is_due(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    # 112 was split into 113 (112-001); 113 was released in part and split again into 114
    # (112-002), then 114 into 115 (112-003). The customer paid on 112.
    add_split(app, alice_store.id, "112", "113", [_line("7", 3, "30.00")])
    _resplit(app, alice_store, "113", "114", "112-002")
    _resplit(app, alice_store, "114", "115", "112-003")
    orders = f"/stores/{alice_store.id}/orders"
    for order_id, parent, parent_label in (("114", "113", "112-001"), ("115", "114", "112-002")):
        html = alice.get(_cancel_path(alice_store, order_id)).get_data(as_text=True)
        assert (
            f'<dd id="cancel-split-from"><a href="{orders}/{parent}">{parent_label}</a> '
            "(left as it is: it keeps what ships now)</dd>"
        ) in html
        assert (
            f'<dd id="cancel-original"><a href="{orders}/112">#112</a> '
            "(the order the customer placed; left as it is)</dd>"
        ) in html
        assert (
            "The customer paid for these units with original order #112: refund them from "
            "that order in the store's admin (Backorders moves no money)."
        ) in html
        assert f"A private note on this backorder order and on {parent_label} and the" in html
        assert f"original order #{parent}" not in html


def test_the_last_open_line_cancels_the_backorder_order(
    app: Flask, alice: Merchant, live_store: Any
) -> None:
    import requests

    from tests.functional.web.conftest import DEMO_KEY, DEMO_SECRET

    kettle = live_store.product_id("KETTLE-COPPER")
    created = requests.post(
        f"{live_store.url}/wp-json/wc/v3/orders",
        auth=(DEMO_KEY, DEMO_SECRET),
        json={"status": "on-hold", "line_items": [{"product_id": kettle, "quantity": 2}]},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    backorder_id = str(created.json()["id"])
    add_split(app, live_store.store.id, "77", backorder_id, [_line(str(kettle), 2, "178.00")])
    html = alice.get(_cancel_path(live_store.store, backorder_id, f"l{kettle}")).get_data(
        as_text=True
    )
    assert (
        '<p id="cancel-every-unit"><strong>Every unit:</strong> It is the backorder order&#39;s '
        "last open line, so the backorder order is cancelled in the store and its stock "
        "restored.</p>"
    ) in html


def test_confirming_records_the_cancellation_queues_one_job_and_hides_the_line(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    _two_line_split(app, alice_store)
    listing = f"/stores/{alice_store.id}/backorders"
    assert alice.get(listing).get_data(as_text=True).count('class="backorder-line"') == 2
    path = _cancel_path(alice_store)
    response = alice.post(path, {"reason": "  Discontinued by\nthe maker "}, token_from=path)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/stores/{alice_store.id}/orders/101"
    record = SqlCancellationLedger(state(app).db).get(alice_store.id, "cancel:101:l7")
    assert record is not None
    assert (record.state, record.error, record.attempt) == ("requested", None, 1)
    assert (record.original_order_id, record.product_id, record.quantity) == ("100", "7", 2)
    assert (record.reason, record.requested_by) == ("Discontinued by the maker", alice.email)
    [job] = event_queue(redis_client).get_jobs()
    assert (job.id, job.func_name, list(job.args)) == (
        f"cancel-{alice_store.id}-cancel-101-l7-1",
        "worker.cancel_line",
        [alice_store.id, "cancel:101:l7"],
    )
    order_page = alice.get(f"/stores/{alice_store.id}/orders/101").get_data(as_text=True)
    assert (
        '<p class="flash ok" role="status">Cancelling the 2 units waiting of product 7 on '
        "backorder order 100-001 in the store; this page shows what the store did in a few "
        "seconds.</p>"
    ) in order_page
    html = alice.get(listing).get_data(as_text=True)
    assert html.count('class="backorder-line"') == 1
    assert 'data-product-id="8"' in html and 'data-product-id="7"' not in html
    assert 'data-state="requested" data-key="cancel:101:l7"' in order_page
    assert "alice@example.com asked to cancel the backorder line of product 7 × 2" in order_page
    original_page = alice.get(f"/stores/{alice_store.id}/orders/100").get_data(as_text=True)
    assert "Reason: Discontinued by the maker" in original_page


def test_a_second_request_for_the_same_line_changes_nothing(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    _two_line_split(app, alice_store)
    path = _cancel_path(alice_store)
    assert alice.post(path, {"reason": "first"}, token_from=f"/stores/{alice_store.id}/orders/100")
    before = _changes(app, redis_client)
    response = alice.post(path, {"reason": "second"}, token_from="/stores")
    assert response.status_code == 303
    assert _changes(app, redis_client) == before
    page = alice.get(f"/stores/{alice_store.id}/orders/101").get_data(as_text=True)
    assert "is already being cancelled. Nothing was cancelled." in page
    # Done: "already cancelled", and the order page offers no link for it any more.
    SqlCancellationLedger(state(app).db).advance(alice_store.id, "cancel:101:l7", "done")
    alice.post(path, {"reason": "third"}, token_from="/stores")
    page = alice.get(f"/stores/{alice_store.id}/orders/100").get_data(as_text=True)
    assert "was already cancelled. Nothing was cancelled." in page
    assert f'href="{path}"' not in page
    assert _changes(app, redis_client) == before


def test_a_refused_cancellation_may_be_asked_again(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    _two_line_split(app, alice_store)
    path = _cancel_path(alice_store)
    alice.post(path, {"reason": "first"}, token_from="/stores")
    ledger = SqlCancellationLedger(state(app).db)
    ledger.fail(alice_store.id, "cancel:101:l7", "backorder order #101 is no longer waiting")
    # Refused before any write: the line is open again on the backorders page.
    listing = alice.get(f"/stores/{alice_store.id}/backorders").get_data(as_text=True)
    assert listing.count('class="backorder-line"') == 2
    response = alice.post(path, {"reason": "again"}, token_from="/stores")
    assert response.status_code == 303
    record = ledger.get(alice_store.id, "cancel:101:l7")
    assert record is not None
    assert (record.attempt, record.error, record.reason) == (2, None, "again")
    assert sorted(event_queue(redis_client).job_ids) == [
        f"cancel-{alice_store.id}-cancel-101-l7-1",
        f"cancel-{alice_store.id}-cancel-101-l7-2",
    ]


def test_a_missing_or_too_long_reason_is_refused_inline(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    _two_line_split(app, alice_store)
    path = _cancel_path(alice_store)
    before = _changes(app, redis_client)
    for reason, message in (
        ("   ", "Say why the line is cancelled"),
        ("x" * 501, "At most 500 characters."),
    ):
        response = alice.post(path, {"reason": reason}, token_from=path)
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert 'id="cancel-invalid"' in html
        assert f'<span class="field-error" data-field="reason">{message}' in html
        assert _changes(app, redis_client) == before


def test_a_reason_with_a_nul_character_is_refused_and_changes_nothing(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    # PostgreSQL cannot store it (SQLite did, and the store's order notes would carry it).
    _two_line_split(app, alice_store)
    path = _cancel_path(alice_store)
    before = _changes(app, redis_client)
    response = alice.post(path, {"reason": "Discontinued\x00"}, token_from=path)
    assert response.status_code == 400
    assert "The form contains a NUL character; nothing was saved." in response.get_data(
        as_text=True
    )
    assert _changes(app, redis_client) == before


def _refused(alice: Merchant, store: StoreRecord, path: str, redirect_to: str) -> str:
    for method in ("GET", "POST"):
        if method == "GET":
            response = alice.get(path)
        else:
            response = alice.post(path, {"reason": "why"}, token_from="/stores")
        assert response.status_code == 303, (method, path)
        assert response.headers["Location"] == f"/stores/{store.id}/orders/{redirect_to}"
    return str(alice.get(f"/stores/{store.id}/orders/{redirect_to}").get_data(as_text=True))


def test_bad_input_gets_a_clear_error_and_changes_nothing(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    _two_line_split(app, alice_store)
    add_split(app, alice_store.id, "300", None, [_line("9", 1, "9")], state_="failed")
    before = _changes(app, redis_client)
    cases: list[tuple[str, str, str]] = [
        ("101", "l99", "Backorder order 100-001 has no backorder line l99."),
        ("100", "l7", "Order #100 is not a backorder order made by Backorders."),
        ("555", "l7", "Order #555 is not a backorder order made by Backorders."),
        ("300", "l9", "Order #300 is not a backorder order made by Backorders."),
    ]
    for order_id, line_id, message in cases:
        page = _refused(alice, alice_store, _cancel_path(alice_store, order_id, line_id), order_id)
        assert f"{message} Nothing was cancelled." in page, (order_id, line_id)
        assert _changes(app, redis_client) == before
    # A line that moved nothing (backorder 0) is not a backorder line either.
    add_split(app, alice_store.id, "200", "201", [_line("5", 0, "0"), _line("6", 1, "3.00")])
    page = _refused(alice, alice_store, _cancel_path(alice_store, "201", "l5"), "201")
    assert "Backorder order 200-001 has no backorder line l5." in page
    # Released already: it cannot change now.
    SqlReleaseLedger(state(app).db).start(alice_store.id, "release:101", "101", "processing", [])
    page = _refused(alice, alice_store, _cancel_path(alice_store), "101")
    assert "Backorder order 100-001 was already released; it cannot change now." in page
    assert _changes(app, redis_client) == before


def test_malformed_ids_are_404(app: Flask, alice: Merchant, alice_store: StoreRecord) -> None:
    _two_line_split(app, alice_store)
    for path in (
        _cancel_path(alice_store, "10.1"),  # `fo-10` (a Shopify held part) is an order id
        _cancel_path(alice_store, "-101"),
        _cancel_path(alice_store, "101", "l7;drop"),
        _cancel_path(alice_store, "101", "x" * 65),
    ):
        assert alice.get(path).status_code == 404, path


def test_another_merchant_gets_404_and_changes_nothing(
    app: Flask, bob: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    _two_line_split(app, alice_store)
    before = _changes(app, redis_client)
    path = _cancel_path(alice_store)
    assert bob.get(path).status_code == 404
    assert bob.post(path, {"reason": "mine now"}, token_from="/stores").status_code == 404
    assert _changes(app, redis_client) == before


def test_signed_out_requests_go_to_sign_in(
    app: Flask, anonymous: FlaskClient, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    _two_line_split(app, alice_store)
    before = _changes(app, redis_client)
    path = _cancel_path(alice_store)
    for response in (anonymous.get(path), anonymous.post(path, data={"reason": "x"})):
        assert response.status_code in (303, 400)
    assert anonymous.get(path).headers["Location"].startswith("/signin?next=")
    assert _changes(app, redis_client) == before


def test_without_csrf_token_nothing_is_cancelled(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    _two_line_split(app, alice_store)
    before = _changes(app, redis_client)
    data: dict[str, Any] = {"reason": "no token"}
    response = alice.post(_cancel_path(alice_store), data)
    assert response.status_code == 400
    assert "The CSRF token is missing." in response.get_data(as_text=True)
    assert _changes(app, redis_client) == before


def test_a_queue_outage_records_nothing_pending(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_server: Any
) -> None:
    """Redis away: the request is kept as refused (so it may be asked again), nothing queued."""
    _two_line_split(app, alice_store)
    path = _cancel_path(alice_store)
    token = alice.token(path)
    state(app)._redis = redis.Redis(unix_socket_path="/nonexistent/redis.sock")
    response = alice.client.post(path, data={"reason": "why", "csrf_token": token})
    assert response.status_code == 303
    record = SqlCancellationLedger(state(app).db).get(alice_store.id, "cancel:101:l7")
    assert record is not None
    assert record.error == "the job queue was unavailable; nothing was changed"
    assert not record.write_attempted


def test_the_confirmation_page_names_the_product_and_warns_when_the_order_is_not_held(
    app: Flask, alice: Merchant, live_store: Any
) -> None:
    import requests

    from tests.functional.web.conftest import DEMO_KEY, DEMO_SECRET

    kettle = live_store.product_id("KETTLE-COPPER")
    orders = f"{live_store.url}/wp-json/wc/v3/orders"
    created = requests.post(
        orders,
        auth=(DEMO_KEY, DEMO_SECRET),
        json={"status": "on-hold", "line_items": [{"product_id": kettle, "quantity": 2}]},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    backorder_id = str(created.json()["id"])
    add_split(app, live_store.store.id, "77", backorder_id, [_line(str(kettle), 2, "178.00")])
    path = _cancel_path(live_store.store, backorder_id, f"l{kettle}")
    html = alice.get(path).get_data(as_text=True)
    assert '<dd id="cancel-product">Copper Kettle</dd>' in html
    assert '<dd id="cancel-value">178.00 USD</dd>' in html
    assert 'id="cancel-not-held"' not in html
    requests.put(
        f"{orders}/{backorder_id}",
        auth=(DEMO_KEY, DEMO_SECRET),
        json={"status": "processing"},
        timeout=10,
    ).raise_for_status()
    html = alice.get(path).get_data(as_text=True)
    assert "The store shows this backorder order as “Processing”, not on hold" in html


def test_a_resplit_line_names_the_original_by_the_number_the_store_gives(
    app: Flask, alice: Merchant, live_store: Any
) -> None:
    import requests

    from tests.functional.web.conftest import DEMO_KEY, DEMO_SECRET

    kettle = live_store.product_id("KETTLE-COPPER")
    orders = f"{live_store.url}/wp-json/wc/v3/orders"

    def on_hold() -> dict[str, Any]:
        created = requests.post(
            orders,
            auth=(DEMO_KEY, DEMO_SECRET),
            json={"status": "on-hold", "line_items": [{"product_id": kettle, "quantity": 1}]},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        return dict(created.json())

    original, second = on_hold(), on_hold()
    original_id, second_id = str(original["id"]), str(second["id"])
    add_split(app, live_store.store.id, original_id, "9001", [_line("7", 2, "20.00")])
    _resplit(app, live_store.store, "9001", second_id, f"{original['number']}-002")
    html = alice.get(_cancel_path(live_store.store, second_id)).get_data(as_text=True)
    assert (
        f'<dd id="cancel-original"><a href="/stores/{live_store.store.id}/orders/{original_id}">'
        f"#{original['number']}</a> (the order the customer placed; left as it is)</dd>"
    ) in html
    assert f"paid for these units with original order #{original['number']}: refund" in html


def test_the_order_page_names_a_cancelled_product_once_the_job_has_read_it(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    _two_line_split(app, alice_store)
    ledger = SqlCancellationLedger(state(app).db)
    for line_id, product_id, quantity in (("l7", "7", 2), ("l8", "8", 1)):
        ledger.request(
            alice_store.id, f"cancel:101:{line_id}", backorder_order_id="101",
            original_order_id="100", line_id=line_id, product_id=product_id, variant_id=None,
            quantity=quantity, reason="Discontinued", requested_by=alice.email,
        )  # fmt: skip
    # The job has read 101 for line l7 (its outcome holds the line's name); not yet for l8.
    outcome = {
        "backorder_line_id": "b7",
        "product": "Copper Kettle",
        "quantity": 2,
        "amount": "20.00",
        "currency": "USD",
        "paid": False,
        "cancels_order": False,
    }
    ledger.mark_write_attempted(alice_store.id, "cancel:101:l7", outcome)
    html = alice.get(f"/stores/{alice_store.id}/orders/101").get_data(as_text=True)
    assert "Copper Kettle (product 7) × 2 of backorder order" in html
    assert "Product 8 × 1 of backorder order" in html
    assert "Product 7 × 2" not in html


def test_the_request_names_the_product_as_the_split_decision_recorded_it(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 3, "30.00")])
    # The split's decision names its lines (plugin/usecases/splitting.py).
    SqlAuditLog(state(app).db).record(
        alice_store.id, "100", "decision", "Split: 3 units to backorder order 100-001.",
        split_key="100:1",
        lines=[{"line_id": "l7", "product": "Copper Kettle", "sku": "KETTLE-COPPER"}],
    )  # fmt: skip
    path = _cancel_path(alice_store)
    response = alice.post(path, {"reason": "Too many", "units": "1"}, token_from=path)
    assert response.status_code == 303
    page = html.unescape(alice.get(f"/stores/{alice_store.id}/orders/101").get_data(as_text=True))
    assert (
        '<p class="flash ok" role="status">Cancelling 1 of the 3 units waiting of \'Copper '
        "Kettle' (SKU KETTLE-COPPER) on backorder order 100-001 in the store; this page shows "
        "what the store did in a few seconds.</p>"
    ) in page
    assert (
        f"{alice.email} asked to cancel 1 of the 3 backordered units of 'Copper Kettle' (SKU "
        "KETTLE-COPPER) (10.00) on backorder order 100-001. Reason: Too many"
    ) in page
    assert "product 7" not in page.split('id="audit-trail"')[1]


def test_the_order_page_says_what_a_done_cancellation_did(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    _two_line_split(app, alice_store)
    ledger = SqlCancellationLedger(state(app).db)
    ledger.request(
        alice_store.id, "cancel:101:l7", backorder_order_id="101", original_order_id="100",
        line_id="l7", product_id="7", variant_id=None, quantity=2, reason="Discontinued",
        requested_by=alice.email,
    )  # fmt: skip
    outcome = {
        "backorder_line_id": "b7", "product": "Copper Kettle", "sku": "KETTLE-COPPER",
        "number": "100-001", "part_of": None, "quantity": 2, "amount": "20.00",
        "currency": "USD", "paid": False, "cancels_order": False, "new_total": "5.00",
    }  # fmt: skip
    ledger.mark_write_attempted(alice_store.id, "cancel:101:l7", outcome)
    for step in ("written", "noted", "done"):
        ledger.advance(alice_store.id, "cancel:101:l7", step, outcome=outcome)
    page = html.unescape(alice.get(f"/stores/{alice_store.id}/orders/101").get_data(as_text=True))
    assert (
        "done: <span class=\"cancel-result\">Removed 'Copper Kettle' (SKU KETTLE-COPPER) × 2 "
        "from backorder order 100-001; its total is now 5.00. The customer was not charged for "
        "these units.</span>"
    ) in page


# --- some units of a line (the units field, the customer's page's validation) ---------------


def test_the_form_offers_every_waiting_unit_by_default_and_each_count_s_money(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 3, "10.00"), _line("8", 1, "5.00")])
    html = alice.get(_cancel_path(alice_store)).get_data(as_text=True)
    assert '<label for="units">Units to cancel (of 3 waiting)</label>' in html
    assert 'name="units" id="units" type="number" min="0" max="3" value="3"' in html
    # The money of each count, to the cent by largest remainder (plugin/core/cancellation.py).
    assert '<li data-units="1">1 unit: 3.33</li>' in html
    assert '<li data-units="2">2 units: 6.67</li>' in html
    assert '<li data-units="3">3 units: 10.00</li>' in html


def test_with_the_store_unreachable_each_count_s_money_keeps_the_recorded_precision(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    """A yen line (recorded as `1000`, no decimals) on a store that does not answer (so no
    currency is known): the counts were shared to the cent and shown with two decimals."""
    add_split(app, alice_store.id, "100", "101", [_line("7", 3, "1000"), _line("8", 1, "500")])
    html = alice.get(_cancel_path(alice_store)).get_data(as_text=True)
    assert '<dd id="cancel-value">1000</dd>' in html
    assert '<li data-units="1">1 unit: 333</li>' in html
    assert '<li data-units="2">2 units: 667</li>' in html
    assert '<li data-units="3">3 units: 1000</li>' in html


def test_some_units_are_recorded_under_their_own_key_and_one_job(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    _two_line_split(app, alice_store)
    path = _cancel_path(alice_store)
    response = alice.post(path, {"reason": "Only one wanted", "units": " 1 "}, token_from=path)
    assert response.status_code == 303
    ledger = SqlCancellationLedger(state(app).db)
    assert ledger.get(alice_store.id, "cancel:101:l7") is None
    record = ledger.get(alice_store.id, "cancel:101:l7:1of2")
    assert record is not None
    assert (record.state, record.units, record.quantity, record.requested_by) == (
        "requested", 1, 1, alice.email,
    )  # fmt: skip
    [job] = event_queue(redis_client).get_jobs()
    assert list(job.args) == [alice_store.id, "cancel:101:l7:1of2"]
    order_page = alice.get(f"/stores/{alice_store.id}/orders/101").get_data(as_text=True)
    assert (
        "alice@example.com asked to cancel 1 of the 2 backordered units of product 7 "
        "(10.00) on backorder order 100-001. Reason: Only one wanted"
    ) in order_page
    # Asked again (a second click): refused while the first is open, nothing more queued.
    before = _changes(app, redis_client)
    again = alice.post(path, {"reason": "Only one wanted", "units": "1"}, token_from="/stores")
    assert again.status_code == 303
    assert _changes(app, redis_client) == before


def test_every_unit_typed_is_the_whole_line(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    _two_line_split(app, alice_store)
    path = _cancel_path(alice_store)
    alice.post(path, {"reason": "All of it", "units": "2"}, token_from=path)
    record = SqlCancellationLedger(state(app).db).get(alice_store.id, "cancel:101:l7")
    assert record is not None and (record.units, record.quantity) == (None, 2)


def test_bad_unit_counts_are_refused_like_on_the_customer_s_page_and_change_nothing(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    _two_line_split(app, alice_store)
    path = _cancel_path(alice_store)
    before = _changes(app, redis_client)
    for typed in ("3", "-1", "1.5", "abc", "²", "1e1", "9" * 30):
        response = alice.post(path, {"reason": "why", "units": typed}, token_from=path)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, typed
        shown = typed[:20]
        assert (
            f"product 7: enter a whole number of units from 0 to 2, not {shown!r}."
            in html.replace("&#39;", "'")
        ), typed
        assert "Nothing was cancelled" in html
        assert _changes(app, redis_client) == before, typed
    response = alice.post(path, {"reason": "why", "units": "0"}, token_from=path)
    assert response.status_code == 400
    assert "Choose at least 1 unit to cancel" in response.get_data(as_text=True)
    assert _changes(app, redis_client) == before


def test_units_already_cancelled_are_no_longer_offered(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 3, "10.00"), _line("8", 1, "5.00")])
    ledger = SqlCancellationLedger(state(app).db)
    ledger.request(
        alice_store.id, "cancel:101:l7:1of3", backorder_order_id="101",
        original_order_id="100", line_id="l7", product_id="7", variant_id=None, quantity=1,
        reason="the customer", requested_by="the customer (c@example.com)", units=1,
    )  # fmt: skip
    path = _cancel_path(alice_store)
    before = _changes(app, redis_client)
    page = _refused(alice, alice_store, path, "101")
    assert "This backorder line of backorder order 100-001 is already being cancelled." in page
    assert _changes(app, redis_client) == before
    ledger.advance(
        alice_store.id, "cancel:101:l7:1of3", "done",
        outcome={"reduces_line": True, "kept_quantity": 2, "amount": "3.33"},
    )  # fmt: skip
    html = alice.get(path).get_data(as_text=True)
    assert 'max="2" value="2"' in html
    assert '<li data-units="2">2 units: 6.67</li>' in html
    response = alice.post(path, {"reason": "why", "units": "3"}, token_from=path)
    assert response.status_code == 400 and _changes(app, redis_client) == before
    alice.post(path, {"reason": "the rest", "units": "1"}, token_from=path)
    assert ledger.get(alice_store.id, "cancel:101:l7:1of2") is not None


def test_the_backorders_page_counts_only_the_units_still_waiting(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    """1 of 3 units cancelled: the page listed the line with all 3 units and their whole value
    (its quantity came from the split alone), though only 2 wait."""
    add_split(app, alice_store.id, "100", "101", [_line("7", 3, "10.00"), _line("8", 1, "5.00")])
    ledger = SqlCancellationLedger(state(app).db)
    ledger.request(
        alice_store.id, "cancel:101:l7:1of3", backorder_order_id="101",
        original_order_id="100", line_id="l7", product_id="7", variant_id=None, quantity=1,
        reason="the customer", requested_by="the customer (c@example.com)", units=1,
    )  # fmt: skip
    page = f"/stores/{alice_store.id}/backorders"
    # Not done yet: the store still has the 3 units.
    assert "4 units · value 15.00" in alice.get(page).get_data(as_text=True)
    ledger.advance(
        alice_store.id, "cancel:101:l7:1of3", "done",
        outcome={"reduces_line": True, "kept_quantity": 2, "amount": "3.33"},
    )  # fmt: skip

    html = alice.get(page).get_data(as_text=True)

    assert "2 lines on 1 backorder order · 3 units · value 11.67" in html
    row = html.split('data-product-id="7"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num qty" data-label="Qty">2</td>' in row
    assert '<td class="num value" data-label="Value">6.67 ' in row
