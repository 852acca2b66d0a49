"""HTTP client for the WooCommerce REST API v3 (`/wp-json/wc/v3`).

Contracts relied on (../shared/reference/woocommerce/):
- introduction.md: base path `/wp-json/wc/v3`; errors are JSON `{"code", "message", "data":
  {"status"}}`; list endpoints page with `page`/`per_page` and report `X-WP-Total` and
  `X-WP-TotalPages`; `per_page` is at most 100 (woocommerce/woocommerce
  `includes/rest-api/Controllers/Version3/class-wc-rest-crud-controller.php`,
  `get_collection_params`).
- authentication.md: consumer key and secret as HTTP Basic auth **over HTTPS**. A real store only
  reads Basic credentials when the request is over TLS (over plain HTTP it expects OAuth 1.0a), and
  Basic over HTTP would expose the keys, so this client refuses `http://` base URLs except on the
  loopback interface, where the development sandbox store listens.

Every request goes through `_request`: one default timeout, the `throttle` hook first (the worker
plugs its per-store Redis rate limiter in), redirects never followed, errors translated to
`plugin.errors`, and `calls` counted. Keys, secrets and payloads are never logged. Outside
development an https store is called only at public addresses, checked on every connection
(plugin/platforms/public_http.py).
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from plugin.errors import (
    AuthenticationFailed,
    NotFound,
    PermanentError,
    RateLimited,
    TransientError,
    ValidationFailed,
)
from plugin.platforms.http import is_loopback_host, parse_retry_after
from plugin.platforms.public_http import PublicAddressAdapter

log = logging.getLogger(__name__)

API_PATH = "/wp-json/wc/v3"
MAX_PER_PAGE = 100  # WooCommerce's `per_page` maximum, and its default batch limit (orders.md)
DEFAULT_TIMEOUT = 30.0

JSON = dict[str, Any]
Params = Mapping[str, Any]


def _format_param(value: Any) -> Any:
    """Query values as WordPress parses them: lists comma-joined (wp_parse_id_list), ISO dates."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        # WooCommerce validates these as RFC 3339 date-times; it compares them with the GMT
        # columns when `dates_are_gmt=true` (class-wc-rest-crud-controller.php).
        return value.isoformat(timespec="seconds")
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value)
    return value


def new_session(allow_private_addresses: bool) -> requests.Session:
    """A requests Session for store calls. Outside development (`allow_private_addresses`
    false) https hosts are resolved again and checked on every new connection, so a changed DNS
    answer cannot lead into our network; http is loopback only (`WooCommerceClient`)."""
    session = requests.Session()
    if not allow_private_addresses:
        session.mount("https://", PublicAddressAdapter())
    return session


# (process, store URL, private addresses allowed) → the Session every client of that store in
# this process shares (`kept_session`).
_KEPT: dict[tuple[int, str, bool], requests.Session] = {}
_KEPT_LOCK = threading.Lock()


def kept_session(base_url: str, allow_private_addresses: bool) -> requests.Session:
    """The store's Session of this process, kept across jobs: its connection pool stays open,
    where a Session per job made a new TCP (and TLS) connection for every job. It keeps no
    cookies (a store's REST API authenticates every request; nothing one job is told may reach
    another's request). A forked child makes its own: connections are not shared across a fork.

    The environment's proxy and CA bundle settings are read once, here, as requests would read
    them for this store's URL on every call (`Session.merge_environment_settings`: a fifth of
    the client's CPU a call, for settings a running process does not change)."""
    url = base_url.strip().rstrip("/")
    key = (os.getpid(), url, allow_private_addresses)
    with _KEPT_LOCK:
        session = _KEPT.get(key)
        if session is None:
            session = new_session(allow_private_addresses)
            session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            session.proxies.update(requests.utils.get_environ_proxies(url))  # honours no_proxy
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                session.verify = bundle
            session.trust_env = False  # the requests carry their own auth: no .netrc either
            _KEPT[key] = session
        return session


class WooCommerceClient:
    """A store's REST API v3, authenticated with a consumer key and secret."""

    def __init__(
        self,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        throttle: Callable[[], None] | None = None,
        allow_private_addresses: bool = False,
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("store URL must be an absolute http(s) URL")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            # authentication.md: Basic auth is for HTTPS; over HTTP a store wants OAuth 1.0a and
            # the keys would travel in clear text. Only the loopback sandbox may use http.
            raise ValueError("store URL must use https (http is allowed only on loopback)")
        self.base_url = base_url.strip().rstrip("/")
        self.api_url = self.base_url + API_PATH
        self._auth = (consumer_key, consumer_secret)
        self.timeout = timeout
        self.session = session if session is not None else new_session(allow_private_addresses)
        self.throttle = throttle
        self.calls = 0  # platform calls made, counted before each request is sent
        # A split reads its order and its products' stock on two threads (plugin/platforms/
        # concurrent.py): the count stays exact.
        self._count_lock = threading.Lock()
        self._has_variations_route: bool | None = None

    def __repr__(self) -> str:
        return f"WooCommerceClient({self.base_url!r})"

    # -- transport -------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
    ) -> requests.Response:
        """Send one request and translate failures to `plugin.errors`; returns a 2xx response."""
        url = self.api_url + path
        query = {k: _format_param(v) for k, v in (params or {}).items() if v is not None}
        if self.throttle is not None:
            self.throttle()
        with self._count_lock:
            self.calls += 1
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=query,
                json=json,
                auth=self._auth,
                timeout=self.timeout,
                allow_redirects=False,
                headers={"Accept": "application/json"},
            )
        except requests.Timeout as exc:
            raise _call_failed(
                method, path, "timeout", f"no answer within {self.timeout:g}s", "timeout"
            ) from exc
        except requests.ConnectionError as exc:
            raise _call_failed(
                method, path, "connection", "could not connect to the store", "connection_error"
            ) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
            raise PermanentError(
                f"{method} {path}: invalid store URL", reason="invalid_url"
            ) from exc
        except requests.RequestException as exc:
            raise _call_failed(method, path, "request", "request failed", "request_failed") from exc
        elapsed_ms = int((time.monotonic() - started) * 1000)
        log.info(
            "woocommerce call method=%s path=%s status=%s ms=%s",
            method,
            path,
            response.status_code,
            elapsed_ms,
        )
        if 200 <= response.status_code < 300:
            return response
        raise self._translate(method, path, response)

    def _translate(self, method: str, path: str, response: requests.Response) -> Exception:
        """The `plugin.errors` exception for a non-2xx answer."""
        status = response.status_code
        code, message = _error_body(response)
        where = f"{method} {path}: HTTP {status}"
        detail = f"{where} {code}: {message}" if code else f"{where}"
        if 300 <= status < 400:
            # We never follow redirects: the Authorization header must not be re-sent to another
            # host, and a store that redirects (http→https, www, moved site) needs its URL fixed.
            location = response.headers.get("Location", "")
            target = urlsplit(location)
            shown = f"{target.scheme}://{target.netloc}{target.path}" if target.netloc else ""
            return PermanentError(
                f"{where}: the store redirects{' to ' + shown if shown else ''}; "
                "use the store's final URL",
                reason="redirected",
            )
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return RateLimited(detail, reason=code or None, retry_after=retry_after)
        if status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return TransientError(detail, reason=code or f"http_{status}", retry_after=retry_after)
        if status in (401, 403):
            return AuthenticationFailed(detail, reason=code or None)
        if status == 404 or is_missing_object(status, code):
            return NotFound(detail, reason=code or None)
        if status == 400:
            return ValidationFailed(detail, reason=code or None)
        return PermanentError(detail, reason=code or f"http_{status}")

    def _json(self, response: requests.Response, method: str, path: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            # E.g. an HTML page: WordPress without pretty permalinks (introduction.md) or a proxy.
            raise PermanentError(
                f"{method} {path}: the store did not answer JSON", reason="invalid_response"
            ) from exc

    def get(self, path: str, params: Params | None = None) -> Any:
        """GET `path` (below /wp-json/wc/v3) and return the decoded JSON."""
        return self._json(self._request("GET", path, params=params), "GET", path)

    def post(self, path: str, body: Any, params: Params | None = None) -> Any:
        """POST a JSON body and return the decoded JSON."""
        return self._json(self._request("POST", path, params=params, json=body), "POST", path)

    def put(self, path: str, body: Any) -> Any:
        """PUT a JSON body and return the decoded JSON."""
        return self._json(self._request("PUT", path, json=body), "PUT", path)

    def delete(self, path: str, params: Params | None = None) -> Any:
        """DELETE `path` and return the decoded JSON."""
        return self._json(self._request("DELETE", path, params=params), "DELETE", path)

    def paginate(self, path: str, params: Params | None = None) -> Iterator[JSON]:
        """Every item of a list endpoint, page after page, until `X-WP-TotalPages`."""
        query = dict(params or {})
        page = int(query.pop("page", 1) or 1)
        query.setdefault("per_page", MAX_PER_PAGE)
        while True:
            response = self._request("GET", path, params={**query, "page": page})
            items = self._json(response, "GET", path)
            if not isinstance(items, list):
                raise PermanentError(f"GET {path}: expected a list", reason="invalid_response")
            yield from items
            total_pages = _int_header(response, "X-WP-TotalPages")
            if total_pages is None:
                # Header missing (a proxy stripped it): a short page is the last one.
                if len(items) < int(query["per_page"]):
                    return
            elif page >= total_pages:
                return
            if not items:
                return
            page += 1

    # -- orders ----------------------------------------------------------------------------

    def get_order(self, order_id: str | int) -> JSON:
        """GET /orders/<id>."""
        return dict(self.get(f"/orders/{int(order_id)}"))

    def list_orders(
        self,
        *,
        parent: Iterable[int | str] | int | str | None = None,
        modified_after: dt.datetime | str | None = None,
        status: Iterable[str] | str | None = None,
        include: Iterable[int | str] | None = None,
        page: int | None = None,
        per_page: int = MAX_PER_PAGE,
        orderby: str | None = None,
        order: str | None = None,
        dates_are_gmt: bool | None = None,
        fields: Sequence[str] | None = None,
        **filters: Any,
    ) -> Iterator[JSON]:
        """GET /orders with orders.md's filters; iterates over every page (from `page`)."""
        params: dict[str, Any] = dict(filters)
        params.update(
            parent=_as_list(parent),
            modified_after=modified_after,
            status=_as_list(status),
            include=_as_list(include),
            page=page,
            per_page=per_page,
            orderby=orderby,
            order=order,
            dates_are_gmt=dates_are_gmt,
            _fields=list(fields) if fields else None,
        )
        return self.paginate("/orders", {k: v for k, v in params.items() if v is not None})

    def create_order(self, body: Mapping[str, Any]) -> JSON:
        """POST /orders."""
        return dict(self.post("/orders", dict(body)))

    def update_order(self, order_id: str | int, body: Mapping[str, Any]) -> JSON:
        """PUT /orders/<id>."""
        return dict(self.put(f"/orders/{int(order_id)}", dict(body)))

    def batch_orders(
        self,
        *,
        create: Sequence[Mapping[str, Any]] = (),
        update: Sequence[Mapping[str, Any]] = (),
        delete: Sequence[int] = (),
    ) -> JSON:
        """POST /orders/batch. Items that failed come back with an `error` object (see
        `batch_item_error`); the request itself succeeds."""
        body: dict[str, Any] = {}
        if create:
            body["create"] = [dict(item) for item in create]
        if update:
            body["update"] = [dict(item) for item in update]
        if delete:
            body["delete"] = [int(i) for i in delete]
        if sum(len(v) for v in body.values()) > MAX_PER_PAGE:
            raise ValueError("WooCommerce accepts at most 100 objects per batch")
        return dict(self.post("/orders/batch", body))

    def add_order_note(
        self, order_id: str | int, note: str, *, customer_note: bool = False
    ) -> JSON:
        """POST /orders/<id>/notes (order-notes.md); a customer note is e-mailed to the buyer."""
        return dict(
            self.post(
                f"/orders/{int(order_id)}/notes", {"note": note, "customer_note": customer_note}
            )
        )

    # -- products --------------------------------------------------------------------------

    def get_products(self, ids: Iterable[int | str]) -> list[JSON]:
        """Products by id with `include=`: one request per 100 ids. Variations are NOT returned
        here (the products route forces `post_type=product`); use `get_variations`."""
        unique = _unique_ints(ids)
        products: list[JSON] = []
        for chunk in _chunks(unique, MAX_PER_PAGE):
            products.extend(
                self.get("/products", {"include": chunk, "per_page": len(chunk), "status": "any"})
            )
        return products

    def get_variations(self, product_id: int | str, ids: Iterable[int | str]) -> list[JSON]:
        """Variations of one product by id: GET /products/<id>/variations?include=."""
        unique = _unique_ints(ids)
        variations: list[JSON] = []
        for chunk in _chunks(unique, MAX_PER_PAGE):
            variations.extend(
                self.get(
                    f"/products/{int(product_id)}/variations",
                    {"include": chunk, "per_page": len(chunk)},
                )
            )
        return variations

    def batch_variations(
        self, product_id: int | str, *, update: Sequence[Mapping[str, Any]] = ()
    ) -> JSON:
        """POST /products/<id>/variations/batch (product-variations.md, "Batch update product
        variations"). Failed items come back with an `error` object (see `batch_item_error`)."""
        if len(update) > MAX_PER_PAGE:
            raise ValueError("WooCommerce accepts at most 100 objects per batch")
        body = {"update": [dict(item) for item in update]}
        return dict(self.post(f"/products/{int(product_id)}/variations/batch", body))

    def get_variations_any_product(self, ids: Iterable[int | str]) -> list[JSON] | None:
        """Variations of any products by id in one request: GET /variations?include=.

        The route exists from WooCommerce 10.3 (`class-wc-rest-variations-controller.php`).
        Returns None when the store does not have it (404 `rest_no_route`), and remembers that.
        """
        if self._has_variations_route is False:
            return None
        unique = _unique_ints(ids)
        variations: list[JSON] = []
        try:
            for chunk in _chunks(unique, MAX_PER_PAGE):
                variations.extend(
                    self.get("/variations", {"include": chunk, "per_page": len(chunk)})
                )
        except NotFound as exc:
            if exc.reason != "rest_no_route":
                raise
            self._has_variations_route = False
            return None
        self._has_variations_route = True
        return variations

    # -- webhooks --------------------------------------------------------------------------

    def list_webhooks(self, **filters: Any) -> list[JSON]:
        """GET /webhooks, every page."""
        return list(self.paginate("/webhooks", filters))

    def create_webhook(
        self, *, topic: str, delivery_url: str, secret: str, name: str = "", status: str = "active"
    ) -> JSON:
        """POST /webhooks (webhooks.md). The store pings `delivery_url` before saving it active."""
        body = {
            "name": name or f"Backorders {topic}",
            "topic": topic,
            "delivery_url": delivery_url,
            "secret": secret,
            "status": status,
        }
        return dict(self.post("/webhooks", body))

    def update_webhook(self, webhook_id: int | str, **fields: Any) -> JSON:
        """PUT /webhooks/<id>, e.g. `status="active"` to re-enable a disabled webhook."""
        return dict(self.put(f"/webhooks/{int(webhook_id)}", fields))

    def delete_webhook(self, webhook_id: int | str) -> JSON:
        """DELETE /webhooks/<id>?force=true (webhooks cannot be trashed)."""
        return dict(self.delete(f"/webhooks/{int(webhook_id)}", {"force": True}))

    # -- keys ------------------------------------------------------------------------------

    def check_credentials(self) -> None:
        """Cheapest authenticated read: one order id. Raises AuthenticationFailed on bad keys."""
        self.get("/orders", {"per_page": 1, "_fields": "id"})


# `woocommerce_rest_{post_type}_invalid_id`, e.g. woocommerce_rest_shop_order_invalid_id.
_MISSING_OBJECT = re.compile(r"woocommerce_rest_[a-z_]+_invalid_id")


def is_missing_object(status: object, code: str | None) -> bool:
    """Whether a 400 answer says the object does not exist. WC_REST_CRUD_Controller answers a
    GET or DELETE of a missing object 404 but an update 400 (`update_item`, and so a batch
    update item), with the same `woocommerce_rest_<type>_invalid_id` code: both are NotFound,
    so an order deleted meanwhile ends the same way whichever the store answers."""
    return status == 400 and bool(code) and _MISSING_OBJECT.fullmatch(str(code)) is not None


def _call_failed(method: str, path: str, error: str, message: str, reason: str) -> TransientError:
    """Log a request that got no HTTP answer and return the transient error to raise."""
    log.warning("woocommerce call failed method=%s path=%s error=%s", method, path, error)
    return TransientError(f"{method} {path}: {message}", reason=reason)


def batch_item_error(item: Mapping[str, Any]) -> Exception | None:
    """The error for one failed item of a batch answer (`{"id": 0, "error": {...}}`), if any."""
    error = item.get("error")
    if not isinstance(error, Mapping):
        return None
    code = str(error.get("code") or "") or None
    message = str(error.get("message") or "batch item failed")
    data = error.get("data")
    status = data.get("status") if isinstance(data, Mapping) else None
    text = f"batch item failed: HTTP {status} {code}: {message}"
    if isinstance(status, int) and status >= 500:
        return TransientError(text, reason=code or f"http_{status}")
    if status in (401, 403):
        return AuthenticationFailed(text, reason=code)
    if status == 404 or is_missing_object(status, code):
        return NotFound(text, reason=code)
    if status == 400:
        return ValidationFailed(text, reason=code)
    return PermanentError(text, reason=code or "batch_item_failed")


def _error_body(response: requests.Response) -> tuple[str, str]:
    """WooCommerce's error `code` and `message`, or empty strings when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    code = body.get("code")
    message = body.get("message")
    return (str(code) if code else "", str(message)[:300] if message else "")


def _int_header(response: requests.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


def _as_list(value: Iterable[Any] | str | int | None) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, str | int):
        return [value]
    values = list(value)
    return values or None


def _unique_ints(ids: Iterable[int | str]) -> list[int]:
    seen: dict[int, None] = {}
    for value in ids:
        seen.setdefault(int(value), None)
    return list(seen)


def _chunks(values: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
