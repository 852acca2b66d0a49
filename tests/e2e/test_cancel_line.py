"""The merchant cancels a backorder line from the order page of the running product, and the
sandbox store shows the change: the line removed (or the emptied backorder order cancelled),
stock right, notes on both orders."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
import requests

import run
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.usecases.accounts import DEMO_EMAIL, DEMO_PASSWORD
from plugin.usecases.cancelling import cancel_key
from tests.e2e.helpers import Api, PluginDb, create_order, wait_for

# Also on PostgreSQL: one of the representative e2e tests (tests/README.md).
pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite", "postgresql")]

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _signed_in(stack: run.Stack) -> requests.Session:
    """The demo merchant's browser session on the web app."""
    session = requests.Session()
    form = session.get(f"{stack.web_url}/signin", timeout=10).text
    token = TOKEN.search(form)
    assert token is not None
    answer = session.post(
        f"{stack.web_url}/signin",
        data={"csrf_token": token.group(1), "email": DEMO_EMAIL, "password": DEMO_PASSWORD},
        timeout=10,
    )
    assert answer.url == f"{stack.web_url}/stores", answer.url
    return session


def _split(api: Api, plugin_db: PluginDb, store_id: int, order_id: int) -> Any:
    """The finished split of `order_id` (ledger state done) and its backorder order."""

    def done() -> Any:
        splits = [
            s for s in plugin_db.ledger.for_order(store_id, str(order_id)) if s.state == "done"
        ]
        return splits[0] if splits else None

    return wait_for(done, what=f"split of order {order_id}")


def _stock(api: Api, product: dict[str, Any]) -> int:
    return int(api.get(f"/products/{product['id']}")["stock_quantity"])


def _label(line: dict[str, Any]) -> str:
    """A store's order line as the merchant app names its product (name, SKU when set)."""
    return f"'{line['name']}' (SKU {line['sku']})" if line.get("sku") else f"'{line['name']}'"


def _cancel(
    session: requests.Session, stack: run.Stack, order_page: str, reason: str, says: str
) -> str:
    """Follow the order page's cancel link for the first open backorder line and confirm;
    the page then flashes `says`."""
    page = session.get(order_page, timeout=10)
    assert page.status_code == 200
    link = re.search(r'href="([^"]+/cancel)" class="cancel-line"', page.text)
    assert link is not None, "no cancel link on the order page"
    confirm = session.get(stack.web_url + link.group(1), timeout=10)
    assert confirm.status_code == 200 and 'id="confirm-cancel"' in confirm.text
    token = TOKEN.search(confirm.text)
    assert token is not None
    done = session.post(
        stack.web_url + link.group(1),
        data={"csrf_token": token.group(1), "reason": reason},
        timeout=10,
    )
    assert done.status_code == 200
    assert f'<p class="flash ok" role="status">{says}</p>' in html.unescape(done.text)
    return link.group(1)


def test_the_merchant_cancels_backorder_lines_from_the_order_page(
    stack: run.Stack, api: Api, plugin_db: PluginDb
) -> None:
    assert stack.store_id is not None
    store_id = stack.store_id
    tag = uuid.uuid4().hex[:6]
    mug = api.create_product(f"Mug {tag}", price="12.00", stock=10, backorders="no")
    kettle = api.create_product(f"Kettle {tag}", price="30.00", stock=0, backorders="notify")
    board = api.create_product(f"Board {tag}", price="8.00", stock=0, backorders="yes")
    order = create_order(api, [(mug["id"], 1), (kettle["id"], 2), (board["id"], 1)])
    split = _split(api, plugin_db, store_id, int(order["id"]))
    backorder_id = int(split.backorder_order_id)
    assert (_stock(api, kettle), _stock(api, board)) == (-2, -1)
    original_before = api.order(int(order["id"]))
    session = _signed_in(stack)
    order_page = f"{stack.web_url}/stores/{store_id}/orders/{backorder_id}"
    ledger = SqlCancellationLedger(plugin_db.db)

    lines = {li["product_id"]: li for li in api.order(backorder_id)["line_items"]}
    number = split.plan["backorder_number"]

    def says(product: dict[str, Any], waiting: str) -> str:
        return (
            f"Cancelling the {waiting} waiting of {_label(lines[product['id']])} on backorder "
            f"order {number} in the store; this page shows what the store did in a few seconds."
        )

    # The kettle line first (the order page lists the plan's lines in order).
    path = _cancel(session, stack, order_page, "Kettle model discontinued", says(kettle, "2 units"))
    line_id = path.split("/lines/")[1].split("/")[0]
    key = cancel_key(str(backorder_id), line_id)

    def finished(cancel: str) -> Any:
        record = ledger.get(store_id, cancel)
        return record if record is not None and (record.state == "done" or record.error) else None

    record = wait_for(lambda: finished(key), what="the kettle's cancellation")
    assert (record.state, record.error, record.requested_by) == ("done", None, DEMO_EMAIL)
    backorder = api.order(backorder_id)
    assert backorder["status"] == "on-hold"
    assert [(li["product_id"], li["quantity"]) for li in backorder["line_items"]] == [
        (board["id"], 1)
    ]
    assert backorder["total"] == "8.00"
    assert (_stock(api, kettle), _stock(api, board)) == (0, -1)
    assert api.order(int(order["id"]))["line_items"] == original_before["line_items"]
    for order_id in (backorder_id, int(order["id"])):
        texts = [
            n["note"] for n in api.notes(order_id) if n["note"].startswith("Backorders cancelled")
        ]
        assert len(texts) == 1, (order_id, texts)
        assert f"at the request of {DEMO_EMAIL}. Reason: Kettle model discontinued" in texts[0]
    # The merchant app: the order page shows it, the backorders page no longer lists it.
    page = session.get(order_page, timeout=10).text
    assert f'data-state="done" data-key="{key}"' in page
    listing = session.get(f"{stack.web_url}/stores/{store_id}/backorders", timeout=10).text
    assert f'data-backorder="{backorder_id}" data-product-id="{kettle["id"]}"' not in listing
    assert f'data-backorder="{backorder_id}" data-product-id="{board["id"]}"' in listing

    # The board line, the last one: the backorder order is cancelled and its stock restored.
    path = _cancel(session, stack, order_page, "Customer no longer wants it", says(board, "1 unit"))
    key = cancel_key(str(backorder_id), path.split("/lines/")[1].split("/")[0])
    record = wait_for(lambda: finished(key), what="the board's cancellation")
    assert (record.state, record.error) == ("done", None)
    backorder = api.order(backorder_id)
    assert backorder["status"] == "cancelled"
    assert (_stock(api, kettle), _stock(api, board), _stock(api, mug)) == (0, 0, 9)
    # The kettle's line was removed; a whole order of its own was cancelled: the order
    # page says so, and where the refund is due.
    due = f"The customer paid for these units with order #{order['id']}: refund"
    number = f"{order['number']}-001"  # as the page's heading names it, not `#<id>`
    assert re.findall(
        r'cancel-result">([^<]*)', html.unescape(session.get(order_page, timeout=10).text)
    ) == [
        f"Removed {_label(lines[kettle['id']])} × 2 from backorder order {number}; its "
        f"total is now 8.00. {due} 60.00 USD from that order (Backorders moves no money).",
        f"Cancelled backorder order {number}: {_label(lines[board['id']])} × 1 was its "
        f"only line. {due} 8.00 USD from that order (Backorders moves no money).",
    ]
    listing = session.get(f"{stack.web_url}/stores/{store_id}/backorders", timeout=10).text
    assert f'data-backorder="{backorder_id}"' not in listing
