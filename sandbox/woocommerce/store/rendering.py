"""The REST representations (JSON bodies) of products, variations, orders, customers, notes
and webhooks, field for field as WooCommerce returns them.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from sandbox.woocommerce import stock
from sandbox.woocommerce.store.contract import (
    EDITABLE_STATUSES,
    TOPIC_HOOKS,
    WC_VERSION,
    fmt,
    json_number,
    money,
)
from sandbox.woocommerce.store.records import Records, variation_title


class Rendering(Records):
    """The ``*_json`` methods the REST layer and the write paths return."""

    def _stock_json(self, record: dict[str, Any]) -> dict[str, Any]:
        record = self._stock_view(record)
        return {
            "manage_stock": record["manage_stock"],
            "stock_quantity": record["stock_quantity"],
            "stock_status": record["stock_status"],
            "backorders": record["backorders"],
            "backorders_allowed": stock.backorders_allowed(record),
            "backordered": stock.is_on_backorder(record),
        }

    def _price_text(self, record: dict[str, Any]) -> str:
        """The ``price`` field: the active price, empty while no regular price is set."""
        return fmt(self._price(record)) if record["regular_price"] != "" else ""

    def product_json(self, product_id: int) -> dict[str, Any] | None:
        """GET /products/<id> as WooCommerce returns it (a variation id gives type variation)."""
        with self._lock:
            record = self._product(product_id)
            if record is None:
                return None
            parent = self._product(record["parent_id"]) if record["type"] == "variation" else None
            name = record["name"]
            if parent is not None:
                name = variation_title(parent["name"], record["attributes"])
            children = self._children(product_id) if record["type"] == "variable" else []
            price_text = self._price_text(record)
            if children:
                prices = [self._price(c) for c in children]
                price_text = fmt(min(prices))
            data: dict[str, Any] = {
                "id": record["id"],
                "name": name,
                "slug": record["slug"],
                "permalink": f"{self.site_url}product/{record['slug'] or record['id']}/",
                "date_created": record["date_created"],
                "date_created_gmt": record["date_created"],
                "date_modified": record["date_modified"],
                "date_modified_gmt": record["date_modified"],
                "type": record["type"],
                "status": record["status"],
                "featured": record["featured"],
                "catalog_visibility": record["catalog_visibility"],
                "description": record["description"],
                "short_description": record["short_description"],
                "sku": record["sku"],
                "price": price_text,
                "regular_price": record["regular_price"],
                "sale_price": record["sale_price"],
                "date_on_sale_from": None,
                "date_on_sale_from_gmt": None,
                "date_on_sale_to": None,
                "date_on_sale_to_gmt": None,
                "price_html": (
                    '<span class="woocommerce-Price-amount amount"><span '
                    f'class="woocommerce-Price-currencySymbol">&#36;</span>{price_text}</span>'
                ),
                "on_sale": record["sale_price"] not in ("", None),
                "purchasable": price_text != "",
                "total_sales": record["total_sales"],
                "virtual": record["virtual"],
                "downloadable": record["downloadable"],
                "downloads": [],
                "download_limit": -1,
                "download_expiry": -1,
                "external_url": "",
                "button_text": "",
                "tax_status": record["tax_status"],
                "tax_class": record["tax_class"],
                **self._stock_json(record),
                "low_stock_amount": record["low_stock_amount"],
                "sold_individually": record["sold_individually"],
                "weight": record["weight"],
                "dimensions": dict(record["dimensions"]),
                "shipping_required": not record["virtual"],
                "shipping_taxable": not record["virtual"],
                "shipping_class": record["shipping_class"],
                "shipping_class_id": 0,
                "reviews_allowed": record["reviews_allowed"],
                # In the v3 products schema (class-wc-rest-products-controller.php).
                "post_password": record.get("post_password", ""),
                "average_rating": "0.00",
                "rating_count": 0,
                "related_ids": [],
                "upsell_ids": [],
                "cross_sell_ids": [],
                "parent_id": record["parent_id"],
                "purchase_note": record["purchase_note"],
                "categories": copy.deepcopy(record["categories"]),
                "tags": copy.deepcopy(record["tags"]),
                "images": copy.deepcopy(record["images"]),
                "attributes": copy.deepcopy(record["attributes"]),
                "default_attributes": copy.deepcopy(record["default_attributes"]),
                "variations": [c["id"] for c in children],
                "grouped_products": [],
                "menu_order": record["menu_order"],
                "meta_data": copy.deepcopy(record["meta_data"]),
                # Fields of WooCommerce 9.9's products schema the sandbox keeps empty: no
                # brands, GTIN/UPC/EAN/ISBN. WC_Product_Variable::has_options is true (options
                # must be chosen), WC_Product::has_options false.
                "brands": [],
                "global_unique_id": "",
                "has_options": record["type"] == "variable",
            }
            up = {"up": f"products/{record['parent_id']}"} if record["parent_id"] else {}
            data["_links"] = self.links(f"products/{record['id']}", "products", **up)
            return data

    def variation_json(self, variation_id: int) -> dict[str, Any] | None:
        """GET /products/<pid>/variations/<id> as WooCommerce returns it."""
        with self._lock:
            record = self._product(variation_id)
            if record is None or record["type"] != "variation":
                return None
            price = self._price_text(record)
            return {
                "id": record["id"],
                # WC_REST_Product_Variations_Controller (v3): its type, parent and (empty)
                # GTIN/UPC/EAN/ISBN, and as `name` wc_get_formatted_variation( $object, true,
                # false, false ): the attribute values joined by ", " ("S", "M, Red").
                "type": "variation",
                "name": ", ".join(a["option"] for a in record["attributes"] if a["option"]),
                "parent_id": record["parent_id"],
                "global_unique_id": "",
                "date_created": record["date_created"],
                "date_created_gmt": record["date_created"],
                "date_modified": record["date_modified"],
                "date_modified_gmt": record["date_modified"],
                "description": record["description"],
                "permalink": (
                    f"{self.site_url}product/{record['parent_id']}/?variation={record['id']}"
                ),
                "sku": record["sku"],
                "price": price,
                "regular_price": record["regular_price"],
                "sale_price": record["sale_price"],
                "date_on_sale_from": None,
                "date_on_sale_from_gmt": None,
                "date_on_sale_to": None,
                "date_on_sale_to_gmt": None,
                "on_sale": record["sale_price"] not in ("", None),
                "status": record["status"],
                "purchasable": price != "",
                "virtual": record["virtual"],
                "downloadable": record["downloadable"],
                "downloads": [],
                "download_limit": -1,
                "download_expiry": -1,
                "tax_status": record["tax_status"],
                "tax_class": record["tax_class"],
                **self._stock_json(record),
                "low_stock_amount": record["low_stock_amount"],
                "weight": record["weight"],
                "dimensions": dict(record["dimensions"]),
                "shipping_class": record["shipping_class"],
                "shipping_class_id": 0,
                "image": copy.deepcopy(record["image"]),
                "attributes": copy.deepcopy(record["attributes"]),
                "menu_order": record["menu_order"],
                "meta_data": copy.deepcopy(record["meta_data"]),
                "_links": self.links(
                    f"products/{record['parent_id']}/variations/{record['id']}",
                    f"products/{record['parent_id']}/variations",
                    up=f"products/{record['parent_id']}",
                ),
            }

    def customer_json(self, customer_id: int) -> dict[str, Any] | None:
        """GET /customers/<id>."""
        with self._lock:
            record = self._tables["customer"].get(customer_id)
            if record is None:
                return None
            digest = hashlib.md5(record["email"].lower().encode(), usedforsecurity=False)
            return {
                "id": record["id"],
                "date_created": record["date_created"],
                "date_created_gmt": record["date_created"],
                "date_modified": record["date_modified"],
                "date_modified_gmt": record["date_modified"],
                "email": record["email"],
                "first_name": record["first_name"],
                "last_name": record["last_name"],
                "role": record["role"],
                "username": record["username"],
                "billing": dict(record["billing"]),
                "shipping": dict(record["shipping"]),
                "is_paying_customer": record["is_paying_customer"],
                "avatar_url": f"https://secure.gravatar.com/avatar/{digest.hexdigest()}?s=96",
                "meta_data": copy.deepcopy(record["meta_data"]),
            }

    def _line_image(self, product: dict[str, Any] | None) -> dict[str, Any]:
        """A line item's `image` (Version2 get_order_item_data): the product's image id, which
        WC_Product::get_image_id gives as "" when it has none; a variation without one falls
        back to its parent's (WC_Product_Variation::get_image_id), 0 when that has none either
        (get_post_thumbnail_id); 0 when there is no product."""
        if product is None:
            return {"id": 0, "src": ""}
        image = None
        missing: str | int = ""
        if product["type"] == "variation":
            image, missing = product["image"], 0
            product = self._product(product["parent_id"]) or product
        if image is None and product["images"]:
            image = product["images"][0]
        if image is None:
            return {"id": missing, "src": ""}
        return {"id": image["id"], "src": image["src"]}

    def _item_meta_json(self, meta: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "id": m["id"],
                "key": m["key"],
                "value": m["value"],
                "display_key": m["key"],
                "display_value": m["value"],
            }
            for m in meta
        ]

    def order_json(self, order_id: int) -> dict[str, Any] | None:
        """GET /orders/<id> exactly as the REST API represents it (``_links`` included)."""
        with self._lock:
            order = self._order(order_id)
            if order is None:
                return None
            line_items = []
            for line in order["line_items"]:
                quantity = line["quantity"]
                total = money(line["total"])
                product = self._product(line["variation_id"] or line["product_id"])
                image = self._line_image(product)
                parent_name = None
                if product is not None and product["type"] == "variation":
                    parent = self._product(product["parent_id"])
                    parent_name = parent["name"] if parent else None
                line_items.append(
                    {
                        "id": line["id"],
                        "name": line["name"],
                        "product_id": line["product_id"],
                        "variation_id": line["variation_id"],
                        "quantity": quantity,
                        "tax_class": line["tax_class"],
                        "subtotal": fmt(money(line["subtotal"])),
                        "subtotal_tax": "0.00",
                        "total": fmt(total),
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": self._item_meta_json(line["meta_data"]),
                        "sku": product["sku"] if product else None,
                        "price": json_number(total / quantity) if quantity else 0,
                        "image": image,
                        "parent_name": parent_name,
                    }
                )
            shipping_lines = [
                {
                    "id": s["id"],
                    "method_title": s["method_title"],
                    "method_id": s["method_id"],
                    "instance_id": s.get("instance_id", ""),
                    "total": fmt(money(s["total"])),
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": self._item_meta_json(s["meta_data"]),
                }
                for s in order["shipping_lines"]
            ]
            fee_lines = [
                {
                    "id": f["id"],
                    "name": f["name"],
                    "tax_class": f["tax_class"],
                    "tax_status": f["tax_status"],
                    "amount": f["total"],
                    "total": fmt(money(f["total"])),
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": self._item_meta_json(f["meta_data"]),
                }
                for f in order["fee_lines"]
            ]
            coupon_lines = [
                {
                    "id": c["id"],
                    "code": c["code"],
                    "discount": fmt(money(c["discount"])),
                    "discount_tax": "0.00",
                    "meta_data": self._item_meta_json(c["meta_data"]),
                    "discount_type": "fixed_cart",
                    "nominal_amount": float(money(c["discount"])),
                    "free_shipping": False,
                }
                for c in order["coupon_lines"]
            ]
            order_extra = {}
            if order["customer_id"]:
                order_extra["customer"] = f"customers/{order['customer_id']}"
            if order["parent_id"]:
                order_extra["up"] = f"orders/{order['parent_id']}"
            return {
                "id": order["id"],
                "parent_id": order["parent_id"],
                "status": order["status"],
                "currency": order["currency"],
                "version": WC_VERSION,
                "prices_include_tax": False,
                "date_created": order["date_created"],
                "date_modified": order["date_modified"],
                "discount_total": fmt(money(order["discount_total"])),
                "discount_tax": "0.00",
                "shipping_total": fmt(money(order["shipping_total"])),
                "shipping_tax": "0.00",
                "cart_tax": "0.00",
                "total": fmt(money(order["total"])),
                "total_tax": "0.00",
                "customer_id": order["customer_id"],
                "order_key": order["order_key"],
                "billing": dict(order["billing"]),
                "shipping": dict(order["shipping"]),
                "payment_method": order["payment_method"],
                "payment_method_title": order["payment_method_title"],
                "transaction_id": order["transaction_id"],
                "customer_ip_address": order["customer_ip_address"],
                "customer_user_agent": order["customer_user_agent"],
                "created_via": order["created_via"],
                "customer_note": order["customer_note"],
                "date_completed": order["date_completed"],
                "date_paid": order["date_paid"],
                "cart_hash": order["cart_hash"],
                "number": str(order["id"]),
                "meta_data": copy.deepcopy(order["meta_data"]),
                "line_items": line_items,
                "tax_lines": [],
                "shipping_lines": shipping_lines,
                "fee_lines": fee_lines,
                "coupon_lines": coupon_lines,
                "refunds": [],
                "payment_url": (
                    f"{self.site_url}checkout/order-pay/{order['id']}/"
                    f"?pay_for_order=true&key={order['order_key']}"
                ),
                "is_editable": order["status"] in EDITABLE_STATUSES,
                "needs_payment": self._needs_payment(order),
                "needs_processing": self._needs_processing(order),
                "date_created_gmt": order["date_created"],
                "date_modified_gmt": order["date_modified"],
                "date_completed_gmt": order["date_completed"],
                "date_paid_gmt": order["date_paid"],
                "currency_symbol": "$",
                "_links": self.links(f"orders/{order['id']}", "orders", **order_extra),
            }

    def note_json(self, note_id: int) -> dict[str, Any] | None:
        """GET /orders/<id>/notes/<note_id>."""
        with self._lock:
            note = self._tables["note"].get(note_id)
            if note is None:
                return None
            return {
                "id": note["id"],
                "author": note["author"],
                "date_created": note["date_created"],
                "date_created_gmt": note["date_created"],
                "note": note["note"],
                "customer_note": note["customer_note"],
            }

    def webhook_json(self, webhook_id: int) -> dict[str, Any] | None:
        """GET /webhooks/<id> (the secret is write-only, as in WooCommerce)."""
        with self._lock:
            record = self._tables["webhook"].get(webhook_id)
            if record is None:
                return None
            resource, _, event = record["topic"].partition(".")
            return {
                "id": record["id"],
                "name": record["name"],
                "status": record["status"],
                "topic": record["topic"],
                "resource": resource,
                "event": event,
                "hooks": list(TOPIC_HOOKS.get(record["topic"], [event])),
                "delivery_url": record["delivery_url"],
                "date_created": record["date_created"],
                "date_created_gmt": record["date_created"],
                "date_modified": record["date_modified"],
                "date_modified_gmt": record["date_modified"],
            }
