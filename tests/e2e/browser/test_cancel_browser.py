"""Cancelling a backorder line in a real headless Chromium: from the order page through the
confirmation page to the backorder order cancelled in the sandbox store."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import run
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.usecases.accounts import DEMO_EMAIL as DEMO
from tests.e2e.browser.conftest import screenshot
from tests.e2e.helpers import Api, PluginDb, create_order, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def split_one_mug_two_kettles(
    stack: run.Stack, api: Api, plugin_db: PluginDb
) -> tuple[int, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An order of a mug in stock and two kettles that are not, split: (store id, the kettle,
    the original order, its backorder order)."""
    store_id = stack.store_id
    assert store_id is not None
    tag = uuid.uuid4().hex[:6]
    mug = api.create_product(f"Mug {tag}", price="10.00", stock=10, backorders="no")
    kettle = api.create_product(f"Kettle {tag}", price="20.00", stock=0, backorders="yes")
    order = create_order(api, [(mug["id"], 1), (kettle["id"], 2)])
    wait_for(
        lambda: (
            [s.state for s in plugin_db.ledger.for_order(store_id, str(order["id"]))] == ["done"]
        ),
        timeout=60,
        what="the split",
    )
    [child] = api.children(order["id"])
    return store_id, kettle, order, child


def cancelling(api: Api, child: dict[str, Any], units: str) -> str:
    """What the order page flashes once `units` of the backorder order's kettle line are asked
    to be cancelled."""
    [line] = api.order(child["id"])["line_items"]
    name = f"'{line['name']}' (SKU {line['sku']})" if line.get("sku") else f"'{line['name']}'"
    number = next(m["value"] for m in child["meta_data"] if m["key"] == "backorders_number")
    return (
        f"Cancelling {units} waiting of {name} on backorder order {number} in the store; this "
        "page shows what the store did in a few seconds."
    )


def test_the_merchant_cancels_a_backorder_line_in_the_browser(
    page: Page, stack: run.Stack, api: Api, plugin_db: PluginDb
) -> None:
    store_id, kettle, order, child = split_one_mug_two_kettles(stack, api, plugin_db)
    assert api.get(f"/products/{kettle['id']}")["stock_quantity"] == -2

    page.goto(f"{stack.web_url}/stores/{store_id}/orders/{order['id']}")
    page.locator("a.cancel-line").click()
    expect(page.locator("#cancel-quantity")).to_have_text("2")
    expect(page.locator("#cancel-summary")).to_contain_text("the backorder order is cancelled")
    page.click("#confirm-cancel")  # no reason: refused inline, nothing changes
    expect(page.locator("#reason:invalid")).to_have_count(1)
    page.fill("#reason", "Supplier stopped making it")
    screenshot(page, "cancel-line-confirm")
    page.click("#confirm-cancel")
    expect(page.locator(".flash.ok")).to_have_text(cancelling(api, child, "the 2 units"))

    ledger = SqlCancellationLedger(plugin_db.db)
    wait_for(
        lambda: [c.state for c in ledger.for_order(store_id, str(child["id"]))] == ["done"],
        what="the cancellation carried out",
    )
    assert api.order(child["id"])["status"] == "cancelled"
    page.reload()
    expect(page.locator(".cancellation[data-state='done']")).to_have_count(1)
    expect(page.locator("#audit-trail")).to_contain_text("Supplier stopped making it")
    screenshot(page, "cancel-line-done")
    assert api.get(f"/products/{kettle['id']}")["stock_quantity"] == 0
    notes = [n["note"] for n in api.notes(child["id"])]
    assert any("Reason: Supplier stopped making it" in note for note in notes)


def test_the_merchant_cancels_one_of_two_backordered_units_in_the_browser(
    page: Page, stack: run.Stack, api: Api, plugin_db: PluginDb
) -> None:
    store_id, kettle, order, child = split_one_mug_two_kettles(stack, api, plugin_db)
    [line] = api.order(child["id"])["line_items"]
    assert (line["quantity"], line["total"]) == (2, "40.00")

    page.goto(f"{stack.web_url}/stores/{store_id}/orders/{order['id']}")
    page.locator("a.cancel-line").click()
    expect(page.locator("#units")).to_have_value("2")  # every waiting unit by default
    expect(page.locator("#cancel-units-money li[data-units='1']")).to_have_text("1 unit: 20.00 USD")
    page.fill("#units", "0")
    page.fill("#reason", "The customer wants one kettle only")
    page.click("#confirm-cancel")  # 0 units: refused, nothing recorded
    expect(page.locator("#cancel-invalid")).to_be_visible()
    expect(page.locator("#confirm-cancel")).to_be_visible()
    ledger = SqlCancellationLedger(plugin_db.db)
    assert ledger.for_order(store_id, str(child["id"])) == []
    page.fill("#units", "1")
    page.fill("#reason", "The customer wants one kettle only")
    page.click("#confirm-cancel")
    expect(page.locator(".flash.ok")).to_have_text(cancelling(api, child, "1 of the 2 units"))

    wait_for(
        lambda: [c.state for c in ledger.for_order(store_id, str(child["id"]))] == ["done"],
        what="the cancellation carried out",
    )
    [record] = ledger.for_order(store_id, str(child["id"]))
    assert (record.cancel_key, record.units) == (f"cancel:{child['id']}:{record.line_id}:1of2", 1)
    after = api.order(child["id"])
    assert after["status"] == "on-hold"  # the line keeps the other unit, still waiting
    [kept] = after["line_items"]
    assert (kept["quantity"], kept["total"], kept["subtotal"]) == (1, "20.00", "20.00")
    assert after["total"] == "20.00"
    assert api.get(f"/products/{kettle['id']}")["stock_quantity"] == -1
    notes = [n["note"] for n in api.notes(child["id"])]
    assert any("cancelled 1 of the 2 backordered units" in note and DEMO in note for note in notes)
    screenshot(page, "cancel-some-units-done")
