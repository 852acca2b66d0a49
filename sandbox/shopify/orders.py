"""Orders of the sandbox shop: creation (checkout and ``orderCreate``), payments, capture,
cancellation, edits, notes and tags, with Shopify's statuses and webhooks.

Money: every line is sold at its unit price (no discounts, shipping or taxes in the sandbox), so
an order's total is the sum of unit price x quantity, and its current total uses each line's
``currentQuantity`` (after edits and cancellation).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.shopify import catalog, rest
from sandbox.shopify.shop import Shop, money
from sandbox.shopify.user_errors import refuse

ZERO = Decimal("0.00")
# What each checkout payment choice does (Shopify Payments with manual capture, a manual
# payment method, and automatic capture).
CARD, MANUAL, PAID = "card", "manual", "paid"
GATEWAYS = {CARD: "shopify_payments", MANUAL: "manual", PAID: "shopify_payments"}


# ---------------------------------------------------------------------- customers
def customer_for(
    shop: Shop, email: str, first_name: str = "", last_name: str = "", phone: str | None = None
) -> dict[str, Any]:
    """The customer with this e-mail, created when new."""
    for customer in shop.table("customers").values():
        if customer["email"] and customer["email"].lower() == email.lower():
            return customer
    now = shop.now_iso()
    return shop.add(
        {
            "__typename": "Customer",
            "id": shop.new_gid("Customer"),
            "email": email,
            "firstName": first_name or None,
            "lastName": last_name or None,
            "phone": phone,
            "note": None,
            "tags": [],
            "state": "DISABLED",
            "verifiedEmail": True,
            "taxExempt": False,
            "createdAt": now,
            "updatedAt": now,
        }
    )


# ----------------------------------------------------------------------- creation
def create_order(
    shop: Shop,
    lines: list[dict[str, Any]],
    *,
    email: str | None,
    customer: dict[str, Any] | None = None,
    payment: str | None = None,
    transactions: list[dict[str, Any]] | None = None,
    inventory: str = "DECREMENT_OBEYING_POLICY",
    tags: list[str] | None = None,
    note: str | None = None,
    source_name: str = "web",
    test: bool = False,
    processed_at: datetime | None = None,
) -> dict[str, Any]:
    """A new order. Each line: ``variant`` (a variant object) or ``title``; ``quantity``;
    ``price`` (defaults to the variant's). `inventory` is orderCreate's inventoryBehaviour.
    Raises UserErrors (changing nothing) when a ``DENY`` variant lacks stock."""
    plan = _plan_lines(shop, lines, inventory)
    now = shop.now_iso()
    number = shop.next_number("order_number", start=1001)
    order = shop.add(
        {
            "__typename": "Order",
            "id": shop.new_gid("Order"),
            "name": f"#{number}",
            "_number": number,
            "email": email,
            "phone": None,
            "note": note,
            "tags": normalize_tags(tags or []),
            "currencyCode": shop.info.currency,
            "presentmentCurrencyCode": shop.info.currency,
            "test": test,
            "confirmed": True,
            "closed": False,
            "closedAt": None,
            "cancelledAt": None,
            "cancelReason": None,
            "edited": False,
            "sourceName": source_name,
            "poNumber": None,
            "createdAt": now,
            "updatedAt": now,
            "processedAt": processed_at.strftime("%Y-%m-%dT%H:%M:%SZ") if processed_at else now,
            "_customer": customer["id"] if customer else None,
            "_lines": [],
            "_fulfillment_orders": [],
            "_transactions": [],
            "_gateways": [],
        }
    )
    by_location: dict[str, list[tuple[dict[str, Any], int]]] = {}
    for spec, location_id in plan:
        line = _add_line(shop, order, spec)
        by_location.setdefault(location_id, []).append((line, spec["quantity"]))
        variant = spec.get("variant")
        if variant is not None and inventory != "BYPASS":
            item = shop.table("items")[variant["_item"]]
            if item["tracked"]:
                catalog.change_quantity(shop, item, location_id, "available", -spec["quantity"])
                catalog.change_quantity(shop, item, location_id, "committed", spec["quantity"])
    for location_id, entries in by_location.items():
        new_fulfillment_order(shop, order, location_id, entries)
    _record_payment(shop, order, payment, transactions)
    shop.notify("orders/create", order["id"], lambda: rest.order(shop, order))
    if financial_status(shop, order) == "PAID":
        shop.notify("orders/paid", order["id"], lambda: rest.order(shop, order))
    return order


def _plan_lines(
    shop: Shop, lines: list[dict[str, Any]], inventory: str
) -> list[tuple[dict[str, Any], str]]:
    """Each line with the location it is assigned to; refuses lines a DENY variant cannot fill."""
    if not lines:
        raise refuse(
            ["order", "lineItems"], "Line items must have at least one line item", "INVALID"
        )
    primary = next(iter(shop.table("locations")))
    wanted: dict[str, int] = {}
    plan = []
    for index, spec in enumerate(lines):
        if spec["quantity"] < 1:
            raise refuse(
                ["order", "lineItems", str(index), "quantity"],
                "Quantity must be greater than or equal to 1",
                "INVALID",
            )
        variant = spec.get("variant")
        if variant is None:
            plan.append((spec, primary))
            continue
        item = shop.table("items")[variant["_item"]]
        wanted[variant["id"]] = wanted.get(variant["id"], 0) + spec["quantity"]
        # Routing: the first location (primary first) with the whole quantity available.
        location_id = next(
            (
                loc
                for loc, level in item["_levels"].items()
                if level["available"] >= wanted[variant["id"]]
            ),
            primary if primary in item["_levels"] else next(iter(item["_levels"])),
        )
        if (
            inventory == "DECREMENT_OBEYING_POLICY"
            and item["tracked"]
            and variant["inventoryPolicy"] == "DENY"
            and catalog.variant_available(shop, variant) < wanted[variant["id"]]
        ):
            raise refuse(
                ["order", "lineItems", str(index), "quantity"],
                f"{variant_display(shop, variant)} is out of stock.",
                "INVENTORY_CLAIM_FAILED",
            )
        plan.append((spec, location_id))
    return plan


def variant_display(shop: Shop, variant: dict[str, Any]) -> str:
    """``Product - Variant`` (just the product for a default variant)."""
    product = shop.table("products")[variant["_product"]]
    if variant["title"] == "Default Title":
        return str(product["title"])
    return f"{product['title']} - {variant['title']}"


def _add_line(shop: Shop, order: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    variant = spec.get("variant")
    product = shop.table("products")[variant["_product"]] if variant else None
    price = money(spec["price"] if spec.get("price") is not None else variant["price"])  # type: ignore[index]
    title = spec.get("title") or (product["title"] if product else "Custom item")
    variant_title = (
        None if variant is None or variant["title"] == "Default Title" else (variant["title"])
    )
    line = shop.add(
        {
            "__typename": "LineItem",
            "id": shop.new_gid("LineItem"),
            "title": title,
            "name": f"{title} - {variant_title}" if variant_title else title,
            "variantTitle": variant_title,
            "sku": spec.get("sku") or (variant["sku"] if variant else None),
            "vendor": product["vendor"] if product else None,
            "quantity": spec["quantity"],
            "currentQuantity": spec["quantity"],
            "requiresShipping": True,
            "taxable": True,
            "isGiftCard": False,
            "_unit_price": str(price),
            "_order": order["id"],
            "_variant": variant["id"] if variant else None,
            "_product": product["id"] if product else None,
        }
    )
    order["_lines"].append(line["id"])
    return line


def new_fulfillment_order(
    shop: Shop, order: dict[str, Any], location_id: str, entries: list[tuple[dict[str, Any], int]]
) -> dict[str, Any]:
    """An OPEN fulfillment order of `order` at a location with (line item, quantity) entries."""
    now = shop.now_iso()
    fulfillment_order = shop.add(
        {
            "__typename": "FulfillmentOrder",
            "id": shop.new_gid("FulfillmentOrder"),
            "status": "OPEN",
            "requestStatus": "UNSUBMITTED",
            "fulfillAt": now,
            "fulfillBy": None,
            "createdAt": now,
            "updatedAt": now,
            "_order": order["id"],
            "_location": location_id,
            "_lines": [],
            "_holds": [],
        }
    )
    for line, quantity in entries:
        add_fulfillment_line(shop, fulfillment_order, line, quantity)
    order["_fulfillment_orders"].append(fulfillment_order["id"])
    return fulfillment_order


def add_fulfillment_line(
    shop: Shop, fulfillment_order: dict[str, Any], line: dict[str, Any], quantity: int
) -> dict[str, Any]:
    """A fulfillment order line item for `quantity` units of an order line."""
    entry = shop.add(
        {
            "__typename": "FulfillmentOrderLineItem",
            "id": shop.new_gid("FulfillmentOrderLineItem"),
            "totalQuantity": quantity,
            "remainingQuantity": quantity,
            "_line": line["id"],
            "_fulfillment_order": fulfillment_order["id"],
        }
    )
    fulfillment_order["_lines"].append(entry["id"])
    return entry


# ----------------------------------------------------------------------- payments
def _record_payment(
    shop: Shop,
    order: dict[str, Any],
    payment: str | None,
    transactions: list[dict[str, Any]] | None,
) -> None:
    total = order_total(shop, order)
    if transactions:
        for data in transactions:
            add_transaction(
                shop,
                order,
                data["kind"],
                data["status"],
                money(data["amount"]),
                data.get("gateway") or "manual",
                test=bool(data.get("test")),
            )
        return
    if payment is None:
        return
    order["_gateways"] = [GATEWAYS[payment]]
    if payment == CARD:
        add_transaction(shop, order, "AUTHORIZATION", "SUCCESS", total, GATEWAYS[CARD])
    elif payment == PAID:
        add_transaction(shop, order, "SALE", "SUCCESS", total, GATEWAYS[PAID])


def add_transaction(
    shop: Shop,
    order: dict[str, Any],
    kind: str,
    status: str,
    amount: Decimal,
    gateway: str,
    *,
    parent: dict[str, Any] | None = None,
    test: bool = False,
) -> dict[str, Any]:
    """Record a transaction on the order."""
    now = shop.now()
    expires = None
    if kind == "AUTHORIZATION" and status == "SUCCESS":
        expires = (now + timedelta(days=shop.info.authorization_days)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    transaction = shop.add(
        {
            "__typename": "OrderTransaction",
            "id": shop.new_gid("OrderTransaction"),
            "kind": kind,
            "status": status,
            "gateway": gateway,
            "formattedGateway": gateway.replace("_", " ").title(),
            "manualPaymentGateway": gateway == "manual",
            "test": test,
            "errorCode": None,
            "authorizationCode": "53433" if kind == "AUTHORIZATION" else None,
            "authorizationExpiresAt": expires,
            "createdAt": shop.now_iso(),
            "processedAt": shop.now_iso(),
            "_amount": str(amount),
            "_order": order["id"],
            "_parent": parent["id"] if parent else None,
            "_closed": False,
            # Shopify Payments authorisations may be captured in several parts.
            "_multi_capturable": kind == "AUTHORIZATION" and gateway == "shopify_payments",
        }
    )
    order["_transactions"].append(transaction["id"])
    if gateway not in order["_gateways"]:
        order["_gateways"].append(gateway)
    return transaction


def order_total(shop: Shop, order: dict[str, Any], current: bool = False) -> Decimal:
    """Sum of unit price x quantity (``currentQuantity`` when `current`)."""
    key = "currentQuantity" if current else "quantity"
    return sum((money(line["_unit_price"]) * line[key] for line in lines_of(shop, order)), ZERO)


def lines_of(shop: Shop, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's line items."""
    return shop.children("lines", order["_lines"])


def transactions_of(shop: Shop, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's transactions, oldest first."""
    return shop.children("transactions", order["_transactions"])


def authorization_remaining(shop: Shop, authorization: dict[str, Any]) -> Decimal:
    """What is left to capture on a successful authorisation (0 once closed or expired)."""
    if authorization["kind"] != "AUTHORIZATION" or authorization["status"] != "SUCCESS":
        return ZERO
    if authorization["_closed"] or is_expired(shop, authorization):
        return ZERO
    order = shop.table("orders")[authorization["_order"]]
    captured = sum(
        (
            money(t["_amount"])
            for t in transactions_of(shop, order)
            if t["_parent"] == authorization["id"]
            and t["kind"] == "CAPTURE"
            and t["status"] == "SUCCESS"
        ),
        ZERO,
    )
    return max(ZERO, money(authorization["_amount"]) - captured)


def is_expired(shop: Shop, transaction: dict[str, Any]) -> bool:
    """Whether an authorisation's ``authorizationExpiresAt`` has passed on the shop's clock."""
    expires = transaction.get("authorizationExpiresAt")
    return expires is not None and shop.now_iso() >= expires  # ISO UTC strings sort as times


def payment_summary(shop: Shop, order: dict[str, Any]) -> dict[str, Decimal]:
    """Captured (sales and captures), refunded and capturable amounts."""
    captured = refunded = capturable = ZERO
    for transaction in transactions_of(shop, order):
        if transaction["status"] != "SUCCESS":
            continue
        amount = money(transaction["_amount"])
        if transaction["kind"] in ("SALE", "CAPTURE"):
            captured += amount
        elif transaction["kind"] == "REFUND":
            refunded += amount
        elif transaction["kind"] == "AUTHORIZATION":
            capturable += authorization_remaining(shop, transaction)
    return {"captured": captured, "refunded": refunded, "capturable": capturable}


def financial_status(shop: Shop, order: dict[str, Any]) -> str:
    """``Order.displayFinancialStatus`` from the transactions."""
    summary = payment_summary(shop, order)
    transactions = [t for t in transactions_of(shop, order) if t["status"] == "SUCCESS"]
    if summary["refunded"] > 0:
        return "REFUNDED" if summary["refunded"] >= summary["captured"] else "PARTIALLY_REFUNDED"
    if summary["captured"] > 0:
        due = order_total(shop, order, current=True)
        return "PAID" if summary["captured"] >= due else "PARTIALLY_PAID"
    if summary["capturable"] > 0:
        return "AUTHORIZED"
    if any(t["kind"] == "VOID" for t in transactions):
        return "VOIDED"
    if any(t["kind"] == "AUTHORIZATION" and is_expired(shop, t) for t in transactions):
        return "EXPIRED"
    if order_total(shop, order, current=True) == 0 and order["cancelledAt"] is None:
        return "PAID"
    return "PENDING"


def fulfillment_status(shop: Shop, order: dict[str, Any]) -> str:
    """``Order.displayFulfillmentStatus`` from the fulfillment orders."""
    fulfillment_orders = shop.children("fulfillment_orders", order["_fulfillment_orders"])
    active = [f for f in fulfillment_orders if f["status"] not in ("CLOSED", "CANCELLED")]
    if active and all(f["status"] == "ON_HOLD" for f in active):
        return "ON_HOLD"
    if any(f["status"] == "IN_PROGRESS" for f in active):
        return "IN_PROGRESS"
    return "UNFULFILLED"


# ------------------------------------------------------------------------ capture
def capture(
    shop: Shop,
    order_id: str,
    parent_id: str,
    amount: Decimal,
    currency: str | None,
    final_capture: bool | None,
) -> dict[str, Any]:
    """orderCapture: capture part or all of an authorisation."""
    order = shop.get(order_id, "Order")
    if order is None:
        raise refuse(["input", "id"], "Order does not exist")
    parent = shop.get(parent_id, "OrderTransaction")
    if parent is None or parent["_order"] != order["id"]:
        raise refuse(["input", "parentTransactionId"], "Transaction does not exist")
    if parent["kind"] != "AUTHORIZATION" or parent["status"] != "SUCCESS":
        raise refuse(
            ["input", "parentTransactionId"],
            "Parent transaction must be a successful authorization",
        )
    if currency is not None and currency != order["currencyCode"]:
        raise refuse(
            ["input", "currency"],
            f"Currency must match the order's currency {order['currencyCode']}",
        )
    if is_expired(shop, parent):
        raise refuse(["input", "parentTransactionId"], "Authorization has expired")
    if amount <= 0:
        raise refuse(["input", "amount"], "Amount must be greater than 0")
    remaining = authorization_remaining(shop, parent)
    if remaining <= 0:
        raise refuse(["input", "parentTransactionId"], "Authorization is no longer capturable")
    if money(amount) > remaining:
        raise refuse(
            ["input", "amount"], f"Amount cannot exceed the capturable amount of {remaining}"
        )
    if final_capture is False and not parent["_multi_capturable"]:
        raise refuse(
            ["input", "finalCapture"], "This authorization does not support multiple captures"
        )
    was = financial_status(shop, order)
    transaction = add_transaction(
        shop, order, "CAPTURE", "SUCCESS", money(amount), parent["gateway"], parent=parent
    )
    # finalCapture (OrderCaptureInput): true, or omitted on an authorisation that cannot be
    # captured again, voids what remains; false keeps the authorisation open.
    if final_capture or (final_capture is None and not parent["_multi_capturable"]):
        parent["_closed"] = True
    touch_order(shop, order)
    if financial_status(shop, order) == "PAID" and was != "PAID":
        shop.notify("orders/paid", order["id"], lambda: rest.order(shop, order))
    return transaction


def mark_as_paid(shop: Shop, order_id: str) -> dict[str, Any]:
    """orderMarkAsPaid: a manual SALE for what is outstanding."""
    order = shop.get(order_id, "Order")
    if order is None:
        raise refuse(["input", "id"], "Order does not exist")
    summary = payment_summary(shop, order)
    due = order_total(shop, order, current=True) - summary["captured"]
    if order["cancelledAt"] is not None or due <= 0 or summary["capturable"] > 0:
        raise refuse(["input", "id"], "Order cannot be marked as paid.")
    add_transaction(shop, order, "SALE", "SUCCESS", due, "manual")
    touch_order(shop, order)
    shop.notify("orders/paid", order["id"], lambda: rest.order(shop, order))
    return order


def send_invoice(shop: Shop, order_id: str, email: Mapping[str, Any] | None) -> dict[str, Any]:
    """orderInvoiceSend: e-mail the customer an invoice for what is outstanding on the order
    (Shopify's invoice carries a checkout link to pay it). Kept in the ``invoices`` table,
    which ``GET /sandbox/shopify/invoices`` lists. Refused (code
    ``ORDER_INVOICE_SEND_UNSUCCESSFUL``, the schema's only one) when the order is cancelled,
    owes nothing, or has no address to send to."""
    order = shop.get(order_id, "Order")
    if order is None:
        raise refuse(["id"], "Order does not exist")
    email = email or {}
    outstanding = order_total(shop, order, current=True) - payment_summary(shop, order)["captured"]
    recipient = email.get("to") or order.get("email")
    if order["cancelledAt"] is not None or outstanding <= 0 or not recipient:
        raise refuse(
            ["id"], "The invoice could not be sent.", code="ORDER_INVOICE_SEND_UNSUCCESSFUL"
        )
    number = shop.next_number("invoice")
    shop.table("invoices")[str(number)] = {
        "id": number,
        "order": order_id,
        "name": order["name"],
        "to": recipient,
        "from": email.get("from"),
        "subject": email.get("subject") or f"Invoice {order['name']}",
        "customMessage": email.get("customMessage"),
        "amount": str(outstanding),
        "sentAt": shop.now_iso(),
    }
    return order


# ----------------------------------------------------------------- cancellation
def cancel(
    shop: Shop, order_id: str, reason: str, refund: bool, restock: bool, staff_note: str | None
) -> dict[str, Any]:
    """orderCancel: cancel at once; returns the Job Shopify would run (done when queried)."""
    order = shop.get(order_id, "Order")
    if order is None:
        raise refuse(["orderId"], "Order does not exist", "NOT_FOUND")
    if order["cancelledAt"] is not None:
        raise refuse(
            ["orderId"], "Cannot cancel an order that has already been cancelled", "INVALID"
        )
    for fulfillment_order in shop.children("fulfillment_orders", order["_fulfillment_orders"]):
        for entry in shop.children("fo_lines", fulfillment_order["_lines"]):
            _release_units(shop, entry, fulfillment_order, entry["remainingQuantity"], restock)
        if fulfillment_order["status"] not in ("CLOSED", "CANCELLED"):
            fulfillment_order["status"] = "CLOSED"
            fulfillment_order["updatedAt"] = shop.now_iso()
    for line in lines_of(shop, order):
        line["currentQuantity"] = 0
    if refund:
        _refund_everything(shop, order)
    now = shop.now_iso()
    order.update(cancelledAt=now, cancelReason=reason, closed=True, closedAt=now)
    if staff_note:
        order["_staff_note"] = staff_note
    touch_order(shop, order)
    shop.notify("orders/cancelled", order["id"], lambda: rest.order(shop, order))
    job = shop.add({"__typename": "Job", "id": shop.new_gid("Job"), "done": True})
    return {**job, "done": False}  # Shopify answers with a job still running


def _refund_everything(shop: Shop, order: dict[str, Any]) -> None:
    for transaction in transactions_of(shop, order):
        if authorization_remaining(shop, transaction) > 0:
            add_transaction(
                shop,
                order,
                "VOID",
                "SUCCESS",
                money(transaction["_amount"]),
                transaction["gateway"],
                parent=transaction,
            )
            transaction["_closed"] = True
    summary = payment_summary(shop, order)
    owed = summary["captured"] - summary["refunded"]
    if owed > 0:
        gateway = order["_gateways"][0] if order["_gateways"] else "manual"
        add_transaction(shop, order, "REFUND", "SUCCESS", owed, gateway)


def _release_units(
    shop: Shop,
    entry: dict[str, Any],
    fulfillment_order: dict[str, Any],
    quantity: int,
    restock: bool,
) -> None:
    """Take `quantity` unfulfilled units off a fulfillment order line; they leave committed
    stock and, when restocked, return to available."""
    if quantity <= 0:
        return
    entry["remainingQuantity"] -= quantity
    entry["totalQuantity"] -= quantity
    line = shop.table("lines")[entry["_line"]]
    variant = shop.table("variants").get(line["_variant"] or "")
    if variant is None:
        return
    item = shop.table("items")[variant["_item"]]
    location_id = fulfillment_order["_location"]
    if item["tracked"] and location_id in item["_levels"]:
        catalog.change_quantity(shop, item, location_id, "committed", -quantity)
        if restock:
            catalog.change_quantity(shop, item, location_id, "available", quantity)


def touch_order(shop: Shop, order: dict[str, Any]) -> None:
    """Mark the order changed: new ``updatedAt`` and an orders/updated webhook."""
    order["updatedAt"] = shop.now_iso()
    shop.notify("orders/updated", order["id"], lambda: rest.order(shop, order))


# ------------------------------------------------------------------ notes, tags
def normalize_tags(tags: list[str]) -> list[str]:
    """Shopify's tag list: comma-separated entries split, trimmed, de-duplicated
    case-insensitively, sorted."""
    seen: dict[str, str] = {}
    for entry in tags:
        for tag in entry.split(","):
            tag = tag.strip()
            if tag and tag.lower() not in seen:
                seen[tag.lower()] = tag
    return sorted(seen.values(), key=str.lower)


TAGGABLE = ("Order", "Product", "Customer")


def change_tags(shop: Shop, node_id: str, tags: list[str], add: bool) -> dict[str, Any]:
    """tagsAdd / tagsRemove on an order, product or customer."""
    node = shop.get(node_id, *TAGGABLE)
    if node is None:
        raise refuse(["id"], "Resource not found")
    for index, tag in enumerate(tags):
        if len(tag) > 255:
            raise refuse(["tags", str(index)], "Tag is too long (maximum is 255 characters)")
    wanted = normalize_tags(tags)
    if add:
        new = normalize_tags([*node["tags"], *wanted])
    else:
        gone = {t.lower() for t in wanted}
        new = [t for t in node["tags"] if t.lower() not in gone]
    if new != node["tags"]:
        node["tags"] = new
        _touched(shop, node)
    return node


def _touched(shop: Shop, node: dict[str, Any]) -> None:
    if node["__typename"] == "Order":
        touch_order(shop, node)
    elif node["__typename"] == "Product":
        node["updatedAt"] = shop.now_iso()
        catalog.notify_product(shop, node)
    else:
        node["updatedAt"] = shop.now_iso()


def update_order(shop: Shop, data: dict[str, Any]) -> dict[str, Any]:
    """orderUpdate: note, tags, e-mail and purchase order number (metafields by the caller)."""
    order = shop.get(data["id"], "Order")
    if order is None:
        raise refuse(["id"], "Order does not exist")
    if "email" in data and data["email"] is not None and "@" not in data["email"]:
        raise refuse(["email"], "Email is invalid")
    for key in ("note", "email", "poNumber"):
        if key in data:
            order[key] = data[key]
    if data.get("tags") is not None:
        order["tags"] = normalize_tags(data["tags"])
    touch_order(shop, order)
    return order


# ------------------------------------------------------------------------ edits
def edit_begin(shop: Shop, order_id: str) -> dict[str, Any]:
    """orderEditBegin: a calculated order on which quantities are staged."""
    order = shop.get(order_id, "Order")
    if order is None:
        raise refuse(["id"], "The order does not exist.")
    if order["cancelledAt"] is not None:
        raise refuse(["id"], "The order cannot be edited because it has been canceled.")
    return shop.add(
        {
            "__typename": "CalculatedOrder",
            "id": shop.new_gid("CalculatedOrder"),
            "committed": False,
            "_order": order["id"],
            "_quantities": {},
            "_restock": {},
        }
    )


def calculated_line_id(line_id: str) -> str:
    """The CalculatedLineItem gid standing for an order line during an edit."""
    return line_id.replace("/LineItem/", "/CalculatedLineItem/")


def edit_set_quantity(
    shop: Shop, calculated_id: str, calculated_line: str, quantity: int, restock: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """orderEditSetQuantity: stage a line's new quantity."""
    calculated = shop.get(calculated_id, "CalculatedOrder")
    if calculated is None or calculated["committed"]:
        raise refuse(["id"], "The calculated order does not exist.")
    order = shop.table("orders")[calculated["_order"]]
    line_id = calculated_line.replace("/CalculatedLineItem/", "/LineItem/")
    if line_id not in order["_lines"]:
        raise refuse(["lineItemId"], "The line item does not exist.")
    if quantity < 0:
        raise refuse(["quantity"], "Quantity must be greater than or equal to 0.")
    calculated["_quantities"][line_id] = quantity
    calculated["_restock"][line_id] = bool(restock)
    return calculated, shop.table("lines")[line_id]


def edit_commit(shop: Shop, calculated_id: str, staff_note: str | None) -> dict[str, Any]:
    """orderEditCommit: apply the staged quantities to the order and its stock."""
    calculated = shop.get(calculated_id, "CalculatedOrder")
    if calculated is None or calculated["committed"]:
        raise refuse(["id"], "The calculated order does not exist.")
    order = shop.table("orders")[calculated["_order"]]
    if order["cancelledAt"] is not None:
        raise refuse(["id"], "The order cannot be edited because it has been canceled.")
    for line_id, quantity in calculated["_quantities"].items():
        line = shop.table("lines")[line_id]
        unfulfilled = sum(
            e["remainingQuantity"] for _, e in _fulfillment_entries(shop, order, line)
        )
        if line["currentQuantity"] - quantity > unfulfilled:
            raise refuse(["lineItemId"], "Cannot remove fulfilled units.")
    for line_id, quantity in calculated["_quantities"].items():
        line = shop.table("lines")[line_id]
        delta = quantity - line["currentQuantity"]
        if delta < 0:
            _remove_units(shop, order, line, -delta, calculated["_restock"][line_id])
        elif delta > 0:
            _add_units(shop, order, line, delta)
        line["currentQuantity"] = quantity
    calculated["committed"] = True
    order["edited"] = True
    if staff_note:
        order["_staff_note"] = staff_note
    touch_order(shop, order)
    return order


def _fulfillment_entries(
    shop: Shop, order: dict[str, Any], line: dict[str, Any]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    pairs = []
    for fulfillment_order in shop.children("fulfillment_orders", order["_fulfillment_orders"]):
        if fulfillment_order["status"] in ("CLOSED", "CANCELLED"):
            continue
        for entry in shop.children("fo_lines", fulfillment_order["_lines"]):
            if entry["_line"] == line["id"]:
                pairs.append((fulfillment_order, entry))
    return pairs


def _remove_units(
    shop: Shop, order: dict[str, Any], line: dict[str, Any], quantity: int, restock: bool
) -> None:
    # Units held back (ON_HOLD fulfillment orders) go first, then the newest open ones.
    pairs = list(enumerate(_fulfillment_entries(shop, order, line)))
    pairs.sort(key=lambda pair: (pair[1][0]["status"] != "ON_HOLD", -pair[0]))
    for _, (fulfillment_order, entry) in pairs:
        taken = min(quantity, entry["remainingQuantity"])
        _release_units(shop, entry, fulfillment_order, taken, restock)
        quantity -= taken
        if all(
            e["remainingQuantity"] == 0
            for e in shop.children("fo_lines", fulfillment_order["_lines"])
        ):
            fulfillment_order["status"] = "CLOSED"
            fulfillment_order["updatedAt"] = shop.now_iso()
        if quantity == 0:
            return


def _add_units(shop: Shop, order: dict[str, Any], line: dict[str, Any], quantity: int) -> None:
    pairs = [p for p in _fulfillment_entries(shop, order, line) if p[0]["status"] == "OPEN"]
    variant = shop.table("variants").get(line["_variant"] or "")
    if pairs:
        fulfillment_order, entry = pairs[0]
        entry["remainingQuantity"] += quantity
        entry["totalQuantity"] += quantity
    else:
        location_id = next(iter(shop.table("locations")))
        fulfillment_order = new_fulfillment_order(shop, order, location_id, [(line, quantity)])
    if variant is not None:
        item = shop.table("items")[variant["_item"]]
        location_id = fulfillment_order["_location"]
        if item["tracked"] and location_id in item["_levels"]:
            catalog.change_quantity(shop, item, location_id, "available", -quantity)
            catalog.change_quantity(shop, item, location_id, "committed", quantity)
