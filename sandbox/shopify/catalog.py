"""Products, variants, locations and inventory of the sandbox shop, with Shopify's rules.

Inventory follows Shopify's quantity states (shopify.dev "Inventory states"): ``available``,
``committed`` (ordered, not yet fulfilled), ``incoming``, the unavailable states, and
``on_hand`` = available + committed + unavailable. A variant whose ``inventoryPolicy`` is
``CONTINUE`` may be sold below zero available (a backorder); ``DENY`` may not.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sandbox.shopify import gid, rest
from sandbox.shopify.shop import STORED_NAMES, Shop, money
from sandbox.shopify.user_errors import Problem, UserErrors, refuse

# InventoryAdjustQuantitiesInput.reason / InventorySetQuantitiesInput.reason: the reasons the
# Admin API documents for inventory changes.
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
ADJUSTABLE_NAMES = frozenset(
    {"available", "damaged", "incoming", "quality_control", "reserved", "safety_stock"}
)
SETTABLE_NAMES = frozenset({"available", "on_hand"})
QUANTITY_LIMIT = 1_000_000_000


def create_location(shop: Shop, name: str, city: str) -> dict[str, Any]:
    """A new active location that fulfils online orders."""
    now = shop.now_iso()
    return shop.add(
        {
            "__typename": "Location",
            "id": shop.new_gid("Location"),
            "name": name,
            "isActive": True,
            "fulfillsOnlineOrders": True,
            "shipsInventory": True,
            "hasActiveInventory": True,
            "isFulfillmentService": False,
            "deactivatedAt": None,
            "createdAt": now,
            "updatedAt": now,
            "address": {
                "address1": f"1 {name} Road",
                "city": city,
                "countryCode": "US",
                "country": "United States",
                "zip": "10001",
                "province": None,
                "provinceCode": None,
                "address2": None,
                "phone": None,
                "latitude": None,
                "longitude": None,
                "formatted": [city],
            },
        }
    )


def on_online_store(product: dict[str, Any]) -> bool:
    """Whether a shopper can open the product in the storefront: ACTIVE (status "controls
    visibility across all sales channels") and published to the online store."""
    return product["status"] == "ACTIVE" and bool(product.get("_online_store", True))


def locations(shop: Shop) -> list[dict[str, Any]]:
    """Every location, oldest first (the first is the shop's primary location)."""
    return list(shop.table("locations").values())


def create_product(
    shop: Shop,
    title: str,
    variants: list[dict[str, Any]],
    *,
    vendor: str = "Backorders Sandbox",
    tags: list[str] | None = None,
    status: str = "ACTIVE",
    online_store: bool = True,
) -> dict[str, Any]:
    """A product with variants; each variant: title, sku, price, policy, tracked, stock
    (``{location gid: available}``). `status` is ACTIVE, DRAFT or ARCHIVED; `online_store`
    whether it is published to the online store sales channel."""
    now = shop.now_iso()
    product = shop.add(
        {
            "__typename": "Product",
            "id": shop.new_gid("Product"),
            "title": title,
            "handle": re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
            "status": status,
            "vendor": vendor,
            "productType": "",
            "tags": sorted(tags or []),
            "descriptionHtml": "",
            "createdAt": now,
            "updatedAt": now,
            "_variants": [],
            "_online_store": online_store,
        }
    )
    for position, spec in enumerate(variants, start=1):
        variant_id = shop.new_gid("ProductVariant")
        item_id = shop.new_gid("InventoryItem")
        levels = {
            location_id: _new_level(int(spec.get("stock", {}).get(location_id, 0)), now)
            for location_id in shop.table("locations")
        }
        shop.add(
            {
                "__typename": "InventoryItem",
                "id": item_id,
                "sku": spec.get("sku"),
                "tracked": bool(spec.get("tracked", True)),
                "requiresShipping": True,
                "createdAt": now,
                "updatedAt": now,
                "_variant": variant_id,
                "_levels": levels,
            }
        )
        shop.add(
            {
                "__typename": "ProductVariant",
                "id": variant_id,
                "title": spec.get("title", "Default Title"),
                "sku": spec.get("sku"),
                "price": str(money(spec.get("price", "0"))),
                "compareAtPrice": None,
                "barcode": None,
                "taxable": True,
                "inventoryPolicy": spec.get("policy", "DENY"),
                "position": position,
                "createdAt": now,
                "updatedAt": now,
                "_product": product["id"],
                "_item": item_id,
            }
        )
        product["_variants"].append(variant_id)
    return product


def _new_level(available: int, now: str) -> dict[str, Any]:
    level: dict[str, Any] = dict.fromkeys(STORED_NAMES, 0)
    level.update(available=available, createdAt=now, updatedAt=now)
    return level


def variant_available(shop: Shop, variant: dict[str, Any]) -> int:
    """Units available over every location (``ProductVariant.inventoryQuantity``)."""
    item = shop.table("items")[variant["_item"]]
    return sum(int(level["available"]) for level in item["_levels"].values())


# ----------------------------------------------------------------- variant updates
_VARIANT_FIELDS = ("inventoryPolicy", "price", "compareAtPrice", "barcode", "taxable")


def update_variants(
    shop: Shop, product_id: str, inputs: list[dict[str, Any]], allow_partial: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]], list[Problem]]:
    """productVariantsBulkUpdate: change some variants of one product; all or nothing unless
    ``allow_partial``. Returns the product, the updated variants and the problems."""
    product = shop.get(product_id, "Product")
    if product is None:
        raise refuse(["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")
    problems: list[Problem] = []
    valid: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for index, data in enumerate(inputs):
        where = ["variants", str(index)]
        problem = _variant_problem(shop, product, data, where)
        if problem is None:
            valid.append((shop.table("variants")[data["id"]], data))
        else:
            problems.append(problem)
    if problems and not allow_partial:
        raise UserErrors(*problems)
    now = shop.now_iso()
    updated = []
    for variant, data in valid:
        for name in _VARIANT_FIELDS:
            if name in data and data[name] is not None:
                value = data[name]
                variant[name] = str(money(value)) if isinstance(value, Decimal) else value
        item_input = data.get("inventoryItem") or {}
        item = shop.table("items")[variant["_item"]]
        if item_input.get("tracked") is not None:
            item["tracked"] = bool(item_input["tracked"])
        if item_input.get("sku") is not None:
            item["sku"] = variant["sku"] = item_input["sku"]
        variant["updatedAt"] = item["updatedAt"] = now
        updated.append(variant)
    if updated:
        product["updatedAt"] = now
        notify_product(shop, product)
    return product, updated, problems


def _variant_problem(
    shop: Shop, product: dict[str, Any], data: dict[str, Any], where: list[str]
) -> Problem | None:
    if not data.get("id"):
        return Problem(
            [*where, "id"], "Product variant is missing ID attribute", "PRODUCT_VARIANT_ID_MISSING"
        )
    variant = shop.get(data["id"], "ProductVariant")
    if variant is None:
        return Problem(
            [*where, "id"], "Product variant does not exist", "PRODUCT_VARIANT_DOES_NOT_EXIST"
        )
    if variant["_product"] != product["id"]:
        return Problem(
            [*where, "id"], "Product variant does not exist", "PRODUCT_VARIANT_DOES_NOT_EXIST"
        )
    if data.get("inventoryQuantities"):
        return Problem(
            [*where, "inventoryQuantities"],
            "Inventory quantities can only be provided during create. To update "
            "inventory for existing variants, use inventoryAdjustQuantities.",
            "NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE",
        )
    for name in ("price", "compareAtPrice"):
        if data.get(name) is not None and data[name] < 0:
            return Problem(
                [*where, name],
                "Price must be greater than or equal to 0",
                "GREATER_THAN_OR_EQUAL_TO",
            )
    return None


def notify_product(shop: Shop, product: dict[str, Any]) -> None:
    """products/update with the product's REST body."""
    shop.notify("products/update", product["id"], lambda: rest.product(shop, product))


# ----------------------------------------------------------------------- stock
def change_quantity(
    shop: Shop, item: dict[str, Any], location_id: str, name: str, delta: int
) -> int:
    """Add `delta` to one stored quantity (``on_hand`` changes ``available``); the new value."""
    level = item["_levels"][location_id]
    stored = "available" if name == "on_hand" else name
    level[stored] = int(level[stored]) + delta
    level["updatedAt"] = item["updatedAt"] = shop.now_iso()
    if stored == "available":
        notify_level(shop, item, location_id)
    return Shop.quantity(level, name)


def notify_level(shop: Shop, item: dict[str, Any], location_id: str) -> None:
    """inventory_levels/update for one item at one location."""
    shop.notify(
        "inventory_levels/update",
        gid.inventory_level(gid.number(location_id), gid.number(item["id"])),
        lambda: rest.inventory_level(shop, item, location_id),
    )


def _check_stock_target(
    shop: Shop, item_id: str, location_id: str, where: list[str], codes: tuple[str, str, str]
) -> tuple[dict[str, Any], Problem | None]:
    item = shop.get(item_id, "InventoryItem")
    if item is None:
        return {}, Problem(
            [*where, "inventoryItemId"],
            "The specified inventory item could not be found.",
            codes[0],
        )
    if shop.get(location_id, "Location") is None:
        return item, Problem(
            [*where, "locationId"], "The specified location could not be found.", codes[1]
        )
    if location_id not in item["_levels"]:
        return item, Problem(
            [*where, "locationId"],
            "The specified inventory item is not stocked at the location.",
            codes[2],
        )
    return item, None


def adjust_quantities(
    shop: Shop, reason: str, name: str, reference: str | None, changes: list[dict[str, Any]]
) -> dict[str, Any]:
    """inventoryAdjustQuantities: add deltas to one named quantity; all or nothing."""
    problems = []
    if reason not in REASONS:
        problems.append(
            Problem(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON")
        )
    if name not in ADJUSTABLE_NAMES:
        problems.append(
            Problem(
                ["input", "name"],
                "The quantity name must be one of: " + ", ".join(sorted(ADJUSTABLE_NAMES)) + ".",
                "INVALID_QUANTITY_NAME",
            )
        )
    targets = []
    for index, change in enumerate(changes):
        where = ["input", "changes", str(index)]
        item, problem = _check_stock_target(
            shop,
            change["inventoryItemId"],
            change["locationId"],
            where,
            ("INVALID_INVENTORY_ITEM", "INVALID_LOCATION", "ITEM_NOT_STOCKED_AT_LOCATION"),
        )
        if problem is None and name != "available" and not change.get("ledgerDocumentUri"):
            problem = Problem(
                [*where, "ledgerDocumentUri"],
                "A ledger document URI is required for quantity names other than available.",
                "INVALID_QUANTITY_DOCUMENT",
            )
        if problem is None and name == "available" and change.get("ledgerDocumentUri"):
            problem = Problem(
                [*where, "ledgerDocumentUri"],
                "A ledger document URI is not allowed for the available quantity.",
                "INVALID_AVAILABLE_DOCUMENT",
            )
        if problem is None:
            after = Shop.quantity(item["_levels"][change["locationId"]], name) + change["delta"]
            if after > QUANTITY_LIMIT:
                problem = Problem(
                    [*where, "delta"],
                    f"The quantity can't be higher than {QUANTITY_LIMIT:,}.",
                    "INVALID_QUANTITY_TOO_HIGH",
                )
            elif after < -QUANTITY_LIMIT:
                problem = Problem(
                    [*where, "delta"],
                    f"The quantity can't be lower than -{QUANTITY_LIMIT:,}.",
                    "INVALID_QUANTITY_TOO_LOW",
                )
        if problem is not None:
            problems.append(problem)
        else:
            targets.append((item, change))
    if problems:
        raise UserErrors(*problems)
    applied = []
    for item, change in targets:
        location_id, delta = change["locationId"], int(change["delta"])
        after = change_quantity(shop, item, location_id, name, delta)
        applied.append(_change(item, location_id, name, delta, after, change))
        if name != "incoming":  # incoming units are not on hand yet
            level = item["_levels"][location_id]
            applied.append(
                _change(
                    item, location_id, "on_hand", delta, Shop.quantity(level, "on_hand"), change
                )
            )
    return _adjustment_group(shop, reason, reference, applied)


def set_quantities(
    shop: Shop,
    reason: str,
    name: str,
    reference: str | None,
    quantities: list[dict[str, Any]],
    ignore_compare: bool,
) -> dict[str, Any]:
    """inventorySetQuantities: set ``available`` or ``on_hand``, with compare-and-set."""
    problems = []
    if reason not in REASONS:
        problems.append(
            Problem(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON")
        )
    if name not in SETTABLE_NAMES:
        problems.append(
            Problem(
                ["input", "name"],
                "The quantity name must be either 'available' or 'on_hand'.",
                "INVALID_NAME",
            )
        )
    seen: set[tuple[str, str]] = set()
    targets = []
    for index, entry in enumerate(quantities):
        where = ["input", "quantities", str(index)]
        item, problem = _check_stock_target(
            shop,
            entry["inventoryItemId"],
            entry["locationId"],
            where,
            ("INVALID_INVENTORY_ITEM", "INVALID_LOCATION", "ITEM_NOT_STOCKED_AT_LOCATION"),
        )
        pair = (entry["inventoryItemId"], entry["locationId"])
        if problem is None and pair in seen:
            problem = Problem(
                where,
                "The combination of inventoryItemId and locationId must be unique.",
                "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
            )
        seen.add(pair)
        if problem is None and entry["quantity"] > QUANTITY_LIMIT:
            problem = Problem(
                [*where, "quantity"],
                f"The quantity can't be higher than {QUANTITY_LIMIT:,}.",
                "INVALID_QUANTITY_TOO_HIGH",
            )
        if problem is None and entry["quantity"] < -QUANTITY_LIMIT:
            problem = Problem(
                [*where, "quantity"],
                f"The quantity can't be lower than -{QUANTITY_LIMIT:,}.",
                "INVALID_QUANTITY_TOO_LOW",
            )
        if problem is None and name in SETTABLE_NAMES and not ignore_compare:
            current = Shop.quantity(item["_levels"][entry["locationId"]], name)
            if entry.get("compareQuantity") is None:
                problem = Problem(
                    [*where, "compareQuantity"],
                    "The compareQuantity argument "
                    "must be given to each quantity or ignored using "
                    "ignoreCompareQuantity.",
                    "COMPARE_QUANTITY_REQUIRED",
                )
            elif entry["compareQuantity"] != current:
                problem = Problem(
                    [*where, "compareQuantity"],
                    "The specified compare quantity does not match the current quantity.",
                    "COMPARE_QUANTITY_STALE",
                )
        if problem is not None:
            problems.append(problem)
        else:
            targets.append((item, entry))
    if problems:
        raise UserErrors(*problems)
    applied = []
    for item, entry in targets:
        location_id = entry["locationId"]
        level = item["_levels"][location_id]
        delta = int(entry["quantity"]) - Shop.quantity(level, name)
        change_quantity(shop, item, location_id, name, delta)
        applied.append(_change(item, location_id, name, delta, int(entry["quantity"]), entry))
        other = "on_hand" if name == "available" else "available"
        applied.append(_change(item, location_id, other, delta, Shop.quantity(level, other), entry))
    return _adjustment_group(shop, reason, reference, applied)


def _change(
    item: dict[str, Any],
    location_id: str,
    name: str,
    delta: int,
    after: int,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "name": name,
        "delta": delta,
        "quantityAfterChange": after,
        "ledgerDocumentUri": data.get("ledgerDocumentUri"),
        "_item": item["id"],
        "_location": location_id,
    }


def _adjustment_group(
    shop: Shop, reason: str, reference: str | None, changes: list[dict[str, Any]]
) -> dict[str, Any]:
    return shop.add(
        {
            "__typename": "InventoryAdjustmentGroup",
            "id": shop.new_gid("InventoryAdjustmentGroup"),
            "createdAt": shop.now_iso(),
            "reason": reason,
            "referenceDocumentUri": reference,
            "_changes": changes,
        }
    )
