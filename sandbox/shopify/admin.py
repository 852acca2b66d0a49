"""The sandbox's own controls (no Shopify counterpart), unauthenticated: it is a local double.

- ``GET``/``POST /sandbox/faults``: the fault switches (``sandbox.faults``), changed at runtime;
  400 ``{"error"}`` and nothing changed when a key or value is invalid.
- ``GET /sandbox/deliveries``: the webhook attempts, newest first (``?limit=``, default 100).
- ``POST /sandbox/deliveries/flush``: send every waiting attempt now (retries too) and wait
  until none is left (``?timeout=`` seconds, default 10): 200 ``{"idle": true}`` or 504.
- ``POST /sandbox/shopify/products``: add a product (``title``, ``variants`` of ``title``,
  ``sku``, ``price``, ``policy`` DENY/CONTINUE, ``tracked``, ``stock`` by location gid;
  ``status`` ACTIVE (default), DRAFT or ARCHIVED; ``online_store`` false leaves it unpublished
  from the online store: no storefront page and a null ``onlineStoreUrl``).
- ``POST /sandbox/shopify/stock``: ``{"sku", "location": name, "delta": n}`` receives (or takes
  away) available units of a variant at a location, as ``inventoryAdjustQuantities`` does (and
  with its ``inventory_levels/update`` webhook): for trying a release by hand.
- ``POST /sandbox/shopify/clock``: ``{"advance_seconds": n}`` moves the shop's clock forward
  (authorisations expire on it).
- ``GET /sandbox/shopify/invoices``: the invoices ``orderInvoiceSend`` e-mailed to customers.
- ``POST /sandbox/shopify/bucket``: ``{"maximum": n, "restore_rate": r}`` resizes the API's
  leaky buckets.
- ``GET /sandbox/shopify/apps``; ``POST /sandbox/shopify/apps/<client_id>`` with
  ``redirect_urls`` and ``compliance_url``.
- ``POST /sandbox/shopify/compliance/<topic>`` (``customers-data-request``,
  ``customers-redact``, ``shop-redact``) with ``client_id`` and, for the customer topics,
  ``customer_id`` (a gid): delivers the mandatory compliance webhook to the app's address.
- ``GET``/``POST /sandbox/widget`` ``{"url": ...}``: the script every storefront page loads (a
  Shopify app's app embed block), changed while the shop runs; ``null`` removes it; 400 unless
  an absolute http(s) URL or null (sandbox/widget.py).
- ``POST /sandbox/shopify/uninstall`` ``{"client_id"}``: the merchant uninstalls the app: its
  tokens stop working, ``app/uninstalled`` goes to its subscriptions, which are then deleted.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request

from sandbox.shopify import catalog, rest, subscriptions
from sandbox.shopify.shop import Event
from sandbox.shopify.user_errors import UserErrors
from sandbox.widget import widget_url_from

bp = Blueprint("shopify_sandbox_admin", __name__)

_MAX_FLUSH_SECONDS = 120.0
PRODUCT_STATUSES = ("ACTIVE", "DRAFT", "ARCHIVED")  # ProductStatus (schema 2025-01)
COMPLIANCE_TOPICS = {
    "customers-data-request": "customers/data_request",
    "customers-redact": "customers/redact",
    "shop-redact": "shop/redact",
}


def _state() -> Any:
    return current_app.extensions["shopify_sandbox"]


def _bad(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def _payload() -> dict[str, Any] | None:
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else None


@bp.get("/sandbox/faults")
def get_faults() -> Response:
    """The fault switches."""
    return jsonify(_state().faults.snapshot())


@bp.post("/sandbox/faults")
def update_faults() -> Any:
    """Change some fault switches."""
    payload = _payload()
    if payload is None:
        return _bad("expected a JSON object")
    try:
        return jsonify(_state().faults.update(payload))
    except ValueError as exc:
        return _bad(str(exc))


@bp.get("/sandbox/deliveries")
def list_deliveries() -> Any:
    """Webhook attempts, newest first."""
    try:
        limit = int(request.args.get("limit", "100"))
    except ValueError:
        return _bad("limit must be an integer")
    return jsonify(_state().deliverer.deliveries(limit=limit))


@bp.post("/sandbox/deliveries/flush")
def flush_deliveries() -> Any:
    """Send the waiting attempts now and wait for them."""
    try:
        timeout = min(float(request.args.get("timeout", "10")), _MAX_FLUSH_SECONDS)
    except ValueError:
        return _bad("timeout must be a number")
    deliverer = _state().deliverer
    deliverer.run_queue()
    idle = deliverer.wait_idle(timeout)
    return jsonify({"idle": idle}), 200 if idle else 504


@bp.post("/sandbox/shopify/products")
def add_product() -> Any:
    """Add a product with variants and stock."""
    payload = _payload()
    shop = _state().shop
    if payload is None or not isinstance(payload.get("title"), str) or not payload["title"]:
        return _bad("expected {title, variants: [...]}")
    status = payload.get("status", "ACTIVE")
    if status not in PRODUCT_STATUSES:
        return _bad("status must be ACTIVE, DRAFT or ARCHIVED")
    online_store = payload.get("online_store", True)
    if not isinstance(online_store, bool):
        return _bad("online_store must be true or false")
    variants = payload.get("variants") or [{}]
    if not isinstance(variants, list) or not all(isinstance(v, dict) for v in variants):
        return _bad("variants must be a list of objects")
    for spec in variants:
        problem = _variant_problem(shop, spec)
        if problem:
            return _bad(problem)
    with shop.request():
        product = catalog.create_product(
            shop,
            payload["title"],
            variants,
            tags=payload.get("tags"),
            status=status,
            online_store=online_store,
        )
    return jsonify(_describe(shop, product)), 201


@bp.post("/sandbox/shopify/stock")
def receive_stock() -> Any:
    """Adjust a variant's available units at a location (by SKU and location name)."""
    payload = _payload() or {}
    delta = payload.get("delta")
    if isinstance(delta, bool) or not isinstance(delta, int):
        return _bad("expected {sku, location, delta: an integer}")
    shop = _state().shop
    with shop.request():
        variant = next(
            (v for v in shop.table("variants").values() if v.get("sku") == payload.get("sku")),
            None,
        )
        location = next(
            (
                place["id"]
                for place in shop.table("locations").values()
                if place.get("name") == payload.get("location")
            ),
            None,
        )
        if variant is None or location is None:
            return _bad("unknown sku or location name", 404)
        change = {"inventoryItemId": variant["_item"], "locationId": location, "delta": delta}
        try:
            catalog.adjust_quantities(shop, "received", "available", None, [change])
        except UserErrors as refusal:
            return _bad("; ".join(p.message for p in refusal.problems))
    return jsonify({"sku": variant["sku"], "location": payload["location"], "delta": delta})


def _variant_problem(shop: Any, spec: dict[str, Any]) -> str | None:
    if spec.get("policy", "DENY") not in ("DENY", "CONTINUE"):
        return "policy must be DENY or CONTINUE"
    try:
        if Decimal(str(spec.get("price", "0"))) < 0:
            return "price must be >= 0"
    except InvalidOperation:
        return "price must be a decimal"
    stock = spec.get("stock", {})
    if not isinstance(stock, dict):
        return "stock must map location gids to quantities"
    for location, quantity in stock.items():
        if location not in shop.table("locations"):
            return f"unknown location {location}"
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            return "stock quantities must be integers"
    return None


def _describe(shop: Any, product: dict[str, Any]) -> dict[str, Any]:
    variants = shop.children("variants", product["_variants"])
    return {
        "id": product["id"],
        "handle": product["handle"],
        "variants": [
            {"id": v["id"], "sku": v["sku"], "inventory_item_id": v["_item"]} for v in variants
        ],
    }


@bp.get("/sandbox/widget")
def get_widget() -> Response:
    """The storefront's widget script URL, or null."""
    return jsonify({"url": _state().widget_url})


@bp.post("/sandbox/widget")
def set_widget() -> Any:
    """Set (or, with null, remove) the script every storefront page loads."""
    try:
        _state().widget_url = widget_url_from(request.get_json(silent=True))
    except ValueError as error:
        return _bad(str(error))
    return jsonify({"url": _state().widget_url})


@bp.post("/sandbox/shopify/clock")
def advance_clock() -> Any:
    """Move the shop's clock forward."""
    payload = _payload() or {}
    seconds = payload.get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return _bad("expected {advance_seconds: a number >= 0}")
    shop = _state().shop
    with shop.request():
        shop.clock_offset += float(seconds)
    return jsonify({"now": shop.now_iso(), "offset_seconds": shop.clock_offset})


@bp.get("/sandbox/shopify/invoices")
def list_invoices() -> Response:
    """The invoices `orderInvoiceSend` e-mailed to customers, oldest first."""
    shop = _state().shop
    with shop.request(write=False):
        sent = sorted(shop.table("invoices").values(), key=lambda invoice: invoice["id"])
    return jsonify(sent)


@bp.post("/sandbox/shopify/bucket")
def configure_bucket() -> Any:
    """Resize the leaky buckets (all start full again)."""
    payload = _payload() or {}
    maximum, rate = payload.get("maximum"), payload.get("restore_rate")
    numbers = [v for v in (maximum, rate) if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != 2 or maximum <= 0 or rate < 0:  # type: ignore[operator]
        return _bad("expected {maximum: > 0, restore_rate: >= 0}")
    bucket = _state().bucket
    bucket.configure(maximum, rate)
    return jsonify({"maximum": bucket.maximum, "restore_rate": bucket.restore_rate})


@bp.get("/sandbox/shopify/apps")
def list_apps() -> Response:
    """The installed apps (no secrets)."""
    return jsonify(_state().apps.describe())


@bp.post("/sandbox/shopify/apps/<client_id>")
def configure_app(client_id: str) -> Any:
    """Set an app's allowed redirection URLs and compliance webhook address."""
    app = _state().apps.by_client_id.get(client_id)
    payload = _payload()
    if app is None:
        return _bad("unknown client_id", 404)
    if payload is None:
        return _bad("expected a JSON object")
    urls = payload.get("redirect_urls", app.redirect_urls)
    compliance = payload.get("compliance_url", app.compliance_url)
    if not isinstance(urls, list) or not all(_is_url(u) for u in urls):
        return _bad("redirect_urls must be a list of absolute http(s) URLs")
    if compliance is not None and not _is_url(compliance):
        return _bad("compliance_url must be an absolute http(s) URL or null")
    app.redirect_urls, app.compliance_url = list(urls), compliance
    return jsonify(_state().apps.describe())


def _is_url(value: Any) -> bool:
    return (
        isinstance(value, str)
        and urlsplit(value).scheme in ("http", "https")
        and bool(urlsplit(value).netloc)
    )


@bp.post("/sandbox/shopify/compliance/<name>")
def send_compliance(name: str) -> Any:
    """Deliver a mandatory compliance webhook to an app."""
    state = _state()
    topic = COMPLIANCE_TOPICS.get(name)
    payload = _payload() or {}
    app = state.apps.by_client_id.get(str(payload.get("client_id", "")))
    if topic is None:
        return _bad(f"unknown topic; known: {', '.join(COMPLIANCE_TOPICS)}", 404)
    if app is None:
        return _bad("unknown client_id")
    if not app.compliance_url:
        return _bad("the app has no compliance_url (POST /sandbox/shopify/apps/<client_id>)")
    shop = state.shop
    with shop.lock:
        if topic == "shop/redact":
            body = rest.shop_redact(shop)
        else:
            customer = shop.get(str(payload.get("customer_id", "")), "Customer")
            if customer is None:
                return _bad("unknown customer_id")
            if topic == "customers/data_request":
                request_id = shop.next_number("data_request", start=9001)
                body = rest.customer_request(shop, customer, "orders_requested", request_id)
            else:
                body = rest.customer_request(shop, customer, "orders_to_redact", None)
    event_id = state.deliverer.send_to_app(app, topic, app.compliance_url, body)
    return jsonify({"topic": topic, "event_id": event_id, "body": body}), 202


@bp.post("/sandbox/shopify/uninstall")
def uninstall() -> Any:
    """The merchant uninstalls an app."""
    state = _state()
    payload = _payload() or {}
    app = state.apps.by_client_id.get(str(payload.get("client_id", "")))
    if app is None:
        return _bad("unknown client_id")
    shop = state.shop
    with shop.lock:
        event = Event("app/uninstalled", app.id, rest.shop_body(shop), shop.now_iso())
        revoked = state.apps.revoke(app)
        state.deliverer.on_events([event], only_app=app.id)
        for subscription in subscriptions.of_app(shop, app.id):
            del shop.table("webhooks")[subscription["id"]]
        shop.save()
    return jsonify({"revoked_tokens": revoked}), 202
