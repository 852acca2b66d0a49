"""The storefront through the Flask test client against the real Store."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sandbox.woocommerce.app import create_app
from tests.functional.sandbox.page import Page

ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "address_1": "1 Analytical Row",
    "city": "London",
    "postcode": "N1 1AA",
    "country": "gb",
}


def simple(
    store: Any, name: str, quantity: int | None, backorders: str = "no", **extra: Any
) -> Any:
    data = {
        "name": name,
        "type": "simple",
        "regular_price": "12.50",
        "sku": name.upper().replace(" ", "-"),
        "manage_stock": quantity is not None,
        "backorders": backorders,
        **extra,
    }
    if quantity is not None:
        data["stock_quantity"] = quantity
    return store.create_product(data)


def stock_of(store: Any, product_id: int) -> int | None:
    return store.product_json(product_id)["stock_quantity"]


def page(client: FlaskClient, url: str) -> Page:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return Page(response.get_data(as_text=True))


def add(
    client: FlaskClient, product_id: int, quantity: int, variation_id: int | None = None
) -> Any:
    form = {"product_id": str(product_id), "quantity": str(quantity)}
    if variation_id:
        form["variation_id"] = str(variation_id)
    return client.post("/cart/add", data=form, follow_redirects=True)


def checkout(client: FlaskClient, method: str, **overrides: str) -> Any:
    return client.post("/checkout", data={**ADDRESS, "payment_method": method, **overrides})


# --------------------------------------------------------------------- buttons


@pytest.mark.parametrize(
    ("quantity", "backorders", "status", "label", "enabled", "notice"),
    [
        (5, "no", "instock", "Add to cart", True, False),
        (None, "no", "instock", "Add to cart", True, False),
        (0, "no", "outofstock", "Out of stock", False, False),
        (0, "yes", "onbackorder", "Backorder", True, False),
        (0, "notify", "onbackorder", "Backorder", True, True),
        (3, "notify", "instock", "Add to cart", True, False),
    ],
)
def test_button_follows_stock_state(
    client: FlaskClient,
    store: Any,
    quantity: int | None,
    backorders: str,
    status: str,
    label: str,
    enabled: bool,
    notice: bool,
) -> None:
    product = simple(store, "Widget", quantity, backorders)

    html = page(client, f"/product/{product['id']}/")
    button = html.by_id("add-to-cart")

    assert button is not None
    assert button.attrs["data-stock-status"] == status
    assert button.text == label
    assert button.has("disabled") is not enabled
    assert html.by_id("quantity").has("disabled") is not enabled  # type: ignore[union-attr]
    notice_element = html.by_id("backorder-notice")
    assert (notice_element is not None) is notice
    if notice:
        assert notice_element.text == "Available on backorder"  # type: ignore[union-attr]
    root = html.by_id("product")
    assert root is not None and root.attrs["data-product-id"] == str(product["id"])
    assert root.attrs["data-sku"] == "WIDGET"


def test_catalogue_lists_published_products_with_stock_state(
    client: FlaskClient, store: Any
) -> None:
    a = simple(store, "Alpha", 2)
    b = simple(store, "Beta", 0)
    c = simple(store, "Gamma", 0, "notify")
    simple(store, "Draft", 2, status="draft")

    cards = page(client, "/").by_class("product-card")

    by_id = {card.attrs["data-product-id"]: card for card in cards}
    assert set(by_id) == {str(a["id"]), str(b["id"]), str(c["id"])}
    assert by_id[str(a["id"])].attrs["data-stock-status"] == "instock"
    assert by_id[str(b["id"])].attrs["data-stock-status"] == "outofstock"
    assert by_id[str(c["id"])].attrs["data-stock-status"] == "onbackorder"
    assert "Available on backorder" in by_id[str(c["id"])].text
    assert "Out of stock" in by_id[str(b["id"])].text


def test_product_page_by_slug_permalink(client: FlaskClient, store: Any) -> None:
    product = simple(store, "Blue Mug", 4)
    path = product["permalink"].split("/", 3)[3]

    root = page(client, "/" + path).by_id("product")

    assert root is not None and root.attrs["data-product-id"] == str(product["id"])


def test_unknown_product_is_404(client: FlaskClient) -> None:
    assert client.get("/product/99999/").status_code == 404


# ------------------------------------------------------------------------ cart


def test_add_to_cart_shows_line_and_total(client: FlaskClient, store: Any) -> None:
    product = simple(store, "Widget", 5)

    html = Page(add(client, product["id"], 2).get_data(as_text=True))

    [line] = html.by_class("cart-line")
    assert line.attrs["data-product-id"] == str(product["id"])
    assert html.by_class("line-quantity")[0].text == "2"
    assert html.by_id("cart-total").text == "25.00"  # type: ignore[union-attr]
    assert html.by_id("cart-count").text == "2"  # type: ignore[union-attr]
    assert stock_of(store, product["id"]) == 5


def test_backorders_no_refuses_beyond_stock(client: FlaskClient, store: Any) -> None:
    product = simple(store, "Widget", 3)

    refused = Page(add(client, product["id"], 4).get_data(as_text=True))
    [error] = refused.by_class("error")
    assert error.text == (
        'Sorry, there is not enough "Widget" in stock for 4 (3 available). '
        "Please choose a smaller quantity."
    )
    assert page(client, "/cart").by_id("cart-empty") is not None

    add(client, product["id"], 2)
    again = Page(add(client, product["id"], 2).get_data(as_text=True))
    assert "You already have 2 in your cart." in again.by_class("error")[0].text
    assert page(client, "/cart").by_class("line-quantity")[0].text == "2"
    assert page(client, f"/product/{product['id']}/").by_id("quantity").attrs["max"] == "3"  # type: ignore[union-attr]


def test_out_of_stock_cannot_be_added(client: FlaskClient, store: Any) -> None:
    product = simple(store, "Widget", 0)

    html = Page(add(client, product["id"], 1).get_data(as_text=True))

    assert html.by_class("error")[0].text == (
        'Sorry, "Widget" is out of stock and cannot be purchased.'
    )
    assert page(client, "/cart").by_id("cart-empty") is not None


def test_backorder_beyond_stock_is_accepted_when_allowed(client: FlaskClient, store: Any) -> None:
    product = simple(store, "Widget", 1, "yes")

    html = Page(add(client, product["id"], 4).get_data(as_text=True))

    assert html.by_class("error") == []
    assert html.by_class("line-quantity")[0].text == "4"


def test_remove_line(client: FlaskClient, store: Any) -> None:
    product = simple(store, "Widget", 5)
    add(client, product["id"], 1)

    response = client.post(
        "/cart/remove", data={"product_id": product["id"], "variation_id": 0}, follow_redirects=True
    )

    assert Page(response.get_data(as_text=True)).by_id("cart-empty") is not None


# -------------------------------------------------------------------- checkout


@pytest.mark.parametrize(
    ("method", "title", "status", "paid"),
    [
        ("bacs", "Direct bank transfer", "on-hold", False),
        # COD is not paid through payment_complete, but WooCommerce still stamps date_paid when an
        # order reaches processing (class-wc-order.php maybe_set_date_paid).
        ("cod", "Cash on delivery", "processing", True),
        ("card", "Card", "processing", True),
    ],
)
def test_checkout_per_payment_method(
    client: FlaskClient, store: Any, method: str, title: str, status: str, paid: bool
) -> None:
    product = simple(store, "Widget", 5)
    add(client, product["id"], 2)

    response = checkout(client, method)

    assert response.status_code == 302
    received = page(client, response.headers["Location"])
    root = received.by_id("order-received")
    assert root is not None
    order_id = int(root.attrs["data-order-id"])  # type: ignore[arg-type]
    order = store.order_json(order_id)
    assert root.attrs["data-order-number"] == order["number"]
    assert received.by_id("order-number").text == order["number"]  # type: ignore[union-attr]
    assert order["status"] == status
    assert (order["date_paid"] is not None) is paid
    assert order["payment_method"] == method
    assert order["payment_method_title"] == title
    assert order["created_via"] == "checkout"
    assert order["billing"]["email"] == "ada@example.com"
    assert order["billing"]["country"] == "GB"
    assert order["shipping"]["city"] == "London"
    assert [(li["product_id"], li["quantity"]) for li in order["line_items"]] == [
        (product["id"], 2)
    ]
    assert order["total"] == "25.00"
    # Each of these gateways leaves the order in a status that reduces stock.
    assert stock_of(store, product["id"]) == 3
    assert page(client, "/cart").by_id("cart-empty") is not None


def test_checkout_notify_backorder_goes_below_zero(client: FlaskClient, store: Any) -> None:
    product = simple(store, "Widget", 1, "notify")
    add(client, product["id"], 3)

    response = checkout(client, "cod")

    order_id = int(response.headers["Location"].split("/order-received/")[1].split("?")[0])
    [line] = store.order_json(order_id)["line_items"]
    backordered = [m for m in line["meta_data"] if m["key"] == "Backordered"]
    assert [str(m["value"]) for m in backordered] == ["2"]
    assert stock_of(store, product["id"]) == -2


def test_checkout_refuses_invalid_details_and_creates_nothing(
    client: FlaskClient, store: Any
) -> None:
    product = simple(store, "Widget", 5)
    add(client, product["id"], 1)

    response = checkout(client, "paypal", email="not-an-email", city="")

    assert response.status_code == 400
    errors = {
        e.attrs["data-field"]: e.text
        for e in Page(response.get_data(as_text=True)).by_class("field-error")
    }
    assert errors == {
        "email": "Please enter a valid email address.",
        "city": "Town / City is required.",
        "payment_method": "Please choose a payment method.",
    }
    assert store.list_orders() == []
    assert stock_of(store, product["id"]) == 5
    assert page(client, "/cart").by_class("line-quantity")[0].text == "1"


def test_checkout_rechecks_stock(client: FlaskClient, store: Any) -> None:
    product = simple(store, "Widget", 5)
    add(client, product["id"], 4)
    store.update_product(product["id"], {"stock_quantity": 2})

    response = checkout(client, "bacs")

    assert response.status_code == 400
    [error] = Page(response.get_data(as_text=True)).by_class("error")
    assert error.text == (
        'Sorry, there is not enough "Widget" in stock for 4 (2 available). '
        "Please choose a smaller quantity."
    )
    assert store.list_orders() == []
    assert stock_of(store, product["id"]) == 2


def test_checkout_with_empty_cart_goes_back_to_cart(client: FlaskClient, store: Any) -> None:
    response = checkout(client, "bacs")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/cart")
    assert store.list_orders() == []


def test_order_received_needs_the_session_or_the_key(
    client: FlaskClient, store: Any, app: Flask
) -> None:
    product = simple(store, "Widget", 5)
    add(client, product["id"], 1)
    location = checkout(client, "bacs").headers["Location"]
    order_id = int(location.split("/order-received/")[1].split("?")[0])
    stranger = app.test_client()

    assert stranger.get(f"/order-received/{order_id}").status_code == 404
    assert stranger.get(location).status_code == 200
    assert client.get(f"/order-received/{order_id}").status_code == 200


# ------------------------------------------------------------------- variations


def test_variable_product_needs_a_variation(client: FlaskClient, store: Any) -> None:
    shirt = store.create_product(
        {
            "name": "Shirt",
            "type": "variable",
            "attributes": [{"name": "Size", "options": ["S", "L"], "variation": True}],
        }
    )
    small = store.create_variation(
        shirt["id"],
        {
            "regular_price": "20.00",
            "manage_stock": True,
            "stock_quantity": 0,
            "backorders": "no",
            "attributes": [{"name": "Size", "option": "S"}],
        },
    )
    large = store.create_variation(
        shirt["id"],
        {
            "regular_price": "22.00",
            "manage_stock": True,
            "stock_quantity": 0,
            "backorders": "notify",
            "attributes": [{"name": "Size", "option": "L"}],
        },
    )

    unchosen = page(client, f"/product/{shirt['id']}/")
    assert unchosen.by_id("add-to-cart").attrs["data-stock-status"] == "choose"  # type: ignore[union-attr]
    assert unchosen.by_id("add-to-cart").has("disabled")  # type: ignore[union-attr]
    options = {
        o.attrs.get("value"): o.attrs.get("data-stock-status")
        for o in unchosen.elements
        if o.tag == "option"
    }
    assert options == {"": None, str(small["id"]): "outofstock", str(large["id"]): "onbackorder"}

    chosen_small = page(client, f"/product/{shirt['id']}/?variation_id={small['id']}")
    assert chosen_small.by_id("add-to-cart").text == "Out of stock"  # type: ignore[union-attr]
    chosen_large = page(client, f"/product/{shirt['id']}/?variation={large['id']}")
    assert chosen_large.by_id("add-to-cart").text == "Backorder"  # type: ignore[union-attr]
    assert chosen_large.by_id("product").attrs["data-variation-id"] == str(large["id"])  # type: ignore[union-attr]

    refused = Page(add(client, shirt["id"], 1).get_data(as_text=True))
    assert (
        refused.by_class("error")[0].text
        == "Please choose a product option before adding it to your cart."
    )
    cart = Page(add(client, shirt["id"], 2, large["id"]).get_data(as_text=True))
    [line] = cart.by_class("cart-line")
    assert line.attrs["data-variation-id"] == str(large["id"])
    assert cart.by_id("cart-total").text == "44.00"  # type: ignore[union-attr]

    location = checkout(client, "card").headers["Location"]
    order_id = int(location.split("/order-received/")[1].split("?")[0])
    [item] = store.order_json(order_id)["line_items"]
    assert (item["product_id"], item["variation_id"], item["quantity"]) == (
        shirt["id"],
        large["id"],
        2,
    )
    assert store.variation_json(large["id"])["stock_quantity"] == -2


# ---------------------------------------------------------------------- widget


def test_widget_script_on_every_page_when_configured(tmp_path: Any) -> None:
    app = create_app(data_dir=str(tmp_path / "w"), widget_url="http://127.0.0.1:5000/widget.js")
    try:
        client = app.test_client()
        product = simple(app.extensions["sandbox"]["store"], "Widget", 5)
        for url in ("/", f"/product/{product['id']}/", "/cart"):
            assert page(client, url).scripts() == ["http://127.0.0.1:5000/widget.js"], url
        add(client, product["id"], 1)
        assert page(client, "/checkout").scripts() == ["http://127.0.0.1:5000/widget.js"]
    finally:
        app.extensions["sandbox"]["deliverer"].close()


def test_no_widget_script_by_default(client: FlaskClient, store: Any) -> None:
    product = simple(store, "Widget", 5)

    assert page(client, "/").scripts() == []
    assert page(client, f"/product/{product['id']}/").scripts() == []


def test_widget_set_and_removed_while_the_store_runs(client: FlaskClient, store: Any) -> None:
    product = simple(store, "Widget", 5)
    url = "http://127.0.0.1:5000/storefront/3/widget.js"

    assert client.get("/sandbox/widget").get_json() == {"url": None}
    assert client.post("/sandbox/widget", json={"url": url}).get_json() == {"url": url}

    assert client.get("/sandbox/widget").get_json() == {"url": url}
    assert page(client, "/").scripts() == [url]
    assert page(client, f"/product/{product['id']}/").scripts() == [url]
    assert client.post("/sandbox/widget", json={"url": None}).get_json() == {"url": None}
    assert page(client, "/").scripts() == []


@pytest.mark.parametrize(
    "body",
    [None, [], {}, {"url": ""}, {"url": 5}, {"url": "widget.js"}, {"url": "javascript:alert(1)"},
     {"url": "ftp://127.0.0.1/w.js"}],
)  # fmt: skip
def test_a_bad_widget_url_is_refused_and_changes_nothing(
    client: FlaskClient, store: Any, body: Any
) -> None:
    url = "http://127.0.0.1:5000/widget.js"
    client.post("/sandbox/widget", json={"url": url})

    answer = client.post("/sandbox/widget", json=body)

    assert answer.status_code == 400
    assert "absolute http(s) URL" in answer.get_json()["error"]
    assert client.get("/sandbox/widget").get_json() == {"url": url}
    assert page(client, "/").scripts() == [url]
