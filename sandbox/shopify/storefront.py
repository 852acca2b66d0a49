"""The shop's storefront: catalogue, session cart and checkout, server-rendered HTML.

A variant shows "Add to cart" while units are available, "Backorder" when none are and its
``inventoryPolicy`` is ``CONTINUE`` (Shopify keeps selling it), and "Sold out" (disabled) when
none are and the policy is ``DENY``. Checkout offers three payments, as a shop has them:

- ``card``: Shopify Payments with manual capture: an AUTHORIZATION, not captured
  (``displayFinancialStatus`` AUTHORIZED; it expires after ``authorization_days``);
- ``manual``: a manual payment method (bank transfer): no transaction, PENDING;
- ``paid``: automatic capture: a SALE, PAID.

Each product a shopper can open (ACTIVE and on the online store: ``catalog.on_online_store``)
has a page at its ``onlineStoreUrl``, ``/products/<handle>[?variant=<number>]``, as a theme's
product template: ``#product[data-product-id][data-variation-id]`` (product and variant
numbers, the variant left empty for a product with only the default variant; the ids the
storefront widget asks about), ``#choose-variant`` (``select[name=variant]``), and
``#add-to-cart-form`` with ``#quantity`` and ``#add-to-cart`` (``data-stock`` and label as
below). When a widget URL is set (``--widget-url`` or ``POST /sandbox/widget``, as an app embed
block adds an app's script), every page loads ``<script src="..." defer>``.

Stable selectors: ``.variant[data-variant-id][data-stock]`` (``in_stock``, ``backorder``,
``sold_out``), its ``button.add`` ("Add to cart", "Backorder", "Sold out"), ``#cart-count``,
``#cart .cart-line[data-variant-id]``, ``#checkout-form`` (``#email``, ``#first_name``,
``#last_name``, ``input[name=payment]``), ``.field-error[data-field]``, ``.flash``, and
``#thank-you[data-order-id][data-order-name][data-financial-status]``.
"""

from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from sandbox.shopify import catalog, gid, orders
from sandbox.shopify.shop import money
from sandbox.shopify.user_errors import UserErrors

bp = Blueprint("shopify_storefront", __name__, template_folder="templates")
PAYMENTS = {
    orders.CARD: "Card (authorised now, charged when it ships)",
    orders.MANUAL: "Bank transfer (manual payment)",
    orders.PAID: "Card, charged now",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _shop() -> Any:
    return current_app.extensions["shopify_sandbox"].shop


def stock_state(shop: Any, variant: dict[str, Any]) -> str:
    """``in_stock``, ``backorder`` or ``sold_out`` for the storefront's button."""
    item = shop.table("items")[variant["_item"]]
    if not item["tracked"] or catalog.variant_available(shop, variant) > 0:
        return "in_stock"
    return "backorder" if variant["inventoryPolicy"] == "CONTINUE" else "sold_out"


def _variant_view(shop: Any, variant: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": variant["id"],
        "number": str(gid.number(variant["id"])),
        "title": variant["title"],
        "price": variant["price"],
        "available": catalog.variant_available(shop, variant),
        "state": stock_state(shop, variant),
    }


def _cart() -> dict[str, int]:
    cart = session.get("cart")
    return cart if isinstance(cart, dict) else {}


@bp.app_context_processor
def _page_context() -> dict[str, Any]:
    return {
        "cart_count": sum(_cart().values()),
        "widget_url": current_app.extensions["shopify_sandbox"].widget_url,
    }


@bp.get("/")
def catalogue() -> str:
    """Every active product with its variants and what can be bought."""
    shop = _shop()
    with shop.lock:
        products = [
            {
                "title": p["title"],
                "handle": p["handle"],
                "variants": [
                    _variant_view(shop, v) for v in shop.children("variants", p["_variants"])
                ],
            }
            for p in shop.table("products").values()
            if catalog.on_online_store(p)
        ]
    return render_template("shopify/catalogue.html", products=products, shop=shop.info)


@bp.get("/products/<handle>")
def product_page(handle: str) -> Any:
    """A product's page with its chosen variant (``?variant=``, else the first one available
    for sale, else the first): 404 unless a shopper can open it."""
    shop = _shop()
    with shop.lock:
        product = next(
            (
                p
                for p in shop.table("products").values()
                if p["handle"] == handle and catalog.on_online_store(p)
            ),
            None,
        )
        if product is None:
            return render_template("shopify/oauth_error.html", message="No such product."), 404
        variants = [_variant_view(shop, v) for v in shop.children("variants", product["_variants"])]
    if not variants:
        return render_template("shopify/oauth_error.html", message="No such product."), 404
    asked = request.args.get("variant", "")
    chosen = next((v for v in variants if v["number"] == asked), None) or next(
        (v for v in variants if v["state"] != "sold_out"), variants[0]
    )
    only_default = len(variants) == 1 and variants[0]["title"] == "Default Title"
    return render_template(
        "shopify/product.html",
        product={"title": product["title"], "handle": handle, "number": gid.number(product["id"])},
        variants=variants,
        chosen=chosen,
        only_default=only_default,
        shop=shop.info,
    )


@bp.post("/cart/add")
def add_to_cart() -> Response:
    """Put units of a variant in the cart (not beyond stock for a DENY variant)."""
    shop = _shop()
    variant_id = request.form.get("variant_id", "")
    try:
        quantity = int(request.form.get("quantity", "1"))
    except ValueError:
        quantity = 0
    cart = _cart()
    with shop.lock:
        variant = shop.get(variant_id, "ProductVariant")
        if variant is None or quantity < 1:
            flash("Choose a product and a quantity of at least 1.", "error")
            return redirect(url_for(".catalogue"))
        state = stock_state(shop, variant)
        wanted = cart.get(variant_id, 0) + quantity
        available = catalog.variant_available(shop, variant)
        item = shop.table("items")[variant["_item"]]
        if variant["inventoryPolicy"] == "DENY" and item["tracked"] and wanted > available:
            flash(
                f"Only {max(available, 0)} of {orders.variant_display(shop, variant)} left.",
                "error",
            )
            return redirect(url_for(".catalogue"))
        name = orders.variant_display(shop, variant)
    cart[variant_id] = wanted
    session["cart"] = cart
    flash(f"{name} {'backordered' if state == 'backorder' else 'added to your cart'}.", "info")
    return redirect(url_for(".catalogue"))


def _lines(shop: Any) -> list[dict[str, Any]]:
    lines = []
    for variant_id, quantity in _cart().items():
        variant = shop.get(variant_id, "ProductVariant")
        if variant is not None:
            lines.append(
                {
                    "variant": variant,
                    "quantity": quantity,
                    "name": orders.variant_display(shop, variant),
                    "state": stock_state(shop, variant),
                    "total": money(variant["price"]) * quantity,
                }
            )
    return lines


@bp.get("/cart")
def cart_page() -> str:
    """The cart, with a link to the checkout."""
    shop = _shop()
    with shop.lock:
        lines = _lines(shop)
    total = sum((line["total"] for line in lines), orders.ZERO)
    return render_template("shopify/cart.html", lines=lines, total=total, shop=shop.info)


@bp.post("/cart/remove")
def remove_from_cart() -> Response:
    """Take a variant out of the cart."""
    cart = _cart()
    cart.pop(request.form.get("variant_id", ""), None)
    session["cart"] = cart
    return redirect(url_for(".cart_page"))


@bp.get("/checkout")
def checkout_page() -> Any:
    """The checkout form."""
    if not _cart():
        return redirect(url_for(".cart_page"))
    return render_template(
        "shopify/checkout.html", errors={}, form={}, payments=PAYMENTS, shop=_shop().info
    )


@bp.post("/checkout")
def place_order() -> Any:
    """Create the order (orders/create) with the chosen payment."""
    shop = _shop()
    form = {
        k: request.form.get(k, "").strip() for k in ("email", "first_name", "last_name", "payment")
    }
    errors = {}
    if not _EMAIL.match(form["email"]):
        errors["email"] = "Enter a valid email."
    if not form["first_name"]:
        errors["first_name"] = "Enter a first name."
    if not form["last_name"]:
        errors["last_name"] = "Enter a last name."
    if form["payment"] not in PAYMENTS:
        errors["payment"] = "Choose a payment method."
    if not _cart():
        errors["cart"] = "Your cart is empty."
    if errors:
        return render_template(
            "shopify/checkout.html", errors=errors, form=form, payments=PAYMENTS, shop=shop.info
        ), 400
    try:
        with shop.request():
            lines = [
                {"variant": line["variant"], "quantity": line["quantity"]} for line in _lines(shop)
            ]
            customer = orders.customer_for(
                shop, form["email"], form["first_name"], form["last_name"]
            )
            order = orders.create_order(
                shop, lines, email=form["email"], customer=customer, payment=form["payment"]
            )
    except UserErrors as refusal:
        return render_template(
            "shopify/checkout.html",
            errors={"cart": str(refusal)},
            form=form,
            payments=PAYMENTS,
            shop=shop.info,
        ), 409
    session["cart"] = {}
    return redirect(url_for(".thank_you", number=order["_number"]))


@bp.get("/orders/<int:number>")
def thank_you(number: int) -> Any:
    """The order's thank-you page."""
    shop = _shop()
    with shop.lock:
        order = next((o for o in shop.table("orders").values() if o["_number"] == number), None)
        if order is None:
            return render_template("shopify/oauth_error.html", message="No such order."), 404
        status = orders.financial_status(shop, order)
        lines = orders.lines_of(shop, order)
    return render_template(
        "shopify/thank_you.html", order=order, status=status, lines=lines, shop=shop.info
    )
