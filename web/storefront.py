"""The storefront widget (`widget.js`) and its public availability JSON.

A shop page loads `/storefront/<store_id>/widget.js`; the script asks
`/storefront/<store_id>/availability?product_ids=1,2,3` what to show. The JSON is public, so it
holds only what a product page shows anyway. Shoppers never reach the store through us more
than once per product every CACHE_S seconds (a Redis cache), and each IP is rate-limited.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import Blueprint, Response, abort, jsonify, render_template, request

from plugin.errors import BackordersError
from plugin.storage.reports import open_backorder_quantities
from plugin.storage.repositories import SqlPolicyStore, StoreRecord
from web.auth import services, store_client

logger = logging.getLogger(__name__)

bp = Blueprint("storefront_widget", __name__)

CACHE_S = 30  # product availability kept in Redis; also the browser's max-age
MAX_PRODUCTS = 50
RATE_LIMIT = 120  # availability requests per IP and minute
PRODUCT_IDS = re.compile(r"^[0-9]{1,18}(,[0-9]{1,18})*$")


def _connected_store(store_id: int) -> StoreRecord:
    store = services().stores.get(store_id)
    if store is None or not store.is_connected:
        abort(404)
    return store


def store_origin(store: StoreRecord) -> str:
    """scheme://host[:port] of the store's site: the only origin the JSON is shared with."""
    parts = urlsplit(store.base_url)
    return f"{parts.scheme}://{parts.netloc}"


@bp.get("/storefront/<int:store_id>/widget.js")
def widget(store_id: int) -> Response:
    """The widget script for one store."""
    _connected_store(store_id)
    body = render_template("storefront/widget.js", store_id=store_id)
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _rate_limited(connection: redis.Redis, store_id: int) -> bool:
    """Count this request in the IP's one-minute window; True when over the limit."""
    ip = request.remote_addr or "unknown"
    key = f"backorders:widget:rate:{store_id}:{ip}"
    pipe = connection.pipeline()
    pipe.set(key, 0, ex=60, nx=True)  # the window starts with the first request
    pipe.incr(key)
    _, count = pipe.execute()
    return int(count) > RATE_LIMIT


def _cors(response: Response, store: StoreRecord) -> Response:
    origin = request.headers.get("Origin")
    if origin and origin == store_origin(store):
        response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
    return response


@bp.get("/storefront/<int:store_id>/availability")
def availability(store_id: int) -> Response | tuple[Response, int]:
    """Per product: whether it may be backordered, stock, cap, expected date and message."""
    store = _connected_store(store_id)
    raw = request.args.get("product_ids", "").replace(" ", "")
    if not PRODUCT_IDS.match(raw):
        return _cors(jsonify(error="product_ids must be ids separated by commas"), store), 400
    ids = list(dict.fromkeys(int(i) for i in raw.split(",")))[:MAX_PRODUCTS]
    connection = services().redis
    try:
        if _rate_limited(connection, store.id):
            response = _cors(jsonify(error="too many requests"), store)
            response.headers["Retry-After"] = "60"
            return response, 429
        products = _products(store, ids, connection)
    except redis.RedisError:
        # Without the cache and the limiter, shoppers would reach the store directly: refuse.
        logger.warning("event=widget_redis_unavailable store_id=%s", store.id)
        return _cors(jsonify(error="unavailable"), store), 503
    except (BackordersError, ValueError) as error:
        logger.info("event=widget_store_unreachable store_id=%s error=%s", store.id, error)
        return _cors(jsonify(error="unavailable"), store), 503
    response = _cors(jsonify(products=products), store)
    response.headers["Cache-Control"] = f"public, max-age={CACHE_S}"
    return response


def _cache_key(store_id: int, product_id: int) -> str:
    return f"backorders:widget:product:{store_id}:{product_id}"


def _products(store: StoreRecord, ids: list[int], connection: redis.Redis) -> dict[str, Any]:
    """Availability by product id (as strings), from the cache or one request to the store."""
    cached: list[Any] = connection.mget([_cache_key(store.id, i) for i in ids])
    found = {i: json.loads(c) for i, c in zip(ids, cached, strict=True) if c is not None}
    missing = [i for i in ids if i not in found]
    if missing:
        fetched = {int(p["id"]): p for p in store_client(store, timeout=5).get_products(missing)}
        policies = {
            p.ref.product_id: p
            for p in SqlPolicyStore(services().db).product_policies(store.id)
            if p.ref.variant_id is None
        }
        open_qty = open_backorder_quantities(services().db, store.id)
        pipe = connection.pipeline()
        for product_id in missing:
            product = fetched.get(product_id)
            entry = (
                _availability(product, policies.get(str(product_id)), open_qty)
                if product is not None
                else None
            )
            found[product_id] = entry
            pipe.set(_cache_key(store.id, product_id), json.dumps(entry), ex=CACHE_S)
        pipe.execute()
    return {str(i): found[i] for i in ids if found.get(i) is not None}


def _availability(
    product: dict[str, Any], policy: Any, open_qty: dict[tuple[str, str | None], int]
) -> dict[str, Any]:
    """What the widget needs of one product (WooCommerce product fields: products.md)."""
    product_id = str(product["id"])
    managed = bool(product.get("manage_stock"))
    quantity = int(product.get("stock_quantity") or 0) if managed else None
    status = str(product.get("stock_status", "instock"))
    in_stock = max(quantity, 0) if quantity is not None else (None if status == "instock" else 0)
    allowed = product.get("backorders", "no") in ("notify", "yes")
    if policy is not None and policy.allow_backorder is not None:
        allowed = allowed and policy.allow_backorder  # the store must accept the order too
    remaining = None
    if allowed and policy is not None and policy.cap is not None:
        on_backorder = sum(q for (pid, _v), q in open_qty.items() if pid == product_id)
        remaining = max(policy.cap - on_backorder, 0)
    return {
        "backorder_allowed": allowed,
        "in_stock": in_stock,
        "backorder_remaining": remaining,  # None: no cap
        "expected_date": policy.expected_date.isoformat()
        if policy and policy.expected_date
        else None,
        "message": policy.message if policy else "",
        "out_of_stock": in_stock == 0,
    }
