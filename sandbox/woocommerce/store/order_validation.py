"""Checks on an order create/update body, made before anything changes (a 400 changes nothing)."""

from __future__ import annotations

import re
from typing import Any

from sandbox.woocommerce.errors import ApiError, invalid_param, invalid_type, not_in_enum
from sandbox.woocommerce.store.contract import (
    REST_ORDER_STATUSES,
    money,
)
from sandbox.woocommerce.store.records import Records


class OrderValidation(Records):
    """Validation of REST order bodies and resolution of line item products."""

    def _line_product(self, posted: dict[str, Any], *, creating: bool) -> dict[str, Any] | None:
        """WC_REST_Orders_V2_Controller::get_product_id (sku, then product_id, then
        variation_id), then wc_get_product: None when the reference names no product, which
        prepare_line_items accepts (the line keeps product 0, or its product on an update)."""
        if posted.get("sku"):
            # wc_get_product_id_by_sku gives 0 for an unknown SKU, and wc_get_product(0) false.
            return next(
                (p for p in self._tables["product"].values() if p["sku"] == posted["sku"]), None
            )
        product_id = posted.get("product_id")
        variation_id = posted.get("variation_id")
        for key, value in (("product_id", product_id), ("variation_id", variation_id)):
            if value not in (None, "") and (not isinstance(value, int) or isinstance(value, bool)):
                raise invalid_type("line_items", "integer", f"line_items[0][{key}]")
        wanted = variation_id or product_id
        if not wanted:
            if creating:
                raise ApiError(
                    "woocommerce_rest_required_product_reference",
                    "Product ID or SKU is required.",
                    400,
                )
            return None
        # A variation id naming a simple product gives that product (set_product).
        return self._product(wanted)

    def _validate_order_request(self, data: dict[str, Any], order: dict[str, Any] | None) -> None:
        """Check a create/update body before anything changes (so a 400 changes nothing)."""
        if not isinstance(data, dict):
            raise ApiError("rest_invalid_json", "Invalid JSON body passed.", 400)
        if "status" in data and data["status"] not in REST_ORDER_STATUSES:
            raise not_in_enum("status", REST_ORDER_STATUSES)
        for key in ("parent_id", "customer_id"):
            if key in data and (not isinstance(data[key], int) or isinstance(data[key], bool)):
                raise invalid_type(key, "integer")
        if "set_paid" in data and not isinstance(data["set_paid"], bool):
            raise invalid_type("set_paid", "boolean")
        for key in ("billing", "shipping"):
            if key in data and not isinstance(data[key], dict):
                raise invalid_type(key, "object")
        if "billing" in data and data["billing"].get("email") not in (None, ""):
            email = data["billing"]["email"]
            if not isinstance(email, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
                raise invalid_param("billing", "Invalid email address.", "rest_invalid_email")
        for key in ("meta_data", "line_items", "shipping_lines", "fee_lines", "coupon_lines"):
            if key in data and not isinstance(data[key], list):
                raise invalid_type(key, "array")
            for entry in data.get(key) or []:
                if not isinstance(entry, dict):
                    raise invalid_type(key, "object", f"{key}[0]")
        parent_id = data.get("parent_id")
        if parent_id and (
            parent_id not in self._tables["order"]
            or (order is not None and parent_id == order["id"])
        ):
            # WC_Abstract_Order::set_parent_id: a parent that is not an order (deleted, say),
            # or the order itself, is a WC_Data_Exception, which the REST API answers 400.
            raise ApiError("order_invalid_parent_id", "Invalid parent ID", 400)
        if data.get("customer_id") and data["customer_id"] not in self._tables["customer"]:
            raise ApiError("woocommerce_rest_invalid_customer_id", "Customer ID is invalid.", 400)
        existing_ids: dict[str, set[int]] = {}
        if order is not None:
            existing_ids = {
                key: {item["id"] for item in order[key]}
                for key in ("line_items", "shipping_lines", "fee_lines", "coupon_lines")
            }
        for line in data.get("line_items") or []:
            quantity = line.get("quantity")
            if quantity is not None and (
                not isinstance(quantity, int) or isinstance(quantity, bool)
            ):
                raise invalid_type("line_items", "integer", "line_items[0][quantity]")
            for key in ("total", "subtotal"):
                if key in line:
                    try:
                        money(line[key])
                    except ValueError:
                        raise invalid_param(
                            "line_items", f"line_items[0][{key}] is not a decimal."
                        ) from None
            removing = item_is_null(line) or quantity == 0
            item_id = line.get("id")
            if item_id and item_id not in existing_ids.get("line_items", set()):
                raise ApiError(
                    "woocommerce_rest_invalid_item_id",
                    "Order item ID provided is not associated with order.",
                    400,
                )
            if removing:
                continue
            self._line_product(line, creating=not item_id)
        for key in ("shipping_lines", "fee_lines"):
            for item in data.get(key) or []:
                if item.get("id") and item["id"] not in existing_ids.get(key, set()):
                    raise ApiError(
                        "woocommerce_rest_invalid_item_id",
                        "Order item ID provided is not associated with order.",
                        400,
                    )
                if item_is_null(item) or item.get("id"):
                    continue
                if key == "shipping_lines" and not item.get("method_id"):
                    raise ApiError(
                        "woocommerce_rest_invalid_shipping_item",
                        "Shipping method ID is required.",
                        400,
                    )
                if key == "fee_lines" and not item.get("name"):
                    raise ApiError(
                        "woocommerce_rest_invalid_fee_item", "Fee name is required.", 400
                    )
                if "total" in item:
                    try:
                        money(item["total"])
                    except ValueError:
                        raise invalid_param(key, f"{key}[0][total] is not a decimal.") from None
        for item in data.get("coupon_lines") or []:
            if item.get("id"):
                # Version3 calculate_coupons: coupon lines are replaced, never edited by id.
                raise ApiError(
                    "woocommerce_rest_coupon_item_id_readonly", "Coupon item ID is readonly.", 400
                )
            if not str(item.get("code") or "").strip():
                raise ApiError("woocommerce_rest_invalid_coupon", "Coupon code is required.", 400)
            if "discount" in item:
                try:
                    money(item["discount"])
                except ValueError:
                    raise invalid_param("coupon_lines", "discount is not a decimal.") from None


def item_is_null(item: dict[str, Any]) -> bool:
    """Version2 item_is_null: any identifying key explicitly sent as null removes the item."""
    return any(
        key in item and item[key] is None
        for key in ("product_id", "method_id", "method_title", "name", "code")
    )
