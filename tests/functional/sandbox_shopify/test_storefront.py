"""The storefront: Backorder on CONTINUE variants with nothing available, and checkout."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from tests.functional.sandbox_shopify.conftest import checkout, snapshot, variant_by_sku


def _button(page: str, variant_id: str) -> str:
    form = re.search(
        rf'data-variant-id="{re.escape(variant_id)}" data-stock="(\w+)">(.*?)</form>', page, re.S
    )
    assert form is not None
    button = re.search(
        r'<button class="add" data-stock="\w+"( disabled)?>([^<]+)</button>', form.group(2)
    )
    assert button is not None
    return f"{form.group(1)}:{button.group(2)}{button.group(1) or ''}"


def test_catalogue_buttons(app: Flask, sandbox: Any) -> None:
    page = app.test_client().get("/").get_data(as_text=True)
    assert _button(page, variant_by_sku(sandbox, "MUG-BLUE")["id"]) == "in_stock:Add to cart"
    assert _button(page, variant_by_sku(sandbox, "BOARD-WALNUT")["id"]) == "backorder:Backorder"
    assert (
        _button(page, variant_by_sku(sandbox, "APRON-LINEN")["id"]) == "sold_out:Sold out disabled"
    )
    assert _button(page, variant_by_sku(sandbox, "TOWEL-RED")["id"]) == "backorder:Backorder"
    assert _button(page, variant_by_sku(sandbox, "TOWEL-GREEN")["id"]) == "in_stock:Add to cart"


def test_a_deny_variant_cannot_be_bought_beyond_stock(app: Flask, sandbox: Any) -> None:
    client = app.test_client()
    before = snapshot(sandbox)
    for sku, quantity in (("APRON-LINEN", 1), ("MUG-BLUE", 13)):
        response = client.post(
            "/cart/add",
            data={"variant_id": variant_by_sku(sandbox, sku)["id"], "quantity": str(quantity)},
            follow_redirects=True,
        )
        assert "left." in response.get_data(as_text=True)
    assert client.get("/cart").get_data(as_text=True).count('class="cart-line"') == 0
    assert snapshot(sandbox) == before


def test_checkout_payments(app: Flask, sandbox: Any) -> None:
    card = checkout(app.test_client(), sandbox, [("BOARD-WALNUT", 1)], payment="card")
    manual = checkout(app.test_client(), sandbox, [("BOARD-WALNUT", 1)], payment="manual")
    paid = checkout(app.test_client(), sandbox, [("MUG-BLUE", 1)], payment="paid")
    page = app.test_client().get(f"/orders/{card['_number']}").get_data(as_text=True)
    assert 'data-financial-status="AUTHORIZED"' in page
    assert 'data-financial-status="PENDING"' in app.test_client().get(
        f"/orders/{manual['_number']}"
    ).get_data(as_text=True)
    assert 'data-financial-status="PAID"' in app.test_client().get(
        f"/orders/{paid['_number']}"
    ).get_data(as_text=True)
    assert [o["name"] for o in sandbox.shop.table("orders").values()] == ["#1001", "#1002", "#1003"]


def test_checkout_form_errors_create_no_order(app: Flask, sandbox: Any) -> None:
    client = app.test_client()
    client.post(
        "/cart/add", data={"variant_id": variant_by_sku(sandbox, "MUG-BLUE")["id"], "quantity": "1"}
    )
    before = snapshot(sandbox)
    response = client.post(
        "/checkout",
        data={"email": "not-an-email", "first_name": "", "last_name": "L", "payment": "bitcoin"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for field in ("email", "first_name", "payment"):
        assert f'data-field="{field}"' in page
    assert snapshot(sandbox) == before


def test_product_pages_only_for_what_a_shopper_can_open(app: Flask, sandbox: Any) -> None:
    client = app.test_client()
    page = client.get("/products/tea-towel").get_data(as_text=True)
    towel = variant_by_sku(sandbox, "TOWEL-RED")
    product_number = sandbox.shop.get(towel["_product"])["id"].rsplit("/", 1)[1]
    green_number = variant_by_sku(sandbox, "TOWEL-GREEN")["id"].rsplit("/", 1)[1]
    # The first variant available for sale is chosen: red is CONTINUE (a backorder).
    assert f'data-product-id="{product_number}"' in page
    assert f'data-variation-id="{towel["id"].rsplit("/", 1)[1]}"' in page
    green = client.get(f"/products/tea-towel?variant={green_number}").get_data(as_text=True)
    assert f'data-variation-id="{green_number}"' in green
    assert re.search(r'id="add-to-cart" data-stock="in_stock">Add to cart<', green)
    board = client.get("/products/walnut-board").get_data(as_text=True)
    assert 'data-variation-id=""' in board  # only the default variant
    assert re.search(r'id="add-to-cart" data-stock="backorder">Backorder<', board)

    for title, options in (
        ("Draft chair", {"status": "DRAFT"}),
        ("Shop chair", {"online_store": False}),
    ):
        made = client.post("/sandbox/shopify/products", json={"title": title, **options})
        assert made.status_code == 201
        handle = made.get_json()["handle"]
        assert client.get(f"/products/{handle}").status_code == 404
        assert title not in client.get("/").get_data(as_text=True)
    assert client.get("/products/no-such-thing").status_code == 404


def test_the_widget_script_is_set_at_runtime_and_bad_urls_change_nothing(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/sandbox/widget").get_json() == {"url": None}
    assert "<script" not in client.get("/").get_data(as_text=True)
    url = "http://127.0.0.1:8000/storefront/2/widget.js"
    assert client.post("/sandbox/widget", json={"url": url}).get_json() == {"url": url}
    tag = f'<script src="{url}" defer></script>'
    assert tag in client.get("/").get_data(as_text=True)
    assert tag in client.get("/products/walnut-board").get_data(as_text=True)
    for bad in ({"url": "javascript:alert(1)"}, {"url": "/relative.js"}, {"url": 3}, []):
        refused = client.post("/sandbox/widget", json=bad)
        assert refused.status_code == 400
        assert client.get("/sandbox/widget").get_json() == {"url": url}
    assert client.post("/sandbox/widget", json={"url": None}).get_json() == {"url": None}
    assert "<script" not in client.get("/").get_data(as_text=True)
