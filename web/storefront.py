"""The storefront widget (`widget.js`) and its public availability JSON.

A shop page loads `/storefront/<store_id>/widget.js`; the script asks
`/storefront/<store_id>/availability?product_ids=1,2,12:15` what to show. The JSON is public and
unauthenticated, so:

- It answers only for what a shopper can open in the store: a published product without a
  password, and a published variation of such a product, as the platform tells them apart
  (`Catalogue.shelf_products`; WooCommerce: plugin/platforms/woocommerce/catalogue.py; Shopify:
  an ACTIVE product on the online store and its variants, named by variant number,
  plugin/platforms/shopify/shelf.py). Any other id is answered exactly like one that does not
  exist: left out.
- Every answer, "not found" included, is cached in Redis for CACHE_S seconds per id, and a
  product's variation ids with it, so ids made up by the caller reach the store once at most.
- One request reaches the store at most twice (its products in one call, the variations of at
  most one product in one more), each call through the store's shared rate limiter and within
  the widget's share of it (WIDGET_SHARE), waiting at most STORE_WAIT_S for a slot. Ids the
  store could not be asked about now are listed as "unknown" and not cached.
- Each IP has RATE_LIMIT requests a minute per store.
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

from plugin.adapters.redis.ratelimit import StoreRateLimiter
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.purchasing import SqlPurchasing
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.reports import open_backorder_quantities
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import ProductRef, free_units
from plugin.errors import BackordersError, RateLimited
from plugin.ports import ShelfItem
from web.auth import services

logger = logging.getLogger(__name__)

bp = Blueprint("storefront_widget", __name__)

CACHE_S = 30  # product availability kept in Redis; also the browser's max-age
MAX_PRODUCTS = 50  # ids per request (the widget asks in requests of 50)
# Products whose variations one request may name: the widget asks for the chosen variation of
# the product page only, and each such product costs a store call of its own.
MAX_VARIABLE_PRODUCTS = 1
RATE_LIMIT = 120  # availability requests per IP and minute
WIDGET_SHARE = 0.5  # of the store's API rate the widget may use; the rest is the workers'
STORE_WAIT_S = 0.5  # longest a request waits for a rate-limiter slot before answering "unknown"
STORE_TIMEOUT_S = 5.0
# "12" is a product; "12:15" is variation 15 of variable product 12.
_ITEM = r"[0-9]{1,18}(:[0-9]{1,18})?"
PRODUCT_IDS = re.compile(rf"{_ITEM}(,{_ITEM})*")


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
    if not PRODUCT_IDS.fullmatch(raw):
        return _cors(jsonify(error="product_ids must be ids separated by commas"), store), 400
    items = list(dict.fromkeys(_item(i) for i in raw.split(",")))
    if len(items) > MAX_PRODUCTS:
        return _cors(jsonify(error=f"at most {MAX_PRODUCTS} product ids"), store), 400
    if len({p for p, v in items if v is not None}) > MAX_VARIABLE_PRODUCTS:
        return _cors(jsonify(error="variations of one product at a time"), store), 400
    connection = services().redis
    try:
        if _rate_limited(connection, store.id):
            response = _cors(jsonify(error="too many requests"), store)
            response.headers["Retry-After"] = "60"
            return response, 429
        answers, unknown = _answers(store, items, connection)
    except redis.RedisError:
        # Without the cache and the limiter, shoppers would reach the store directly: refuse.
        logger.warning("event=widget_redis_unavailable store_id=%s", store.id)
        return _cors(jsonify(error="unavailable"), store), 503
    body: dict[str, Any] = {
        "products": {_item_key(i): answers[i] for i in items if answers.get(i) is not None}
    }
    if unknown:
        body["unknown"] = [_item_key(i) for i in unknown]
    response = _cors(jsonify(body), store)
    response.headers["Cache-Control"] = "no-store" if unknown else f"public, max-age={CACHE_S}"
    return response


Item = tuple[int, int | None]  # (product id, variation id or None)


def _item(text: str) -> Item:
    product, _, variation = text.partition(":")
    return int(product), int(variation) if variation else None


def _item_key(item: Item) -> str:
    return str(item[0]) if item[1] is None else f"{item[0]}:{item[1]}"


def _cache_key(store_id: int, item: Item) -> str:
    return f"backorders:widget:product:{store_id}:{_item_key(item)}"


def _variations_key(store_id: int, product_id: int) -> str:
    """Where a product's public variation ids are cached ([] when the product is not public)."""
    return f"backorders:widget:variations:{store_id}:{product_id}"


def _answers(
    store: StoreRecord, items: list[Item], connection: redis.Redis
) -> tuple[dict[Item, Any], list[Item]]:
    """Availability by item (None: not found) from the cache or the store, and the items the
    store could not be asked about now."""
    parents = sorted({p for p, v in items if v is not None})
    keys = [_cache_key(store.id, i) for i in items]
    cached: list[Any] = connection.mget(keys + [_variations_key(store.id, p) for p in parents])
    by_item, by_parent = cached[: len(items)], cached[len(items) :]
    answers = {i: json.loads(c) for i, c in zip(items, by_item, strict=True) if c is not None}
    listed = {p: json.loads(c) for p, c in zip(parents, by_parent, strict=True) if c is not None}
    missing = [i for i in items if i not in answers]
    if not missing:
        return answers, []
    found, new_lists, unknown = _read_store(store, missing, listed, connection)
    policies = {
        (p.ref.product_id, p.ref.variant_id): p
        for p in (SqlPolicyStore(services().db).product_policies(store.id) if found else [])
    }
    open_qty = open_backorder_quantities(services().db, store.id) if found else {}
    promised = SqlReleaseLedger(services().db).promised_units(store.id) if found else {}
    # Units a sent purchase order brings that no backorder has yet (issue 14).
    po_dates = SqlPurchasing(services().db).next_expected(store.id) if found else {}
    pipe = connection.pipeline()
    for item in missing:
        if item in unknown:
            continue
        product = found.get(item)
        # Our records' name for it (a Shopify variant's inventory item), else the page's ids.
        ref = (product.ref if product is not None else None) or ProductRef(
            str(item[0]), None if item[1] is None else str(item[1])
        )
        variant = ref.variant_id
        # A product-level policy applies to all its variations (plugin/adapters/sql/policies.py).
        policy = policies.get((ref.product_id, variant)) or policies.get((ref.product_id, None))
        answers[item] = (
            _availability(product, ref.product_id, variant, policy, open_qty, promised)
            if product is not None
            else None
        )
        po_date = po_dates.get(ref) or po_dates.get(ProductRef(ref.product_id))
        if answers[item] is not None and po_date is not None:
            answers[item]["expected_date"] = po_date.isoformat()
        pipe.set(_cache_key(store.id, item), json.dumps(answers[item]), ex=CACHE_S)
    for product_id, variation_ids in new_lists.items():
        pipe.set(_variations_key(store.id, product_id), json.dumps(variation_ids), ex=CACHE_S)
    pipe.execute()
    return answers, unknown


def _read_store(
    store: StoreRecord, missing: list[Item], listed: dict[int, list[int]], connection: redis.Redis
) -> tuple[dict[Item, ShelfItem], dict[int, list[int]], list[Item]]:
    """The public products and variations among `missing`, the variation ids of the products
    read, and the items left unknown because the store could not be asked (at most 2 calls)."""
    share = StoreRateLimiter(
        connection,
        store.id,
        store.api_rate_limit * WIDGET_SHARE,
        bucket="widget",
        max_wait=STORE_WAIT_S,
    )
    try:
        catalogue, limiter = services().registry.for_store(
            store, timeout=STORE_TIMEOUT_S, max_wait=STORE_WAIT_S, share=share
        )
    except ValueError as error:  # a store URL the client refuses (plain http off loopback)
        logger.info("event=widget_store_unread store_id=%s reason=%s", store.id, error)
        return {}, {}, missing
    found: dict[Item, ShelfItem] = {}
    new_lists: dict[int, list[int]] = {}
    # Products asked for, and the products of variations whose ids are not cached: one call.
    wanted = sorted({p for p, v in missing if v is None or p not in listed})
    if wanted:
        try:
            products = catalogue.shelf_products(wanted)
        except (BackordersError, ValueError) as error:
            _store_failed(store, limiter, error)
            return {}, {}, missing
        for product_id in wanted:
            product = products.get(product_id)
            if (product_id, None) in missing and product is not None:
                found[(product_id, None)] = product
            if product_id not in listed:
                new_lists[product_id] = list(product.variation_ids) if product else []
    lists = {**listed, **new_lists}
    # A variation not among its public product's variations is not asked for at all.
    variations = [(p, v) for p, v in missing if v is not None and v in lists.get(p, [])]
    if variations:
        parent = variations[0][0]  # one product per request (MAX_VARIABLE_PRODUCTS)
        try:
            read = catalogue.shelf_variations(parent, [v for _, v in variations], lists[parent])
        except (BackordersError, ValueError) as error:
            _store_failed(store, limiter, error)
            return found, new_lists, [(p, v) for p, v in variations]
        for variation_id, variation in read.items():
            found[(parent, variation_id)] = variation
    return found, new_lists, []


def _store_failed(store: StoreRecord, limiter: StoreRateLimiter, error: Exception) -> None:
    """Log why the store was not read; a 429 pauses the store for every process."""
    if isinstance(error, RateLimited) and error.retry_after:
        limiter.pause(error.retry_after)
    reason = error.reason if isinstance(error, BackordersError) else type(error).__name__
    logger.info("event=widget_store_unread store_id=%s reason=%s", store.id, reason)


def shown_in_stock(item: ShelfItem, promised: Mapping[ProductRef, int]) -> int | None:
    """Units a new order would get now, what "N in stock" shows: the stock figure it draws on
    (a variation's parent's when the parent keeps the stock) less the units released to
    orders awaiting payment (`promised`, per figure, from our records), by the rule a split
    uses (`free_units`). Units open backorders wait for are already out of the figure (their
    orders took them). None when the store does not count it and it is in stock."""
    figure = item.figure
    if figure.quantity is None:
        return None if item.counted_in_stock else 0
    return free_units(figure.quantity, 0, promised.get(figure.pool, 0))


def _availability(
    item: ShelfItem,
    product_id: str,
    variant_id: str | None,
    policy: Any,
    open_qty: dict[tuple[str, str | None], int],
    promised: Mapping[ProductRef, int],
) -> dict[str, Any]:
    """What the widget needs of one product or variation."""
    in_stock = shown_in_stock(item, promised)
    allowed = item.backorders_allowed
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
