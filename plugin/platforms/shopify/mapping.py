"""Shopify's orders, fulfillment orders and inventory in the core's terms.

Facts relied on (Admin GraphQL 2025-01, ../shared/reference/shopify/admin_schema_2025-01.json.gz):
- `Order.displayFinancialStatus` (`PENDING`, `AUTHORIZED`, `PARTIALLY_PAID`, `PAID`, ...) and
  `displayFulfillmentStatus` (`UNFULFILLED`, `PARTIALLY_FULFILLED`, `ON_HOLD`, `IN_PROGRESS`,
  `SCHEDULED`, `FULFILLED`, ...); `cancelledAt`, `closedAt`.
- An order ships through fulfillment orders, each assigned to one location; a fulfillment order
  line item (`remainingQuantity`) points at the order's `LineItem`.
- Stock belongs to an `InventoryItem` (one per variant) at each location:
  `InventoryLevel.quantities(names: ["available"])`; a variant whose `inventoryPolicy` is
  `CONTINUE` may be sold below zero (a backorder), `DENY` may not.

Ids in the core are Shopify's numbers (ids.py). A line's product is its product; its "variant"
is its variant's inventory item, because stock is kept per inventory item and
`inventory_levels/update` names only that (webhooks.py). The part of an order held for stock
(a fulfillment order on hold) is the core's backorder order, with id `fo-<number>`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from plugin.core.model import (
    ZERO,
    Address,
    BackorderMode,
    Customer,
    Line,
    Links,
    Order,
    PaymentState,
    Plan,
    ProductRef,
    Status,
    minor_unit,
)
from plugin.errors import PermanentError
from plugin.platforms.shopify.ids import number

BACKORDER_PREFIX = "fo-"
METAFIELD_NAMESPACE = "backorders"
METAFIELD_KEY = "splits"  # JSON: {split key: {"number": "1042-001", "fulfillment_order": "7"}}
HOLD_HANDLE_PREFIX = "backorders-"
BACKORDER_TAG = "backorder"
LINES_PER_ORDER = 30  # lines read with an order (more is refused, saying so)
FULFILLMENT_ORDERS_PER_ORDER = 5

MONEY = "shopMoney { amount currencyCode }"
TRANSACTIONS_PER_ORDER = 20


def order_fields(
    lines: int = LINES_PER_ORDER,
    fulfillment_orders: int = FULFILLMENT_ORDERS_PER_ORDER,
    fulfillment_lines: int = LINES_PER_ORDER,
    transactions: int = TRANSACTIONS_PER_ORDER,
) -> str:
    """The fields an order is read with, its connections `first:` the sizes given (Shopify's
    requested cost grows with each: shopify.dev "Cost calculation"). Each connection says
    whether it has more (`truncated` tells), so a smaller read can be made whole again."""
    return f"""
  id name createdAt updatedAt cancelledAt closedAt currencyCode email note tags statusPageUrl
  displayFinancialStatus displayFulfillmentStatus
  totalPriceSet {{ {MONEY} }}
  totalCapturableSet {{ {MONEY} }}
  totalOutstandingSet {{ {MONEY} }}
  paymentGatewayNames
  customer {{ id email firstName lastName }}
  lineItems(first: {lines}) {{
    pageInfo {{ hasNextPage }}
    nodes {{ id sku name quantity currentQuantity
      originalUnitPriceSet {{ {MONEY} }}
      discountedTotalSet {{ {MONEY} }}
      variant {{ id inventoryPolicy inventoryItem {{ id tracked }} product {{ id }} }} }} }}
  fulfillmentOrders(first: {fulfillment_orders}) {{ pageInfo {{ hasNextPage }} nodes {{
    id status assignedLocation {{ location {{ id }} }}
    fulfillmentHolds {{ id handle reason }}
    lineItems(first: {fulfillment_lines}) {{ pageInfo {{ hasNextPage }}
      nodes {{ id totalQuantity remainingQuantity lineItem {{ id }} }} }} }} }}
  transactions(first: {transactions}) {{ id kind status createdAt amountSet {{ {MONEY} }}
    authorizationExpiresAt }}
  metafield(namespace: "{METAFIELD_NAMESPACE}", key: "{METAFIELD_KEY}") {{ value }}
  origin: metafield(namespace: "{METAFIELD_NAMESPACE}", key: "origin") {{ value }}
"""


ORDER_FIELDS = order_fields()


def truncated(data: Mapping[str, Any], transactions: int) -> bool:
    """Whether an order read with `order_fields` left something out: a connection with a next
    page, or as many transactions as were asked for (a list, without `pageInfo`)."""
    fulfillment_orders = data["fulfillmentOrders"]
    return (
        bool(data["lineItems"]["pageInfo"]["hasNextPage"])
        or bool(fulfillment_orders["pageInfo"]["hasNextPage"])
        or any(fo["lineItems"]["pageInfo"]["hasNextPage"] for fo in fulfillment_orders["nodes"])
        or len(data.get("transactions") or ()) >= transactions
    )


_PAYMENT = {
    "AUTHORIZED": PaymentState.AUTHORISED,
    "PARTIALLY_PAID": PaymentState.AUTHORISED,  # a partial capture; the rest is authorised
    "PAID": PaymentState.PAID,
    "PARTIALLY_REFUNDED": PaymentState.PAID,
    "REFUNDED": PaymentState.PAID,
}
# Eligible by default ("New or On Hold"): unfulfilled or partially fulfilled, and on hold.
_FULFILLMENT = {
    "UNFULFILLED": Status.NEW,
    "PARTIALLY_FULFILLED": Status.NEW,
    "PENDING_FULFILLMENT": Status.NEW,
    "OPEN": Status.NEW,
    "ON_HOLD": Status.ON_HOLD,
    "IN_PROGRESS": Status.PICK,
    "SCHEDULED": Status.UNCOMMITTED,
    "FULFILLED": Status.DISPATCHED,
    "RESTOCKED": Status.CANCELLED,
}
# The Shopify names a merchant sees for the canonical statuses we map onto.
STATUS_NAMES = {
    Status.NEW: "Unfulfilled / partially fulfilled",
    Status.ON_HOLD: "On hold",
    Status.NEW_BACKORDER: "On hold (waiting for stock)",  # a held part's fulfillment order
    Status.PICK: "In progress",
    Status.UNCOMMITTED: "Scheduled",
    Status.DISPATCHED: "Fulfilled or closed",
    Status.CANCELLED: "Cancelled",
}


def money(value: Mapping[str, Any] | None, currency: str) -> Decimal:
    """A `MoneyBag`'s shop amount, quantised to the currency's minor unit."""
    amount = ((value or {}).get("shopMoney") or {}).get("amount") or "0"
    return Decimal(str(amount)).quantize(minor_unit(currency))


def moment(value: str) -> dt.datetime:
    """A Shopify `DateTime` (ISO 8601 in UTC) as an aware UTC datetime."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def status_of(data: Mapping[str, Any]) -> Status:
    """The canonical status of an order: cancelled, closed (archived: done), else its
    fulfillment status."""
    if data.get("cancelledAt"):
        return Status.CANCELLED
    if data.get("closedAt"):
        return Status.DISPATCHED
    return _FULFILLMENT.get(str(data.get("displayFulfillmentStatus")), Status.NEW)


def payment_of(data: Mapping[str, Any]) -> PaymentState:
    return _PAYMENT.get(str(data.get("displayFinancialStatus")), PaymentState.UNPAID)


def splits_of(data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Our splits recorded on the order (its `backorders.splits` metafield), by split key."""
    raw = (data.get("metafield") or {}).get("value")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def splits_metafield(owner_id: str, splits: Mapping[str, Any]) -> dict[str, Any]:
    """The `metafieldsSet` input that records `splits` (by split key) on the order `owner_id`."""
    return {
        "ownerId": owner_id,
        "namespace": METAFIELD_NAMESPACE,
        "key": METAFIELD_KEY,
        "type": "json",
        "value": json.dumps(splits, sort_keys=True),
    }


def hold_handle(split_key: str) -> str:
    """The handle of the fulfillment hold a split places (unique per app and fulfillment
    order, at most 64 characters)."""
    return (HOLD_HANDLE_PREFIX + split_key.replace(":", "-"))[:64]


def backorder_id(fulfillment_order_number: str) -> str:
    return f"{BACKORDER_PREFIX}{fulfillment_order_number}"


def is_backorder_id(order_id: str) -> bool:
    return str(order_id).startswith(BACKORDER_PREFIX)


def fulfillment_order_number(order_id: str) -> str:
    return str(order_id)[len(BACKORDER_PREFIX) :]


def line_ref(node: Mapping[str, Any]) -> ProductRef:
    """The core's product of a line item: (product, inventory item) numbers."""
    variant = node.get("variant") or {}
    product = (variant.get("product") or {}).get("id")
    item = (variant.get("inventoryItem") or {}).get("id")
    if not product or not item:
        # A custom line or a deleted product: nothing in stock to wait for.
        return ProductRef(f"line-{number(node['id'])}", None)
    return ProductRef(number(product), number(item))


def _lines(
    data: Mapping[str, Any], quantities: Mapping[str, int] | None = None
) -> tuple[Line, ...]:
    """The order's lines; with `quantities` (line number -> units) only those, in those
    quantities (a held fulfillment order's part)."""
    currency = str(data["currencyCode"])
    page = data["lineItems"]
    if (page.get("pageInfo") or {}).get("hasNextPage"):
        raise PermanentError(
            f"order {data['name']}: more than {LINES_PER_ORDER} lines", reason="too_many_lines"
        )
    lines: list[Line] = []
    for node in page["nodes"]:
        line_id = number(node["id"])
        ordered = int(node.get("currentQuantity", node["quantity"]))
        quantity = ordered if quantities is None else quantities.get(line_id, 0)
        if quantity <= 0:
            continue
        ref = line_ref(node)
        unit = money(node.get("originalUnitPriceSet"), currency)
        # `discountedTotalSet` includes removed and refunded units (schema 2025-01): its
        # share per unit is over `quantity`, not `currentQuantity`.
        total = money(node.get("discountedTotalSet"), currency)
        priced = int(node["quantity"])
        if quantity != priced and priced:
            total = (total * quantity / priced).quantize(minor_unit(currency))
        lines.append(
            Line(
                line_id=line_id,
                product_id=ref.product_id,
                variant_id=ref.variant_id,
                sku=str(node.get("sku") or ""),
                name=str(node.get("name") or ""),
                quantity=quantity,
                unit_price=unit,
                subtotal=unit * quantity,
                subtotal_tax=ZERO,
                total=total,
                tax=ZERO,
            )
        )
    return tuple(lines)


def _customer(data: Mapping[str, Any]) -> Customer:
    customer = data.get("customer") or {}
    email = str(customer.get("email") or data.get("email") or "")
    return Customer(number(customer["id"]) if customer.get("id") else None, email)


def _addressed(data: Mapping[str, Any], email: str) -> Address:
    """Whom the customer's messages greet: the customer's name (the order's addresses are not
    read: the name is all a message needs) and e-mail."""
    customer = data.get("customer") or {}
    return Address(
        first_name=str(customer.get("firstName") or ""),
        last_name=str(customer.get("lastName") or ""),
        email=email,
    )


def order_from_data(data: Mapping[str, Any]) -> Order:
    """An order read with ORDER_FIELDS as the core's Order."""
    currency = str(data["currencyCode"])
    customer = _customer(data)
    return Order(
        id=number(data["id"]),
        number=str(data["name"]).lstrip("#"),
        status=status_of(data),
        currency=currency,
        created_at=moment(data["createdAt"]),
        customer=customer,
        payment_state=payment_of(data),
        payment_method=", ".join(data.get("paymentGatewayNames") or ()),
        billing=_addressed(data, customer.email),
        shipping=Address(email=customer.email),
        lines=_lines(data),
        total=money(data.get("totalPriceSet"), currency),
        links=Links(split_count=len(splits_of(data))),
        payment_expires_at=authorisation_expiry(data),
    )


def held_part(data: Mapping[str, Any], fulfillment_order: Mapping[str, Any]) -> Order:
    """The part of an order a fulfillment order holds, as the core's backorder order."""
    currency = str(data["currencyCode"])
    quantities = {
        number(n["lineItem"]["id"]): int(n["remainingQuantity"])
        for n in fulfillment_order["lineItems"]["nodes"]
    }
    fo_number = number(fulfillment_order["id"])
    recorded = next(
        (
            entry.get("number", "")
            for entry in splits_of(data).values()
            if str(entry.get("fulfillment_order")) == fo_number
        ),
        "",
    )
    lines = _lines(data, quantities)
    status = {
        "ON_HOLD": Status.NEW_BACKORDER,  # waiting for stock, as allocation looks for it
        "OPEN": Status.NEW,
        "IN_PROGRESS": Status.PICK,
        "CLOSED": Status.DISPATCHED,
        "CANCELLED": Status.CANCELLED,
        "INCOMPLETE": Status.CANCELLED,
    }.get(str(fulfillment_order["status"]), Status.NEW)
    if status is Status.DISPATCHED and not any(
        int(n.get("totalQuantity", 1)) for n in fulfillment_order["lineItems"]["nodes"]
    ):
        status = Status.CANCELLED  # closed by an order edit that took off all its units
    order = order_from_data(data)
    return Order(
        id=backorder_id(fo_number),
        number=recorded or f"{order.number}-{fo_number}",
        status=status,
        currency=currency,
        created_at=order.created_at,
        customer=order.customer,
        payment_state=order.payment_state,
        payment_method=order.payment_method,
        billing=order.billing,
        shipping=order.shipping,
        lines=lines,
        total=sum((line.total for line in lines), ZERO),
        links=Links(parent_id=order.id, is_backorder_order=True, part_of=order.number),
    )


def open_fulfillment_orders(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Fulfillment orders still to ship (open, on hold or in progress)."""
    return [
        fo
        for fo in data["fulfillmentOrders"]["nodes"]
        if fo["status"] in ("OPEN", "ON_HOLD", "IN_PROGRESS", "SCHEDULED")
    ]


def location_of_line(data: Mapping[str, Any], line_id: str) -> str | None:
    """The location (number) of the open fulfillment order that ships a line's units."""
    for fo in open_fulfillment_orders(data):
        for node in fo["lineItems"]["nodes"]:
            if number(node["lineItem"]["id"]) == line_id and int(node["remainingQuantity"]) > 0:
                return number(fo["assignedLocation"]["location"]["id"])
    return None


def backorder_mode(policy: str | None) -> BackorderMode:
    """`inventoryPolicy` as the core's backorder setting: CONTINUE allows backorders."""
    return BackorderMode.YES if policy == "CONTINUE" else BackorderMode.NO


def available_at(levels: Iterable[Mapping[str, Any]], location: str) -> int:
    """The `available` quantity of an inventory item at one location (0 when not stocked)."""
    for level in levels:
        if number(level["location"]["id"]) == location:
            for quantity in level.get("quantities") or ():
                if quantity["name"] == "available":
                    return int(quantity["quantity"])
    return 0


def captured(data: Mapping[str, Any]) -> Decimal:
    """What was captured (or sold at once) on the order so far."""
    currency = str(data["currencyCode"])
    return sum(
        (
            money(t.get("amountSet"), currency)
            for t in data.get("transactions") or ()
            if t["kind"] in ("CAPTURE", "SALE") and t["status"] == "SUCCESS"
        ),
        ZERO,
    )


def authorisation(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The order's successful authorisation transaction, if it has one."""
    return next(
        (
            t
            for t in data.get("transactions") or ()
            if t["kind"] == "AUTHORIZATION" and t["status"] == "SUCCESS"
        ),
        None,
    )


# Shopify fills `OrderTransaction.authorizationExpiresAt` only for Plus shops (schema 2025-01:
# "available only to stores on a Shopify Plus plan"); elsewhere an authorisation is taken to last
# 7 days from its creation, Shopify Payments' card authorisation period (help.shopify.com,
# "Authorization period for Shopify Payments"). Other gateways may differ: the merchant warning
# then comes early or late, and a release after the real lapse still sends the invoice, because
# the lapse itself is read from the shop's figures (`authorisation_lapsed`).
AUTHORISATION_DAYS = 7


def capture_input(
    data: Mapping[str, Any], auth: Mapping[str, Any], amount: Decimal, *, final: bool
) -> dict[str, Any]:
    """`orderCapture`'s input: `amount` of the authorisation `auth` of the order `data`."""
    return {
        "id": data["id"],
        "parentTransactionId": auth["id"],
        "amount": str(amount),
        "currency": str(data["currencyCode"]),
        "finalCapture": final,
    }


def shipped_capture(data: Mapping[str, Any], plan: Plan, *, final: bool) -> dict[str, Any] | None:
    """The capture of what ships now (the plan's original total) from an authorised payment,
    once: None while something was captured already (a crash after it does not repeat it), for
    a paid order (not charged again) and when nothing is left to capture."""
    auth = authorisation(data)
    if auth is None or captured(data) > ZERO or plan.original_totals is None:
        return None
    capturable = money(data.get("totalCapturableSet"), str(data["currencyCode"]))
    amount = min(plan.original_totals.total, capturable)
    return capture_input(data, auth, amount, final=final) if amount > ZERO else None


def authorisation_expiry(data: Mapping[str, Any]) -> dt.datetime | None:
    """When the order's authorisation can no longer be captured, while something is still
    capturable on it; None otherwise."""
    auth = authorisation(data)
    if auth is None or money(data.get("totalCapturableSet"), str(data["currencyCode"])) <= ZERO:
        return None
    if auth.get("authorizationExpiresAt"):
        return moment(str(auth["authorizationExpiresAt"]))
    if auth.get("createdAt"):
        return moment(str(auth["createdAt"])) + dt.timedelta(days=AUTHORISATION_DAYS)
    return None


def invoice_tag(order_id: str) -> str:
    """The order tag that says the customer was sent an invoice for the released part
    `order_id` (`fo-<n>`, or the order's own number)."""
    return f"backorders-invoice-{order_id}"


def authorisation_lapsed(data: Mapping[str, Any]) -> bool:
    """True when the order was paid by an authorisation that can no longer be captured
    (expired, commonly after 7 days, or voided) while something is still owed: nothing is
    capturable, less than the total was captured. Read from the shop's figures, so our clock
    and the gateway's need not agree."""
    if authorisation(data) is None:
        return False
    currency = str(data["currencyCode"])
    owed = money(data.get("totalPriceSet"), currency) - captured(data)
    return money(data.get("totalCapturableSet"), currency) <= ZERO and owed > ZERO
