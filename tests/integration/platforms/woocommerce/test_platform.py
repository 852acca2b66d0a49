"""WooCommercePlatform over `responses`: the calls of a split, their bodies, and idempotency."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from plugin.core.model import (
    Amounts,
    BackorderMode,
    LinePlan,
    Outcome,
    PaymentAction,
    Plan,
    ProductRef,
    Reason,
    Status,
    Stock,
)
from plugin.errors import NotFound, PermanentError, TransientError, ValidationFailed
from plugin.platforms.woocommerce.adapter import WooCommercePlatform, connect
from plugin.platforms.woocommerce.fingerprint import ORDER_FIELDS, order_fingerprint
from plugin.ports import OrderChange, Platform

BASE = "https://shop.example.com"
API = BASE + "/wp-json/wc/v3"
REASON = Reason("short", "Not enough stock")


def _line(line_id: int, product_id: int, quantity: int, subtotal: str, *, variation_id: int = 0,
          reduced: int | None = None) -> dict[str, Any]:  # fmt: skip
    meta = (
        []
        if reduced is None
        else [{"id": line_id + 500, "key": "_reduced_stock", "value": str(reduced)}]
    )
    return {
        "id": line_id, "name": f"P{product_id}", "product_id": product_id,
        "variation_id": variation_id, "quantity": quantity, "tax_class": "",
        "subtotal": subtotal, "subtotal_tax": "0.00", "total": subtotal, "total_tax": "0.00",
        "taxes": [], "meta_data": meta, "sku": "", "price": 1,
    }  # fmt: skip


def _order(lines: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    order = {
        "id": 1042, "parent_id": 0, "number": "1042", "status": "processing", "currency": "USD",
        "date_created_gmt": "2026-11-20T10:00:00", "date_modified_gmt": "2026-11-20T10:00:05",
        "date_paid_gmt": "2026-11-20T10:00:01", "total": "60.00", "total_tax": "0.00",
        "customer_id": 26,
        "billing": {"first_name": "Ada", "email": "ada@example.com"},
        "shipping": {"first_name": "Ada"},
        "payment_method": "stripe", "payment_method_title": "Credit card",
        "meta_data": [], "line_items": lines, "shipping_lines": [], "fee_lines": [],
        "coupon_lines": [],
    }  # fmt: skip
    order.update(overrides)
    return order


def _product(
    product_id: int, stock: int, *, manage: Any = True, backorders: str = "notify"
) -> dict[str, Any]:
    return {
        "id": product_id, "type": "simple", "manage_stock": manage, "stock_quantity": stock,
        "stock_status": "instock" if stock > 0 else "onbackorder", "backorders": backorders,
    }  # fmt: skip


def _plan(*line_plans: LinePlan, **overrides: Any) -> Plan:
    values: dict[str, Any] = dict(
        order_id="1042", outcome=Outcome.SPLIT, reasons=(REASON,), lines=line_plans,
        split_key="1042:abc", backorder_number="1042-001", payment=PaymentAction.PAID_FROM_ORIGINAL,
    )  # fmt: skip
    values.update(overrides)
    return Plan(**values)


def _lp(line_id: str, ref: ProductRef, keep: int, backorder: int, unit: str) -> LinePlan:
    price = Decimal(unit)
    kept = Amounts(subtotal=price * keep, total=price * keep)
    moved = Amounts(subtotal=price * backorder, total=price * backorder)
    return LinePlan(line_id, ref, keep + backorder, keep, backorder, 0, kept, moved, REASON)


@pytest.fixture
def mocked() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def platform() -> WooCommercePlatform:
    return connect(BASE, "ck_key", "cs_secret")


def test_connect_builds_a_platform_with_throttle() -> None:
    ticks: list[int] = []
    platform = connect(BASE, "ck", "cs", lambda: ticks.append(1), timeout=5)
    assert isinstance(platform, WooCommercePlatform)
    assert platform.client.timeout == 5
    assert platform.client.throttle is not None
    platform.client.throttle()
    assert ticks == [1]
    port: Platform = platform  # the adapter satisfies the port
    assert port is platform


def test_happy_path_split_calls(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    # 6 lines; only the last two are short. The call count does not depend on the line count.
    lines = [_line(10 + i, 90 + i, 1, "10.00", reduced=1) for i in range(4)]
    lines += [_line(20, 80, 5, "50.00", reduced=5), _line(21, 81, 2, "20.00", reduced=2)]
    mocked.get(f"{API}/orders/1042", json=_order(lines))
    mocked.get(
        f"{API}/products",
        json=[_product(90 + i, 10) for i in range(4)] + [_product(80, -3), _product(81, -2)],
        match=[
            matchers.query_param_matcher(
                {"include": "90,91,92,93,80,81", "per_page": "6", "status": "any"}
            )
        ],
    )
    created = _order([], id=1060, parent_id=1042, status="on-hold")
    mocked.post(f"{API}/orders/batch", json={"create": [created], "update": [_order(lines)]})
    mocked.post(f"{API}/orders/1042/notes", json={"id": 1, "note": "Split"})

    order = platform.get_order("1042")
    assert order.status is Status.NEW
    stock = platform.get_stock(order)
    assert stock[ProductRef("80")] == Stock(
        ProductRef("80"), available=2, managed=True, backorders=BackorderMode.NOTIFY
    )
    assert stock[ProductRef("81")] == Stock(
        ProductRef("81"), available=0, managed=True, backorders=BackorderMode.NOTIFY
    )
    assert stock[ProductRef("90")].available == 11
    plan = _plan(
        _lp("20", ProductRef("80"), 2, 3, "10.00"), _lp("21", ProductRef("81"), 0, 2, "10.00")
    )
    backorder_id = platform.write_split(
        order, plan, backorder_order_id=None, summary="Backorder 1042-001 of order 1042"
    )
    platform.add_note("1042", "Split into 1042 and 1042-001", customer=True)

    assert backorder_id == "1060"
    # GET order, GET products, POST batch, POST note: whatever the line count.
    assert platform.calls == 4
    assert [c.request.method for c in mocked.calls] == ["GET", "GET", "POST", "POST"]
    batch = json.loads(mocked.calls[2].request.body)
    assert set(batch) == {"create", "update"}
    (create,) = batch["create"]
    assert create["parent_id"] == 1042
    assert create["status"] == "on-hold"
    assert create["set_paid"] is False
    assert create["payment_method_title"] == "Credit card"
    assert create["line_items"] == [
        {"product_id": 80, "quantity": 3, "subtotal": "30.00", "total": "30.00",
         "meta_data": [{"key": "backorders_original_line", "value": "20"}]},
        {"product_id": 81, "quantity": 2, "subtotal": "20.00", "total": "20.00",
         "meta_data": [{"key": "backorders_original_line", "value": "21"}]},
    ]  # fmt: skip
    assert create["meta_data"][-2:] == [
        {"key": "backorders_payment", "value": "paid_from_original"},
        {"key": "backorders_summary", "value": "Backorder 1042-001 of order 1042"},
    ]
    assert batch["update"] == [
        {
            "id": 1042,
            "line_items": [
                {"id": 20, "quantity": 2, "subtotal": "20.00", "total": "20.00"},
                {"id": 21, "product_id": None},
            ],
            "meta_data": [
                {"key": "backorders_split_key", "value": "1042:abc"},
                {"key": "backorders_role", "value": "original"},
                {"key": "backorders_number", "value": "1042-001"},
                {"key": "backorders_split_keys", "value": '["1042:abc"]'},
            ],
        }
    ]
    assert json.loads(mocked.calls[-1].request.body) == {
        "note": "Split into 1042 and 1042-001",
        "customer_note": True,
    }


def test_write_split_is_idempotent_given_the_backorder_id(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    lines = [_line(20, 80, 2, "20.00", reduced=2)]  # already reduced by the first attempt
    meta = [{"id": 1, "key": "backorders_split_keys", "value": '["1042:abc"]'}]
    mocked.get(f"{API}/orders/1042", json=_order(lines, meta_data=meta))
    mocked.put(f"{API}/orders/1042", json=_order(lines))
    order = platform.get_order("1042")
    plan = _plan(
        _lp("20", ProductRef("80"), 2, 3, "10.00"), _lp("21", ProductRef("81"), 0, 2, "10.00")
    )
    assert platform.write_split(order, plan, backorder_order_id="1060") == "1060"
    assert platform.calls == 2
    assert [c.request.method for c in mocked.calls] == ["GET", "PUT"]
    body = json.loads(mocked.calls[1].request.body)
    # Line 21 was removed by the first attempt: it is not sent again; line 20 is set absolutely.
    assert body["line_items"] == [{"id": 20, "quantity": 2, "subtotal": "20.00", "total": "20.00"}]
    assert {"key": "backorders_split_keys", "value": '["1042:abc"]'} in body["meta_data"]
    assert "backorders_summary" not in json.dumps(body)  # only the create carries it


def test_write_split_without_cached_order_reads_it_once(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    lines = [_line(20, 80, 5, "50.00", reduced=5)]
    mocked.get(f"{API}/orders/1042", json=_order(lines))
    mocked.post(f"{API}/orders/batch", json={"create": [{"id": 1061}], "update": [{"id": 1042}]})
    order = WooCommercePlatform(platform.client).get_order("1042")  # another instance's read
    assert platform.calls == 1
    plan = _plan(_lp("20", ProductRef("80"), 2, 3, "10.00"))
    assert platform.write_split(order, plan, backorder_order_id=None) == "1061"
    assert [c.request.method for c in mocked.calls] == ["GET", "GET", "POST"]


def test_batch_create_error_raises_and_returns_nothing(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    lines = [_line(20, 80, 5, "50.00", reduced=5)]
    mocked.get(f"{API}/orders/1042", json=_order(lines))
    error = {
        "code": "woocommerce_rest_invalid_product_id",
        "message": "Invalid product",
        "data": {"status": 400},
    }
    mocked.post(
        f"{API}/orders/batch",
        json={"create": [{"id": 0, "error": error}], "update": [{"id": 1042}]},
    )
    order = platform.get_order("1042")
    with pytest.raises(ValidationFailed) as info:
        platform.write_split(
            order, _plan(_lp("20", ProductRef("80"), 2, 3, "10.00")), backorder_order_id=None
        )
    assert info.value.reason == "woocommerce_rest_invalid_product_id"


def test_batch_update_error_names_the_created_order(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    lines = [_line(20, 80, 5, "50.00", reduced=5)]
    mocked.get(f"{API}/orders/1042", json=_order(lines))
    error = {"code": "db_error", "message": "Could not save", "data": {"status": 500}}
    mocked.post(
        f"{API}/orders/batch",
        json={"create": [{"id": 1062}], "update": [{"id": 0, "error": error}]},
    )
    order = platform.get_order("1042")
    with pytest.raises(TransientError) as info:
        platform.write_split(
            order, _plan(_lp("20", ProductRef("80"), 2, 3, "10.00")), backorder_order_id=None
        )
    assert info.value.backorder_order_id == "1062"  # type: ignore[attr-defined]
    assert "backorder order 1062 was created" in str(info.value)


def test_variations_of_one_product_take_one_read(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    lines = [
        _line(20, 22, 3, "30.00", variation_id=23, reduced=3),
        _line(21, 22, 1, "10.00", variation_id=24),
    ]
    mocked.get(f"{API}/orders/1042", json=_order(lines))
    mocked.get(
        f"{API}/products/22/variations",
        json=[_product(23, -1), _product(24, 5, backorders="no")],
        match=[matchers.query_param_matcher({"include": "23,24", "per_page": "2"})],
    )
    stock = platform.get_stock(platform.get_order("1042"))
    assert stock == {
        ProductRef("22", "23"): Stock(ProductRef("22", "23"), 2, True, BackorderMode.NOTIFY),
        ProductRef("22", "24"): Stock(ProductRef("22", "24"), 5, True, BackorderMode.NO),
    }
    assert platform.calls == 2


def test_variations_of_several_products_use_the_variations_route(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    lines = [_line(20, 22, 1, "10.00", variation_id=23), _line(21, 40, 1, "10.00", variation_id=41)]
    mocked.get(f"{API}/orders/1042", json=_order(lines))
    mocked.get(f"{API}/variations", json=[_product(23, 1), _product(41, 0)])
    stock = platform.get_stock(platform.get_order("1042"))
    assert stock[ProductRef("40", "41")] == Stock(
        ProductRef("40", "41"), 0, True, BackorderMode.NOTIFY
    )
    assert platform.calls == 2
    assert parse_qs(urlsplit(mocked.calls[1].request.url).query)["include"] == ["23,41"]


def test_variations_of_several_products_fall_back_per_product(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    lines = [
        _line(20, 22, 1, "10.00", variation_id=23),
        _line(21, 40, 1, "10.00", variation_id=41),
        _line(22, 93, 1, "10.00"),
    ]
    mocked.get(f"{API}/orders/1042", json=_order(lines))
    no_route = {"code": "rest_no_route", "message": "No route was found", "data": {"status": 404}}
    mocked.get(f"{API}/variations", status=404, json=no_route)
    mocked.get(f"{API}/products/22/variations", json=[_product(23, 1)])
    mocked.get(f"{API}/products/40/variations", json=[_product(41, 2)])
    mocked.get(f"{API}/products", json=[_product(93, 3)])
    stock = platform.get_stock(platform.get_order("1042"))
    assert [s.available for s in stock.values()] == [1, 2, 3]
    assert platform.calls == 5


def test_missing_order_is_not_found(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    body = {
        "code": "woocommerce_rest_shop_order_invalid_id",
        "message": "Invalid ID.",
        "data": {"status": 404},
    }
    mocked.get(f"{API}/orders/9", status=404, json=body)
    with pytest.raises(NotFound):
        platform.get_order("9")


def test_malformed_order_is_permanent(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{API}/orders/9", json={"id": 9, "status": "processing"})  # no currency
    with pytest.raises(PermanentError) as info:
        platform.get_order("9")
    assert info.value.reason == "invalid_order"
    assert "currency" in str(info.value)


def test_find_backorder_order_matches_split_key(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    children = [
        {"id": 1050, "meta_data": [{"key": "backorders_split_key", "value": "1042:old"},
                                   {"key": "backorders_role", "value": "backorder"}]},
        {"id": 1051, "meta_data": [{"key": "something", "value": "else"}]},
        {"id": 1060, "meta_data": [{"key": "backorders_split_key", "value": "1042:abc"},
                                   {"key": "backorders_role", "value": "backorder"}]},
    ]  # fmt: skip
    mocked.get(
        f"{API}/orders",
        json=children,
        headers={"X-WP-TotalPages": "1"},
        match=[
            matchers.query_param_matcher(
                {"parent": "1042", "per_page": "100", "page": "1", "_fields": "id,meta_data"}
            )
        ],
    )
    assert platform.find_backorder_order("1042", "1042:abc") == "1060"


def test_find_backorder_order_none(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{API}/orders", json=[], headers={"X-WP-TotalPages": "0"})
    assert platform.find_backorder_order("1042", "1042:abc") is None
    assert platform.calls == 1


def test_orders_modified_since_pages_in_gmt(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    page1 = [
        {"id": i, "status": "processing", "date_modified_gmt": "2026-11-22T05:00:00"}
        for i in range(1, 101)
    ]
    # What the store answers for `_fields`: the fields the fingerprint reads.
    last = _order(
        [_line(1, 7, 2, "20.00", reduced=2)],
        id=101,
        status="on-hold",
        discount_total="0.00",
        shipping_total="0.00",
    )
    last["date_modified_gmt"] = "2026-11-22T05:30:10"
    page2 = [{name: last[name] for name in ("id", "date_modified_gmt", *ORDER_FIELDS)}]
    mocked.get(f"{API}/orders", json=page1, headers={"X-WP-TotalPages": "2"})
    mocked.get(f"{API}/orders", json=page2, headers={"X-WP-TotalPages": "2"})
    since = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    changes = list(platform.orders_modified_since(since))
    assert len(changes) == 101
    assert changes[-1] == OrderChange(
        order_id="101",
        modified_gmt=dt.datetime(2026, 11, 22, 5, 30, 10, tzinfo=dt.UTC),
        status="on-hold",
        # The fingerprint of the whole order, as a webhook body carries it.
        fingerprint=order_fingerprint(last),
    )
    query = parse_qs(urlsplit(mocked.calls[0].request.url).query)
    assert query == {
        "modified_after": ["2026-11-22T05:00:00"],
        "dates_are_gmt": ["true"],
        "orderby": ["id"],
        "order": ["asc"],
        "per_page": ["100"],
        "page": ["1"],
        "_fields": [
            "id,date_modified_gmt,status,customer_id,payment_method,date_paid_gmt,total,"
            "total_tax,discount_total,shipping_total,line_items,meta_data"
        ],
    }
    assert parse_qs(urlsplit(mocked.calls[1].request.url).query)["page"] == ["2"]


def test_set_status(platform: WooCommercePlatform, mocked: responses.RequestsMock) -> None:
    mocked.put(
        f"{API}/orders/1042",
        json={"id": 1042},
        match=[matchers.json_params_matcher({"status": "on-hold"})],
    )
    platform.set_status("1042", "on_hold")
    assert platform.calls == 1
    with pytest.raises(ValueError):
        platform.set_status("1042", "teleported")
    assert platform.calls == 1  # nothing sent for an unknown status


def test_invalid_plan_is_permanent_and_sends_nothing(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{API}/orders/1042", json=_order([_line(20, 80, 5, "50.00", reduced=5)]))
    order = platform.get_order("1042")
    with pytest.raises(PermanentError) as info:
        platform.write_split(
            order, _plan(_lp("99", ProductRef("80"), 2, 3, "10.00")), backorder_order_id=None
        )
    assert info.value.reason == "invalid_plan"
    assert platform.calls == 1


def test_remembered_orders_stay_bounded(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    for order_id in range(1, 41):
        mocked.get(
            f"{API}/orders/{order_id}", json=_order([_line(20, 80, 1, "10.00")], id=order_id)
        )
        platform.get_order(str(order_id))
    assert len(platform._orders) == 32
    assert "40" in platform._orders and "1" not in platform._orders
