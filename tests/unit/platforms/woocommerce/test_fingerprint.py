"""The content fingerprint: the fields a job decides on change it, nothing else does."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from plugin.platforms.woocommerce import mapping
from plugin.platforms.woocommerce.fingerprint import (
    ORDER_FIELDS,
    OUR_META_PREFIX,
    order_fingerprint,
    product_fingerprint,
)

from .conftest import documented_objects, documented_order, line, order_json

Change = Callable[[dict[str, Any]], None]


def changed(body: dict[str, Any], change: Change) -> dict[str, Any]:
    result = copy.deepcopy(body)
    change(result)
    return result


def _set(path: str, value: Any) -> Change:
    """A change setting `path` (dots, list indexes as numbers) to `value`."""

    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


def _append_meta(key: str, value: Any, line_index: int | None = None) -> Change:
    def change(body: dict[str, Any]) -> None:
        holder = body if line_index is None else body["line_items"][line_index]
        holder["meta_data"].append({"id": 999, "key": key, "value": value})

    return change


def test_a_fingerprint_is_32_hex_digits_and_the_same_for_the_same_json() -> None:
    order = order_json()
    fingerprint = order_fingerprint(order)
    assert re.fullmatch(r"[0-9a-f]{32}", fingerprint)
    assert order_fingerprint(json.loads(json.dumps(order))) == fingerprint
    # Parsed from other bytes of the same JSON (spacing, key order) too.
    reordered = json.loads(json.dumps(dict(reversed(list(order.items()))), indent=2))
    assert order_fingerprint(reordered) == fingerprint


def test_only_the_fields_reconciliation_asks_for_are_read() -> None:
    # Reconciliation lists orders with `_fields` = ORDER_FIELDS: the rest must not matter.
    order = documented_order(727, "processing")
    order["meta_data"].append({"id": 1, "key": "backorders_role", "value": "original"})
    listed = {name: order[name] for name in ORDER_FIELDS if name in order}
    assert order_fingerprint(listed) == order_fingerprint(order)


@pytest.mark.parametrize(
    "change",
    [
        _set("status", "on-hold"),
        _set("customer_id", 27),
        _set("payment_method", "cod"),
        _set("date_paid_gmt", None),
        _set("total", "61.00"),
        _set("total_tax", "1.00"),
        _set("discount_total", "5.00"),
        _set("shipping_total", "12.00"),
        _set("line_items.0.quantity", 3),
        _set("line_items.0.product_id", 99),
        _set("line_items.1.variation_id", 95),
        _set("line_items.0.subtotal", "21.00"),
        _set("line_items.0.total", "19.00"),
        _set("line_items.0.id", 77),
        _append_meta("backorders_split_keys", '["1042:a"]'),
        _append_meta("backorders_delivery", "whole_order"),
        _append_meta("backorders_original_line", "5", line_index=0),
        _append_meta("_reduced_stock", "2", line_index=1),
        lambda body: body["line_items"].pop(),
        lambda body: body["line_items"].append(line(9, 40, 1, "5.00")),
        lambda body: body["line_items"].reverse(),
    ],
)
def test_what_a_job_decides_on_changes_the_order_fingerprint(change: Change) -> None:
    order = order_json()
    assert order_fingerprint(changed(order, change)) != order_fingerprint(order)


@pytest.mark.parametrize(
    "change",
    [
        _set("date_modified", "2026-11-20T12:00:07"),
        _set("date_modified_gmt", "2026-11-20T10:00:07"),  # the key's moment already
        _set("number", "A-1042"),
        _set("customer_note", "Leave it at the door"),
        _set("billing.first_name", "Grace"),
        _set("shipping", {}),
        _set("payment_method_title", "Card"),
        _set("transaction_id", "ch_1"),
        _set("line_items.0.name", "Renamed"),
        _set("line_items.0.sku", "NEW"),
        _set("line_items.0.price", 2),
        _set("line_items.0.taxes", [{"id": 1, "total": "0.10"}]),
        _set("_links", {}),
        _append_meta("_other_plugin_cache", "x"),
        _append_meta("is_vat_exempt", "no"),
        _append_meta("pa_color", "black", line_index=0),
    ],
)
def test_what_no_job_decides_on_leaves_the_order_fingerprint(change: Change) -> None:
    order = order_json()
    assert order_fingerprint(changed(order, change)) == order_fingerprint(order)


def test_our_meta_keys_all_begin_with_the_prefix_the_fingerprint_reads() -> None:
    ours = [value for name, value in vars(mapping).items() if name.startswith("META_")]
    assert len(ours) >= 10
    assert [key for key in ours if not key.startswith(OUR_META_PREFIX)] == []


def documented_product() -> dict[str, Any]:
    """The first product of products.md, keeping its stock (it does not in the example)."""
    product = next(p for p in documented_objects("products.md") if "stock_status" in p)
    return dict(product, manage_stock=True, stock_quantity=0, backorders="notify")


@pytest.mark.parametrize(
    "change",
    [
        _set("stock_quantity", 5),
        _set("stock_quantity", None),
        _set("stock_status", "outofstock"),
        _set("backorders", "no"),
        _set("manage_stock", "parent"),
    ],
)
def test_stock_fields_change_the_product_fingerprint(change: Change) -> None:
    product = documented_product()
    assert product_fingerprint(changed(product, change)) != product_fingerprint(product)


@pytest.mark.parametrize(
    "change",
    [
        _set("name", "Renamed"),
        _set("price", "99.00"),
        _set("total_sales", 100),
        _set("date_modified", "2030-01-01T00:00:00"),
        _set("date_modified_gmt", "2030-01-01T00:00:00"),
    ],
)
def test_other_product_fields_leave_the_product_fingerprint(change: Change) -> None:
    product = documented_product()
    assert product_fingerprint(changed(product, change)) == product_fingerprint(product)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"line_items": None, "meta_data": None},
        {"line_items": {"a": 1}, "meta_data": "x"},
        {"line_items": [1, None, "x", [2], {"meta_data": {"k": 1}}]},
        {"meta_data": [1, None, {"key": 5}, {"value": 1}, {"key": "backorders_x"}]},
        {"status": float("nan"), "total": 10**40, "customer_id": [{"b": 1, "a": 2}]},
        {"status": "\ud800"},
    ],
)
def test_any_json_shape_hashes_without_error(payload: dict[str, Any]) -> None:
    fingerprint = order_fingerprint(payload)
    assert re.fullmatch(r"[0-9a-f]{32}", fingerprint)
    assert order_fingerprint(copy.deepcopy(payload)) == fingerprint
    assert re.fullmatch(r"[0-9a-f]{32}", product_fingerprint(payload))
