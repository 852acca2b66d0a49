"""The sandbox store's HTML shop: catalogue, product page, session cart, checkout.

Plain server-rendered HTML (Jinja, no JavaScript needed), usable on a phone. Orders are created
through ``store.create_order(data, created_via="checkout")``, the same path as REST
``POST /orders``, with what WooCommerce's payment gateways do on checkout:

- ``bacs`` "Direct bank transfer": unpaid, ``on-hold`` (WC_Gateway_BACS::process_payment);
- ``cod`` "Cash on delivery": unpaid, ``processing`` (WC_Gateway_COD::process_payment);
- ``card`` "Card": paid, like ``set_paid`` (``payment_complete``: ``processing``, date_paid).

Stock rules of the product page and cart follow WooCommerce (class-wc-cart.php add_to_cart,
check_cart_item_stock): backorders ``no`` with managed stock refuses quantities beyond stock.

Stable selectors for browser tests:

==================================  ===========================================================
``.product-card[data-product-id]``  one catalogue entry; also ``data-stock-status``
``.product-card a.product-link``    link to the product page (`/product/<id>/`)
``#product[data-product-id]``       product page root; ``data-product-type``, ``data-sku``,
                                    ``data-stock-status``, ``data-variation-id`` (chosen one)
``#choose-variation``               GET form choosing a variation (variable products)
``#variation``                      its ``<select name="variation_id">``
``#add-to-cart-form``               POST form adding to the cart
``#quantity``                       quantity input (``max`` set when backorders are refused)
``#add-to-cart``                    the button; ``data-stock-status`` = instock | onbackorder |
                                    outofstock | choose; text "Add to cart", "Backorder",
                                    "Out of stock" (disabled) or "Choose an option" (disabled)
``#backorder-notice``               "Available on backorder" (backorders ``notify``)
``#stock-quantity``                 "N in stock" when stock is managed and positive
``.flash.error`` / ``.flash.info``  messages (e.g. not enough stock)
``#cart-count``                     items in the cart (header, every page)
``#cart``                           cart table; rows ``.cart-line[data-product-id]
                                    [data-variation-id]`` with ``.line-quantity``,
                                    ``.remove-line`` buttons; ``#cart-total``
``#cart-empty``                     shown instead when the cart is empty
``#proceed-to-checkout``            link to the checkout
``#checkout-form``                  fields ``#billing_first_name``, ``#billing_last_name``,
                                    ``#billing_email``, ``#billing_address_1``,
                                    ``#billing_city``, ``#billing_postcode``,
                                    ``#billing_country``; ``#payment-method-bacs``,
                                    ``#payment-method-cod``, ``#payment-method-card`` radios
                                    (``name="payment_method"``); ``#place-order``
``.field-error[data-field]``        a checkout field error
``#order-received[data-order-id]``  thank-you page; ``data-order-number``,
                                    ``data-order-status``; ``#order-number``
==================================  ===========================================================

When ``extensions["sandbox"]["widget_url"]`` is set (from ``SANDBOX_WIDGET_URL`` at start, or by
``POST /sandbox/widget`` later), every storefront page includes ``<script src="..." defer>``.
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response

bp = Blueprint(
    "storefront",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/shop-static",
)

# What each payment method does on checkout (WC_Gateway_BACS / WC_Gateway_COD process_payment;
# a card gateway calls payment_complete, which the REST API exposes as set_paid).
PAYMENT_METHODS: dict[str, dict[str, Any]] = {
    "bacs": {"title": "Direct bank transfer", "status": "on-hold", "set_paid": False},
    "cod": {"title": "Cash on delivery", "status": "processing", "set_paid": False},
    "card": {"title": "Card", "status": None, "set_paid": True},
}
CHECKOUT_FIELDS = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email address"),
    ("address_1", "Street address"),
    ("city", "Town / City"),
    ("postcode", "Postcode / ZIP"),
    ("country", "Country (2 letters)"),
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_QUANTITY = 9999


@bp.record_once
def _ensure_secret_key(state: BlueprintSetupState) -> None:
    # The cart lives in the signed session cookie; a sandbox without a configured key still works.
    if not state.app.secret_key:
        state.app.secret_key = secrets.token_hex(32)


def _store() -> Any:
    return current_app.extensions["sandbox"]["store"]


@bp.context_processor
def _page_context() -> dict[str, Any]:
    sandbox = current_app.extensions.get("sandbox", {})
    # The extension holds the start value (SANDBOX_WIDGET_URL) or what POST /sandbox/widget set.
    if "widget_url" in sandbox:
        widget_url = sandbox["widget_url"]
    else:
        widget_url = current_app.config.get("SANDBOX_WIDGET_URL")
    return {
        "widget_url": widget_url or None,
        "cart_count": sum(line["quantity"] for line in _cart()),
    }


# ---------------------------------------------------------------- catalogue


def _products() -> list[dict[str, Any]]:
    """Published products in the REST representation, catalogue order."""
    store = _store()
    products = (store.product_json(pid) for pid in store.list_products(status="publish"))
    return [p for p in products if p is not None]


def _product(product_id: int) -> dict[str, Any] | None:
    product = _store().product_json(product_id)
    if product is None or product.get("status", "publish") != "publish":
        return None
    if product.get("type") == "variation":
        return None
    return product  # type: ignore[no-any-return]


def _product_by_ident(ident: str) -> dict[str, Any] | None:
    if ident.isdigit():
        return _product(int(ident))
    return next((p for p in _products() if p.get("slug") == ident), None)


def _variations(product: dict[str, Any]) -> list[dict[str, Any]]:
    store = _store()
    found = []
    for variation_id in product.get("variations") or []:
        variation = store.variation_json(variation_id)
        if variation is not None:
            found.append(variation)
    return found


def _variation(product: dict[str, Any], variation_id: int) -> dict[str, Any] | None:
    if variation_id not in (product.get("variations") or []):
        return None
    return _store().variation_json(variation_id)  # type: ignore[no-any-return]


def variation_label(variation: dict[str, Any]) -> str:
    """Human name of a variation from its attribute options, e.g. "Blue, L"."""
    options = [a.get("option", "") for a in variation.get("attributes") or []]
    return ", ".join(o for o in options if o) or f"#{variation['id']}"


def button_state(item: dict[str, Any] | None) -> dict[str, Any]:
    """The add-to-cart button for a product or variation, as WooCommerce shows it."""
    if item is None:
        return {"status": "choose", "label": "Choose an option", "enabled": False, "notify": False}
    status = item.get("stock_status", "instock")
    if status == "outofstock":
        return {"status": status, "label": "Out of stock", "enabled": False, "notify": False}
    if status == "onbackorder":
        notify = item.get("backorders") == "notify"
        return {"status": status, "label": "Backorder", "enabled": True, "notify": notify}
    return {"status": "instock", "label": "Add to cart", "enabled": True, "notify": False}


def stock_limit(item: dict[str, Any]) -> int | None:
    """Most units that may be ordered, or None when unlimited (not managed or backorders).
    A variation drawing on its parent's stock (`manage_stock` "parent") is limited by it."""
    if item.get("manage_stock") in (True, "parent") and item.get("backorders", "no") == "no":
        return max(0, int(item.get("stock_quantity") or 0))
    if item.get("stock_status") == "outofstock":
        return 0
    return None


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation:
        return Decimal("0")


@bp.get("/")
def catalogue() -> str:
    """All products with their price and stock state."""
    cards = [{"product": p, "button": button_state(p)} for p in _products()]
    return render_template("storefront/catalogue.html", cards=cards)


@bp.get("/product/<ident>/")
def product_page(ident: str) -> str:
    """One product (by id or slug, as in the REST permalink), its variations, add to cart."""
    product = _product_by_ident(ident)
    if product is None:
        abort(404)
    variations: list[dict[str, Any]] = []
    chosen: dict[str, Any] | None = product
    if product.get("type") == "variable":
        variations = _variations(product)
        chosen = None
        # The REST permalink of a variation is /product/<parent>/?variation=<id>.
        wanted = request.args.get("variation_id", type=int) or request.args.get(
            "variation", type=int
        )
        if wanted is not None:
            chosen = next((v for v in variations if v["id"] == wanted), None)
    return render_template(
        "storefront/product.html",
        product=product,
        variations=variations,
        chosen=chosen,
        is_variable=product.get("type") == "variable",
        button=button_state(chosen),
        limit=stock_limit(chosen) if chosen else None,
        variation_label=variation_label,
    )


# --------------------------------------------------------------------- cart


def _cart() -> list[dict[str, int]]:
    cart = session.get("cart")
    return cart if isinstance(cart, list) else []


def _save_cart(cart: list[dict[str, int]]) -> None:
    session["cart"] = cart
    session.modified = True


def _resolve(product_id: int, variation_id: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The product and the item that carries stock (the variation, or the product)."""
    product = _product(product_id)
    if product is None:
        return None
    if product.get("type") == "variable":
        variation = _variation(product, variation_id) if variation_id else None
        return (product, variation) if variation else None
    return (product, product) if not variation_id else None


def _item_name(product: dict[str, Any], item: dict[str, Any]) -> str:
    if item is product:
        return str(product["name"])
    return f"{product['name']} - {variation_label(item)}"


def _stock_problem(product: dict[str, Any], item: dict[str, Any], quantity: int) -> str | None:
    """Why `quantity` units cannot be bought, or None (class-wc-cart.php stock checks)."""
    name = _item_name(product, item)
    if item.get("stock_status") == "outofstock":
        return f'Sorry, "{name}" is out of stock and cannot be purchased.'
    limit = stock_limit(item)
    if limit is not None and quantity > limit:
        return (
            f'Sorry, there is not enough "{name}" in stock for {quantity} '
            f"({limit} available). Please choose a smaller quantity."
        )
    return None


@bp.post("/cart/add")
def add_to_cart() -> Response:
    """Add a product (or the chosen variation) to the session cart."""
    product_id = request.form.get("product_id", type=int) or 0
    variation_id = request.form.get("variation_id", type=int) or 0
    quantity = request.form.get("quantity", type=int)
    back = url_for(".product_page", ident=product_id, variation_id=variation_id or None)
    resolved = _resolve(product_id, variation_id)
    if resolved is None:
        if _product(product_id) is None:
            abort(404)
        flash("Please choose a product option before adding it to your cart.", "error")
        return redirect(back)
    if quantity is None or not 1 <= quantity <= _MAX_QUANTITY:
        flash("Please enter a quantity of at least 1.", "error")
        return redirect(back)
    product, item = resolved
    cart = _cart()
    key = (product_id, variation_id)
    line = next((ln for ln in cart if (ln["product_id"], ln["variation_id"]) == key), None)
    in_cart = line["quantity"] if line else 0
    problem = _stock_problem(product, item, in_cart + quantity)
    if problem:
        if in_cart:
            problem += f" You already have {in_cart} in your cart."
        flash(problem, "error")
        return redirect(back)
    if line:
        line["quantity"] += quantity
    else:
        cart.append({"product_id": product_id, "variation_id": variation_id, "quantity": quantity})
    _save_cart(cart)
    flash(f'{quantity} × "{_item_name(product, item)}" added to your cart.', "info")
    return redirect(url_for(".cart"))


def _cart_lines() -> tuple[list[dict[str, Any]], Decimal]:
    lines = []
    total = Decimal("0")
    for entry in _cart():
        resolved = _resolve(entry["product_id"], entry["variation_id"])
        if resolved is None:
            continue
        product, item = resolved
        price = _money(item.get("price"))
        subtotal = price * entry["quantity"]
        total += subtotal
        lines.append(
            {
                **entry,
                "name": _item_name(product, item),
                "price": price,
                "subtotal": subtotal,
                "button": button_state(item),
                "problem": _stock_problem(product, item, entry["quantity"]),
            }
        )
    return lines, total


@bp.get("/cart")
def cart() -> str:
    """The cart with line totals."""
    lines, total = _cart_lines()
    return render_template("storefront/cart.html", lines=lines, total=total)


@bp.post("/cart/remove")
def remove_from_cart() -> Response:
    """Remove one line from the cart."""
    product_id = request.form.get("product_id", type=int)
    variation_id = request.form.get("variation_id", type=int) or 0
    cart = [
        ln
        for ln in _cart()
        if not (ln["product_id"] == product_id and ln["variation_id"] == variation_id)
    ]
    _save_cart(cart)
    return redirect(url_for(".cart"))


# ----------------------------------------------------------------- checkout


def _validate_checkout(form: dict[str, str]) -> dict[str, str]:
    errors = {}
    for key, label in CHECKOUT_FIELDS:
        if not form.get(key, "").strip():
            errors[key] = f"{label} is required."
    email = form.get("email", "").strip()
    if email and not _EMAIL.match(email):
        errors["email"] = "Please enter a valid email address."
    country = form.get("country", "").strip()
    if country and not re.fullmatch(r"[A-Za-z]{2}", country):
        errors["country"] = "Please enter a two-letter country code, e.g. GB."
    if form.get("payment_method") not in PAYMENT_METHODS:
        errors["payment_method"] = "Please choose a payment method."
    return errors


@bp.route("/checkout", methods=["GET", "POST"])
def checkout() -> Response | str | tuple[str, int]:
    """Billing details and payment method; POST places the order."""
    lines, total = _cart_lines()
    if not lines:
        flash("Your cart is empty.", "info")
        return redirect(url_for(".cart"))
    if request.method == "GET":
        return render_template(
            "storefront/checkout.html",
            lines=lines,
            total=total,
            form={"payment_method": "bacs"},
            errors={},
            fields=CHECKOUT_FIELDS,
            methods=PAYMENT_METHODS,
        )
    form = {key: request.form.get(key, "").strip() for key, _ in CHECKOUT_FIELDS}
    form["payment_method"] = request.form.get("payment_method", "")
    errors = _validate_checkout(form)
    # Stock may have changed since the items were added (check_cart_item_stock at checkout).
    problems = [line["problem"] for line in lines if line["problem"]]
    for problem in problems:
        flash(problem, "error")
    if errors or problems:
        page = render_template(
            "storefront/checkout.html",
            lines=lines,
            total=total,
            form=form,
            errors=errors,
            fields=CHECKOUT_FIELDS,
            methods=PAYMENT_METHODS,
        )
        return page, 400
    order = _store().create_order(_order_data(form, lines), created_via="checkout")
    _save_cart([])
    session.setdefault("orders", [])
    session["orders"] = [*session["orders"], int(order["id"])][-20:]
    return redirect(url_for(".order_received", order_id=order["id"], key=order.get("order_key")))


def _order_data(form: dict[str, str], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The REST-style order body a WooCommerce checkout would produce."""
    method = PAYMENT_METHODS[form["payment_method"]]
    address = {
        "first_name": form["first_name"],
        "last_name": form["last_name"],
        "address_1": form["address_1"],
        "city": form["city"],
        "postcode": form["postcode"],
        "country": form["country"].upper(),
    }
    return {
        "payment_method": form["payment_method"],
        "payment_method_title": method["title"],
        # A card payment leaves the order pending and completes the payment (set_paid), which
        # moves it to processing, sets date_paid and reduces stock (WC_Order::payment_complete).
        **({"status": method["status"]} if method["status"] else {}),
        "set_paid": method["set_paid"],
        "billing": {**address, "email": form["email"]},
        "shipping": dict(address),
        "line_items": [
            {
                "product_id": line["product_id"],
                **({"variation_id": line["variation_id"]} if line["variation_id"] else {}),
                "quantity": line["quantity"],
            }
            for line in lines
        ],
    }


@bp.get("/order-received/<int:order_id>")
def order_received(order_id: int) -> str:
    """Thank-you page with the order number."""
    order = _store().order_json(order_id)
    key = request.args.get("key")
    allowed = order is not None and (
        order_id in session.get("orders", []) or (key and key == order.get("order_key"))
    )
    if not allowed:
        abort(404)
    return render_template("storefront/order_received.html", order=order)
