"""Shopify's second split mode (issue 16): a separate, linked backorder order.

The default mode keeps one order and holds the backordered units on a fulfillment order
(adapter.py). A store whose fulfilment apps need a separate order for what waits chooses
"linked" on its settings page (`SPLIT_MODES`, stored as `stores.settings.split_mode`); a split
then writes, each step safe to repeat (Admin GraphQL 2025-01):

1. `orderCreate` of the backorder order `#1042-001`: the backordered lines (same variants, unit
   prices and quantities), the same customer, `inventoryBehaviour: BYPASS` (the original's
   checkout already took those units from `available`, and the edit below does not restock
   them, so they are counted once), `financialStatus` PENDING (or PAID when the original was
   paid in full: see README "Shopify stores"), our tags `backorder`, `#1042-001` and
   `backorders-<key>`, and the metafield `backorders.origin` (JSON: original order, split key,
   number). Skipped when the order exists: found by the original's `backorders.splits` entry,
   else by its `backorders-<key>` tag (`find`), so a retry after a crash never creates two.
2. `fulfillmentOrderHold` of its fulfillment orders (reason `INVENTORY_OUT_OF_STOCK`, handle
   `backorders-<key>`), so the warehouse does not ship it before the stock is there; skipped for
   one already held.
3. An order edit of the original: `orderEditBegin`, `orderEditSetQuantity` (restock false) of
   each backordered line to what it keeps, `orderEditCommit`. Quantities are absolute, and a line
   already at its kept quantity is not staged, so a repeat reduces nothing twice.
4. `orderCapture` of what ships from an authorised payment (once: while nothing was captured),
   `finalCapture: true`: the original is reduced to what ships, so the rest of the authorisation
   is given back to the customer's card.
5. `metafieldsSet` and `tagsAdd` on the original: `backorders.splits` gets the number and the
   new order per split key, the tags `backorder` and `#1042-001`.

The store's mode decides only how a new split is written: a split goes on in the mode it was
begun in (`written_mode`), and `ShopifyPlatform.find_backorder_order` finds a split of either
mode, so a merchant switching modes while splits are open breaks none of them.

Releasing the backorder order releases its holds and, while it owes money, sends Shopify's
invoice (`orderInvoiceSend`) once, with its status page as the payment link.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from plugin.core.model import ZERO, Links, Order, PaymentAction, Plan, Status, minor_unit
from plugin.errors import PermanentError
from plugin.platforms.shopify.edits import edit_quantities
from plugin.platforms.shopify.ids import number
from plugin.platforms.shopify.mapping import (
    BACKORDER_TAG,
    METAFIELD_NAMESPACE,
    ORDER_FIELDS,
    authorisation,
    captured,
    hold_handle,
    invoice_tag,
    is_backorder_id,
    money,
    open_fulfillment_orders,
    order_from_data,
    shipped_capture,
    splits_metafield,
    splits_of,
)

if TYPE_CHECKING:
    from plugin.platforms.shopify.adapter import ShopifyPlatform

log = logging.getLogger(__name__)

HELD, LINKED = "held", "linked"
SPLIT_MODES: tuple[tuple[str, str], ...] = (
    (HELD, "Hold the backordered units on the order (one order, Shopify's own way)"),
    (LINKED, "Create a separate linked backorder order (for fulfilment apps that need one)"),
)
ORIGIN_KEY = "origin"  # metafield backorders.origin on a backorder order we created

FIND_BY_TAG = """query linked($query: String!) { orders(first: 1, query: $query) {
  nodes { id } } }"""
CREATE = f"""mutation create($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {{
  orderCreate(order: $order, options: $options) {{ order {{ {ORDER_FIELDS} }}
    userErrors {{ field message code }} }} }}"""
HOLD = """mutation hold($id: ID!, $hold: FulfillmentOrderHoldInput!) {
  fulfillmentOrderHold(id: $id, fulfillmentHold: $hold) { fulfillmentOrder { id status }
    userErrors { field message code } } }"""
CAPTURE = """mutation capture($input: OrderCaptureInput!) {
  orderCapture(input: $input) { transaction { id status } userErrors { field message } } }"""
RECORD = """mutation record($metafields: [MetafieldsSetInput!]!, $order: ID!, $tags: [String!]!) {
  metafieldsSet(metafields: $metafields) { metafields { id } userErrors { field message code } }
  tagsAdd(id: $order, tags: $tags) { node { id } userErrors { field message } } }"""
RELEASE_HOLD = """mutation release($id: ID!) { fulfillmentOrderReleaseHold(id: $id) {
  fulfillmentOrder { id status } userErrors { field message code } } }"""
INVOICE_MESSAGE = (
    "The items you ordered on backorder are in stock now. You were charged only for what "
    "shipped with your first order: please pay for these with the link below and we will "
    "ship them."
)


def origin_of(data: Mapping[str, Any]) -> dict[str, str] | None:
    """The `backorders.origin` metafield of a backorder order we created (None for any other
    order): its original order, split key and number."""
    raw = (data.get(ORIGIN_KEY) or {}).get("value")
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value.get("order") else None


def written_mode(backorder_order_id: str | None, setting: str) -> str:
    """The mode a split is written in: once its backorder exists, that backorder's (a held
    part `fo-<n>` is HELD, an order of its own LINKED), so a split begun before the merchant
    changed the setting goes on as it began; a new split takes the store's `setting`."""
    if backorder_order_id is None:
        return LINKED if setting == LINKED else HELD
    return HELD if is_backorder_id(backorder_order_id) else LINKED


def order_of(data: Mapping[str, Any]) -> Order:
    """An order read with ORDER_FIELDS; a linked backorder order as the core's backorder order
    (its original as parent, its number `1042-001`, waiting while its fulfillment is held)."""
    order = order_from_data(data)
    origin = origin_of(data)
    if origin is None:
        return order
    status = Status.NEW_BACKORDER if order.status is Status.ON_HOLD else order.status
    return replace(
        order,
        number=str(origin.get("number") or order.number),
        status=status,
        # Not split again on a partial arrival (Shopify.write_resplit): it is released whole.
        links=Links(
            parent_id=str(origin["order"]), is_backorder_order=True, releases_in_part=False
        ),
    )


def edits(data: Mapping[str, Any], plan: Plan) -> dict[str, int]:
    """Line number -> the quantity the original keeps, for the lines still above it; a line
    changed since the plan (neither ordered nor kept quantity) is refused."""
    current = {
        number(node["id"]): int(node.get("currentQuantity", node["quantity"]))
        for node in data["lineItems"]["nodes"]
    }
    staged: dict[str, int] = {}
    for lp in plan.lines:
        if lp.backorder <= 0:
            continue
        kept = lp.ordered - lp.backorder
        now = current.get(lp.line_id)
        if now == kept:
            continue
        if now != lp.ordered:
            raise PermanentError(
                f"order {data['name']}: line {lp.line_id} has {now} units, not the "
                f"{lp.ordered} planned; split it from Shopify's admin",
                reason="order_changed",
            )
        staged[lp.line_id] = kept
    return staged


def new_order_input(
    data: Mapping[str, Any], plan: Plan, summary: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`orderCreate`'s `order` and `options` for the backorder order of `plan`."""
    assert plan.split_key is not None and plan.backorder_number is not None
    currency = str(data["currencyCode"])
    nodes = {number(node["id"]): node for node in data["lineItems"]["nodes"]}
    lines = []
    for lp in plan.lines:
        if lp.backorder <= 0:
            continue
        node = nodes[lp.line_id]
        line: dict[str, Any] = {
            "quantity": lp.backorder,
            "priceSet": {
                "shopMoney": {
                    "amount": str(unit_price(node, currency)),
                    "currencyCode": currency,
                }
            },
        }
        if node.get("variant"):
            line["variantId"] = node["variant"]["id"]
        else:
            line["title"] = str(node.get("name") or f"Line {lp.line_id}")
        if node.get("sku"):
            line["sku"] = node["sku"]
        lines.append(line)
    customer = data.get("customer") or {}
    paid = plan.payment is PaymentAction.PAID_FROM_ORIGINAL
    order: dict[str, Any] = {
        "name": f"#{plan.backorder_number}",
        "lineItems": lines,
        "financialStatus": "PAID" if paid else "PENDING",
        "tags": [BACKORDER_TAG, f"#{plan.backorder_number}", hold_handle(plan.split_key)],
        "note": summary or f"Backorder {plan.backorder_number} of order {data['name']}.",
        "metafields": [
            {
                "namespace": METAFIELD_NAMESPACE,
                "key": ORIGIN_KEY,
                "type": "json",
                "value": json.dumps(
                    {
                        "order": number(data["id"]),
                        "name": str(data["name"]),
                        "split_key": plan.split_key,
                        "number": plan.backorder_number,
                    },
                    sort_keys=True,
                ),
            }
        ],
    }
    if customer.get("id"):
        order["customer"] = {"toAssociate": {"id": customer["id"]}}
    elif data.get("email"):
        order["email"] = data["email"]
    # The original's checkout took these units from `available` and the edit does not give them
    # back (restock false): the new order must not take them again.
    return order, {"inventoryBehaviour": "BYPASS", "sendReceipt": False}


def unit_price(node: Mapping[str, Any], currency: str) -> Decimal:
    """What the customer pays per unit of a line: its discounted total over its quantity."""
    quantity = int(node["quantity"])
    total = money(node.get("discountedTotalSet"), currency)
    if quantity <= 0:
        return money(node.get("originalUnitPriceSet"), currency)
    return (total / quantity).quantize(minor_unit(currency))


class LinkedSplits:
    """The linked-order mode of a `ShopifyPlatform` (its client and its order reads)."""

    def __init__(self, platform: ShopifyPlatform) -> None:
        self.platform = platform
        self.client = platform.client

    def find(self, split_key: str) -> str | None:
        """The backorder order of `split_key` created but not recorded on its original yet:
        the order carrying our `backorders-<key>` tag."""
        nodes = self.client.execute(FIND_BY_TAG, {"query": f"tag:'{hold_handle(split_key)}'"})[
            "orders"
        ]["nodes"]
        return number(nodes[0]["id"]) if nodes else None

    def write_split(
        self, original: Order, plan: Plan, *, backorder_order_id: str | None, summary: str
    ) -> str:
        """Create (once) and hold the backorder order, reduce the original to what ships,
        capture that, and record the split on the original; the backorder order's id."""
        assert plan.split_key is not None and plan.backorder_number is not None
        data = self.platform._current(original.id)
        if backorder_order_id is None:
            created = self._create(data, plan, summary)
        else:
            created = self.platform._read(backorder_order_id)
        self._hold(created, plan.split_key)
        new_id = number(created["id"])
        self._reduce(data, plan)
        self._capture_shipped(data, plan)
        self._record(data, plan, new_id)
        return new_id

    def _create(self, data: Mapping[str, Any], plan: Plan, summary: str) -> dict[str, Any]:
        order, options = new_order_input(data, plan, summary)
        created = self.client.mutate(CREATE, {"order": order, "options": options}, "orderCreate")
        log.info("shopify linked backorder created order=%s", number(data["id"]))
        return dict(created["order"])

    def _hold(self, data: Mapping[str, Any], split_key: str) -> None:
        handle = hold_handle(split_key)
        for fo in open_fulfillment_orders(data):
            if fo["status"] != "OPEN":
                continue
            self.client.mutate(
                HOLD,
                {
                    "id": fo["id"],
                    "hold": {
                        "reason": "INVENTORY_OUT_OF_STOCK",
                        "handle": handle,
                        "notifyMerchant": False,
                    },
                },
                "fulfillmentOrderHold",
            )

    def _reduce(self, data: Mapping[str, Any], plan: Plan) -> None:
        staged = edits(data, plan)
        if not staged:
            return
        edit_quantities(
            self.client,
            data["id"],
            staged,
            restock=False,
            note=f"Backorders: moved to {plan.backorder_number}",
        )

    def _capture_shipped(self, data: Mapping[str, Any], plan: Plan) -> None:
        """Capture what ships, once (nothing captured yet), finally: the authorisation's rest
        is not taken."""
        capture = shipped_capture(data, plan, final=True)
        if capture is None:
            return
        self.client.mutate(
            CAPTURE,
            {"input": capture},
            "orderCapture",
        )
        log.info("shopify capture order=%s final=True (linked split)", number(data["id"]))

    def _record(self, data: Mapping[str, Any], plan: Plan, new_id: str) -> None:
        splits = splits_of(data)
        entry = {"number": plan.backorder_number or "", "order": new_id}
        tags = [BACKORDER_TAG, f"#{plan.backorder_number}"]
        if splits.get(plan.split_key or "") == entry and set(tags) <= set(data.get("tags") or ()):
            return
        splits[plan.split_key or ""] = entry
        answer = self.client.execute(
            RECORD,
            {
                "metafields": [splits_metafield(data["id"], splits)],
                "order": data["id"],
                "tags": tags,
            },
        )
        for payload in ("metafieldsSet", "tagsAdd"):
            errors = (answer.get(payload) or {}).get("userErrors")
            if errors:
                raise PermanentError(
                    f"{payload}: {'; '.join(e['message'] for e in errors)}",
                    reason="record_refused",
                )

    def release(self, data: Mapping[str, Any]) -> str | None:
        """Release the backorder order's holds; when it owes money, Shopify's invoice is sent
        (once) and its status page is the payment link."""
        for fo in open_fulfillment_orders(data):
            if fo["status"] == "ON_HOLD":
                self.client.mutate(RELEASE_HOLD, {"id": fo["id"]}, "fulfillmentOrderReleaseHold")
        currency = str(data["currencyCode"])
        owed = money(data.get("totalPriceSet"), currency) - captured(data)
        if owed <= ZERO or authorisation(data) is not None:
            return None
        self.platform._request_payment(data, invoice_tag(number(data["id"])), INVOICE_MESSAGE)
        return str(data.get("statusPageUrl") or "") or None
