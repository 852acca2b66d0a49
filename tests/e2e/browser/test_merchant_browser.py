"""The merchant app and the storefront widget in a real headless Chromium, against the real
processes (sandbox store, web, workers, Redis) of tests/e2e/conftest.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import run
from plugin.core.model import StoreSettings
from tests.e2e.browser.conftest import screenshot
from tests.e2e.helpers import BILLING, Api, Jobs, PluginDb, create_order, meta, settle, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def restore_settings(stack: run.Stack, plugin_db: PluginDb) -> Any:
    """The other e2e tests expect the default settings of the shared demo store."""
    yield
    assert stack.store_id is not None
    plugin_db.stores.update_settings(stack.store_id, StoreSettings())


def test_a_setting_changed_in_the_browser_applies_to_the_next_order(
    page: Page,
    stack: run.Stack,
    api: Api,
    plugin_db: PluginDb,
    jobs: Jobs,
    restore_settings: None,
) -> None:
    store_id = stack.store_id
    expect(page.locator(f"#store-{store_id} .webhooks [data-status='active']")).to_be_visible()
    screenshot(page, "stores")

    page.goto(f"{stack.web_url}/stores/{store_id}/settings")
    page.fill("#numbering_pattern", "{number}-BO{seq:02d}")
    expect(page.locator("#number-example")).to_have_text("1042-BO01")  # the live example
    page.click("#save-settings")
    expect(page.locator(".flash.ok")).to_contain_text("Settings saved")
    expect(page.locator("#numbering_pattern")).to_have_value("{number}-BO{seq:02d}")
    screenshot(page, "settings")

    tag = uuid.uuid4().hex[:6]
    mug = api.create_product(f"Mug {tag}", price="10.00", stock=10, backorders="no")
    kettle = api.create_product(f"Kettle {tag}", price="20.00", stock=0, backorders="yes")
    order = create_order(api, [(mug["id"], 1), (kettle["id"], 2)])
    settle(stack.sandbox_url, plugin_db, jobs, store_id, order["id"])  # type: ignore[arg-type]
    [child] = api.children(order["id"])
    assert meta(child, "backorders_number") == f"{order['number']}-BO01"

    page.goto(f"{stack.web_url}/stores/{store_id}/backorders")
    row = page.locator(f"tr.backorder-line[data-original='{order['id']}']")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{order['number']}-BO01")
    expect(row.locator(".qty")).to_have_text("2")
    screenshot(page, "backorders")

    page.goto(f"{stack.web_url}/stores/{store_id}/orders/{order['id']}")
    expect(page.locator("#audit-trail [data-kind='decision']").first).to_be_visible()
    expect(page.locator(".split[data-state='done']")).to_have_count(1)
    screenshot(page, "order")


def test_bulk_enabling_backorders_for_a_filtered_set_shows_progress_to_the_end(
    page: Page, stack: run.Stack, api: Api
) -> None:
    tag = f"Bulk{uuid.uuid4().hex[:6]}"
    created = [
        api.create_product(f"{tag} item {n}", price="5.00", stock=0, backorders="no")
        for n in range(3)
    ]
    other = api.create_product(f"Other {tag[4:]}", price="5.00", stock=0, backorders="no")

    page.goto(f"{stack.web_url}/stores/{stack.store_id}/products")
    page.fill("#search", tag)
    page.select_option("#filter-backorders", "no")
    page.click("#apply-filters")
    expect(page.locator("tr.product")).to_have_count(3)
    page.select_option("#bulk-value", "yes")
    page.click("#bulk-apply")  # the confirmation dialog is accepted by the fixture
    job = page.locator("#bulk-job")
    expect(job).to_have_attribute("data-status", "finished")
    expect(page.locator("#bulk-progress")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#bulk-done")).to_have_text("3")
    expect(page.locator("#bulk-outcomes li[data-ok='true']")).to_have_count(3)
    screenshot(page, "products-bulk")

    assert [api.get(f"/products/{p['id']}")["backorders"] for p in created] == ["yes"] * 3
    assert api.get(f"/products/{other['id']}")["backorders"] == "no"


def test_storefront_widget_labels_a_backorder_product_and_its_order_is_split(
    page: Page, stack: run.Stack, api: Api, plugin_db: PluginDb, jobs: Jobs
) -> None:
    store_id = stack.store_id
    tag = uuid.uuid4().hex[:6]
    lamp = api.create_product(f"Lamp {tag}", price="40.00", stock=0, backorders="yes")
    mug = api.create_product(f"Cup {tag}", price="8.00", stock=5, backorders="no")

    # The merchant sets the lamp's message, expected date and cap on the products page.
    page.goto(f"{stack.web_url}/stores/{store_id}/products?q=Lamp+{tag}")
    form = page.locator(f"#product-{lamp['id']} form.product-form")
    form.locator("input[name='message']").fill("Hand-made to order")
    form.locator("input[name='expected_date']").fill("2026-12-24")
    form.locator("input[name='cap']").fill("3")
    form.locator("button[type='submit']").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"Product {lamp['id']} saved.")

    shopper = page.context.browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[union-attr]
    try:
        shop = shopper.new_page()
        shop.set_default_timeout(15_000)
        # The catalogue: the out-of-stock lamp is labelled, the in-stock cup is not.
        shop.goto(f"{stack.sandbox_url}/")
        shop.wait_for_function("document.documentElement.dataset.backordersWidget === 'ready'")
        lamp_card = shop.locator(f".product-card[data-product-id='{lamp['id']}']")
        expect(lamp_card.locator(".backorders-label")).to_have_text("Backorder")
        expect(lamp_card.locator(".backorders-message")).to_have_text(" Hand-made to order")
        cup_card = shop.locator(f".product-card[data-product-id='{mug['id']}']")
        expect(cup_card.locator(".backorders-label")).to_have_count(0)
        screenshot(shop, "storefront-catalogue")
        shop.goto(f"{stack.sandbox_url}/product/{lamp['id']}/")
        widget = shop.locator("#backorders-widget")
        expect(widget.locator(".backorders-label")).to_have_text("Backorder")
        expect(widget.locator(".backorders-message")).to_have_text("Hand-made to order")
        shop.fill("#quantity", "2")
        expect(widget.locator(".backorders-split")).to_have_text(
            "0 in stock, 2 will be backordered, expected 2026-12-24"
        )
        shop.fill("#quantity", "4")  # beyond the cap of 3
        expect(widget.locator(".backorders-limit")).to_have_text("At most 3 can be ordered now.")
        expect(shop.locator("#add-to-cart")).to_be_disabled()
        shop.fill("#quantity", "2")
        expect(shop.locator("#add-to-cart")).to_be_enabled()
        screenshot(shop, "storefront-widget")
        shop.click("#add-to-cart")

        # An in-stock product is left alone by the widget.
        shop.goto(f"{stack.sandbox_url}/product/{mug['id']}/")
        shop.wait_for_function("document.documentElement.dataset.backordersWidget === 'ready'")
        expect(shop.locator("#backorders-widget")).to_have_count(0)
        shop.fill("#quantity", "1")
        shop.click("#add-to-cart")

        shop.goto(f"{stack.sandbox_url}/checkout")
        for field in ("first_name", "last_name", "email", "address_1", "city", "postcode"):
            shop.fill(f"#billing_{field}", BILLING[field])
        shop.fill("#billing_country", BILLING["country"])
        shop.check("#payment-method-bacs")
        shop.click("#place-order")
        received = shop.locator("#order-received")
        expect(received).to_be_visible()
        order_id = int(received.get_attribute("data-order-id") or 0)
        screenshot(shop, "storefront-order-received")
    finally:
        shopper.close()

    settle(stack.sandbox_url, plugin_db, jobs, store_id, order_id)  # type: ignore[arg-type]
    wait_for(lambda: api.children(order_id), what="backorder order created")
    page.goto(f"{stack.web_url}/stores/{store_id}/backorders")
    row = page.locator(f"tr.backorder-line[data-original='{order_id}']")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-product-id", str(lamp["id"]))
    expect(row.locator(".qty")).to_have_text("2")
    expect(row).to_contain_text("2026-12-24")
    screenshot(page, "backorders-after-storefront")


def test_widget_follows_the_chosen_variation(page: Page, stack: run.Stack, api: Api) -> None:
    tag = uuid.uuid4().hex[:6]
    hat = api.post(
        "/products",
        {
            "name": f"Hat {tag}",
            "type": "variable",
            "attributes": [{"name": "Size", "variation": True, "options": ["S", "L"]}],
        },
    )
    sizes = {}
    for size, stock, backorders in (("S", 4, "no"), ("L", 0, "yes")):
        sizes[size] = api.post(
            f"/products/{hat['id']}/variations",
            {
                "regular_price": "15.00",
                "manage_stock": True,
                "stock_quantity": stock,
                "backorders": backorders,
                "attributes": [{"name": "Size", "option": size}],
            },
        )["id"]
    shopper = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        shop = shopper.new_page()
        shop.set_default_timeout(15_000)
        shop.goto(f"{stack.sandbox_url}/product/{hat['id']}/?variation_id={sizes['L']}")
        widget = shop.locator("#backorders-widget")
        expect(widget.locator(".backorders-label")).to_have_text("Backorder")
        expect(widget.locator(".backorders-split")).to_have_text(
            "0 in stock, 1 will be backordered"
        )
        screenshot(shop, "storefront-variation")
        shop.goto(f"{stack.sandbox_url}/product/{hat['id']}/?variation_id={sizes['S']}")
        shop.wait_for_function("document.documentElement.dataset.backordersWidget === 'ready'")
        expect(shop.locator("#backorders-widget")).to_have_count(0)
    finally:
        shopper.close()
