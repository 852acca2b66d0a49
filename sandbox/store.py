"""The sandbox store: products, orders, customers, notes and webhooks with WooCommerce semantics.

State lives in memory (the truth while the process runs) and is written through to SQLite
(``<data_dir>/sandbox.sqlite3``) so a restart with the same ``--data-dir`` keeps it. All writes
are serialised by one lock; listeners run after the change is committed, outside the lock.

Listing helpers for the storefront and admin (besides the REST representations):
``list_products(...)``, ``list_variations(product_id)``, ``list_orders(...)``,
``list_customers(...)``, ``list_webhooks(...)``, ``product_record(id)`` (internal record),
``order_notes(order_id)``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sandbox import stock
from sandbox.errors import ApiError, invalid_param

logger = logging.getLogger(__name__)

Listener = Callable[[str, int], None]

ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "trash",
    "checkout-draft",
)
STATUS_LABELS = {
    "pending": "Pending payment",
    "processing": "Processing",
    "on-hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "failed": "Failed",
    "trash": "Trash",
    "checkout-draft": "Draft",
}
# class-wc-order.php payment_complete: statuses from which payment completes the order.
PAYMENT_COMPLETE_FROM = ("on-hold", "pending", "failed", "cancelled")
# class-wc-order.php needs_payment: woocommerce_valid_order_statuses_for_payment.
NEEDS_PAYMENT_STATUSES = ("pending", "failed")
# class-wc-order.php is_editable.
EDITABLE_STATUSES = ("pending", "on-hold", "auto-draft", "checkout-draft")
WEBHOOK_STATUSES = ("active", "paused", "disabled")
# class-wc-webhook.php get_topic_hooks (the hooks each core topic is bound to).
TOPIC_HOOKS = {
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
    "customer.created": [
        "user_register",
        "woocommerce_created_customer",
        "woocommerce_new_customer",
    ],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": [
        "woocommerce_update_order",
        "woocommerce_order_refunded",
        "woocommerce_delete_order_refund",
    ],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": [
        "woocommerce_process_product_meta",
        "woocommerce_new_product",
        "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
    "product.published": ["woocommerce_product_published"],
}
# class-wc-webhook.php is_valid_resource: order webhooks ignore draft orders.
SILENT_ORDER_STATUSES = ("checkout-draft", "auto-draft", "new")
# Reference README / class-wc-webhook.php: more than 5 consecutive failures disable a webhook.
MAX_CONSECUTIVE_FAILURES = 5
ADDRESS_BILLING = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
    "email",
    "phone",
)
ADDRESS_SHIPPING = ADDRESS_BILLING[:9] + ("phone",)
CENT = Decimal("0.01")
WC_VERSION = "9.8.0"


def money(value: Any) -> Decimal:
    """Parse a WooCommerce decimal string (empty means zero)."""
    if value in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc


def fmt(value: Decimal) -> str:
    """wc_format_decimal with 2 decimals, as the REST API formats money."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def fmt_date(value: str | None) -> str | None:
    """Dates are kept as UTC ISO strings without offset, the REST format (site timezone UTC)."""
    return value


def parse_iso(value: str) -> datetime | None:
    """Parse an ISO8601 date as the REST API accepts it; naive means UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _number(value: Decimal) -> int | float:
    """A JSON number the way PHP prints a computed price (``price`` on line items)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "product"


class Store:
    """A WooCommerce-like store; see the module docstring for the helpers it offers."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        site_url: str = "http://127.0.0.1/",
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.site_url = site_url
        self._listeners: list[Listener] = []
        self._pending_events: list[tuple[str, int]] | None = None
        self._touched: set[tuple[str, int]] = set()
        self._deleted: set[tuple[str, int]] = set()
        self._tables: dict[str, dict[int, dict[str, Any]]] = {
            "product": {},
            "order": {},
            "customer": {},
            "webhook": {},
            "note": {},
            "key": {},
        }
        self._counters: dict[str, int] = {
            "post": 100,
            "item": 0,
            "meta": 0,
            "user": 0,
            "webhook": 0,
            "comment": 0,
            "key": 0,
        }
        path = ":memory:"
        if data_dir is not None:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            path = str(Path(data_dir) / "sandbox.sqlite3")
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS objects (kind TEXT, id INTEGER, body TEXT, "
            "PRIMARY KEY (kind, id))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER)"
        )
        self._db.commit()
        self._load()

    # ------------------------------------------------------------------ infrastructure

    def _load(self) -> None:
        for kind, object_id, body in self._db.execute("SELECT kind, id, body FROM objects"):
            self._tables[kind][object_id] = json.loads(body)
        for name, value in self._db.execute("SELECT name, value FROM counters"):
            self._counters[name] = value

    def add_listener(self, fn: Listener) -> None:
        """Call ``fn(topic, resource_id)`` after each committed change."""
        self._listeners.append(fn)

    def now(self) -> str:
        """The current time as the REST API prints it (UTC, site timezone UTC)."""
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def _next(self, counter: str) -> int:
        self._counters[counter] += 1
        return self._counters[counter]

    def _put(self, kind: str, record: dict[str, Any]) -> None:
        self._tables[kind][record["id"]] = record
        self._touched.add((kind, record["id"]))

    def _remove(self, kind: str, object_id: int) -> None:
        self._tables[kind].pop(object_id, None)
        self._deleted.add((kind, object_id))

    def _emit(self, topic: str, resource_id: int) -> None:
        assert self._pending_events is not None
        if (topic, resource_id) not in self._pending_events:
            self._pending_events.append((topic, resource_id))

    @contextmanager
    def _write(self) -> Iterator[None]:
        """Serialise a change, write it through to SQLite, then notify listeners."""
        with self._lock:
            self._pending_events = []
            self._touched = set()
            self._deleted = set()
            try:
                yield
                self._commit()
                events = [
                    (topic, rid)
                    for topic, rid in self._pending_events
                    if not self._silent(topic, rid)
                ]
            finally:
                self._pending_events = None
        for topic, resource_id in events:
            for listener in self._listeners:
                try:
                    listener(topic, resource_id)
                except Exception:
                    # A broken listener must not undo a committed change.
                    logger.exception("listener_failed topic=%s id=%s", topic, resource_id)

    def _silent(self, topic: str, resource_id: int) -> bool:
        """class-wc-webhook.php is_valid_resource: draft orders fire no order webhooks."""
        if not topic.startswith("order.") or topic == "order.deleted":
            return False
        order = self._tables["order"].get(resource_id)
        return order is not None and order["status"] in SILENT_ORDER_STATUSES

    def _commit(self) -> None:
        rows = [
            (kind, object_id, json.dumps(self._tables[kind][object_id]))
            for kind, object_id in self._touched
            if object_id in self._tables[kind]
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?)", rows)
            self._db.executemany(
                "DELETE FROM objects WHERE kind = ? AND id = ?", list(self._deleted)
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO counters VALUES (?, ?)", list(self._counters.items())
            )

    def links(self, path: str, collection: str, **extra: str) -> dict[str, Any]:
        """The ``_links`` object WordPress adds to a REST response, against ``site_url``."""
        base = self.site_url.rstrip("/") + "/wp-json/wc/v3"
        links: dict[str, Any] = {
            "self": [{"href": f"{base}/{path}"}],
            "collection": [{"href": f"{base}/{collection}"}],
        }
        for rel, href in extra.items():
            links[rel] = [{"href": f"{base}/{href}"}]
        return links

    # ------------------------------------------------------------------ products

    def product_record(self, product_id: int) -> dict[str, Any] | None:
        """A deep copy of the internal product or variation record."""
        with self._lock:
            record = self._tables["product"].get(product_id)
            return copy.deepcopy(record) if record else None

    def _product(self, product_id: int) -> dict[str, Any] | None:
        record = self._tables["product"].get(product_id)
        if record is None or record["status"] == "__deleted__":
            return None
        return record

    def _children(self, product_id: int) -> list[dict[str, Any]]:
        return sorted(
            (
                p
                for p in self._tables["product"].values()
                if p["type"] == "variation" and p["parent_id"] == product_id
            ),
            key=lambda p: (p["menu_order"], p["id"]),
        )

    def _price(self, product: dict[str, Any]) -> Decimal:
        if product.get("sale_price") not in (None, ""):
            return money(product["sale_price"])
        return money(product.get("regular_price"))

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
                {
                    "id": int(a.get("id", 0)),
                    "name": str(a.get("name", "")),
                    "option": str(a.get("option", "")),
                }
                for a in data["default_attributes"]
                if isinstance(a, dict)
            ]
        if isinstance(data.get("meta_data"), list):
            self._update_meta(record["meta_data"], data["meta_data"])
        if not record["slug"] and record["type"] != "variation":
            record["slug"] = _slugify(record["name"])
        if record["manage_stock"] == "parent":
            record["manage_stock"] = False

    def _attribute(self, attr: Any, record: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(attr, dict):
            raise invalid_param("attributes", "attributes must be objects.")
        if record["type"] == "variation":
            return {
                "id": int(attr.get("id", 0)),
                "name": str(attr.get("name", "")),
                "option": str(attr.get("option", "")),
            }
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

    def _update_meta(self, meta: list[dict[str, Any]], posted: list[Any]) -> None:
        """WC_Data::update_meta_data for each posted entry (by id, else by key, else add)."""
        for entry in posted:
            if not isinstance(entry, dict) or "key" not in entry:
                continue
            key, value = str(entry["key"]), entry.get("value")
            target = None
            if entry.get("id"):
                target = next((m for m in meta if m["id"] == entry["id"]), None)
            if target is None:
                target = next((m for m in meta if m["key"] == key), None)
            if target is None:
                meta.append({"id": self._next("meta"), "key": key, "value": value})
            else:
                target["key"], target["value"] = key, value

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

    def _stock_json(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "manage_stock": record["manage_stock"],
            "stock_quantity": record["stock_quantity"],
            "stock_status": record["stock_status"],
            "backorders": record["backorders"],
            "backorders_allowed": stock.backorders_allowed(record),
            "backordered": stock.is_on_backorder(record),
        }

    def product_json(self, product_id: int) -> dict[str, Any] | None:
        """GET /products/<id> as WooCommerce returns it (a variation id gives type variation)."""
        with self._lock:
            record = self._product(product_id)
            if record is None:
                return None
            price = self._price(record)
            parent = self._product(record["parent_id"]) if record["type"] == "variation" else None
            name = record["name"]
            if parent is not None:
                options = ", ".join(a["option"] for a in record["attributes"])
                name = f"{parent['name']} - {options}" if options else parent["name"]
            children = self._children(product_id) if record["type"] == "variable" else []
            price_text = fmt(price) if record["regular_price"] != "" else ""
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
            price = fmt(self._price(record)) if record["regular_price"] != "" else ""
            return {
                "id": record["id"],
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

    # ------------------------------------------------------------------ customers

    def create_customer(self, data: dict[str, Any]) -> dict[str, Any]:
        """REST POST /customers."""
        email = data.get("email")
        if not email:
            raise ApiError(
                "rest_missing_callback_param",
                "Missing parameter(s): email",
                400,
                {"params": ["email"]},
            )
        if not isinstance(email, str) or "@" not in email:
            raise invalid_param("email", "Invalid email address.")
        with self._write():
            for other in self._tables["customer"].values():
                if other["email"].lower() == email.lower():
                    raise ApiError(
                        "registration-error-email-exists",
                        "An account is already registered with your email address. Please log in.",
                        400,
                    )
            now = self.now()
            record: dict[str, Any] = {
                "id": self._next("user"),
                "date_created": now,
                "date_modified": now,
                "email": email,
                "first_name": str(data.get("first_name", "")),
                "last_name": str(data.get("last_name", "")),
                "role": "customer",
                "username": str(data.get("username") or email.split("@")[0]),
                "billing": {k: "" for k in ADDRESS_BILLING},
                "shipping": {k: "" for k in ADDRESS_SHIPPING},
                "is_paying_customer": False,
                "meta_data": [],
            }
            for kind in ("billing", "shipping"):
                if isinstance(data.get(kind), dict):
                    for key, value in data[kind].items():
                        if key in record[kind]:
                            record[kind][key] = str(value)
            if isinstance(data.get("meta_data"), list):
                self._update_meta(record["meta_data"], data["meta_data"])
            self._put("customer", record)
            self._emit("customer.created", record["id"])
        return self.customer_json(record["id"]) or {}

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

    def list_customers(
        self, *, email: str | None = None, include: list[int] | None = None
    ) -> list[int]:
        """Customer ids matching the REST filters, by id ascending (WooCommerce's default)."""
        with self._lock:
            return sorted(
                c["id"]
                for c in self._tables["customer"].values()
                if (not email or c["email"].lower() == email.lower())
                and (not include or c["id"] in include)
            )

    # ------------------------------------------------------------------ orders: reading

    def _order(self, order_id: int) -> dict[str, Any] | None:
        return self._tables["order"].get(order_id)

    def order_record(self, order_id: int) -> dict[str, Any] | None:
        """A deep copy of the internal order record (includes ``stock_reduced``)."""
        with self._lock:
            record = self._order(order_id)
            return copy.deepcopy(record) if record else None

    def _needs_processing(self, order: dict[str, Any]) -> bool:
        for line in order["line_items"]:
            product = self._product(line["variation_id"] or line["product_id"])
            if product is None or not (product["virtual"] and product["downloadable"]):
                return True
        return False

    def _needs_payment(self, order: dict[str, Any]) -> bool:
        return order["status"] in NEEDS_PAYMENT_STATUSES and money(order["total"]) > 0

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
                        "price": _number(total / quantity) if quantity else 0,
                        "image": {"id": 0, "src": ""},
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

    # ------------------------------------------------------------------ orders: writing

    def _line_product(self, posted: dict[str, Any], *, creating: bool) -> dict[str, Any] | None:
        """WC_REST_Orders_V2_Controller::get_product_id: sku, then product_id, then variation_id."""
        if posted.get("sku"):
            match = next(
                (p for p in self._tables["product"].values() if p["sku"] == posted["sku"]), None
            )
            if match is None:
                raise ApiError("woocommerce_rest_invalid_product_id", "Invalid product SKU.", 400)
            return match
        product_id = posted.get("product_id")
        variation_id = posted.get("variation_id")
        for key, value in (("product_id", product_id), ("variation_id", variation_id)):
            if value not in (None, "") and (not isinstance(value, int) or isinstance(value, bool)):
                raise invalid_param("line_items", f"line_items[{key}] is not of type integer.")
        wanted = variation_id or product_id
        if not wanted:
            if creating:
                raise ApiError(
                    "woocommerce_rest_required_product_reference",
                    "Product ID or SKU is required.",
                    400,
                )
            return None
        product = self._product(wanted)
        if product is None or (variation_id and product["type"] != "variation"):
            raise ApiError("woocommerce_rest_invalid_product_id", "Invalid product ID.", 400)
        return product

    def _validate_order_request(self, data: dict[str, Any], order: dict[str, Any] | None) -> None:
        """Check a create/update body before anything changes (so a 400 changes nothing)."""
        if not isinstance(data, dict):
            raise ApiError("rest_invalid_json", "Invalid JSON body passed.", 400)
        if "status" in data and data["status"] not in ORDER_STATUSES[:8] + ("checkout-draft",):
            raise invalid_param(
                "status",
                "status is not one of pending, processing, on-hold, completed, cancelled, "
                "refunded, failed, trash and checkout-draft.",
            )
        for key in ("parent_id", "customer_id"):
            if key in data and (not isinstance(data[key], int) or isinstance(data[key], bool)):
                raise invalid_param(key, f"{key} is not of type integer.")
        if "set_paid" in data and not isinstance(data["set_paid"], bool):
            raise invalid_param("set_paid", "set_paid is not of type boolean.")
        for key in ("billing", "shipping"):
            if key in data and not isinstance(data[key], dict):
                raise invalid_param(key, f"{key} is not of type object.")
        if "billing" in data and data["billing"].get("email") not in (None, ""):
            email = data["billing"]["email"]
            if not isinstance(email, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
                raise invalid_param("billing", "Invalid email address.")
        for key in ("meta_data", "line_items", "shipping_lines", "fee_lines", "coupon_lines"):
            if key in data and not isinstance(data[key], list):
                raise invalid_param(key, f"{key} is not of type array.")
            for entry in data.get(key) or []:
                if not isinstance(entry, dict):
                    raise invalid_param(key, f"{key}[0] is not of type object.")
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
                raise invalid_param("line_items", "line_items[0][quantity] is not of type integer.")
            for key in ("total", "subtotal"):
                if key in line:
                    try:
                        money(line[key])
                    except ValueError:
                        raise invalid_param(
                            "line_items", f"line_items[0][{key}] is not a decimal."
                        ) from None
            removing = _item_is_null(line) or quantity == 0
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
                if _item_is_null(item) or item.get("id"):
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

    def _add_note(
        self,
        order: dict[str, Any],
        text: str,
        *,
        customer_note: bool = False,
        added_by_user: bool = False,
    ) -> dict[str, Any]:
        note = {
            "id": self._next("comment"),
            "order_id": order["id"],
            "author": "system" if not added_by_user else "sandbox",
            "date_created": self.now(),
            "note": text,
            "customer_note": customer_note,
        }
        self._put("note", note)
        return note

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
        assert product is not None
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
        self._assign_product(line, product)
        # wc_get_price_excluding_tax(product, qty): the line is priced at creation only.
        line_total = str(self._price(product) * quantity)
        line["subtotal"] = line["total"] = line_total
        if product["type"] == "variation":
            for attr in product["attributes"]:
                key = _slugify(attr["name"]) if attr["id"] == 0 else f"pa_{_slugify(attr['name'])}"
                line["meta_data"].append(
                    {"id": self._next("meta"), "key": key, "value": attr["option"]}
                )
        self._set_line_props(line, posted)
        if checkout:
            # class-wc-order-item-product.php set_backorder_meta, called by the checkout only.
            backordered = stock.backordered_quantity(product, line["quantity"])
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
            options = ", ".join(a["option"] for a in product["attributes"])
            base = parent["name"] if parent else product["name"]
            line["name"] = f"{base} - {options}" if options else base
        else:
            line["product_id"] = product["id"]
            line["variation_id"] = 0
            line["name"] = product["name"]

    def _set_line_props(self, line: dict[str, Any], posted: dict[str, Any]) -> None:
        for key in ("name", "quantity", "tax_class"):
            if posted.get(key) is not None:
                line[key] = posted[key]
        for key in ("total", "subtotal"):
            if posted.get(key) is not None:
                line[key] = str(money(posted[key]))
        if isinstance(posted.get("meta_data"), list):
            self._update_meta(line["meta_data"], posted["meta_data"])

    def _line_stock_product(self, line: dict[str, Any]) -> dict[str, Any] | None:
        product = self._product(line["variation_id"] or line["product_id"])
        if product is None or not product["manage_stock"]:
            return None
        return product

    def _reduced(self, line: dict[str, Any]) -> int:
        meta = next((m for m in line["meta_data"] if m["key"] == "_reduced_stock"), None)
        return int(meta["value"]) if meta else 0

    def _set_reduced(self, line: dict[str, Any], quantity: int | None) -> None:
        line["meta_data"] = [m for m in line["meta_data"] if m["key"] != "_reduced_stock"]
        if quantity is not None:
            line["meta_data"].append(
                {"id": self._next("meta"), "key": "_reduced_stock", "value": str(quantity)}
            )

    def _change_stock(self, product: dict[str, Any], delta: int) -> tuple[int, int]:
        """wc_update_product_stock: change quantity, re-derive status, fire product.updated."""
        before = int(product["stock_quantity"] or 0)
        product["stock_quantity"] = before + delta
        self._after_product_change(product)
        self._emit("product.updated", product["id"])
        return before, before + delta

    def _adjust_line_stock(
        self, order: dict[str, Any], line: dict[str, Any], quantity: int = -1
    ) -> None:
        """wc_maybe_adjust_line_item_product_stock (wc-admin-functions.php)."""
        product = self._line_stock_product(line)
        if product is None:
            return
        item_quantity = quantity if quantity >= 0 else line["quantity"]
        already = self._reduced(line)
        diff = -already if item_quantity == 0 else item_quantity - already
        if diff == 0:
            return
        self._change_stock(product, -diff)
        self._set_reduced(line, item_quantity)
        if item_quantity > 0:
            order["stock_reduced"] = True
        # No order note: only the admin screen (wc_save_order_items) writes "Adjusted stock".

    def _reduce_stock(self, order: dict[str, Any]) -> None:
        """wc_maybe_reduce_stock_levels + wc_reduce_stock_levels."""
        if order["stock_reduced"]:
            return
        changes = []
        for line in order["line_items"]:
            product = self._line_stock_product(line)
            if product is None or self._reduced(line):
                continue
            before, after = self._change_stock(product, -line["quantity"])
            self._set_reduced(line, line["quantity"])
            changes.append(f"{line['name']} {before}&rarr;{after}")
        if changes:
            self._add_note(order, "Stock levels reduced: " + ", ".join(changes))
        order["stock_reduced"] = True

    def _restore_stock(self, order: dict[str, Any]) -> None:
        """wc_maybe_increase_stock_levels + wc_increase_stock_levels."""
        if not order["stock_reduced"]:
            return
        changes = []
        for line in order["line_items"]:
            product = self._line_stock_product(line)
            reduced = self._reduced(line)
            if product is None or not reduced:
                continue
            before, after = self._change_stock(product, reduced)
            self._set_reduced(line, None)
            changes.append(f"{line['name']} {before}&rarr;{after}")
        if changes:
            self._add_note(order, "Stock levels increased: " + ", ".join(changes))
        order["stock_reduced"] = False

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
            if _item_is_null(posted) or posted.get("quantity") == 0:
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
                if _item_is_null(posted):
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
        self._emit("order.created", order["id"])
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
                raise ApiError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
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
        """REST DELETE /orders/<id>: trash, or delete with force. Stock is left alone."""
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
                before = self.order_json(order_id) or {}
                # order.deleted is bound to wp_trash_post/woocommerce_trash_order only
                # (class-wc-webhook.php): force=true without trashing first fires no webhook.
                self._emit("order.deleted", order_id)
        return before

    # ------------------------------------------------------------------ order notes

    def add_order_note(self, order_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """REST POST /orders/<id>/notes."""
        with self._write():
            order = self._order(order_id)
            if order is None:
                raise ApiError("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
            note_text = data.get("note")
            if not note_text:
                raise ApiError(
                    "rest_missing_callback_param",
                    "Missing parameter(s): note",
                    400,
                    {"params": ["note"]},
                )
            if not isinstance(note_text, str):
                raise invalid_param("note", "note is not of type string.")
            customer_note = data.get("customer_note", False)
            if not isinstance(customer_note, bool):
                raise invalid_param("customer_note", "customer_note is not of type boolean.")
            note = self._add_note(
                order,
                note_text,
                customer_note=customer_note,
                added_by_user=bool(data.get("added_by_user")),
            )
        return self.note_json(note["id"]) or {}

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

    def order_notes(self, order_id: int, note_type: str = "any") -> list[int]:
        """Note ids of an order, newest first; type any, customer or internal."""
        with self._lock:
            notes = [
                n
                for n in self._tables["note"].values()
                if n["order_id"] == order_id
                and (
                    note_type == "any"
                    or (note_type == "customer" and n["customer_note"])
                    or (note_type == "internal" and not n["customer_note"])
                )
            ]
            notes.sort(key=lambda n: n["id"], reverse=True)
            return [n["id"] for n in notes]

    def delete_order_note(self, order_id: int, note_id: int) -> dict[str, Any]:
        """REST DELETE /orders/<id>/notes/<note_id>?force=true."""
        with self._write():
            note = self._tables["note"].get(note_id)
            if note is None or note["order_id"] != order_id:
                raise ApiError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
            before = self.note_json(note_id) or {}
            self._remove("note", note_id)
        return before

    # ------------------------------------------------------------------ webhooks

    def create_webhook(self, data: dict[str, Any]) -> dict[str, Any]:
        """REST POST /webhooks (the ping is the REST layer's job)."""
        missing = [k for k in ("topic", "delivery_url") if not data.get(k)]
        if missing:
            raise ApiError(
                "rest_missing_callback_param",
                f"Missing parameter(s): {', '.join(missing)}",
                400,
                {"params": missing},
            )
        self._validate_webhook(data)
        with self._write():
            now = self.now()
            record: dict[str, Any] = {
                "id": self._next("webhook"),
                "name": "",
                "status": "active",
                "topic": "",
                "delivery_url": "",
                "secret": "",
                "api_version": "wp_api_v3",
                "date_created": now,
                "date_modified": now,
                "failure_count": 0,
                "pending_delivery": True,
            }
            self._apply_webhook(record, data)
            if not record["name"]:
                record["name"] = (
                    f"Webhook created on {self._clock().strftime('%b %d, %Y @ %I:%M %p')}"
                )
            if not record["secret"]:
                record["secret"] = secrets.token_hex(16)
            self._put("webhook", record)
        return self.webhook_json(record["id"]) or {}

    def _validate_webhook(self, data: dict[str, Any]) -> None:
        if "topic" in data:
            topic = data["topic"]
            if not isinstance(topic, str) or not (
                topic in TOPIC_HOOKS or topic.startswith("action.")
            ):
                raise ApiError(
                    "woocommerce_rest_webhook_invalid_topic",
                    "Webhook topic is required and must be valid.",
                    400,
                )
        if "delivery_url" in data:
            url = data["delivery_url"]
            if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
                raise invalid_param("delivery_url", "Invalid URL.")
        if "status" in data and data["status"] not in WEBHOOK_STATUSES:
            raise invalid_param("status", "status is not one of active, paused and disabled.")
        for key in ("name", "secret"):
            if key in data and not isinstance(data[key], str):
                raise invalid_param(key, f"{key} is not of type string.")

    def _apply_webhook(self, record: dict[str, Any], data: dict[str, Any]) -> None:
        for key in ("name", "topic", "delivery_url", "secret"):
            if data.get(key) is not None:
                record[key] = data[key]
        if data.get("status"):
            # WC_Webhook::set_status leaves failure_count alone: a re-activated webhook keeps
            # its count until a delivery succeeds.
            record["status"] = data["status"]

    def update_webhook(self, webhook_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """REST PUT /webhooks/<id>."""
        with self._write():
            record = self._tables["webhook"].get(webhook_id)
            if record is None:
                raise ApiError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
            self._validate_webhook(data)
            self._apply_webhook(record, data)
            record["date_modified"] = self.now()
            self._put("webhook", record)
        return self.webhook_json(webhook_id) or {}

    def delete_webhook(self, webhook_id: int) -> dict[str, Any]:
        """REST DELETE /webhooks/<id>?force=true."""
        with self._write():
            if webhook_id not in self._tables["webhook"]:
                raise ApiError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
            before = self.webhook_json(webhook_id) or {}
            self._remove("webhook", webhook_id)
        return before

    def mark_pinged(self, webhook_id: int, success: bool) -> None:
        """Record the creation ping's outcome (WC_Webhook pending_delivery)."""
        with self._write():
            record = self._tables["webhook"].get(webhook_id)
            if record is None or not success:
                return
            record["pending_delivery"] = False
            self._put("webhook", record)

    def webhook(self, webhook_id: int) -> dict[str, Any] | None:
        """The internal webhook record (id, name, status, topic, delivery_url, secret, ...)."""
        with self._lock:
            record = self._tables["webhook"].get(webhook_id)
            return dict(record) if record else None

    def webhooks_for(self, topic: str) -> list[dict[str, Any]]:
        """Active webhooks subscribed to ``topic``."""
        with self._lock:
            return [
                dict(w)
                for w in sorted(self._tables["webhook"].values(), key=lambda w: w["id"])
                if w["status"] == "active" and w["topic"] == topic
            ]

    def list_webhooks(self, status: str = "all") -> list[int]:
        """Webhook ids, newest first, optionally by status."""
        with self._lock:
            return sorted(
                (
                    w["id"]
                    for w in self._tables["webhook"].values()
                    if status == "all" or w["status"] == status
                ),
                reverse=True,
            )

    def record_delivery(self, webhook_id: int, success: bool) -> None:
        """Count a delivery like WC_Webhook::log_delivery/failed_delivery (disable after >5)."""
        with self._write():
            record = self._tables["webhook"].get(webhook_id)
            if record is None:
                return
            if success:
                record["failure_count"] = 0
            else:
                # The agreed contract: the 6th consecutive failure disables ("more than 5").
                # class-wc-webhook.php failed_delivery literally checks the count BEFORE
                # counting the new failure, which disables only on the 7th.
                record["failure_count"] += 1
                if record["failure_count"] > MAX_CONSECUTIVE_FAILURES:
                    record["status"] = "disabled"
            self._put("webhook", record)

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

    # ------------------------------------------------------------------ API keys (wc-auth)

    def create_api_key(self, *, app_name: str, user_id: str, scope: str) -> dict[str, Any]:
        """Create a key pair as /wc-auth/v1/authorize does when the merchant approves."""
        with self._write():
            record = {
                "id": self._next("key"),
                "key_id": 0,
                "app_name": app_name,
                "user_id": user_id,
                "scope": scope,
                "consumer_key": "ck_" + secrets.token_hex(20),
                "consumer_secret": "cs_" + secrets.token_hex(20),
            }
            record["key_id"] = record["id"]
            self._put("key", record)
        return dict(record)

    def revoke_api_key(self, key_id: int) -> None:
        """Delete a key pair (the app flow revokes keys its callback did not accept)."""
        with self._write():
            self._remove("key", key_id)

    def api_key_secret(self, consumer_key: str) -> tuple[str, str] | None:
        """(secret, scope) for a consumer key issued through the app flow."""
        with self._lock:
            for record in self._tables["key"].values():
                if secrets.compare_digest(record["consumer_key"], consumer_key):
                    return record["consumer_secret"], record["scope"]
        return None

    # ------------------------------------------------------------------ batch helper

    def has_order(self, order_id: int) -> bool:
        """Whether an order (any status, trash included) exists."""
        with self._lock:
            return order_id in self._tables["order"]


def _item_is_null(item: dict[str, Any]) -> bool:
    """Version2 item_is_null: any identifying key explicitly sent as null removes the item."""
    return any(
        key in item and item[key] is None
        for key in ("product_id", "method_id", "method_title", "name", "code")
    )
