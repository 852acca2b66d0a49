"""WooCommerce REST API v3 under /wp-json/wc/v3 (shapes from ../shared/reference/woocommerce)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlencode

from flask import Blueprint, Response, current_app, g, request

from sandbox.errors import ApiError, invalid_param
from sandbox.store import Store, parse_iso

bp = Blueprint("sandbox_rest", __name__)

# WP_REST_Server: the batch endpoints accept at most 100 objects (orders.md "Batch update").
BATCH_LIMIT = 100


def _ext() -> dict[str, Any]:
    ext: dict[str, Any] = current_app.extensions["sandbox"]
    return ext


def _store() -> Store:
    store: Store = _ext()["store"]
    return store


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    fields = request.args.get("_fields")
    if fields and status < 300:
        data = _only_fields(data, [f.strip() for f in fields.split(",") if f.strip()])
    response = Response(json.dumps(data), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _only_fields(data: Any, fields: list[str]) -> Any:
    """WordPress ``_fields``: keep the named (dotted for nested) keys; ``_links`` only if named."""
    if isinstance(data, list):
        return [_only_fields(item, fields) for item in data]
    if not isinstance(data, dict):
        return data
    wanted: dict[str, list[str]] = {}
    for field in fields:
        head, _, rest = field.partition(".")
        wanted.setdefault(head, [])
        if rest:
            wanted[head].append(rest)
    kept = {}
    for key, nested in wanted.items():
        if key in data:
            kept[key] = _only_fields(data[key], nested) if nested else data[key]
    return kept


def _error(error: ApiError) -> Response:
    return _json(error.body(), error.status)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return _error(error)


# ---------------------------------------------------------------------------- authentication


def _credentials() -> tuple[str | None, str | None]:
    """Consumer key/secret from HTTP Basic or the query string (authentication.md)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return None, None
        key, _, secret = decoded.partition(":")
        return key, secret
    if "consumer_key" in request.args:
        return request.args.get("consumer_key"), request.args.get("consumer_secret", "")
    return None, None


# class-wc-rest-authentication.php: OAuth timestamps older than 15 minutes are refused.
OAUTH_WINDOW_SECONDS = 15 * 60
OAUTH_PARAMS = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
_used_nonces: OrderedDict[tuple[str, str], float] = OrderedDict()
_nonce_lock = threading.Lock()


def _oauth_params() -> dict[str, str] | None:
    """OAuth 1.0a parameters from the query string or an ``Authorization: OAuth`` header."""
    header = request.headers.get("Authorization", "")
    params = {k: v for k, v in request.args.items()}
    if header.lower().startswith("oauth "):
        for part in header[6:].split(","):
            key, _, value = part.strip().partition("=")
            if key.startswith("oauth_"):
                params[key] = unquote(value.strip('"'))
    if not any(key.startswith("oauth_") for key in params):
        return None
    return params


def _rfc3986(value: str) -> str:
    """wc_rest_urlencode_rfc3986: rawurlencode(rawurldecode(v)) with % doubled."""
    return quote(unquote(value), safe="~").replace("%", "%25")


def _oauth_error(message: str) -> ApiError:
    return ApiError("woocommerce_rest_authentication_error", message, 401)


def _check_oauth(params: dict[str, str], secret: str) -> None:
    """class-wc-rest-authentication.php check_oauth_signature and timestamp/nonce checks."""
    method = params.get("oauth_signature_method", "")
    if method not in ("HMAC-SHA1", "HMAC-SHA256"):
        raise _oauth_error("Invalid signature - signature method is invalid.")
    signed = {k: v for k, v in params.items() if k != "oauth_signature"}
    pairs = sorted((_rfc3986(k), _rfc3986(v)) for k, v in signed.items())
    query = "%26".join(f"{k}%3D{v}" for k, v in pairs)
    base_uri = quote(request.host_url.rstrip("/") + request.path, safe="~")
    string_to_sign = f"{request.method.upper()}&{base_uri}&{query}"
    digest = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
    expected = base64.b64encode(
        hmac.new(f"{secret}&".encode(), string_to_sign.encode(), digest).digest()
    ).decode()
    provided = unquote(params["oauth_signature"].replace(" ", "+"))
    if not hmac.compare_digest(expected, provided):
        raise _oauth_error("Invalid signature - provided signature does not match.")
    try:
        timestamp = int(params["oauth_timestamp"])
    except ValueError:
        raise _oauth_error("Invalid timestamp.") from None
    now = time.time()
    if abs(now - timestamp) > OAUTH_WINDOW_SECONDS:
        raise _oauth_error("Invalid timestamp.")
    nonce = (params["oauth_consumer_key"], params["oauth_nonce"])
    with _nonce_lock:
        while _used_nonces and next(iter(_used_nonces.values())) < now - OAUTH_WINDOW_SECONDS:
            _used_nonces.popitem(last=False)
        if nonce in _used_nonces:
            raise _oauth_error("Invalid nonce - nonce has already been used.")
        _used_nonces[nonce] = now


# class-wc-rest-*-controller.php permission checks: the error a caller without a valid user
# gets, per method and whether the URL names one resource.
_DENIED = {
    ("GET", False): ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    ("GET", True): ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    ("POST", False): (
        "woocommerce_rest_cannot_create",
        "Sorry, you are not allowed to create resources.",
    ),
    ("PUT", True): (
        "woocommerce_rest_cannot_edit",
        "Sorry, you are not allowed to edit this resource.",
    ),
    ("DELETE", True): (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
}


def _denied() -> ApiError:
    method = "PUT" if request.method in ("PATCH", "POST") and _names_resource() else request.method
    if request.path.rstrip("/").endswith("/batch"):
        return ApiError(
            "woocommerce_rest_cannot_batch",
            "Sorry, you are not allowed to batch manipulate this resource.",
            401,
        )
    code, message = _DENIED.get((method, _names_resource()), _DENIED[("GET", False)])
    return ApiError(code, message, 401)


def _names_resource() -> bool:
    last = request.path.rstrip("/").rsplit("/", 1)[-1]
    return last.isdigit()


@bp.before_request
def _before() -> Response | None:
    key, secret = _credentials()
    oauth = _oauth_params() if key is None else None
    if oauth is not None:
        key = oauth.get("oauth_consumer_key")
    faults = _ext().get("faults")
    if faults is not None:
        injected: Response | None = faults.before_api_request(key)
        if injected is not None:
            return injected
    config = _ext()["credentials"]
    # class-wc-rest-authentication.php: unknown key, then wrong secret, each a 401.
    if oauth is not None:
        missing = [name for name in OAUTH_PARAMS if not oauth.get(name)]
        if missing:
            label = "parameter" if len(missing) == 1 else "parameters"
            return _error(_oauth_error(f"Missing OAuth {label} {', '.join(missing)}"))
    if key is None:
        return _error(_denied())
    expected_secret = config[1] if hmac.compare_digest(key, config[0]) else None
    scope = "read_write"
    if expected_secret is None:
        issued = _store().api_key_secret(key)
        if issued is None:
            return _error(
                ApiError("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
            )
        expected_secret, scope = issued
    if oauth is not None:
        try:
            _check_oauth(oauth, expected_secret)
        except ApiError as error:
            return _error(error)
    elif not hmac.compare_digest(secret or "", expected_secret):
        return _error(
            ApiError("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
        )
    if request.method != "GET" and scope == "read":
        return _error(
            ApiError(
                "woocommerce_rest_authentication_error",
                "The API key provided does not have write permissions.",
                401,
            )
        )
    if request.method == "GET" and scope == "write":
        return _error(
            ApiError(
                "woocommerce_rest_authentication_error",
                "The API key provided does not have read permissions.",
                401,
            )
        )
    g.consumer_key = key
    return None


# ---------------------------------------------------------------------------- helpers


def _body() -> dict[str, Any]:
    if request.mimetype == "application/json" or (request.data and not request.form):
        if not request.data:
            return {}
        try:
            data = json.loads(request.data)
        except ValueError:
            raise ApiError("rest_invalid_json", "Invalid JSON body passed.", 400) from None
        if not isinstance(data, dict):
            raise ApiError("rest_invalid_json", "Invalid JSON body passed.", 400)
        return data
    return {key: _coerce(value) for key, value in request.form.items()}


def _coerce(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    if value.lstrip("-").isdigit():
        return int(value)
    return value


def _int_arg(
    name: str, default: int | None = None, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name, f"{name} is not of type integer.") from None
    if minimum is not None and value < minimum:
        raise invalid_param(name, f"{name} must be greater than or equal to {minimum}")
    if maximum is not None and value > maximum:
        raise invalid_param(name, f"{name} must be between {minimum} ({minimum}) and {maximum}")
    return value


def _list_arg(name: str) -> list[str] | None:
    """WordPress array args: ``a,b``, ``name[]=a&name[]=b`` or repeated ``name=a``."""
    values = request.args.getlist(name) + request.args.getlist(f"{name}[]")
    if not values:
        return None
    result: list[str] = []
    for value in values:
        result.extend(v.strip() for v in value.split(",") if v.strip())
    return result


def _int_list_arg(name: str) -> list[int] | None:
    values = _list_arg(name)
    if values is None:
        return None
    try:
        return [int(v) for v in values]
    except ValueError:
        raise invalid_param(name, f"{name}[0] is not of type integer.") from None


def _date_arg(name: str) -> Any:
    raw = request.args.get(name)
    if not raw:
        return None
    parsed = parse_iso(raw)
    if parsed is None:
        raise invalid_param(name, "Invalid date.")
    return parsed


def _force() -> bool:
    raw = request.args.get("force")
    if raw is None:
        body = request.get_json(silent=True)
        return bool(isinstance(body, dict) and body.get("force") is True)
    return raw.lower() in ("true", "1", "yes")


def _base() -> str:
    return request.host_url.rstrip("/") + "/wp-json/wc/v3"


def _with_links(
    data: dict[str, Any], path: str, collection: str, extra: dict[str, str] | None = None
) -> dict[str, Any]:
    links: dict[str, Any] = {
        "self": [{"href": f"{_base()}/{path}"}],
        "collection": [{"href": f"{_base()}/{collection}"}],
    }
    for rel, href in (extra or {}).items():
        links[rel] = [{"href": f"{_base()}/{href}"}]
    return {**data, "_links": links}


def _paginate(ids: list[int], render: Callable[[int], dict[str, Any] | None]) -> Response:
    page = _int_arg("page", 1, minimum=1)
    per_page = _int_arg("per_page", 10, minimum=1, maximum=100)
    offset = _int_arg("offset", None, minimum=0)
    assert page is not None and per_page is not None
    total = len(ids)
    start = offset if offset is not None else (page - 1) * per_page
    chosen = ids[start : start + per_page]
    items = [item for item in (render(i) for i in chosen) if item is not None]
    pages = math.ceil(total / per_page) if total else 0
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    # WC_REST_CRUD_Controller::get_items: prev/next Link headers keep the other query args.
    links = []
    if page > 1:
        links.append(f'<{_page_url(min(page - 1, max(pages, 1)))}>; rel="prev"')
    if pages > page:
        links.append(f'<{_page_url(page + 1)}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return _json(items, 200, headers)


def _page_url(page: int) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    return f"{request.base_url}?{urlencode(args + [('page', str(page))])}"


# ---------------------------------------------------------------------------- products


def _product_out(product_id: int) -> dict[str, Any] | None:
    data = _store().product_json(product_id)
    if data is None:
        return None
    extra = {"up": f"products/{data['parent_id']}"} if data["parent_id"] else None
    return _with_links(data, f"products/{product_id}", "products", extra)


def _variation_out(product_id: int, variation_id: int) -> dict[str, Any] | None:
    data = _store().variation_json(variation_id)
    return None if data is None else _variation_links(product_id, data)


def _variation_links(product_id: int, data: dict[str, Any]) -> dict[str, Any]:
    variation_id = data["id"]
    return _with_links(
        data,
        f"products/{product_id}/variations/{variation_id}",
        f"products/{product_id}/variations",
        {"up": f"products/{product_id}"},
    )


@bp.get("/products")
def list_products() -> Response:
    """GET /products."""
    stock_status = request.args.get("stock_status")
    if stock_status and stock_status not in ("instock", "outofstock", "onbackorder"):
        raise invalid_param(
            "stock_status", "stock_status is not one of instock, outofstock, onbackorder."
        )
    ids = _store().list_products(
        include=_int_list_arg("include"),
        sku=request.args.get("sku"),
        stock_status=stock_status,
        status=request.args.get("status"),
        product_type=request.args.get("type"),
        search=request.args.get("search"),
        parent=_int_list_arg("parent"),
    )
    return _paginate(ids, _product_out)


@bp.post("/products")
def create_product() -> Response:
    """POST /products."""
    data = _store().create_product(_body())
    return _json(_product_out(data["id"]), 201)


@bp.get("/products/<int:product_id>")
def get_product(product_id: int) -> Response:
    """GET /products/<id>."""
    data = _product_out(product_id)
    if data is None:
        raise ApiError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
    return _json(data)


@bp.route("/products/<int:product_id>", methods=["PUT", "PATCH", "POST"])
def update_product(product_id: int) -> Response:
    """PUT /products/<id>."""
    _store().update_product(product_id, _body())
    return _json(_product_out(product_id))


@bp.delete("/products/<int:product_id>")
def delete_product(product_id: int) -> Response:
    """DELETE /products/<id>."""
    data = _store().delete_product(product_id, force=_force())
    return _json(_with_links(data, f"products/{product_id}", "products"))


@bp.get("/products/<int:product_id>/variations")
def list_variations(product_id: int) -> Response:
    """GET /products/<id>/variations."""
    if _store().product_json(product_id) is None:
        raise ApiError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
    ids = _store().list_variations(product_id)
    include = _int_list_arg("include")
    if include:
        ids = [i for i in ids if i in include]
    stock_status = request.args.get("stock_status")
    sku = request.args.get("sku")
    if stock_status or sku:
        kept = []
        for variation_id in ids:
            record = _store().variation_json(variation_id) or {}
            if stock_status and record.get("stock_status") != stock_status:
                continue
            if sku and record.get("sku") != sku:
                continue
            kept.append(variation_id)
        ids = kept
    return _paginate(ids, lambda vid: _variation_out(product_id, vid))


@bp.post("/products/<int:product_id>/variations")
def create_variation(product_id: int) -> Response:
    """POST /products/<id>/variations."""
    data = _store().create_variation(product_id, _body())
    return _json(_variation_out(product_id, data["id"]), 201)


@bp.get("/products/<int:product_id>/variations/<int:variation_id>")
def get_variation(product_id: int, variation_id: int) -> Response:
    """GET /products/<id>/variations/<vid>."""
    record = _store().product_record(variation_id)
    if record is None or record["type"] != "variation" or record["parent_id"] != product_id:
        raise ApiError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 404)
    return _json(_variation_out(product_id, variation_id))


@bp.route(
    "/products/<int:product_id>/variations/<int:variation_id>", methods=["PUT", "PATCH", "POST"]
)
def update_variation(product_id: int, variation_id: int) -> Response:
    """PUT /products/<id>/variations/<vid>."""
    _store().update_variation(product_id, variation_id, _body())
    return _json(_variation_out(product_id, variation_id))


@bp.delete("/products/<int:product_id>/variations/<int:variation_id>")
def delete_variation(product_id: int, variation_id: int) -> Response:
    """DELETE /products/<id>/variations/<vid> (variations do not support trashing)."""
    if not _force():
        raise ApiError(
            "woocommerce_rest_trash_not_supported",
            "The variation does not support trashing.",
            501,
        )
    data = _store().delete_variation(product_id, variation_id)
    return _json(_variation_links(product_id, data))


# ---------------------------------------------------------------------------- orders


def _order_links(data: dict[str, Any]) -> dict[str, Any]:
    """Version2 prepare_links: self, collection, customer and up when they apply."""
    extra = {}
    if data["customer_id"]:
        extra["customer"] = f"customers/{data['customer_id']}"
    if data["parent_id"]:
        extra["up"] = f"orders/{data['parent_id']}"
    return _with_links(data, f"orders/{data['id']}", "orders", extra)


def _order_out(order_id: int) -> dict[str, Any] | None:
    data = _store().order_json(order_id)
    return None if data is None else _order_links(data)


_ORDER_STATUS_FILTER = (
    "any",
    "trash",
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)


@bp.get("/orders")
def list_orders() -> Response:
    """GET /orders with the documented filters."""
    statuses = _list_arg("status")
    for status in statuses or []:
        if status not in _ORDER_STATUS_FILTER:
            raise invalid_param(
                "status", f"status[0] is not one of {', '.join(_ORDER_STATUS_FILTER)}."
            )
    order = request.args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc and desc.")
    orderby = request.args.get("orderby", "date")
    if orderby not in ("date", "id", "include", "title", "slug", "modified"):
        raise invalid_param(
            "orderby", "orderby is not one of date, id, include, title, slug and modified."
        )
    ids = _store().list_orders(
        status=statuses,
        modified_after=_date_arg("modified_after"),
        modified_before=_date_arg("modified_before"),
        after=_date_arg("after"),
        before=_date_arg("before"),
        parent=_int_list_arg("parent"),
        parent_exclude=_int_list_arg("parent_exclude"),
        include=_int_list_arg("include"),
        exclude=_int_list_arg("exclude"),
        customer=_int_arg("customer"),
        product=_int_arg("product"),
        orderby=orderby,
        order=order,
    )
    return _paginate(ids, _order_out)


@bp.post("/orders")
def create_order() -> Response:
    """POST /orders."""
    data = _store().create_order(_body(), created_via="rest-api")
    return _json(_order_out(data["id"]), 201)


@bp.get("/orders/<int:order_id>")
def get_order(order_id: int) -> Response:
    """GET /orders/<id>."""
    data = _order_out(order_id)
    if data is None:
        raise ApiError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
    return _json(data)


@bp.route("/orders/<int:order_id>", methods=["PUT", "PATCH", "POST"])
def update_order(order_id: int) -> Response:
    """PUT /orders/<id>."""
    _store().update_order(order_id, _body())
    return _json(_order_out(order_id))


@bp.delete("/orders/<int:order_id>")
def delete_order(order_id: int) -> Response:
    """DELETE /orders/<id>[?force=true]."""
    return _json(_order_links(_store().delete_order(order_id, force=_force())))


def _batch(
    create: Callable[[dict[str, Any]], dict[str, Any]],
    update: Callable[[int, dict[str, Any]], dict[str, Any]],
    delete: Callable[[int], dict[str, Any]],
) -> Response:
    """WC_REST_Controller::batch_items: each entry succeeds or carries its own error."""
    body = _body()
    entries = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
    if entries > BATCH_LIMIT:
        raise ApiError(
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
            413,
        )
    result: dict[str, list[Any]] = {}

    def run(fn: Callable[..., dict[str, Any]], *args: Any, item_id: int = 0) -> dict[str, Any]:
        try:
            return fn(*args)
        except ApiError as error:
            return {
                "id": item_id,
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "data": {"status": error.status},
                },
            }

    if "create" in body:
        result["create"] = [run(create, entry) for entry in body.get("create") or []]
    if "update" in body:
        result["update"] = [
            run(update, int(entry.get("id", 0)), entry, item_id=int(entry.get("id", 0)))
            for entry in body.get("update") or []
        ]
    if "delete" in body:
        result["delete"] = [
            run(delete, int(item), item_id=int(item)) for item in body.get("delete") or []
        ]
    return _json(result)


@bp.post("/orders/batch")
def batch_orders() -> Response:
    """POST /orders/batch (delete entries are permanent, as WooCommerce forces them)."""
    store = _store()
    return _batch(
        lambda d: _order_out(store.create_order(d, created_via="rest-api")["id"]) or {},
        lambda i, d: (store.update_order(i, d), _order_out(i) or {})[1],
        lambda i: _order_links(store.delete_order(i, force=True)),
    )


@bp.post("/products/batch")
def batch_products() -> Response:
    """POST /products/batch."""
    store = _store()
    return _batch(
        lambda d: _product_out(store.create_product(d)["id"]) or {},
        lambda i, d: (store.update_product(i, d), _product_out(i) or {})[1],
        lambda i: _with_links(store.delete_product(i, force=True), f"products/{i}", "products"),
    )


@bp.post("/products/<int:product_id>/variations/batch")
def batch_variations(product_id: int) -> Response:
    """POST /products/<id>/variations/batch."""
    store = _store()
    return _batch(
        lambda d: _variation_out(product_id, store.create_variation(product_id, d)["id"]) or {},
        lambda i, d: (
            store.update_variation(product_id, i, d),
            _variation_out(product_id, i) or {},
        )[1],
        lambda i: _variation_links(product_id, store.delete_variation(product_id, i)),
    )


# ---------------------------------------------------------------------------- order notes


def _note_out(order_id: int, note_id: int) -> dict[str, Any] | None:
    data = _store().note_json(note_id)
    return None if data is None else _note_links(order_id, data)


def _note_links(order_id: int, data: dict[str, Any]) -> dict[str, Any]:
    note_id = data["id"]
    return _with_links(
        data,
        f"orders/{order_id}/notes/{note_id}",
        f"orders/{order_id}/notes",
        {"up": f"orders/{order_id}"},
    )


def _require_order(order_id: int) -> None:
    if not _store().has_order(order_id):
        raise ApiError("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)


@bp.get("/orders/<int:order_id>/notes")
def list_notes(order_id: int) -> Response:
    """GET /orders/<id>/notes (not paginated in WooCommerce)."""
    _require_order(order_id)
    note_type = request.args.get("type", "any")
    if note_type not in ("any", "customer", "internal"):
        raise invalid_param("type", "type is not one of any, customer and internal.")
    ids = _store().order_notes(order_id, note_type)
    return _json([_note_out(order_id, i) for i in ids])


@bp.post("/orders/<int:order_id>/notes")
def create_note(order_id: int) -> Response:
    """POST /orders/<id>/notes."""
    data = _store().add_order_note(order_id, _body())
    return _json(_note_out(order_id, data["id"]), 201)


@bp.get("/orders/<int:order_id>/notes/<int:note_id>")
def get_note(order_id: int, note_id: int) -> Response:
    """GET /orders/<id>/notes/<note_id>."""
    _require_order(order_id)
    if note_id not in _store().order_notes(order_id):
        raise ApiError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
    return _json(_note_out(order_id, note_id))


@bp.delete("/orders/<int:order_id>/notes/<int:note_id>")
def delete_note(order_id: int, note_id: int) -> Response:
    """DELETE /orders/<id>/notes/<note_id>?force=true."""
    _require_order(order_id)
    if not _force():
        raise ApiError(
            "woocommerce_rest_trash_not_supported",
            "Webhooks do not support trashing.".replace("Webhooks", "Order notes"),
            501,
        )
    data = _store().delete_order_note(order_id, note_id)
    return _json(
        _with_links(data, f"orders/{order_id}/notes/{note_id}", f"orders/{order_id}/notes")
    )


# ---------------------------------------------------------------------------- customers


def _customer_out(customer_id: int) -> dict[str, Any] | None:
    data = _store().customer_json(customer_id)
    if data is None:
        return None
    return _with_links(data, f"customers/{customer_id}", "customers")


@bp.get("/customers")
def list_customers() -> Response:
    """GET /customers."""
    ids = _store().list_customers(email=request.args.get("email"), include=_int_list_arg("include"))
    if request.args.get("order", "asc") == "desc":
        ids.reverse()
    return _paginate(ids, _customer_out)


@bp.post("/customers")
def create_customer() -> Response:
    """POST /customers."""
    data = _store().create_customer(_body())
    return _json(_customer_out(data["id"]), 201)


@bp.get("/customers/<int:customer_id>")
def get_customer(customer_id: int) -> Response:
    """GET /customers/<id>."""
    data = _customer_out(customer_id)
    if data is None:
        raise ApiError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
    return _json(data)


# ---------------------------------------------------------------------------- webhooks


def _webhook_out(webhook_id: int) -> dict[str, Any] | None:
    data = _store().webhook_json(webhook_id)
    if data is None:
        return None
    return _with_links(data, f"webhooks/{webhook_id}", "webhooks")


def _create_webhook(data: dict[str, Any]) -> dict[str, Any]:
    store = _store()
    created = store.create_webhook(data)
    deliverer = _ext().get("deliverer")
    if deliverer is not None:
        # class-wc-rest-webhooks-v1-controller.php create_item sends the ping and ignores its
        # result: a failed ping neither refuses nor deactivates a webhook created over REST
        # (only the admin screen refuses it). pending_delivery stays set, as in WooCommerce.
        ok = bool(deliverer.ping(store.webhook(created["id"])))
        store.mark_pinged(created["id"], ok)
    return _webhook_out(created["id"]) or {}


@bp.get("/webhooks")
def list_webhooks() -> Response:
    """GET /webhooks."""
    status = request.args.get("status", "all")
    if status not in ("all", "active", "paused", "disabled"):
        raise invalid_param("status", "status is not one of all, active, paused and disabled.")
    return _paginate(_store().list_webhooks(status), _webhook_out)


@bp.post("/webhooks")
def create_webhook() -> Response:
    """POST /webhooks."""
    return _json(_create_webhook(_body()), 201)


@bp.get("/webhooks/<int:webhook_id>")
def get_webhook(webhook_id: int) -> Response:
    """GET /webhooks/<id>."""
    data = _webhook_out(webhook_id)
    if data is None:
        raise ApiError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
    return _json(data)


@bp.route("/webhooks/<int:webhook_id>", methods=["PUT", "PATCH", "POST"])
def update_webhook(webhook_id: int) -> Response:
    """PUT /webhooks/<id>."""
    _store().update_webhook(webhook_id, _body())
    return _json(_webhook_out(webhook_id))


@bp.delete("/webhooks/<int:webhook_id>")
def delete_webhook(webhook_id: int) -> Response:
    """DELETE /webhooks/<id>?force=true (webhooks do not support trashing)."""
    if not _force():
        raise ApiError(
            "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501
        )
    data = _store().delete_webhook(webhook_id)
    return _json(_with_links(data, f"webhooks/{webhook_id}", "webhooks"))


@bp.post("/webhooks/batch")
def batch_webhooks() -> Response:
    """POST /webhooks/batch."""
    store = _store()
    return _batch(
        _create_webhook,
        lambda i, d: (store.update_webhook(i, d), _webhook_out(i) or {})[1],
        lambda i: _with_links(store.delete_webhook(i), f"webhooks/{i}", "webhooks"),
    )


@bp.route("/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def no_route(unknown: str) -> Response:
    """WordPress's answer for a route that does not exist."""
    return _error(
        ApiError("rest_no_route", "No route was found matching the URL and request method.", 404)
    )
