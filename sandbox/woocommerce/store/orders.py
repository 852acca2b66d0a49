"""Orders: create, update, delete, line items, status transitions, payment, totals, listing."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.woocommerce import stock
from sandbox.woocommerce.errors import ApiError
from sandbox.woocommerce.store.contract import (
    ADDRESS_BILLING,
    ADDRESS_SHIPPING,
    PAYMENT_COMPLETE_FROM,
    STATUS_LABELS,
    money,
    parse_iso,
    slugify,
)
from sandbox.woocommerce.store.order_stock import OrderStock
from sandbox.woocommerce.store.order_validation import OrderValidation, item_is_null
from sandbox.woocommerce.store.records import variation_title


class Orders(OrderStock, OrderValidation):
    """Orders (REST /orders) and the lifecycle WooCommerce runs on them."""

    def list_orders(
        self,
        *,
        status: list[str] | None = None,
        modified_after: datetime | None = None,
        modified_before: datetime | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        parent: list[int] | None = None,
        parent_exclude: list[int] | None = None,
        include: list[int] | None = None,
        exclude: list[int] | None = None,
        customer: int | None = None,
        product: int | None = None,
        orderby: str = "date",
        order: str = "desc",
    ) -> list[int]:
        """Order ids matching the REST filters in the requested order."""
        statuses = status or ["any"]
        with self._lock:
            found = []
            for o in self._tables["order"].values():
                if "any" in statuses:
                    if o["status"] == "trash":
                        continue
                elif o["status"] not in statuses:
                    continue
                modified = parse_iso(o["date_modified"])
                created = parse_iso(o["date_created"])
                assert modified is not None and created is not None
                if modified_after and not modified > modified_after:
                    continue
                if modified_before and not modified < modified_before:
                    continue
                if after and not created > after:
                    continue
                if before and not created < before:
                    continue
                if parent and o["parent_id"] not in parent:
                    continue
                if parent_exclude and o["parent_id"] in parent_exclude:
                    continue
                if include and o["id"] not in include:
                    continue
                if exclude and o["id"] in exclude:
                    continue
                if customer is not None and o["customer_id"] != customer:
                    continue
                if product is not None and not any(
                    line["product_id"] == product for line in o["line_items"]
                ):
                    continue
                found.append(o)
            keys: dict[str, Callable[[dict[str, Any]], Any]] = {
                "date": lambda o: (o["date_created"], o["id"]),
                "modified": lambda o: (o["date_modified"], o["id"]),
                "id": lambda o: o["id"],
                "title": lambda o: o["id"],
                "slug": lambda o: o["id"],
            }
            if orderby == "include" and include:
                found.sort(key=lambda o: include.index(o["id"]))
                return [o["id"] for o in found]
            found.sort(key=keys.get(orderby, keys["date"]), reverse=order == "desc")
            return [o["id"] for o in found]

    def _new_order_record(self) -> dict[str, Any]:
        now = self.now()
        order_id = self._next("post")
        return {
            "id": order_id,
            "parent_id": 0,
            "status": "pending",
            "currency": "USD",
            "created_via": "rest-api",
            "date_created": now,
            "date_modified": now,
            "date_paid": None,
            "date_completed": None,
            "customer_id": 0,
            "customer_note": "",
            "customer_ip_address": "",
            "customer_user_agent": "",
            "billing": {k: "" for k in ADDRESS_BILLING},
            "shipping": {k: "" for k in ADDRESS_SHIPPING},
            "payment_method": "",
            "payment_method_title": "",
            "transaction_id": "",
            "cart_hash": "",
            "order_key": "wc_order_" + secrets.token_hex(7)[:13],
            "meta_data": [],
            "line_items": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [],
            "discount_total": "0",
            "shipping_total": "0",
            "total": "0",
            # WC order data store property `_order_stock_reduced` (internal, never in meta_data).
            "stock_reduced": False,
        }

    def _set_line(self, order: dict[str, Any], posted: dict[str, Any], *, checkout: bool) -> None:
        """Version2 set_item/prepare_line_items for one posted line (create or update)."""
        item_id = posted.get("id")
        if item_id:
            line = next(li for li in order["line_items"] if li["id"] == item_id)
            product = self._line_product(posted, creating=False)
            if product is not None and (
                product["id"] != (line["variation_id"] or line["product_id"])
            ):
                self._assign_product(line, product)
            self._set_line_props(line, posted)
            self._adjust_line_stock(order, line)
            return
        product = self._line_product(posted, creating=True)
        quantity = posted.get("quantity", 1)
        line = {
            "id": self._next("item"),
            "name": "",
            "product_id": 0,
            "variation_id": 0,
            "quantity": quantity,
            "tax_class": "",
            "subtotal": "0",
            "total": "0",
            "meta_data": [],
        }
        if product is None:
            # prepare_line_items sets the product only `if ( $product )`: a product id that
            # names nothing gives a line of product 0 priced 0.00 (unless posted), no error.
            self._set_line_props(line, posted)
            order["line_items"].append(line)
            return
        self._assign_product(line, product)
        # wc_get_price_excluding_tax(product, qty): the line is priced at creation only.
        line_total = str(self._price(product) * quantity)
        line["subtotal"] = line["total"] = line_total
        if product["type"] == "variation":
            for attr in product["attributes"]:
                key = slugify(attr["name"]) if attr["id"] == 0 else f"pa_{slugify(attr['name'])}"
                line["meta_data"].append(
                    {"id": self._next("meta"), "key": key, "value": attr["option"]}
                )
        self._set_line_props(line, posted)
        if checkout:
            # class-wc-order-item-product.php set_backorder_meta, called by the checkout only.
            backordered = stock.backordered_quantity(self._stock_view(product), line["quantity"])
            if backordered is not None:
                line["meta_data"].append(
                    {"id": self._next("meta"), "key": "Backordered", "value": str(backordered)}
                )
        order["line_items"].append(line)

    def _assign_product(self, line: dict[str, Any], product: dict[str, Any]) -> None:
        if product["type"] == "variation":
            parent = self._product(product["parent_id"])
            line["product_id"] = product["parent_id"]
            line["variation_id"] = product["id"]
            base = parent["name"] if parent else product["name"]
            line["name"] = variation_title(base, product["attributes"])
        else:
            line["product_id"] = product["id"]
            line["variation_id"] = 0
            line["name"] = product["name"]

    def _set_line_props(self, line: dict[str, Any], posted: dict[str, Any]) -> None:
        for key in ("name", "quantity", "tax_class"):
            if posted.get(key) is not None:
                line[key] = posted[key]
        if posted.get("total") is not None:
            line["total"] = str(money(posted["total"]))
            # WC_Order_Item_Product::set_total: the subtotal cannot be less than the total.
            if money(line["subtotal"]) < money(line["total"]):
                line["subtotal"] = line["total"]
        if posted.get("subtotal") is not None:
            line["subtotal"] = str(money(posted["subtotal"]))
        if isinstance(posted.get("meta_data"), list):
            self._update_meta(line["meta_data"], posted["meta_data"])

    def _transition(self, order: dict[str, Any], new_status: str) -> None:
        """WC_Order::set_status + status_transition: dates, note and the stock hooks."""
        old = order["status"]
        if old == new_status:
            return
        order["status"] = new_status
        # class-wc-order.php maybe_set_date_paid: set on reaching the payment-complete status,
        # whatever the payment method (cash on delivery included).
        paid_status = "processing" if self._needs_processing(order) else "completed"
        if order["date_paid"] is None and (
            new_status == paid_status or (paid_status == "processing" and new_status == "completed")
        ):
            order["date_paid"] = self.now()
        if new_status == "completed":
            order["date_completed"] = self.now()
        self._add_note(
            order,
            f"Order status changed from {STATUS_LABELS.get(old, old)} to "
            f"{STATUS_LABELS.get(new_status, new_status)}.",
        )
        if new_status in stock.REDUCING_STATUSES:
            self._reduce_stock(order)
        elif new_status in stock.RESTORING_STATUSES:
            self._restore_stock(order)

    def _payment_complete(self, order: dict[str, Any], transaction_id: str) -> None:
        """WC_Order::payment_complete."""
        if order["status"] not in PAYMENT_COMPLETE_FROM:
            return
        if transaction_id:
            order["transaction_id"] = transaction_id
        if order["date_paid"] is None:
            order["date_paid"] = self.now()
        self._transition(order, "processing" if self._needs_processing(order) else "completed")
        # woocommerce_payment_complete -> wc_maybe_reduce_stock_levels.
        self._reduce_stock(order)

    def _calculate_totals(self, order: dict[str, Any]) -> None:
        """WC_Abstract_Order::calculate_totals without tax rates (taxes are always 0.00)."""
        items_total = sum((money(li["total"]) for li in order["line_items"]), Decimal("0"))
        shipping = sum((money(s["total"]) for s in order["shipping_lines"]), Decimal("0"))
        fees = sum((money(f["total"]) for f in order["fee_lines"]), Decimal("0"))
        discount = sum((money(c["discount"]) for c in order["coupon_lines"]), Decimal("0"))
        discount = min(discount, items_total)
        order["discount_total"] = str(discount)
        order["shipping_total"] = str(shipping)
        order["total"] = str(max(Decimal("0"), items_total - discount + shipping + fees))

    def _apply_order_fields(
        self, order: dict[str, Any], data: dict[str, Any], *, checkout: bool
    ) -> None:
        """Version3 prepare_object_for_database: every writable field except status/coupons."""
        for key in (
            "parent_id",
            "currency",
            "customer_id",
            "customer_note",
            "payment_method",
            "payment_method_title",
            "transaction_id",
            "customer_ip_address",
            "customer_user_agent",
            "cart_hash",
        ):
            if data.get(key) is not None:
                order[key] = data[key]
        for kind in ("billing", "shipping"):
            if isinstance(data.get(kind), dict):
                for key, value in data[kind].items():
                    if key in order[kind] and value is not None:
                        order[kind][key] = str(value)
        for posted in data.get("line_items") or []:
            if item_is_null(posted) or posted.get("quantity") == 0:
                line = next(li for li in order["line_items"] if li["id"] == posted.get("id"))
                # Version3 remove_item: give back what the line reduced, then drop it.
                self._adjust_line_stock(order, line, 0)
                order["line_items"].remove(line)
            else:
                self._set_line(order, posted, checkout=checkout)
        for key in ("shipping_lines", "fee_lines"):
            for posted in data.get(key) or []:
                existing = next(
                    (i for i in order[key] if posted.get("id") and i["id"] == posted["id"]), None
                )
                if item_is_null(posted):
                    if existing is not None:
                        order[key].remove(existing)
                    continue
                if existing is None:
                    existing = {"id": self._next("item"), "total": "0", "meta_data": []}
                    if key == "shipping_lines":
                        existing.update(method_id="", method_title="", instance_id="")
                    else:
                        existing.update(name="", tax_class="", tax_status="taxable")
                    order[key].append(existing)
                for field in (
                    "method_id",
                    "method_title",
                    "instance_id",
                    "name",
                    "tax_class",
                    "tax_status",
                ):
                    if field in existing and posted.get(field) is not None:
                        existing[field] = str(posted[field])
                if posted.get("total") is not None:
                    existing["total"] = str(money(posted["total"]))
                if isinstance(posted.get("meta_data"), list):
                    self._update_meta(existing["meta_data"], posted["meta_data"])
        if isinstance(data.get("meta_data"), list):
            self._update_meta(order["meta_data"], data["meta_data"])

    def _apply_coupons(self, order: dict[str, Any], posted: list[dict[str, Any]]) -> None:
        """Version3 calculate_coupons: replace all coupon lines. The sandbox has no coupon
        definitions: a posted ``discount`` is applied as a fixed cart discount, else 0.00."""
        order["coupon_lines"] = [
            {
                "id": self._next("item"),
                "code": str(item["code"]).strip().lower(),
                "discount": str(money(item.get("discount", "0"))),
                "meta_data": [],
            }
            for item in posted
        ]

    def create_order(
        self, data: dict[str, Any], *, created_via: str = "rest-api"
    ) -> dict[str, Any]:
        """REST POST /orders (Version3 save_object); the storefront uses created_via="checkout"."""
        with self._write():
            self._validate_order_request(data, None)
            order = self._create_order_locked(data, created_via)
        return self.order_json(order["id"]) or {}

    def _create_order_locked(self, data: dict[str, Any], created_via: str) -> dict[str, Any]:
        checkout = created_via == "checkout"
        order = self._new_order_record()
        order["created_via"] = str(data.get("created_via") or created_via)
        self._apply_order_fields(order, data, checkout=checkout)
        self._calculate_totals(order)
        if isinstance(data.get("coupon_lines"), list):
            self._apply_coupons(order, data["coupon_lines"])
            self._calculate_totals(order)
        self._put("order", order)
        # WC_REST_Orders_Controller::save_object saves a new order twice: calculate_totals()
        # ends with save(), which creates it (woocommerce_new_order: order.created), then
        # save() again updates it (woocommerce_update_order: order.updated), before the status
        # transition moves stock. Each webhook sends the resource once per request.
        self._emit("order.created", order["id"])
        self._emit("order.updated", order["id"])
        if data.get("status"):
            # The order was saved as pending first, so this is a real transition.
            self._transition(order, data["status"])
        if data.get("set_paid") is True:
            self._payment_complete(order, str(data.get("transaction_id") or ""))
        order["date_modified"] = self.now()
        self._put("order", order)
        return order

    def update_order(self, order_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """REST PUT /orders/<id> (Version3 save_object, updating)."""
        with self._write():
            order = self._order(order_id)
            if order is None:
                # WC_REST_CRUD_Controller::update_item answers a missing object with 400 (GET
                # and DELETE answer 404); a batch update item carries the same error.
                raise ApiError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 400)
            self._validate_order_request(data, order)
            self._update_order_locked(order, data)
        return self.order_json(order_id) or {}

    def _update_order_locked(self, order: dict[str, Any], data: dict[str, Any]) -> None:
        # Listeners hear the order first, then the products whose stock it moved.
        self._emit("order.updated", order["id"])
        self._apply_order_fields(order, data, checkout=False)
        if any(
            key in data
            for key in (
                "billing",
                "shipping",
                "line_items",
                "shipping_lines",
                "fee_lines",
                "coupon_lines",
            )
        ):
            self._calculate_totals(order)
        if isinstance(data.get("coupon_lines"), list):
            self._apply_coupons(order, data["coupon_lines"])
            self._calculate_totals(order)
        if data.get("status"):
            self._transition(order, data["status"])
        if data.get("set_paid") is True and self._needs_payment(order):
            self._payment_complete(order, str(data.get("transaction_id") or ""))
        order["date_modified"] = self.now()
        self._put("order", order)

    def delete_order(self, order_id: int, *, force: bool) -> dict[str, Any]:
        """REST DELETE /orders/<id>: trash, or delete with force. Stock is left alone. The answer
        is the order as it was before (WC_REST_CRUD_Controller::delete_item prepares the
        response first, then trashes or deletes)."""
        with self._write():
            order = self._order(order_id)
            if order is None:
                raise ApiError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
            before = self.order_json(order_id) or {}
            if force:
                self._remove("order", order_id)
                for note in list(self._tables["note"].values()):
                    if note["order_id"] == order_id:
                        self._remove("note", note["id"])
            else:
                if order["status"] == "trash":
                    raise ApiError(
                        "woocommerce_rest_already_trashed",
                        f"The order with ID {order_id} has already been deleted.",
                        410,
                    )
                order["status"] = "trash"
                order["date_modified"] = self.now()
                self._put("order", order)
                # order.deleted is bound to wp_trash_post/woocommerce_trash_order only
                # (class-wc-webhook.php): force=true without trashing first fires no webhook.
                self._emit("order.deleted", order_id)
        return before
