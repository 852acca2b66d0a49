"""Fixtures for the WooCommerce connector tests: documented examples and hand-built JSON."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

REFERENCE = Path(__file__).resolve().parents[4] / ".." / "shared" / "reference" / "woocommerce"
_JSON_BLOCK = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


def documented_objects(page: str) -> list[dict[str, Any]]:
    """Every JSON object in the response examples of a reference page (lists and batch
    answers flattened); skips the test when the reference folder is absent."""
    path = REFERENCE / page
    if not path.exists():
        pytest.skip(f"../shared/reference/woocommerce/{page} absent")
    objects: list[dict[str, Any]] = []
    for block in _JSON_BLOCK.findall(path.read_text()):
        data = json.loads(block)
        if isinstance(data, list):
            objects.extend(data)
        elif "id" in data:
            objects.append(data)
        else:
            for key in ("create", "update", "delete"):
                objects.extend(data.get(key, []))
    return objects


def documented_order(order_id: int, status: str) -> dict[str, Any]:
    """The first documented example of order `order_id` in `status`."""
    for order in documented_objects("orders.md"):
        if order.get("id") == order_id and order.get("status") == status:
            return copy.deepcopy(order)
    raise AssertionError(f"orders.md has no order {order_id} in status {status}")


def line(
    line_id: int,
    product_id: int,
    quantity: int,
    subtotal: str,
    total: str | None = None,
    *,
    variation_id: int = 0,
    reduced: int | None = None,
    tax: str = "0.00",
) -> dict[str, Any]:
    """A line item as WooCommerce returns it (orders.md, "Line items properties")."""
    meta = (
        []
        if reduced is None
        else [{"id": 900 + line_id, "key": "_reduced_stock", "value": str(reduced)}]
    )
    return {
        "id": line_id,
        "name": f"Product {product_id}",
        "product_id": product_id,
        "variation_id": variation_id,
        "quantity": quantity,
        "tax_class": "",
        "subtotal": subtotal,
        "subtotal_tax": tax,
        "total": total if total is not None else subtotal,
        "total_tax": tax,
        "taxes": [],
        "meta_data": meta,
        "sku": f"SKU-{product_id}",
        "price": 1,
    }


def order_json(**overrides: Any) -> dict[str, Any]:
    """A processing order of a registered customer, paid by card, two lines."""
    order: dict[str, Any] = {
        "id": 1042,
        "parent_id": 0,
        "number": "1042",
        "status": "processing",
        "currency": "USD",
        "date_created_gmt": "2026-11-20T10:00:00",
        "date_modified_gmt": "2026-11-20T10:05:00",
        "date_paid_gmt": "2026-11-20T10:01:00",
        "discount_total": "0.00",
        "shipping_total": "10.00",
        "total": "70.00",
        "total_tax": "0.00",
        "customer_id": 26,
        "billing": {
            "first_name": "Ada", "last_name": "Lovelace", "company": "", "address_1": "1 Loop Rd",
            "address_2": "", "city": "London", "state": "", "postcode": "N1", "country": "GB",
            "email": "ada@example.com", "phone": "0123",
        },
        "shipping": {
            "first_name": "Ada", "last_name": "Lovelace", "company": "", "address_1": "1 Loop Rd",
            "address_2": "", "city": "London", "state": "", "postcode": "N1", "country": "GB",
            "phone": "",
        },
        "payment_method": "stripe",
        "payment_method_title": "Credit card",
        "transaction_id": "ch_1",
        "meta_data": [],
        "line_items": [line(11, 93, 5, "50.00", reduced=5), line(12, 94, 1, "10.00", reduced=1)],
        "shipping_lines": [
            {"id": 13, "method_title": "Flat Rate", "method_id": "flat_rate", "total": "10.00",
             "total_tax": "0.00", "taxes": [], "meta_data": []}
        ],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
    }  # fmt: skip
    order.update(overrides)
    return order


def product_json(product_id: int, stock: int | None, *, manage: Any = True, backorders: str = "no",
                 status: str = "instock", parent_id: int = 0) -> dict[str, Any]:  # fmt: skip
    """A product or variation with the stock fields of products.md."""
    return {
        "id": product_id,
        "name": f"Product {product_id}",
        "type": "simple",
        "parent_id": parent_id,
        "sku": f"SKU-{product_id}",
        "manage_stock": manage,
        "stock_quantity": stock,
        "stock_status": status,
        "backorders": backorders,
        "backorders_allowed": backorders != "no",
        "backordered": False,
    }
