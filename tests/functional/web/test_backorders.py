"""The backorders page (filters, sorting, totals, CSV, chart), the order page and "split now"."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from plugin.adapters.queue.jobs import event_queue
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.models import InboxEvent, Split
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.reports import open_backorder_quantities
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import ProductPolicy, ProductRef
from plugin.core.split import hold_key
from tests.functional.web.conftest import Merchant, state


def _line(product_id: str, backorder: int, total: str, variant_id: str | None = None) -> Any:
    return {
        "line_id": f"l{product_id}",
        "ref": {"product_id": product_id, "variant_id": variant_id},
        "ordered": backorder + 1,
        "keep": 1,
        "backorder": backorder,
        "oversold": 0,
        "waiting": 0,
        "kept_amounts": {"subtotal": "1", "subtotal_tax": "0", "total": "1", "tax": "0"},
        "moved_amounts": {"subtotal": total, "subtotal_tax": "0", "total": total, "tax": "0"},
        "reason": {"code": "backordered", "message": f"{backorder} on backorder", "line_id": None},
    }


def add_split(
    app: Flask,
    store_id: int,
    original: str,
    backorder: str | None,
    lines: list[Any],
    *,
    age_days: int = 0,
    state_: str = "done",
) -> None:
    ledger = SqlSplitLedger(state(app).db)
    key = f"{original}:1"
    plan = {"outcome": "split", "backorder_number": f"{original}-001", "lines": lines}
    ledger.start(store_id, original, key, plan)
    if state_ != "planned":
        ledger.advance(store_id, key, state_, backorder_order_id=backorder)
    created = dt.datetime.now(dt.UTC) - dt.timedelta(days=age_days, minutes=1)
    with state(app).db.session() as session:
        session.execute(update(Split).where(Split.split_key == key).values(created_at=created))


def test_released_backorder_orders_are_not_open(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 3, "30.00")])
    add_split(app, alice_store.id, "200", "201", [_line("9", 5, "55.50")])
    # 101 was released in part: what still waits (1 of 3) is on 102, split from it again.
    ledger = SqlSplitLedger(state(app).db)
    ledger.start(alice_store.id, "101", "resplit:101", {"outcome": "split", "lines": [
        _line("7", 1, "10.00")], "backorder_number": "100-002"})  # fmt: skip
    ledger.advance(alice_store.id, "resplit:101", "done", backorder_order_id="102")
    SqlReleaseLedger(state(app).db).start(
        alice_store.id, "release:101", "101", "processing",
        [{"line_id": "l7", "product_id": "7", "variant_id": None, "units": 2}],
    )  # fmt: skip

    html = alice.get(f"/stores/{alice_store.id}/backorders").get_data(as_text=True)

    assert html.count('class="backorder-line"') == 2
    assert "2 lines on 2 backorder orders · 6 units · value 65.50" in html
    assert "100-002" in html and "100-001" not in html
    assert open_backorder_quantities(state(app).db, alice_store.id) == {
        ("7", None): 1, ("9", None): 5,
    }  # fmt: skip


def add_hold(app: Flask, store_id: int, order_id: str, lines: list[Any]) -> None:
    """An original recorded as waiting whole for stock (plugin/usecases/splitting.py
    `_carry_out_hold`)."""
    ledger = SqlSplitLedger(state(app).db)
    key = hold_key(order_id)
    ledger.start(store_id, order_id, key, {"outcome": "hold", "lines": lines})
    for step in ("original_updated", "noted", "done"):
        ledger.advance(store_id, key, step)


def _waiting(product_id: str, ordered: int, waiting: int, total: str) -> Any:
    amounts = {"subtotal": total, "subtotal_tax": "0", "total": total, "tax": "0"}
    zero = {"subtotal": "0", "subtotal_tax": "0", "total": "0", "tax": "0"}
    return {
        **_line(product_id, 0, "0"), "ordered": ordered, "keep": ordered, "waiting": waiting,
        "kept_amounts": amounts, "moved_amounts": zero,
    }  # fmt: skip


def test_an_order_held_whole_for_stock_is_listed_as_waiting_until_released(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 2, "20.00")])
    # A whole-order customer's order: 3 of product 7 wait (30.00), product 8 is in stock.
    add_hold(app, alice_store.id, "500", [_waiting("7", 3, 3, "30.00"), _waiting("8", 1, 0, "5")])
    path = f"/stores/{alice_store.id}/backorders"

    html = alice.get(path).get_data(as_text=True)

    assert html.count('class="backorder-line"') == 2
    assert "2 lines on 2 backorder orders · 5 units · value 50.00" in html
    assert 'data-original="500" data-backorder="500" data-product-id="7"' in html
    assert html.count("held whole") == 1
    assert html.count('class="cancel-line"') == 0  # the store is not reachable: status unknown
    rows = list(csv.DictReader(io.StringIO(alice.get(f"{path}?format=csv").get_data(as_text=True))))
    listed = sorted((r["original_order"], r["quantity"], r["value"], r["held_whole"]) for r in rows)
    assert listed == [("100", "2", "20.00", ""), ("500", "3", "30.00", "yes")]
    assert open_backorder_quantities(state(app).db, alice_store.id) == {("7", None): 5}
    order_page = alice.get(f"/stores/{alice_store.id}/orders/500").get_data(as_text=True)
    assert "Held whole for stock" in order_page and 'id="split-now"' not in order_page
    shown = re.findall(
        r'data-label="Ships now">(\d+)</td><td class="num" data-label="Backordered">(\d+)<',
        order_page,
    )
    assert shown == [("0", "3"), ("1", "0")]

    SqlReleaseLedger(state(app).db).start(
        alice_store.id, "release:500", "500", "processing",
        [{"line_id": "l7", "product_id": "7", "variant_id": None, "units": 3}],
    )  # fmt: skip

    html = alice.get(path).get_data(as_text=True)
    assert 'data-original="500"' not in html and html.count('class="backorder-line"') == 1
    assert open_backorder_quantities(state(app).db, alice_store.id) == {("7", None): 2}


def test_backorders_page_lists_open_lines_with_totals_chart_and_links(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 2, "20.00"), _line("8", 0, "0")])
    add_split(app, alice_store.id, "200", "201", [_line("9", 5, "55.50")], age_days=40)
    # Not open: failed, and a split still in progress.
    add_split(app, alice_store.id, "300", None, [_line("9", 1, "9")], state_="failed")
    add_split(app, alice_store.id, "400", None, [_line("9", 1, "9")], state_="planned")
    SqlPolicyStore(state(app).db).set_product_policy(
        alice_store.id, ProductPolicy(ProductRef("9"), expected_date=dt.date(2026, 12, 24))
    )
    html = alice.get(f"/stores/{alice_store.id}/backorders").get_data(as_text=True)
    assert html.count('class="backorder-line"') == 2
    assert 'data-lines="2" data-quantity="7" data-value="75.50"' in html
    assert "2 lines on 2 backorder orders · 7 units · value 75.50" in html
    assert f'href="{alice_store.base_url}/wp-admin/post.php?post=101&amp;action=edit"' in html
    assert f'href="/stores/{alice_store.id}/orders/100"' in html
    assert "100-001" in html and "2026-12-24" in html
    assert '<g class="bucket" data-bucket="0-7 days" data-lines="1" data-value="20.00">' in html
    assert '<g class="bucket" data-bucket="31+ days" data-lines="1" data-value="55.50">' in html
    # Default sort: oldest first (age descending).
    assert html.index('data-original="200"') < html.index('data-original="100"')


def test_recent_orders_name_a_backorder_order_by_its_number(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    """A backorder order's audit entries are under its own id (`113` on WooCommerce, `fo-…` on
    Shopify); the list of recent orders named it by that id, which the merchant never sees."""
    add_split(app, alice_store.id, "100", "101", [_line("7", 2, "20.00")])
    audit = SqlAuditLog(state(app).db)
    audit.record(alice_store.id, "100", "decision", "Split: 2 units to backorder order 100-001.")
    audit.record(alice_store.id, "101", "decision", "Order 101 gets nothing yet.")
    audit.record(alice_store.id, "555", "decision", "Nothing to backorder.")
    # Shopify: the original's id is not its number, and the held part is `fo-<n>`.
    ledger = SqlSplitLedger(state(app).db)
    ledger.start(alice_store.id, "450789469", "450789469:1", {"backorder_number": "1001-001"})
    ledger.advance(alice_store.id, "450789469:1", "done", backorder_order_id="fo-31")
    audit.record(alice_store.id, "450789469", "decision", "Split: 1 unit held.")

    html = alice.get(f"/stores/{alice_store.id}/backorders").get_data(as_text=True)
    recent = html.split('<ul id="recent-orders">', 1)[1].split("</ul>", 1)[0]

    items = [re.sub(r"\s+", " ", item).strip() for item in recent.split("<li>")[1:]]
    assert items == [
        f'<a href="/stores/{alice_store.id}/orders/450789469">#1001</a> Split: 1 unit held.</li>',
        f'<a href="/stores/{alice_store.id}/orders/555">#555</a> Nothing to backorder.</li>',
        f'<a href="/stores/{alice_store.id}/orders/101">100-001</a> Order 101 gets nothing '
        "yet.</li>",
        f'<a href="/stores/{alice_store.id}/orders/100">#100</a> Split: 2 units to backorder '
        "order 100-001.</li>",
    ]


def test_filters_and_sorting(app: Flask, alice: Merchant, alice_store: StoreRecord) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 2, "20.00")], age_days=3)
    add_split(app, alice_store.id, "200", "201", [_line("9", 5, "55.50")], age_days=20)
    path = f"/stores/{alice_store.id}/backorders"
    old = alice.get(path, query_string={"min_age": "10"}).get_data(as_text=True)
    assert 'data-original="200"' in old and 'data-original="100"' not in old
    product = alice.get(path, query_string={"product": "7"}).get_data(as_text=True)
    assert 'data-original="100"' in product and 'data-original="200"' not in product
    by_value = alice.get(path, query_string={"sort": "value", "dir": "asc"}).get_data(as_text=True)
    assert by_value.index('data-original="100"') < by_value.index('data-original="200"')
    none = alice.get(path, query_string={"customer": "nobody"}).get_data(as_text=True)
    assert "No open backorders match these filters." in none


def test_csv_export_has_the_filtered_lines(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 2, "20.00")], age_days=3)
    add_split(app, alice_store.id, "200", "201", [_line("9", 5, "55.50")], age_days=20)
    response = alice.get(
        f"/stores/{alice_store.id}/backorders", query_string={"format": "csv", "min_age": "10"}
    )
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [
        (r["original_order"], r["backorder_order"], r["quantity"], r["value"]) for r in rows
    ] == [("200", "201", "5", "55.50")]
    assert rows[0]["age_days"] == "20"


def test_order_page_shows_the_audit_trail_and_the_split(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 2, "20.00")])
    audit = SqlAuditLog(state(app).db)
    audit.record(alice_store.id, "100", "decision", "Split: 2 units of #7 on backorder.")
    audit.record(alice_store.id, "100", "call", "POST /orders created 101.", status=201)
    audit.record(alice_store.id, "100", "retry", "Temporary problem, will retry: 503")
    html = alice.get(f"/stores/{alice_store.id}/orders/100").get_data(as_text=True)
    assert [kind for kind in ("decision", "call", "retry") if f'data-kind="{kind}"' in html] == [
        "decision",
        "call",
        "retry",
    ]
    assert "Split: 2 units of #7 on backorder." in html
    assert 'data-split-key="100:1" data-state="done"' in html
    assert 'id="split-now"' not in html  # already split
    listing = alice.get(f"/stores/{alice_store.id}/backorders").get_data(as_text=True)
    assert "Split: 2 units of #7 on backorder." in listing  # recent orders


def _product_cells(html: str) -> list[str]:
    """The Product cell of each plan line on the order page."""
    return [
        " ".join(cell.split())
        for cell in re.findall(r'<td data-label="Product" class="product">(.*?)</td>', html, re.S)
    ]


def test_order_page_names_the_products_from_the_split_decision_without_a_store_call(
    app: Flask, alice: Merchant, alice_store: StoreRecord, caplog: pytest.LogCaptureFixture
) -> None:
    add_split(
        app, alice_store.id, "100", "101", [_line("7", 2, "20.00"), _line("8", 1, "30.00", "9")]
    )
    SqlAuditLog(state(app).db).record(
        alice_store.id, "100", "decision", "Split: 3 units on backorder.", split_key="100:1",
        lines=[{"line_id": "l7", "product": "Copper Kettle", "ordered": 3, "keep": 1,
                "backorder": 2, "oversold": 0},
               {"line_id": "l8", "product": "Field Shirt - M", "ordered": 2, "keep": 1,
                "backorder": 1, "oversold": 0}],
    )  # fmt: skip
    caplog.set_level(logging.INFO, logger="web.backorders")

    html = alice.get(f"/stores/{alice_store.id}/orders/100").get_data(as_text=True)

    assert _product_cells(html) == [
        'Copper Kettle <small class="hint">(product 7)</small>',
        'Field Shirt - M <small class="hint">(product 8 / 9)</small>',
    ]
    # The store (nothing listens on its port) was not asked.
    assert "backorders_fetch_failed" not in caplog.text


def test_order_page_reads_names_once_from_the_store_for_a_split_recorded_without(
    app: Flask, alice: Merchant, live_store: Any
) -> None:
    import requests

    from tests.functional.web.conftest import DEMO_KEY, DEMO_SECRET

    def post(body: dict[str, Any]) -> dict[str, Any]:
        created = requests.post(
            f"{live_store.url}/wp-json/wc/v3/orders", auth=(DEMO_KEY, DEMO_SECRET), json=body,
            timeout=10,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        return dict(created.json())

    mug, kettle = live_store.product_id("MUG-BLUE"), live_store.product_id("KETTLE-COPPER")
    original = post({"status": "processing", "line_items": [{"product_id": mug, "quantity": 1}]})
    backorder = post(
        {"status": "on-hold", "parent_id": original["id"],
         "line_items": [{"product_id": kettle, "quantity": 2, "meta_data": [
             {"key": "backorders_original_line", "value": "9001"}]}]}
    )  # fmt: skip
    mug_line = _line(str(mug), 0, "0.00")
    mug_line["line_id"] = str(original["line_items"][0]["id"])
    kettle_line = _line(str(kettle), 2, "160.00")
    kettle_line["line_id"] = "9001"  # moved whole: no longer on the original
    add_split(app, live_store.store.id, str(original["id"]), str(backorder["id"]),
              [mug_line, kettle_line])  # fmt: skip
    # A re-split of that backorder order: its lines are the backorder order's own.
    resplit_line = _line(str(kettle), 1, "80.00")
    resplit_line["line_id"] = str(backorder["line_items"][0]["id"])
    SqlSplitLedger(state(app).db).start(
        live_store.store.id, str(backorder["id"]), f"resplit:{backorder['id']}",
        {"outcome": "split", "backorder_number": "x-002", "lines": [resplit_line]},
    )  # fmt: skip

    path = f"/stores/{live_store.store.id}/orders/{backorder['id']}"
    html = alice.get(path).get_data(as_text=True)

    assert _product_cells(html) == [
        f'Blue Mug <small class="hint">(product {mug})</small>',
        f'Copper Kettle <small class="hint">(product {kettle})</small>',
        f'Copper Kettle <small class="hint">(product {kettle})</small>',
    ]


def test_order_page_falls_back_to_product_ids_when_nothing_names_them(
    app: Flask, alice: Merchant, alice_store: StoreRecord, caplog: pytest.LogCaptureFixture
) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 2, "20.00")])
    caplog.set_level(logging.INFO, logger="web.backorders")

    html = alice.get(f"/stores/{alice_store.id}/orders/100").get_data(as_text=True)

    assert _product_cells(html) == ["Product 7"]
    assert caplog.text.count("event=backorders_fetch_failed") == 1  # one try, then ids


def _manual_events(app: Flask) -> list[tuple[str, str, str]]:
    with state(app).db.session() as session:
        rows = session.scalars(select(InboxEvent).order_by(InboxEvent.id))
        return [(r.resource_id, r.source, r.status) for r in rows]


def test_split_now_queues_the_order_through_the_inbox(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    path = f"/stores/{alice_store.id}/orders/555"
    assert 'id="split-now"' in alice.get(path).get_data(as_text=True)
    response = alice.post(f"{path}/split", {}, token_from=path)
    assert response.status_code == 303
    assert _manual_events(app) == [("555", "manual", "enqueued")]
    queue = event_queue(redis_client)
    [job] = queue.get_jobs()
    assert (job.id, job.func_name, list(job.args)) == ("event-1", "worker.process_event", [1])
    assert "Order 555 is queued for splitting." in alice.get(path).get_data(as_text=True)


def test_split_now_of_a_split_order_queues_nothing(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 2, "20.00")])
    path = f"/stores/{alice_store.id}/orders/100"
    response = alice.post(f"{path}/split", {}, token_from=path)
    assert response.status_code == 303
    assert _manual_events(app) == []
    assert event_queue(redis_client).count == 0


def test_split_now_without_csrf_token_queues_nothing(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    response = alice.post(f"/stores/{alice_store.id}/orders/555/split", {})
    assert response.status_code == 400
    assert _manual_events(app) == []
    assert event_queue(redis_client).count == 0


def test_another_merchant_gets_404_everywhere_and_queues_nothing(
    app: Flask, bob: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    add_split(app, alice_store.id, "100", "101", [_line("7", 2, "20.00")])
    base = f"/stores/{alice_store.id}"
    for path in (f"{base}/backorders", f"{base}/backorders?format=csv", f"{base}/orders/100"):
        assert bob.get(path).status_code == 404, path
    assert bob.post(f"{base}/orders/555/split", {}, token_from="/stores").status_code == 404
    assert _manual_events(app) == []
    assert event_queue(redis_client).count == 0


def test_unauthenticated_requests_go_to_sign_in(
    app: Flask, anonymous: FlaskClient, alice_store: StoreRecord
) -> None:
    base = f"/stores/{alice_store.id}"
    for path in (f"{base}/backorders", f"{base}/orders/100"):
        response = anonymous.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/signin?next=")


def test_a_non_numeric_order_id_is_404(alice: Merchant, alice_store: StoreRecord) -> None:
    assert alice.get(f"/stores/{alice_store.id}/orders/1;drop").status_code == 404


def test_customer_and_product_come_from_the_store_and_csv_cells_cannot_be_formulas(
    app: Flask, alice: Merchant, live_store: Any
) -> None:
    import requests

    from tests.functional.web.conftest import DEMO_KEY, DEMO_SECRET

    kettle = live_store.product_id("KETTLE-COPPER")
    created = requests.post(
        f"{live_store.url}/wp-json/wc/v3/orders",
        auth=(DEMO_KEY, DEMO_SECRET),
        json={
            "status": "on-hold",
            "billing": {"first_name": "=HYPERLINK(1)", "last_name": "Doe", "email": "d@x.org"},
            "line_items": [{"product_id": kettle, "quantity": 2}],
            "meta_data": [{"key": "backorders_role", "value": "backorder"}],
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    backorder_id = str(created.json()["id"])
    add_split(app, live_store.store.id, "77", backorder_id, [_line(str(kettle), 2, "178.00")])
    path = f"/stores/{live_store.store.id}/backorders"
    html = alice.get(path).get_data(as_text=True)
    assert "<td>=HYPERLINK(1) Doe</td><td>Copper Kettle</td>" in html
    # WooCommerce's `on-hold` of a backorder order, named as Shopify's is (the adapter's name).
    assert '<td class="status" data-label="Status">On hold (waiting for stock)</td>' in html
    rows = list(csv.DictReader(io.StringIO(alice.get(f"{path}?format=csv").get_data(as_text=True))))
    assert [(r["customer"], r["product"], r["status"]) for r in rows] == [
        ("'=HYPERLINK(1) Doe", "Copper Kettle", "On hold (waiting for stock)")
    ]
    # A completed backorder order is no longer open.
    requests.put(
        f"{live_store.url}/wp-json/wc/v3/orders/{backorder_id}",
        auth=(DEMO_KEY, DEMO_SECRET),
        json={"status": "completed"},
        timeout=10,
    ).raise_for_status()
    assert 'class="backorder-line"' not in alice.get(path).get_data(as_text=True)


def test_order_page_names_orders_by_their_numbers(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    """On Shopify an order's id is not its number and a held part is `fo-<n>`: the order page
    named the original, the backorder order and a re-split by those ids."""
    ledger = SqlSplitLedger(state(app).db)
    ledger.start(alice_store.id, "450789469", "450789469:1", {"backorder_number": "1001-001"})
    ledger.advance(alice_store.id, "450789469:1", "done", backorder_order_id="fo-31")
    ledger.start(alice_store.id, "fo-31", "resplit:fo-31", {"backorder_number": "1001-002"})
    ledger.advance(alice_store.id, "resplit:fo-31", "done", backorder_order_id="fo-42")

    page = alice.get(f"/stores/{alice_store.id}/orders/fo-31").get_data(as_text=True)
    original = alice.get(f"/stores/{alice_store.id}/orders/450789469").get_data(as_text=True)

    assert "<h1>Order 1001-001</h1>" in page
    assert "<title>Order 1001-001 · " in page
    links = [
        re.sub(r"\s+", " ", text).strip()
        for text in re.findall(r"<p>Original (.*?)\(<a", page, re.S)
    ]
    store = alice_store.id
    assert links == [
        f'<a href="/stores/{store}/orders/450789469">#1001</a> → backorder order '
        f'<a href="/stores/{store}/orders/fo-31">1001-001</a>',
        f'<a href="/stores/{store}/orders/fo-31">1001-001</a> → backorder order '
        f'<a href="/stores/{store}/orders/fo-42">1001-002</a>',
    ]
    assert "<h1>Order #1001</h1>" in original
    # An order nothing names yet keeps its id.
    unknown = alice.get(f"/stores/{store}/orders/777").get_data(as_text=True)
    assert "<h1>Order #777</h1>" in unknown
