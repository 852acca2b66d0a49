"""REST-shaped JSON bodies of webhooks, as Shopify sends them (the Admin REST resources).

Shapes follow the REST fixtures in ``../shared/reference/shopify/`` (``rest-fixture-order.json``,
``rest-fixture-product.json``, ``rest-fixture-inventory_level.json``) and the compliance webhook
bodies documented on shopify.dev ("Privacy law compliance"). Ids are the numeric REST ids;
``admin_graphql_api_id`` carries the gid.
"""

from __future__ import annotations

from typing import Any

from sandbox.shopify import gid, orders
from sandbox.shopify.shop import Shop, money

# Order.displayFinancialStatus -> REST financial_status
_FINANCIAL = {
    "PENDING": "pending",
    "AUTHORIZED": "authorized",
    "PARTIALLY_PAID": "partially_paid",
    "PAID": "paid",
    "PARTIALLY_REFUNDED": "partially_refunded",
    "REFUNDED": "refunded",
    "VOIDED": "voided",
    "EXPIRED": "expired",
}


def rest_time(value: str | None) -> str | None:
    """A stored UTC time in REST form (``2025-01-10T11:00:00+00:00``)."""
    return value.replace("Z", "+00:00") if value else None


def _money_set(amount: Any, currency: str) -> dict[str, Any]:
    value = {"amount": str(money(amount)), "currency_code": currency}
    return {"shop_money": value, "presentment_money": dict(value)}


def customer(shop: Shop, data: dict[str, Any]) -> dict[str, Any]:
    """The customer object inside an order body."""
    return {
        "id": gid.number(data["id"]),
        "email": data["email"],
        "first_name": data["firstName"],
        "last_name": data["lastName"],
        "phone": data["phone"],
        "note": data["note"],
        "tags": ", ".join(data["tags"]),
        "state": data["state"].lower(),
        "verified_email": data["verifiedEmail"],
        "created_at": rest_time(data["createdAt"]),
        "updated_at": rest_time(data["updatedAt"]),
        "currency": shop.info.currency,
        "admin_graphql_api_id": data["id"],
    }


def order(shop: Shop, data: dict[str, Any]) -> dict[str, Any]:
    """An order as ``orders/*`` webhooks carry it."""
    currency = data["currencyCode"]
    total = orders.order_total(shop, data)
    current = orders.order_total(shop, data, current=True)
    summary = orders.payment_summary(shop, data)
    outstanding = max(orders.ZERO, current - summary["captured"] + summary["refunded"])
    owner = shop.table("customers").get(data["_customer"] or "")
    lines = []
    for line in orders.lines_of(shop, data):
        variant = shop.table("variants").get(line["_variant"] or "")
        unfulfilled = line["currentQuantity"]
        lines.append(
            {
                "id": gid.number(line["id"]),
                "admin_graphql_api_id": line["id"],
                "variant_id": gid.number(variant["id"]) if variant else None,
                "product_id": gid.number(line["_product"]) if line["_product"] else None,
                "title": line["title"],
                "variant_title": line["variantTitle"],
                "name": line["name"],
                "sku": line["sku"],
                "vendor": line["vendor"],
                "quantity": line["quantity"],
                "current_quantity": line["currentQuantity"],
                "fulfillable_quantity": unfulfilled,
                "fulfillment_status": None,
                "fulfillment_service": "manual",
                "price": str(money(line["_unit_price"])),
                "price_set": _money_set(line["_unit_price"], currency),
                "total_discount": "0.00",
                "total_discount_set": _money_set(0, currency),
                "discount_allocations": [],
                "tax_lines": [],
                "duties": [],
                "properties": [],
                "requires_shipping": line["requiresShipping"],
                "taxable": line["taxable"],
                "gift_card": False,
                "grams": 0,
                "product_exists": variant is not None,
                "variant_inventory_management": "shopify" if variant else None,
            }
        )
    return {
        "id": gid.number(data["id"]),
        "admin_graphql_api_id": data["id"],
        "name": data["name"],
        "number": data["_number"] - 1000,
        "order_number": data["_number"],
        "email": data["email"],
        "contact_email": data["email"],
        "phone": data["phone"],
        "created_at": rest_time(data["createdAt"]),
        "updated_at": rest_time(data["updatedAt"]),
        "processed_at": rest_time(data["processedAt"]),
        "cancelled_at": rest_time(data["cancelledAt"]),
        "cancel_reason": data["cancelReason"].lower() if data["cancelReason"] else None,
        "closed_at": rest_time(data["closedAt"]),
        "confirmed": data["confirmed"],
        "test": data["test"],
        "currency": currency,
        "presentment_currency": currency,
        "financial_status": _FINANCIAL[orders.financial_status(shop, data)],
        "fulfillment_status": None,
        "note": data["note"],
        "note_attributes": [],
        "tags": ", ".join(data["tags"]),
        "source_name": data["sourceName"],
        "payment_gateway_names": list(data["_gateways"]),
        "po_number": data["poNumber"],
        "subtotal_price": str(total),
        "subtotal_price_set": _money_set(total, currency),
        "total_line_items_price": str(total),
        "total_line_items_price_set": _money_set(total, currency),
        "total_price": str(total),
        "total_price_set": _money_set(total, currency),
        "current_subtotal_price": str(current),
        "current_subtotal_price_set": _money_set(current, currency),
        "current_total_price": str(current),
        "current_total_price_set": _money_set(current, currency),
        "total_outstanding": str(outstanding),
        "total_discounts": "0.00",
        "total_discounts_set": _money_set(0, currency),
        "total_tax": "0.00",
        "total_tax_set": _money_set(0, currency),
        "taxes_included": False,
        "total_weight": 0,
        "discount_codes": [],
        "tax_lines": [],
        "shipping_lines": [],
        "line_items": lines,
        "fulfillments": [],
        "refunds": [],
        "billing_address": None,
        "shipping_address": None,
        "customer": customer(shop, owner) if owner else None,
    }


def product(shop: Shop, data: dict[str, Any]) -> dict[str, Any]:
    """A product as ``products/*`` webhooks carry it."""
    variants = []
    for variant in shop.children("variants", data["_variants"]):
        item = shop.table("items")[variant["_item"]]
        available = sum(int(level["available"]) for level in item["_levels"].values())
        variants.append(
            {
                "id": gid.number(variant["id"]),
                "admin_graphql_api_id": variant["id"],
                "product_id": gid.number(data["id"]),
                "title": variant["title"],
                "price": str(money(variant["price"])),
                "compare_at_price": variant["compareAtPrice"],
                "sku": variant["sku"],
                "barcode": variant["barcode"],
                "position": variant["position"],
                "inventory_policy": variant["inventoryPolicy"].lower(),
                "inventory_management": "shopify" if item["tracked"] else None,
                "inventory_item_id": gid.number(item["id"]),
                "inventory_quantity": available,
                "old_inventory_quantity": available,
                "fulfillment_service": "manual",
                "requires_shipping": True,
                "taxable": variant["taxable"],
                "grams": 0,
                "option1": variant["title"],
                "option2": None,
                "option3": None,
                "created_at": rest_time(variant["createdAt"]),
                "updated_at": rest_time(variant["updatedAt"]),
            }
        )
    return {
        "id": gid.number(data["id"]),
        "admin_graphql_api_id": data["id"],
        "title": data["title"],
        "handle": data["handle"],
        "body_html": data["descriptionHtml"],
        "vendor": data["vendor"],
        "product_type": data["productType"],
        "status": data["status"].lower(),
        "tags": ", ".join(data["tags"]),
        "published_scope": "global",
        "template_suffix": None,
        "created_at": rest_time(data["createdAt"]),
        "updated_at": rest_time(data["updatedAt"]),
        "published_at": rest_time(data["createdAt"]),
        "variants": variants,
        "options": [{"name": "Title", "position": 1, "values": [v["title"] for v in variants]}],
        "images": [],
        "image": None,
    }


def inventory_level(shop: Shop, item: dict[str, Any], location_id: str) -> dict[str, Any]:
    """An inventory level as ``inventory_levels/update`` carries it."""
    level = item["_levels"][location_id]
    return {
        "inventory_item_id": gid.number(item["id"]),
        "location_id": gid.number(location_id),
        "available": int(level["available"]),
        "updated_at": rest_time(level["updatedAt"]),
        "admin_graphql_api_id": gid.inventory_level(
            gid.number(location_id), gid.number(item["id"])
        ),
    }


def shop_body(shop: Shop) -> dict[str, Any]:
    """The shop as ``app/uninstalled`` carries it (the REST Shop resource)."""
    info = shop.info
    return {
        "id": info.number,
        "name": info.name,
        "email": info.email,
        "customer_email": info.email,
        "domain": info.domain,
        "myshopify_domain": info.domain,
        "currency": info.currency,
        "country_code": "US",
        "country_name": "United States",
        "iana_timezone": "Etc/UTC",
        "timezone": "(GMT+00:00) Etc/UTC",
        "plan_name": "basic",
        "plan_display_name": "Basic",
        "primary_locale": "en",
        "created_at": None,
        "updated_at": None,
    }


def customer_request(
    shop: Shop, data: dict[str, Any], orders_key: str, request_id: int | None
) -> dict[str, Any]:
    """customers/data_request (``orders_requested``, ``data_request``) or customers/redact
    (``orders_to_redact``) body for one customer."""
    numbers = [
        gid.number(o["id"]) for o in shop.table("orders").values() if o["_customer"] == data["id"]
    ]
    body: dict[str, Any] = {
        "shop_id": shop.info.number,
        "shop_domain": shop.info.domain,
        "customer": {
            "id": gid.number(data["id"]),
            "email": data["email"],
            "phone": data["phone"],
        },
        orders_key: numbers,
    }
    if request_id is not None:
        body["data_request"] = {"id": request_id}
    return body


def shop_redact(shop: Shop) -> dict[str, Any]:
    """shop/redact body."""
    return {"shop_id": shop.info.number, "shop_domain": shop.info.domain}
