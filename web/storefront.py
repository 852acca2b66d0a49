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
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import Blueprint, Response, abort, jsonify, render_template, request

from plugin.connectors.woocommerce.mapping import stock_figure
from plugin.core.model import ProductRef, free_units
from plugin.errors import BackordersError
from plugin.storage.releases import SqlReleaseLedger
from plugin.storage.reports import open_backorder_quantities
from plugin.storage.repositories import SqlPolicyStore, StoreRecord
from web.auth import services, store_client

logger = logging.getLogger(__name__)

bp = Blueprint("storefront_widget", __name__)

CACHE_S = 30  # product availability kept in Redis; also the browser's max-age
MAX_PRODUCTS = 50
RATE_LIMIT = 120  # availability requests per IP and minute
# "12" is a product; "12:15" is variation 15 of variable product 12.
_ITEM = r"[0-9]{1,18}(:[0-9]{1,18})?"
PRODUCT_IDS = re.compile(rf"^{_ITEM}(,{_ITEM})*$")


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
    ids = list(dict.fromkeys(_item(i) for i in raw.split(",")))[:MAX_PRODUCTS]
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


Item = tuple[int, int | None]  # (product id, variation id or None)


def _item(text: str) -> Item:
    product, _, variation = text.partition(":")
    return int(product), int(variation) if variation else None


def _item_key(item: Item) -> str:
    return str(item[0]) if item[1] is None else f"{item[0]}:{item[1]}"


def _cache_key(store_id: int, item: Item) -> str:
    return f"backorders:widget:product:{store_id}:{_item_key(item)}"


def _fetch(store: StoreRecord, items: list[Item]) -> dict[Item, dict[str, Any]]:
    """Products in one request, and each variable product's asked-for variations in one more."""
    client = store_client(store, timeout=5)
    found: dict[Item, dict[str, Any]] = {}
    products = [p for p, v in items if v is None]
    if products:
        found.update({(int(p["id"]), None): p for p in client.get_products(products)})
    by_parent: dict[int, list[int]] = {}
    for parent, variation in items:
        if variation is not None:
            by_parent.setdefault(parent, []).append(variation)
    for parent, variations in by_parent.items():
        for variation in client.get_variations(parent, variations):
            found[(parent, int(variation["id"]))] = variation
    return found


def _products(store: StoreRecord, ids: list[Item], connection: redis.Redis) -> dict[str, Any]:
    """Availability by product id (or "product:variation"), from the cache or the store."""
    cached: list[Any] = connection.mget([_cache_key(store.id, i) for i in ids])
    found = {i: json.loads(c) for i, c in zip(ids, cached, strict=True) if c is not None}
    missing = [i for i in ids if i not in found]
    if missing:
        fetched = _fetch(store, missing)
        policies = {
            (p.ref.product_id, p.ref.variant_id): p
            for p in SqlPolicyStore(services().db).product_policies(store.id)
        }
        open_qty = open_backorder_quantities(services().db, store.id)
        promised = SqlReleaseLedger(services().db).promised_units(store.id)
        pipe = connection.pipeline()
        for item in missing:
            product = fetched.get(item)
            variant = None if item[1] is None else str(item[1])
            # A product-level policy applies to all its variations (repositories.py).
            policy = policies.get((str(item[0]), variant)) or policies.get((str(item[0]), None))
            entry = (
                _availability(product, str(item[0]), variant, policy, open_qty, promised)
                if product is not None
                else None
            )
            found[item] = entry
            pipe.set(_cache_key(store.id, item), json.dumps(entry), ex=CACHE_S)
        pipe.execute()
    return {_item_key(i): found[i] for i in ids if found.get(i) is not None}


def shown_in_stock(
    product: Mapping[str, Any], ref: ProductRef, promised: Mapping[ProductRef, int]
) -> int | None:
    """Units a new order would get now, what "N in stock" shows: the stock figure it draws on
    (a variation's parent's when the parent keeps the stock) less the units released to
    orders awaiting payment (`promised`, per figure, from our records), by the rule a split
    uses (`free_units`). Units open backorders wait for are already out of the figure (their
    orders took them). None when the store does not count it and it is in stock."""
    figure = stock_figure(ref, product)
    if figure.quantity is None:
        return None if str(product.get("stock_status", "instock")) == "instock" else 0
    return free_units(figure.quantity, 0, promised.get(figure.pool, 0))


def _availability(
    product: dict[str, Any],
    product_id: str,
    variant_id: str | None,
    policy: Any,
    open_qty: dict[tuple[str, str | None], int],
    promised: Mapping[ProductRef, int],
) -> dict[str, Any]:
    """What the widget needs of one product or variation (WooCommerce fields: products.md)."""
    in_stock = shown_in_stock(product, ProductRef(product_id, variant_id), promised)
    allowed = product.get("backorders", "no") in ("notify", "yes")
    if policy is not None and policy.allow_backorder is not None:
        allowed = allowed and policy.allow_backorder  # the store must accept the order too
    remaining = None
    if allowed and policy is not None and policy.cap is not None:
        on_backorder = sum(
            q
            for (pid, vid), q in open_qty.items()
            if pid == product_id and (policy.ref.variant_id is None or vid == variant_id)
        )
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
