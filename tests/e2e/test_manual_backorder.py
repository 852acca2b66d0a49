"""The merchant puts 2 of 5 in-stock units on backorder by hand from the order page of the running
product (issue 14): the sandbox store shows the original with 3 and `-001` on hold with 2, notes
on both naming the merchant, the units set aside from the stock figure so allocation does not
release them at once, and released when stock arrives."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests

import run
from plugin.usecases.accounts import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.helpers import Api, Jobs, PluginDb, create_order, meta, wait_for

pytestmark = pytest.mark.e2e

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _signed_in(stack: run.Stack) -> requests.Session:
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


def _stock(api: Api, product: dict[str, Any]) -> int:
    return int(api.get(f"/products/{product['id']}")["stock_quantity"])


def _quiet(plugin_db: PluginDb, jobs: Jobs) -> bool:
    """Every webhook event handled and no job queued, running or waiting for a retry."""
    return plugin_db.events_finished() and jobs.idle()


def test_two_of_five_in_stock_units_go_on_backorder_by_hand(
    stack: run.Stack, api: Api, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    store_id = stack.store_id
    tag = uuid.uuid4().hex[:6]
    mug = api.create_product(f"Mug {tag}", price="12.00", stock=5, backorders="no")
    order = create_order(api, [(mug["id"], 5)])
    order_id = int(order["id"])
    # The order's own event finds everything in stock: no split.
    wait_for(lambda: plugin_db.settled(store_id, order_id), what="the order's events")
    assert plugin_db.ledger.for_order(store_id, str(order_id)) == []
    assert _stock(api, mug) == 0

    session = _signed_in(stack)
    order_page = f"{stack.web_url}/stores/{store_id}/orders/{order_id}"
    link = re.search(r'href="([^"]+)" id="backorder-by-hand"', session.get(order_page).text)
    assert link is not None, "no manual backorder link on the order page"
    form = session.get(stack.web_url + link.group(1), timeout=10)
    assert form.status_code == 200 and 'id="confirm-manual"' in form.text
    token = TOKEN.search(form.text)
    line_id = str(order["line_items"][0]["id"])
    assert token is not None and f'name="units-{line_id}"' in form.text
    data = {"csrf_token": token.group(1), f"units-{line_id}": "2", "confirm": "yes"}
    done = session.post(stack.web_url + link.group(1), data=data, timeout=10)
    assert done.status_code == 200 and f"being put on backorder as {order['number']}-001" in (
        done.text
    )

    def split() -> Any:
        found = [
            s for s in plugin_db.ledger.for_order(store_id, str(order_id)) if s.state == "done"
        ]
        return found[0] if found else None

    record = wait_for(split, what="the manual split")
    backorder_id = int(str(record.backorder_order_id))
    # Let every job the writes caused finish: the stock changes' product.updated webhooks run
    # an allocation for the mug, which must find nothing free for the backorder order.
    wait_for(lambda: _quiet(plugin_db, jobs), timeout=30, what="the stack to settle",
             describe=lambda: (plugin_db.unfinished_events(), jobs.busy()))  # fmt: skip
    assert jobs.failed_ids() == []

    original = api.order(order_id)
    backorder = api.order(backorder_id)
    [mug_line] = original["line_items"]
    mug_label = (
        f"'{mug_line['name']}' (SKU {mug_line['sku']})"
        if mug_line.get("sku")
        else f"'{mug_line['name']}'"
    )
    assert [(li["product_id"], li["quantity"]) for li in original["line_items"]] == [(mug["id"], 3)]
    assert original["total"] == "36.00"
    assert (backorder["status"], backorder["parent_id"]) == ("on-hold", order_id)
    assert meta(backorder, "backorders_number") == f"{order['number']}-001"
    assert [(li["product_id"], li["quantity"]) for li in backorder["line_items"]] == [
        (mug["id"], 2)
    ]
    assert backorder["total"] == "24.00"
    # README "Stock accounting": the order took 5; the split gave 2 back and the backorder
    # order took them again; the 2 set aside leave the figure, which is then minus the units
    # waiting on backorder, as for any backorder.
    assert _stock(api, mug) == -2
    for noted in (order_id, backorder_id):
        texts = [n["note"] for n in api.notes(noted) if n["note"].startswith("Backorders")]
        assert len(texts) == 1, (noted, texts)
        assert "on backorder by hand" in texts[0] and DEMO_EMAIL in texts[0]
        assert f"Stock of {mug_label}: 2 units set aside (0 → -2)." in texts[0]
    trail = [e.message for e in plugin_db.audit.for_order(store_id, str(order_id))]
    assert f"{DEMO_EMAIL} put 2 units on backorder by hand: backorder order " in " ".join(trail)
    assert any(m.startswith(f"{DEMO_EMAIL} asked to put 2 × Mug {tag}") for m in trail), trail
    page = session.get(order_page, timeout=10).text
    assert f"{DEMO_EMAIL} put 2 of 5 units on backorder by hand; 3 ship now." in page

    # A second submit of the same form writes nothing more.
    again = session.post(stack.web_url + link.group(1), data=data, timeout=10)
    assert again.status_code == 409 and "already has a split or a backorder order" in again.text

    # Stock arrives (the merchant counts 2 new mugs in): allocation releases the backorder order.
    api.put(f"/products/{mug['id']}", {"stock_quantity": 0})
    wait_for(
        lambda: api.order(backorder_id)["status"] == "processing",
        timeout=20,
        what="the backorder order released",
    )
    assert len(api.children(order_id)) == 1
