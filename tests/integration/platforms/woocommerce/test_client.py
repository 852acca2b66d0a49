"""WooCommerceClient over `responses`: URLs, queries, auth, bodies, pagination, error mapping."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from plugin.errors import (
    AuthenticationFailed,
    NotFound,
    PermanentError,
    RateLimited,
    TransientError,
    ValidationFailed,
)
from plugin.platforms.http import parse_retry_after
from plugin.platforms.woocommerce.client import WooCommerceClient, batch_item_error

BASE = "https://shop.example.com"
API = BASE + "/wp-json/wc/v3"
KEY = "ck_0123456789abcdef"
SECRET = "cs_topsecret_fedcba9876543210"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()


@pytest.fixture
def client() -> WooCommerceClient:
    return WooCommerceClient(BASE, KEY, SECRET, timeout=7)


@pytest.fixture
def mocked() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def _query(call: responses.Call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def _no_secret_logged(caplog: pytest.LogCaptureFixture) -> None:
    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert SECRET not in text
    assert KEY not in text
    assert base64.b64encode(f"{KEY}:{SECRET}".encode()).decode() not in text


def test_get_order_url_auth_headers_and_counter(
    client: WooCommerceClient, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mocked.get(f"{API}/orders/727", json={"id": 727, "billing": {"email": "x@example.com"}})
    order = client.get_order("727")
    assert order == {"id": 727, "billing": {"email": "x@example.com"}}
    request = mocked.calls[0].request
    assert request.url == f"{API}/orders/727"
    assert request.headers["Authorization"] == BASIC
    assert request.headers["Accept"] == "application/json"
    assert client.calls == 1
    assert "x@example.com" not in caplog.text  # payloads are not logged
    assert "path=/orders/727 status=200" in caplog.text
    _no_secret_logged(caplog)


def test_timeout_is_passed_and_redirects_are_not_followed(client: WooCommerceClient) -> None:
    seen: dict[str, object] = {}

    class Recorder(requests.Session):
        def request(self, method, url, **kwargs):  # type: ignore[no-untyped-def, override]
            seen.update(kwargs, method=method, url=url)
            response = requests.Response()
            response.status_code = 200
            response._content = b"[]"
            return response

    recorder = WooCommerceClient(BASE, KEY, SECRET, timeout=7, session=Recorder())
    recorder.check_credentials()
    assert seen["timeout"] == 7
    assert seen["allow_redirects"] is False
    assert seen["params"] == {"per_page": 1, "_fields": "id"}
    assert seen["url"] == f"{API}/orders"


def test_throttle_runs_before_every_request(mocked: responses.RequestsMock) -> None:
    events: list[str] = []

    def throttle() -> None:
        events.append(f"throttle:{len(mocked.calls)}")

    client = WooCommerceClient(BASE, KEY, SECRET, throttle=throttle)
    mocked.get(f"{API}/orders/1", json={"id": 1})
    mocked.get(f"{API}/orders/2", status=500, json={"code": "boom", "message": "x"})
    client.get_order(1)
    with pytest.raises(TransientError):
        client.get_order(2)
    assert events == ["throttle:0", "throttle:1"]
    assert client.calls == 2


def test_list_orders_filters_and_pagination(
    client: WooCommerceClient, mocked: responses.RequestsMock
) -> None:
    since = dt.datetime(2026, 11, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    mocked.get(f"{API}/orders", json=[{"id": 3}, {"id": 2}], headers={"X-WP-TotalPages": "2"})
    mocked.get(f"{API}/orders", json=[{"id": 1}], headers={"X-WP-TotalPages": "2"})
    ids = [o["id"] for o in client.list_orders(
        parent=[10, 11], modified_after=since, dates_are_gmt=True, status=["on-hold", "processing"],
        include=[1, 2, 3], orderby="id", order="asc", per_page=2,
    )]  # fmt: skip
    assert ids == [3, 2, 1]
    first, second = (_query(c) for c in mocked.calls)
    assert first == {
        "parent": ["10,11"],
        "modified_after": ["2026-11-01T06:30:00"],
        "dates_are_gmt": ["true"],
        "status": ["on-hold,processing"],
        "include": ["1,2,3"],
        "orderby": ["id"],
        "order": ["asc"],
        "per_page": ["2"],
        "page": ["1"],
    }
    assert second["page"] == ["2"]
    assert client.calls == 2


def test_pagination_stops_on_last_page_and_without_header(
    client: WooCommerceClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{API}/orders", json=[{"id": 1}], headers={"X-WP-TotalPages": "1"})
    assert [o["id"] for o in client.list_orders()] == [1]
    assert len(mocked.calls) == 1
    mocked.get(f"{API}/webhooks", json=[{"id": 5}])  # no header, short page → last page
    assert client.list_webhooks() == [{"id": 5}]
    assert len(mocked.calls) == 2
    assert _query(mocked.calls[1]) == {"per_page": ["100"], "page": ["1"]}


def test_get_products_uses_one_include_request_per_100_ids(
    client: WooCommerceClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{API}/products", json=[{"id": i} for i in range(1, 101)])
    mocked.get(f"{API}/products", json=[{"id": 101}, {"id": 102}])
    products = client.get_products([*range(1, 103), 5, "7"])
    assert len(products) == 102
    first, second = (_query(c) for c in mocked.calls)
    assert first["include"] == [",".join(str(i) for i in range(1, 101))]
    assert first["per_page"] == ["100"]
    assert first["status"] == ["any"]
    assert second["include"] == ["101,102"]
    assert second["per_page"] == ["2"]


def test_get_variations_of_one_product(
    client: WooCommerceClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{API}/products/22/variations", json=[{"id": 23}, {"id": 24}])
    assert client.get_variations(22, [23, 24]) == [{"id": 23}, {"id": 24}]
    assert _query(mocked.calls[0]) == {"include": ["23,24"], "per_page": ["2"]}


def test_variations_route_falls_back_once_when_absent(
    client: WooCommerceClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(
        f"{API}/variations",
        status=404,
        json={"code": "rest_no_route", "message": "No route", "data": {"status": 404}},
    )
    assert client.get_variations_any_product([23, 40]) is None
    assert client.get_variations_any_product([23, 40]) is None  # remembered: no second call
    assert len(mocked.calls) == 1


def test_variations_route_when_present(
    client: WooCommerceClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{API}/variations", json=[{"id": 23, "parent_id": 22}])
    assert client.get_variations_any_product([23]) == [{"id": 23, "parent_id": 22}]
    assert _query(mocked.calls[0]) == {"include": ["23"], "per_page": ["1"]}


def test_batch_orders_body(client: WooCommerceClient, mocked: responses.RequestsMock) -> None:
    create = {
        "parent_id": 727,
        "status": "on-hold",
        "line_items": [{"product_id": 93, "quantity": 1}],
    }
    update = {"id": 727, "line_items": [{"id": 315, "quantity": 1}]}
    mocked.post(
        f"{API}/orders/batch",
        json={"create": [{"id": 800}], "update": [{"id": 727}]},
        match=[matchers.json_params_matcher({"create": [create], "update": [update]})],
    )
    assert client.batch_orders(create=[create], update=[update]) == {
        "create": [{"id": 800}],
        "update": [{"id": 727}],
    }
    assert mocked.calls[0].request.headers["Content-Type"] == "application/json"


def test_batch_limit_is_enforced_before_any_call(client: WooCommerceClient) -> None:
    with pytest.raises(ValueError, match="at most 100"):
        client.batch_orders(update=[{"id": i} for i in range(101)])
    assert client.calls == 0


def test_batch_item_errors_are_translated() -> None:
    assert batch_item_error({"id": 5}) is None
    err = batch_item_error(
        {
            "id": 0,
            "error": {
                "code": "woocommerce_rest_invalid_item_id",
                "message": "m",
                "data": {"status": 400},
            },
        }
    )
    assert isinstance(err, ValidationFailed)
    assert err.reason == "woocommerce_rest_invalid_item_id"
    missing = batch_item_error(
        {"id": 0, "error": {"code": "x_invalid_id", "data": {"status": 404}}}
    )
    assert isinstance(missing, NotFound)
    # A batch update of a missing order: 400 on WooCommerce, the order is gone all the same.
    gone = {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.",
            "data": {"status": 400}}  # fmt: skip
    updated = batch_item_error({"id": 777, "error": gone})
    assert isinstance(updated, NotFound)
    assert updated.reason == "woocommerce_rest_shop_order_invalid_id"
    assert "HTTP 400" in str(updated)
    refused = batch_item_error(
        {"id": 0, "error": {"code": "order_invalid_parent_id", "data": {"status": 400}}}
    )
    assert type(refused) is ValidationFailed
    server = batch_item_error({"id": 0, "error": {"code": "db", "data": {"status": 500}}})
    assert isinstance(server, TransientError)


def test_update_create_note_and_webhooks_bodies(
    client: WooCommerceClient, mocked: responses.RequestsMock
) -> None:
    mocked.put(
        f"{API}/orders/727",
        json={"id": 727},
        match=[matchers.json_params_matcher({"status": "on-hold"})],
    )
    mocked.post(
        f"{API}/orders", json={"id": 9}, match=[matchers.json_params_matcher({"parent_id": 727})]
    )
    mocked.post(
        f"{API}/orders/727/notes",
        json={"id": 281},
        match=[matchers.json_params_matcher({"note": "Split", "customer_note": True})],
    )
    mocked.post(
        f"{API}/webhooks",
        json={"id": 142},
        match=[
            matchers.json_params_matcher(
                {
                    "name": "Backorders order.updated",
                    "topic": "order.updated",
                    "delivery_url": "https://app.example.com/webhooks/woocommerce/1",
                    "secret": "whsecret",
                    "status": "active",
                }
            )
        ],
    )
    mocked.put(
        f"{API}/webhooks/142",
        json={"id": 142},
        match=[matchers.json_params_matcher({"status": "active"})],
    )
    mocked.delete(
        f"{API}/webhooks/142",
        json={"id": 142},
        match=[matchers.query_param_matcher({"force": "true"})],
    )
    assert client.update_order(727, {"status": "on-hold"}) == {"id": 727}
    assert client.create_order({"parent_id": 727}) == {"id": 9}
    assert client.add_order_note(727, "Split", customer_note=True) == {"id": 281}
    assert client.create_webhook(
        topic="order.updated",
        delivery_url="https://app.example.com/webhooks/woocommerce/1",
        secret="whsecret",
    ) == {"id": 142}
    assert client.update_webhook(142, status="active") == {"id": 142}
    assert client.delete_webhook(142) == {"id": 142}
    assert client.calls == 6


@pytest.mark.parametrize(
    ("status", "code", "exc_type", "reason"),
    [
        (401, "woocommerce_rest_cannot_view", AuthenticationFailed, "woocommerce_rest_cannot_view"),
        (
            403,
            "woocommerce_rest_authentication_error",
            AuthenticationFailed,
            "woocommerce_rest_authentication_error",
        ),
        (401, None, AuthenticationFailed, "authentication_failed"),
        (
            404,
            "woocommerce_rest_shop_order_invalid_id",
            NotFound,
            "woocommerce_rest_shop_order_invalid_id",
        ),
        (404, None, NotFound, "not_found"),
        # WC_REST_CRUD_Controller::update_item answers a missing object 400: still gone.
        (
            400,
            "woocommerce_rest_shop_order_invalid_id",
            NotFound,
            "woocommerce_rest_shop_order_invalid_id",
        ),
        (
            400,
            "woocommerce_rest_product_variation_invalid_id",
            NotFound,
            "woocommerce_rest_product_variation_invalid_id",
        ),
        (
            400,
            "woocommerce_rest_invalid_item_id",
            ValidationFailed,
            "woocommerce_rest_invalid_item_id",
        ),
        (400, None, ValidationFailed, "validation_failed"),
        (
            410,
            "woocommerce_rest_already_trashed",
            PermanentError,
            "woocommerce_rest_already_trashed",
        ),
        (413, None, PermanentError, "http_413"),
        (500, "internal_server_error", TransientError, "internal_server_error"),
        (502, None, TransientError, "http_502"),
        (503, None, TransientError, "http_503"),
    ],
)
def test_error_mapping(
    client: WooCommerceClient,
    mocked: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
    status: int,
    code: str | None,
    exc_type: type[Exception],
    reason: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = {"code": code, "message": "Nope.", "data": {"status": status}} if code else None
    if body is None:
        mocked.get(f"{API}/orders/5", status=status, body="<html>error</html>")
    else:
        mocked.get(f"{API}/orders/5", status=status, json=body)
    with pytest.raises(exc_type) as info:
        client.get_order(5)
    assert type(info.value) is exc_type
    assert info.value.reason == reason  # type: ignore[attr-defined]
    assert f"HTTP {status}" in str(info.value)
    if status < 500:
        assert not isinstance(info.value, TransientError)
    _no_secret_logged(caplog)


def test_429_with_retry_after_seconds(
    client: WooCommerceClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(
        f"{API}/orders/5", status=429, headers={"Retry-After": "12"}, json={"code": "too_many"}
    )
    with pytest.raises(RateLimited) as info:
        client.get_order(5)
    assert info.value.retry_after == 12.0
    assert info.value.reason == "too_many"


def test_429_with_retry_after_http_date(
    client: WooCommerceClient, mocked: responses.RequestsMock
) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)
    header = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    mocked.get(f"{API}/orders/5", status=429, headers={"Retry-After": header})
    with pytest.raises(RateLimited) as info:
        client.get_order(5)
    assert info.value.reason == "rate_limited"
    assert info.value.retry_after is not None
    assert 85 <= info.value.retry_after <= 90


def test_429_without_retry_after(client: WooCommerceClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/orders/5", status=429)
    with pytest.raises(RateLimited) as info:
        client.get_order(5)
    assert info.value.retry_after is None


def test_503_retry_after_is_kept(client: WooCommerceClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/orders/5", status=503, headers={"Retry-After": "30"})
    with pytest.raises(TransientError) as info:
        client.get_order(5)
    assert not isinstance(info.value, RateLimited)
    assert info.value.retry_after == 30.0


def test_parse_retry_after() -> None:
    now = dt.datetime(2026, 11, 22, 6, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("-3", now) == 0.0
    assert parse_retry_after("Sun, 22 Nov 2026 06:01:30 GMT", now) == 90.0
    assert parse_retry_after("Sun, 22 Nov 2026 05:59:00 GMT", now) == 0.0  # in the past
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("nan", now) is None


def test_timeout_is_transient(client: WooCommerceClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/orders/5", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(TransientError) as info:
        client.get_order(5)
    assert info.value.reason == "timeout"
    assert client.calls == 1


def test_connection_error_is_transient(
    client: WooCommerceClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{API}/orders/5", body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(TransientError) as info:
        client.get_order(5)
    assert info.value.reason == "connection_error"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_permanent_and_not_followed(
    client: WooCommerceClient, mocked: responses.RequestsMock, status: int
) -> None:
    mocked.get(
        f"{API}/orders/5",
        status=status,
        headers={"Location": "https://www.shop.example.com/wp-json/wc/v3/orders/5?x=1"},
    )
    with pytest.raises(PermanentError) as info:
        client.get_order(5)
    assert info.value.reason == "redirected"
    assert "https://www.shop.example.com/wp-json/wc/v3/orders/5" in str(info.value)
    assert "x=1" not in str(info.value)
    assert len(mocked.calls) == 1  # the redirect target was never requested


def test_non_json_success_is_permanent(
    client: WooCommerceClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{API}/orders/5", body="<html>Welcome</html>", content_type="text/html")
    with pytest.raises(PermanentError) as info:
        client.get_order(5)
    assert info.value.reason == "invalid_response"


def test_secret_never_in_logs_or_repr_on_failures(
    mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = WooCommerceClient(BASE, KEY, SECRET)
    mocked.get(f"{API}/orders/1", body=requests.exceptions.ConnectionError(f"x {BASE}"))
    mocked.get(
        f"{API}/orders/2",
        status=401,
        json={"code": "woocommerce_rest_cannot_view", "message": "no"},
    )
    for order_id in (1, 2):
        with pytest.raises(Exception) as info:
            client.get_order(order_id)
        assert SECRET not in str(info.value)
    assert SECRET not in repr(client)
    _no_secret_logged(caplog)


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example.com",
        "ftp://shop.example.com",
        "shop.example.com",
        "http://10.0.0.5:8001",
    ],
)
def test_insecure_or_invalid_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        WooCommerceClient(url, KEY, SECRET)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8001", "http://localhost:8001/", "http://[::1]:8001"]
)
def test_http_is_allowed_on_loopback(url: str) -> None:
    client = WooCommerceClient(url, KEY, SECRET)
    assert client.api_url == url.rstrip("/") + "/wp-json/wc/v3"


def test_json_body_is_exact(client: WooCommerceClient, mocked: responses.RequestsMock) -> None:
    mocked.post(f"{API}/orders/7/notes", json={"id": 1})
    client.add_order_note(7, "Héllo")
    assert json.loads(mocked.calls[0].request.body) == {"note": "Héllo", "customer_note": False}
