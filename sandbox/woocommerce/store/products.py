"""Products and variations: records, validation, create/update/delete and listing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.woocommerce import stock
from sandbox.woocommerce.errors import ApiError, invalid_param
from sandbox.woocommerce.store.contract import (
    money,
    slugify,
)
from sandbox.woocommerce.store.rendering import Rendering


class Products(Rendering):
    """Products and variations (REST /products and /products/<id>/variations)."""

    def _new_product_record(self, product_type: str, parent_id: int = 0) -> dict[str, Any]:
        now = self.now()
        return {
            "id": self._next("post"),
            "type": product_type,
            "parent_id": parent_id,
            "name": "",
            "slug": "",
            "status": "publish",
            "featured": False,
            "catalog_visibility": "visible",
            "description": "",
            "short_description": "",
            "sku": "",
            "regular_price": "",
            "sale_price": "",
            "virtual": False,
            "downloadable": False,
            "tax_status": "taxable",
            "tax_class": "",
            "manage_stock": False,
            "stock_quantity": None,
            "backorders": "no",
            "stock_status": "instock",
            "low_stock_amount": None,
            "sold_individually": False,
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_class": "",
            "reviews_allowed": True,
            "post_password": "",
            "purchase_note": "",
            "categories": [],
            "tags": [],
            "images": [],
            "image": None,
            "attributes": [],
            "default_attributes": [],
            "menu_order": 0,
            "meta_data": [],
            "total_sales": 0,
            "date_created": now,
            "date_modified": now,
        }

    def _validate_product_fields(self, data: dict[str, Any], *, variation: bool) -> None:
        checks: dict[str, Callable[[Any], bool]] = {
            "name": lambda v: isinstance(v, str),
            "post_password": lambda v: isinstance(v, str),
            "sku": lambda v: isinstance(v, str),
            "regular_price": lambda v: isinstance(v, str | int | float) and not isinstance(v, bool),
            "sale_price": lambda v: isinstance(v, str | int | float) and not isinstance(v, bool),
            "manage_stock": lambda v: isinstance(v, bool) or (variation and v == "parent"),
            "stock_quantity": lambda v: (
                v is None or (isinstance(v, int) and not isinstance(v, bool))
            ),
            "backorders": lambda v: v in stock.BACKORDERS,
            "stock_status": lambda v: v in stock.STOCK_STATUSES,
            "virtual": lambda v: isinstance(v, bool),
            "downloadable": lambda v: isinstance(v, bool),
            "status": lambda v: v in ("draft", "pending", "private", "publish", "future"),
            "type": lambda v: v in ("simple", "grouped", "external", "variable"),
            "meta_data": lambda v: isinstance(v, list),
            "menu_order": lambda v: isinstance(v, int) and not isinstance(v, bool),
        }
        for key, check in checks.items():
            if key in data and not check(data[key]):
                raise invalid_param(key, f"{key} is not of the expected type or value.")
        for key in ("regular_price", "sale_price"):
            if key in data and data[key] != "":
                try:
                    money(data[key])
                except ValueError:
                    raise invalid_param(key, f"{key} is not a decimal.") from None
        if data.get("sku"):
            for other in self._tables["product"].values():
                if other["sku"] == data["sku"] and other["id"] != data.get("id"):
                    raise ApiError(
                        "product_invalid_sku",
                        "Invalid or duplicated SKU.",
                        400,
                        {"resource_id": other["id"], "unique_sku": data["sku"]},
                    )

    def _apply_product_fields(self, record: dict[str, Any], data: dict[str, Any]) -> None:
        simple_keys = (
            "name",
            "slug",
            "status",
            "featured",
            "catalog_visibility",
            "description",
            "short_description",
            "sku",
            "virtual",
            "downloadable",
            "tax_status",
            "tax_class",
            "manage_stock",
            "stock_quantity",
            "backorders",
            "stock_status",
            "low_stock_amount",
            "sold_individually",
            "weight",
            "shipping_class",
            "reviews_allowed",
            "post_password",
            "purchase_note",
            "menu_order",
            "type",
        )
        for key in simple_keys:
            if key in data and data[key] is not None or key == "stock_quantity" and key in data:
                record[key] = data[key]
        for key in ("regular_price", "sale_price"):
            if key in data and data[key] is not None:
                record[key] = "" if data[key] == "" else str(data[key])
        if isinstance(data.get("dimensions"), dict):
            for key in ("length", "width", "height"):
                if key in data["dimensions"]:
                    record["dimensions"][key] = str(data["dimensions"][key])
        if isinstance(data.get("categories"), list):
            record["categories"] = [
                {
                    "id": int(c.get("id", 0)),
                    "name": str(c.get("name", f"Category {c.get('id', 0)}")),
                    "slug": str(c.get("slug", f"category-{c.get('id', 0)}")),
                }
                for c in data["categories"]
                if isinstance(c, dict)
            ]
        if isinstance(data.get("tags"), list):
            record["tags"] = [
                {
                    "id": int(t.get("id", 0)),
                    "name": str(t.get("name", "")),
                    "slug": str(t.get("slug", "")),
                }
                for t in data["tags"]
                if isinstance(t, dict)
            ]
        if isinstance(data.get("images"), list):
            record["images"] = [self._image(i) for i in data["images"] if isinstance(i, dict)]
        if isinstance(data.get("image"), dict):
            record["image"] = self._image(data["image"])
        if isinstance(data.get("attributes"), list):
            record["attributes"] = [self._attribute(a, record) for a in data["attributes"]]
        if isinstance(data.get("default_attributes"), list):
            record["default_attributes"] = [
                _chosen_option(a) for a in data["default_attributes"] if isinstance(a, dict)
            ]
        if isinstance(data.get("meta_data"), list):
            self._update_meta(record["meta_data"], data["meta_data"])
        if not record["slug"] and record["type"] != "variation":
            record["slug"] = slugify(record["name"])
        if record["manage_stock"] == "parent":
            record["manage_stock"] = False

    def _attribute(self, attr: Any, record: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(attr, dict):
            raise invalid_param("attributes", "attributes must be objects.")
        if record["type"] == "variation":
            return _chosen_option(attr)
        return {
            "id": int(attr.get("id", 0)),
            "name": str(attr.get("name", "")),
            "position": int(attr.get("position", 0)),
            "visible": bool(attr.get("visible", False)),
            "variation": bool(attr.get("variation", False)),
            "options": [str(o) for o in attr.get("options", [])],
        }

    def _image(self, data: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        return {
            "id": int(data.get("id") or self._next("post")),
            "date_created": now,
            "date_created_gmt": now,
            "date_modified": now,
            "date_modified_gmt": now,
            "src": str(data.get("src", "")),
            "name": str(data.get("name", "")),
            "alt": str(data.get("alt", "")),
        }

    def _after_product_change(self, record: dict[str, Any]) -> None:
        stock.normalise_stock_fields(record)
        record["date_modified"] = self.now()
        self._put("product", record)
        if record["type"] == "variation":
            self._sync_parent(record["parent_id"])

    def _sync_parent(self, parent_id: int) -> None:
        parent = self._product(parent_id)
        if parent is None or parent["type"] != "variable":
            return
        if not parent["manage_stock"]:
            parent["stock_status"] = stock.parent_stock_status(
                self._children(parent_id), parent["stock_status"]
            )
            self._put("product", parent)

    def create_product(self, data: dict[str, Any]) -> dict[str, Any]:
        """REST POST /products."""
        with self._write():
            self._validate_product_fields(data, variation=False)
            record = self._new_product_record(data.get("type") or "simple")
            self._apply_product_fields(record, data)
            self._after_product_change(record)
            self._emit("product.created", record["id"])
        return self.product_json(record["id"]) or {}

    def update_product(self, product_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """REST PUT /products/<id>."""
        with self._write():
            record = self._product(product_id)
            if record is None:
                raise ApiError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            self._validate_product_fields(
                {**data, "id": product_id}, variation=record["type"] == "variation"
            )
            self._apply_product_fields(record, data)
            self._after_product_change(record)
            self._emit("product.updated", product_id)
        return self.product_json(product_id) or {}

    def delete_product(self, product_id: int, *, force: bool) -> dict[str, Any]:
        """REST DELETE /products/<id> (trash unless force)."""
        with self._write():
            record = self._product(product_id)
            if record is None or record["type"] == "variation":
                raise ApiError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            before = self.product_json(product_id) or {}
            if force:
                for child in self._children(product_id):
                    self._remove("product", child["id"])
                self._remove("product", product_id)
            else:
                if record["status"] == "trash":
                    raise ApiError(
                        "woocommerce_rest_already_trashed",
                        f"The product with ID {product_id} has already been deleted.",
                        410,
                    )
                record["status"] = "trash"
                self._put("product", record)
                before = self.product_json(product_id) or {}
                # product.deleted is bound to wp_trash_post only (class-wc-webhook.php): a
                # permanent delete that skips the trash fires no webhook.
                self._emit("product.deleted", product_id)
        return before

    def create_variation(self, product_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """REST POST /products/<id>/variations."""
        with self._write():
            parent = self._product(product_id)
            if parent is None or parent["type"] == "variation":
                raise ApiError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            self._validate_product_fields(data, variation=True)
            record = self._new_product_record("variation", product_id)
            record["name"] = parent["name"]
            self._apply_product_fields(record, data)
            self._after_product_change(record)
            self._emit("product.created", record["id"])
        return self.variation_json(record["id"]) or {}

    def _variation(self, product_id: int, variation_id: int) -> dict[str, Any]:
        record = self._product(variation_id)
        if record is None or record["type"] != "variation" or record["parent_id"] != product_id:
            raise ApiError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 404)
        return record

    def update_variation(
        self, product_id: int, variation_id: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        """REST PUT /products/<id>/variations/<vid>."""
        with self._write():
            record = self._variation(product_id, variation_id)
            self._validate_product_fields({**data, "id": variation_id}, variation=True)
            self._apply_product_fields(record, data)
            self._after_product_change(record)
            # class-wc-webhook.php: variations fire product.* with the variation's id.
            self._emit("product.updated", variation_id)
        return self.variation_json(variation_id) or {}

    def delete_variation(self, product_id: int, variation_id: int) -> dict[str, Any]:
        """REST DELETE /products/<id>/variations/<vid>?force=true."""
        with self._write():
            self._variation(product_id, variation_id)
            before = self.variation_json(variation_id) or {}
            self._remove("product", variation_id)
            self._sync_parent(product_id)
            # Variations are deleted, never trashed: wp_trash_post does not run, no webhook.
        return before

    def list_products(
        self,
        *,
        include: list[int] | None = None,
        sku: str | None = None,
        stock_status: str | None = None,
        status: str | None = None,
        product_type: str | None = None,
        search: str | None = None,
        parent: list[int] | None = None,
    ) -> list[int]:
        """Ids of products (not variations) matching the REST filters, newest first."""
        with self._lock:
            result = []
            skus = {s.strip() for s in sku.split(",")} if sku else None
            for p in self._tables["product"].values():
                if p["type"] == "variation":
                    continue
                if status in (None, "any"):
                    if p["status"] == "trash":
                        continue
                elif p["status"] != status:
                    continue
                if include and p["id"] not in include:
                    continue
                if skus is not None and p["sku"] not in skus:
                    continue
                if stock_status and p["stock_status"] != stock_status:
                    continue
                if product_type and p["type"] != product_type:
                    continue
                if parent and p["parent_id"] not in parent:
                    continue
                if search and search.lower() not in p["name"].lower():
                    continue
                result.append(p)
            result.sort(key=lambda p: (p["date_created"], p["id"]), reverse=True)
            return [p["id"] for p in result]

    def list_variations(self, product_id: int) -> list[int]:
        """Ids of a variable product's variations, in menu order."""
        with self._lock:
            return [c["id"] for c in self._children(product_id)]


def _chosen_option(attr: dict[str, Any]) -> dict[str, Any]:
    """One option of an attribute: a variation's attributes and a product's defaults."""
    return {
        "id": int(attr.get("id", 0)),
        "name": str(attr.get("name", "")),
        "option": str(attr.get("option", "")),
    }
