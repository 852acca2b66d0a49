"""The storefront widget on a Shopify storefront, in a real headless Chromium: the stack as
`make run` starts it with the Shopify sandbox (run.py puts our script on the shop's pages, as an
app embed block would), a shopper opens product pages and is told how many units will be
backordered and when they are expected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

import run
from plugin.core.model import ProductPolicy, ProductRef
from tests.e2e.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, screenshot
from tests.e2e.helpers import PluginDb
from tests.integration.sandbox_shopify.conftest import Shop
from tests.processes import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.database("sqlite")]

TOWEL = """query { products(first: 1, query: "title:Tea*") { nodes { id handle
  variants(first: 5) { nodes { id sku inventoryItem { id } } } } } }"""


@pytest.fixture(scope="module")
def shopify_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[run.Stack]:
    """Everything `make run` starts, the Shopify sandbox and its connected demo shop included."""
    home: Path = tmp_path_factory.mktemp("shopify-widget")
    supervisor = run.Supervisor(log_dir=home / "logs")
    stack = run.Stack(
        home=home / "home",
        port=free_port(),
        sandbox_port=free_port(),
        shopify_port=free_port(),
        workers=1,
        supervisor=supervisor,
        extra_env={"LOG_LEVEL": "INFO"},
    )
    try:
        stack.start()
        yield stack
    finally:
        left = supervisor.stop_all()
        assert [c.name for c in left] == []


@pytest.fixture
def shopper(shopify_stack: run.Stack) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make browser-deps` as root")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844})
            context.set_default_timeout(TIMEOUT_MS)
            yield context.new_page()
        finally:
            browser.close()


def _number(global_id: str) -> str:
    return global_id.rsplit("/", 1)[1]


def _stool(shop: Shop) -> dict[str, Any]:
    """An out-of-stock stool the shop keeps selling (`CONTINUE`), as the merchant adds it."""
    response = requests.post(
        f"{shop.url}/sandbox/shopify/products",
        json={
            "title": "Oak Stool",
            "variants": [{"sku": "STOOL-OAK", "price": "45.00", "policy": "CONTINUE"}],
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _ready(page: Page) -> None:
    page.wait_for_function("document.documentElement.dataset.backordersWidget === 'ready'")


def test_a_shopify_product_page_says_how_many_are_backordered_and_when(
    shopify_stack: run.Stack, shopper: Page
) -> None:
    store_id = shopify_stack.shopify_store_id
    assert store_id is not None
    shop = Shop(shopify_stack.shopify_url)
    stool = _stool(shop)
    towel = shop.data(TOWEL)["products"]["nodes"][0]
    red = next(v for v in towel["variants"]["nodes"] if v["sku"] == "TOWEL-RED")
    green = next(v for v in towel["variants"]["nodes"] if v["sku"] == "TOWEL-GREEN")
    # The merchant's expected dates (the products page: a one-variant product by its number,
    # a variant by its inventory item).
    policies = PluginDb(shopify_stack.config()).policies
    policies.set_product_policy(
        store_id,
        ProductPolicy(
            ProductRef(_number(stool["id"])),
            expected_date=dt.date(2027, 1, 15),
            message="Turned to order",
        ),
    )
    policies.set_product_policy(
        store_id,
        ProductPolicy(
            ProductRef(_number(towel["id"]), _number(red["inventoryItem"]["id"])),
            expected_date=dt.date(2027, 2, 1),
        ),
    )

    shopper.goto(f"{shop.url}/products/{stool['handle']}")
    _ready(shopper)
    expect(shopper.locator("#add-to-cart")).to_have_text("Backorder")
    widget = shopper.locator("#backorders-widget")
    expect(widget.locator(".backorders-label")).to_have_text("Backorder")
    expect(widget.locator(".backorders-message")).to_have_text("Turned to order")
    shopper.fill("#quantity", "2")
    expect(widget.locator(".backorders-split")).to_have_text(
        "0 in stock, 2 will be backordered, expected 2027-01-15"
    )
    screenshot(shopper, "shopify-storefront-widget")
    shopper.click("#add-to-cart")
    expect(shopper.locator(".flash.info")).to_have_text("Oak Stool backordered.")

    # A variant chosen on the page is asked about by its variant number.
    shopper.goto(f"{shop.url}/products/{towel['handle']}?variant={_number(red['id'])}")
    _ready(shopper)
    expect(shopper.locator("#product")).to_have_attribute("data-variation-id", _number(red["id"]))
    expect(shopper.locator("#add-to-cart")).to_have_text("Backorder")
    shopper.fill("#quantity", "3")
    expect(shopper.locator("#backorders-widget .backorders-split")).to_have_text(
        "0 in stock, 3 will be backordered, expected 2027-02-01"
    )
    screenshot(shopper, "shopify-storefront-widget-variant")

    # An in-stock variant that the shop does not sell beyond its stock is left alone.
    shopper.goto(f"{shop.url}/products/{towel['handle']}?variant={_number(green['id'])}")
    _ready(shopper)
    expect(shopper.locator("#add-to-cart")).to_have_text("Add to cart")
    expect(shopper.locator("#backorders-widget")).to_have_count(0)
