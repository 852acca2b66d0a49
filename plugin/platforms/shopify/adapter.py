"""`plugin.ports.Platform` for Shopify, over `ShopifyClient`: the split in Shopify's own terms.

A split keeps the whole order and holds the backordered units for stock (the default mode of
issue 16; a store in the "linked" mode gets a separate linked backorder order instead: linked.py,
chosen by `split_mode`). Requests per split, whatever the
number of lines (measured on the sandbox, 2026-12-05: 5 requests, 110 cost points; 6 and 150
until then, when the writes read the order again):

1. `order` query (lines, fulfillment orders, transactions, our metafield)        get_order
2. `nodes` query on the lines' inventory items (available per location)           get_stock
   (at the same time as 1 when the event named the products: read_order_and_products)
3. only when a split is resumed: is the split there already? On the order read in 1 (nothing
   was written since: `_current`); nothing on it, an `orders` search for a linked order of
   the split key                                                         find_backorder_order
4. `fulfillmentOrderHold` with reason `INVENTORY_OUT_OF_STOCK`, handle `backorders-<key>` and
   the backordered quantities: those units stay on the (now held) fulfillment order and what
   ships now moves to a new open one, so the hold is the split (`fulfillmentOrderSplit` and the
   hold in one call); it starts from the order read in 1 (`_current`)            write_split
5. one request: `metafieldsSet` (backorders.splits: number and held fulfillment order per split
   key), `tagsAdd` (`backorder`, `#1042-001`) and, for an authorised payment nothing was
   captured from yet, `orderCapture` of what ships (`finalCapture: false`)         write_split
6. `orderUpdate` appending the staff note to the note just read                   add_note
The events these writes cause (orders/updated, orders/paid) read nothing: the finished split
decides them (plugin/usecases/splitting.py `_settled`).
The held fulfillment order is the core's backorder order (`fo-<number>`, mapping.py); releasing it
releases the hold and captures the rest.

Every write is safe to repeat: the hold is found by its handle (`find_backorder_order`), the
metafield and tags are set to the same values, the capture is made only while no capture
exists, the rest is captured only while something is capturable, and a note already in the
order's note is not added again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

from plugin.core.model import (
    ZERO,
    Order,
    PaymentState,
    Plan,
    ProductRef,
    Status,
    Stock,
    StockFigure,
    free_units,
)
from plugin.errors import NotFound, PermanentError, ValidationFailed
from plugin.platforms.concurrent import both
from plugin.platforms.shopify.cancelling import cancel_held, held_total, set_held_quantity
from plugin.platforms.shopify.catalogue import ShopifyCatalogue
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.connect import ShopifyConnection
from plugin.platforms.shopify.ids import gid, number
from plugin.platforms.shopify.linked import (
    LINKED,
    LinkedSplits,
    order_of,
    origin_of,
    written_mode,
)
from plugin.platforms.shopify.mapping import (
    BACKORDER_TAG,
    STATUS_NAMES,
    authorisation,
    authorisation_lapsed,
    available_at,
    backorder_id,
    backorder_mode,
    capture_input,
    fulfillment_order_number,
    held_part,
    hold_handle,
    invoice_tag,
    is_backorder_id,
    location_of_line,
    moment,
    money,
    open_fulfillment_orders,
    order_from_data,
    shipped_capture,
    splits_metafield,
    splits_of,
)
from plugin.platforms.shopify.order_reads import read_order, read_orders
from plugin.platforms.shopify.resplitting import recorded_parts, split_off
from plugin.platforms.shopify.shelf import ShopifyShelf
from plugin.platforms.shopify.stock_setting import set_available
from plugin.platforms.shopify.webhooks import order_fingerprint
from plugin.ports import (
    FreeUnits,
    HeldUnits,
    OrderChange,
    OrderSummary,
    ProductReading,
    Promise,
    PromiseState,
    ReleaseAs,
    ShelfItem,
    WebhookInfo,
)

log = logging.getLogger(__name__)

# Latest reads kept: a job's writes and note start from them, and allocation counts what the
# parts it read in bulk committed from them (free_units) without reading them again.
REMEMBERED_ORDERS = 512
REMEMBERED_PARENTS = 4096  # held part -> its order (a fulfillment order never changes order)

FULFILLMENT_ORDER_QUERY = (
    "query fulfillmentOrder($id: ID!) { fulfillmentOrder(id: $id) { id orderId } }"
)
STOCK_QUERY = """query stock($ids: [ID!]!) { nodes(ids: $ids) { ... on InventoryItem { id tracked
  variant { id inventoryPolicy }
  inventoryLevels(first: 10) { nodes { location { id } quantities(names: ["available"]) {
    name quantity } } } } } }"""
PRIMARY_LOCATION_QUERY = "query primary { location { id } }"
HOLD = """mutation hold($id: ID!, $hold: FulfillmentOrderHoldInput!) {
  fulfillmentOrderHold(id: $id, fulfillmentHold: $hold) {
    fulfillmentOrder { id status } remainingFulfillmentOrder { id status }
    userErrors { field message code } } }"""
_RECORDED = """
  metafieldsSet(metafields: $metafields) { metafields { id } userErrors { field message code } }
  tagsAdd(id: $order, tags: $tags) { node { id } userErrors { field message } }"""
RECORD = f"""mutation record($metafields: [MetafieldsSetInput!]!, $order: ID!,
  $tags: [String!]!) {{ {_RECORDED} }}"""
# Root fields of a mutation run one after the other (GraphQL spec, "Executing Operations"): the
# capture is made only once the split is recorded.
RECORD_AND_CAPTURE = f"""mutation recordAndCapture($metafields: [MetafieldsSetInput!]!,
  $order: ID!, $tags: [String!]!, $capture: OrderCaptureInput!) {{ {_RECORDED}
  orderCapture(input: $capture) {{ transaction {{ id status }}
    userErrors {{ field message }} }} }}"""
CAPTURE = """mutation capture($input: OrderCaptureInput!) {
  orderCapture(input: $input) { transaction { id status } userErrors { field message } } }"""
RELEASE_HOLD = """mutation release($id: ID!) { fulfillmentOrderReleaseHold(id: $id) {
  fulfillmentOrder { id status } userErrors { field message code } } }"""
# After the authorisation lapsed: Shopify's own invoice e-mail for what the order still owes,
# with a checkout link to pay it (schema 2025-01: `orderInvoiceSend`, "Sends an email invoice
# for an order"); then our tag, so a retried release does not send it twice.
INVOICE = """mutation invoice($id: ID!, $email: EmailInput) {
  orderInvoiceSend(id: $id, email: $email) { order { id } userErrors { field message code } } }"""
INVOICED = """mutation invoiced($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }"""
INVOICE_MESSAGE = (
    "The items you ordered on backorder are in stock now. The card payment held for them has "
    "expired, so please pay the rest with the link below and we will ship them."
)
UNPAID_INVOICE_MESSAGE = (
    "The items you ordered on backorder are in stock now. Please pay for them with the link "
    "below and we will ship them."
)
NOTE = """mutation note($input: OrderInput!) { orderUpdate(input: $input) { order { id }
  userErrors { field message } } }"""
ORDERS_SINCE = """query changed($query: String!, $after: String) {
  orders(first: 25, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id updatedAt displayFinancialStatus displayFulfillmentStatus cancelledAt closedAt
      lineItems(first: 30) { nodes { id quantity } } } } }"""


def _owed(data: Mapping[str, Any]) -> Decimal:
    """What the order still owes (`totalOutstandingSet`)."""
    return money(data.get("totalOutstandingSet"), str(data["currencyCode"]))


class ShopifyPlatform(ShopifyCatalogue):
    """A Shopify shop in domain terms (implements `plugin.ports.Platform`)."""

    def __init__(
        self,
        client: ShopifyClient,
        *,
        public_url: str = "",
        split_mode: str = "",
        webhook_ids: Sequence[int | str] = (),
    ) -> None:
        self.client = client
        self.public_url = public_url.rstrip("/")
        self.webhook_ids = frozenset(str(i) for i in webhook_ids)  # the subscriptions recorded
        self.split_mode = split_mode  # linked.SPLIT_MODES; '' = held (the default)
        self._linked = LinkedSplits(self)
        self._orders: dict[str, dict[str, Any]] = {}  # the latest read of each order
        # Order number -> the client's mutations when it was read: a read no write was sent
        # after is current for this instance's job (`_current`).
        self._read_at: dict[str, int] = {}
        self._parents: dict[str, str] = {}  # fulfillment order number -> order number
        self._primary: str | None = None

    @property
    def calls(self) -> int:
        return self.client.calls

    # -- reads -----------------------------------------------------------------------------

    def _read(self, order_number: str, *, whole: bool = False) -> dict[str, Any]:
        """An order as the shop has it now (order_reads.py: small, whole when it is not)."""
        data = read_order(self.client, gid("Order", order_number), whole=whole)
        if data is None:
            raise NotFound(f"order {order_number} does not exist", reason="not_found")
        return dict(self._remember(data))

    def _remember(self, data: dict[str, Any]) -> dict[str, Any]:
        """Keep an order's latest read, and which order each of its fulfillment orders is of."""
        order_number = number(data["id"])
        self._orders.pop(order_number, None)
        self._orders[order_number] = data
        self._read_at[order_number] = self.client.mutations
        while len(self._orders) > REMEMBERED_ORDERS:  # a long-lived instance stays small
            oldest = next(iter(self._orders))
            self._orders.pop(oldest)
            self._read_at.pop(oldest, None)
        for fo in (data.get("fulfillmentOrders") or {}).get("nodes") or ():
            self._parents[number(fo["id"])] = order_number
        while len(self._parents) > REMEMBERED_PARENTS:
            self._parents.pop(next(iter(self._parents)))
        return data

    def _current(self, order_number: str) -> dict[str, Any]:
        """The order as this instance last read it when no mutation was sent since (a split's
        job read it a moment ago, then decided: no need to ask again), else read now. An
        instance serves one job (registry.for_store), so no read outlives it."""
        order_number = str(order_number)
        data = self._orders.get(order_number)
        if data is not None and self._read_at.get(order_number) == self.client.mutations:
            return dict(data)
        return self._read(order_number)

    def _data(self, order_number: str) -> dict[str, Any]:
        return self._orders.get(str(order_number)) or self._read(order_number)

    def _parent_of(self, order_id: str) -> str:
        """The order a `fo-<n>` backorder belongs to (remembered from an order read)."""
        known = self._parents.get(fulfillment_order_number(order_id))
        if known is not None:
            return known
        data = self.client.execute(
            FULFILLMENT_ORDER_QUERY,
            {"id": gid("FulfillmentOrder", fulfillment_order_number(order_id))},
        )["fulfillmentOrder"]
        if data is None:
            raise NotFound(f"backorder {order_id} does not exist", reason="not_found")
        return number(data["orderId"])

    def get_order(self, order_id: str) -> Order:
        """An order, or (for `fo-<n>`) the part of one held for stock."""
        if not is_backorder_id(order_id):
            return order_of(self._read(order_id))  # a linked backorder order, or any order
        return _part_of(self._read(self._parent_of(order_id)), order_id)

    def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        """The orders (and held parts) that exist, in the order asked: a few bulk reads
        (order_reads.py), not one or two requests each."""
        orders: list[Order] = []
        for order_id, data in read_orders(self.client, order_ids, self._read_whole):
            data = self._remember(dict(data))
            try:
                orders.append(
                    _part_of(data, order_id) if is_backorder_id(order_id) else order_of(data)
                )
            except NotFound:
                continue
        return orders

    def _read_whole(self, order_gid: str) -> dict[str, Any] | None:
        try:
            return self._read(number(order_gid), whole=True)
        except NotFound:
            return None

    def reduced_stock(self, order_id: str) -> Mapping[str, int]:
        """Units the order committed per line: what its open fulfillment orders still ship
        (Shopify commits an order's units at its fulfillment orders' locations)."""
        data = self._data(self._order_number(order_id))
        wanted = fulfillment_order_number(order_id) if is_backorder_id(order_id) else None
        units: dict[str, int] = {}
        for fo in open_fulfillment_orders(data):
            if wanted is not None and number(fo["id"]) != wanted:
                continue
            for node in fo["lineItems"]["nodes"]:
                line = number(node["lineItem"]["id"])
                units[line] = units.get(line, 0) + int(node["remainingQuantity"])
        return units

    def _order_number(self, order_id: str) -> str:
        return self._parent_of(order_id) if is_backorder_id(order_id) else str(order_id)

    def primary_location(self) -> str:
        if self._primary is None:
            self._primary = number(self.client.execute(PRIMARY_LOCATION_QUERY)["location"]["id"])
        return self._primary

    def _items(self, refs: Iterable[ProductRef]) -> dict[str, dict[str, Any]]:
        ids = sorted({ref.variant_id for ref in refs if ref.variant_id})
        if not ids:
            return {}
        nodes = self.client.execute(STOCK_QUERY, {"ids": [gid("InventoryItem", i) for i in ids]})[
            "nodes"
        ]
        return {number(node["id"]): node for node in nodes if node}

    def read_order_and_products(
        self, order_id: str, products: Collection[ProductRef]
    ) -> tuple[Order, ProductReading]:
        """`get_order` and the inventory items of `products` at the same time (two requests in
        flight, each through the store's rate limiter; plugin/platforms/concurrent.py)."""
        refs = frozenset(products)
        if not refs:
            return self.get_order(order_id), ProductReading()
        order, items = both(lambda: self.get_order(order_id), lambda: self._items(refs))
        return order, ProductReading(
            refs, {ref: items[ref.variant_id] for ref in refs if ref.variant_id in items}
        )

    def get_stock(
        self, order: Order, read: ProductReading | None = None
    ) -> Mapping[ProductRef, Stock]:
        """Stock of the order's lines at the location that fulfils each (its fulfillment
        order's), plus what the order itself committed there; a line with nothing left to
        ship is counted at the primary location. The inventory items `read` asked for are
        taken from it, the others read."""
        data = self._data(order.id)
        asked = read.refs if read is not None else frozenset()
        items = self._items(line.ref for line in order.lines if line.ref not in asked)
        for ref, item in read.records.items() if read is not None else ():
            if ref.variant_id:
                items[ref.variant_id] = cast(dict[str, Any], item)  # `_items` gave it
        own = self.reduced_stock(order.id)
        stock: dict[ProductRef, Stock] = {}
        for line in order.lines:
            item = items.get(line.ref.variant_id or "")
            if item is None:
                stock[line.ref] = Stock(line.ref, 0, managed=False)
                continue
            location = location_of_line(data, line.line_id) or self.primary_location()
            available = available_at(item["inventoryLevels"]["nodes"], location)
            taken = sum(own.get(other.line_id, 0) for other in order.lines if other.ref == line.ref)
            stock[line.ref] = Stock(
                line.ref,
                available + taken,
                managed=bool(item["tracked"]),
                backorders=backorder_mode((item.get("variant") or {}).get("inventoryPolicy")),
            )
        return stock

    def stock_figure(self, ref: ProductRef) -> StockFigure:
        """Units available at the primary location, where held fulfillment orders wait (stock
        at another location is not the fulfilling location's: never taken)."""
        item = self._items([ref]).get(ref.variant_id or "")
        return StockFigure(ref, _figure(item, self.primary_location() if item else ""))

    def set_stock(self, pool: ProductRef, quantity: int) -> None:
        """Set the figure `stock_figure` reads (`available` at the primary location) to
        `quantity`, compare-and-set (stock_setting.py): units a merchant sets aside."""
        set_available(self.client, pool, self.primary_location(), quantity)

    def waiting_since(self, order_id: str) -> dt.datetime | None:
        return None  # a held part keeps its order's creation time

    def find_backorder_order(self, original_id: str, split_key: str) -> str | None:
        """The backorder of `split_key` in the mode it was written in, whatever the store's
        mode is now: recorded in our metafield (a held part's fulfillment order, or a linked
        order), else (written but not recorded yet) the fulfillment order carrying our hold's
        handle, else the linked order carrying our tag (linked.py). The order as the job read
        it when nothing was written since (`_current`): a resumed split read it just before."""
        data = self._current(original_id)
        entry = splits_of(data).get(split_key) or {}
        if entry.get("fulfillment_order"):
            return backorder_id(str(entry["fulfillment_order"]))
        if entry.get("order"):
            return str(entry["order"])
        handle = hold_handle(split_key)
        for fo in data["fulfillmentOrders"]["nodes"]:
            if any(h.get("handle") == handle for h in fo.get("fulfillmentHolds") or ()):
                return backorder_id(number(fo["id"]))
        return self._linked.find(split_key)

    def backorder_numbers(self, original_id: str) -> list[str]:
        return sorted(e.get("number", "") for e in splits_of(self._read(original_id)).values())

    # -- writes ----------------------------------------------------------------------------

    def write_split(
        self, original: Order, plan: Plan, *, backorder_order_id: str | None, summary: str = ""
    ) -> str:
        """Hold the backordered units (unless `backorder_order_id` holds them already), then
        in one request record the split on the order and capture what ships; the held part's
        id. A split goes on in the mode it was begun in (`written_mode`): the store's mode
        decides only how a new one is written."""
        assert plan.split_key is not None and plan.backorder_number is not None
        if written_mode(backorder_order_id, self.split_mode) == LINKED:
            return self._linked.write_split(
                original, plan, backorder_order_id=backorder_order_id, summary=summary
            )
        # The job read the order a moment ago and wrote nothing since: that read is the state
        # the writes start from (`_current`); after a write of ours it is read again.
        data = self._current(original.id)
        if backorder_order_id is None:
            backorder_order_id = self._hold(data, plan, summary)
        self._record(data, plan, fulfillment_order_number(backorder_order_id))
        return backorder_order_id

    def _hold(self, data: Mapping[str, Any], plan: Plan, summary: str) -> str:
        moving = {lp.line_id: lp.backorder for lp in plan.lines if lp.backorder > 0}
        by_fo: dict[str, list[dict[str, Any]]] = {}
        for fo in open_fulfillment_orders(data):
            for node in fo["lineItems"]["nodes"]:
                line = number(node["lineItem"]["id"])
                units = min(moving.get(line, 0), int(node["remainingQuantity"]))
                if units > 0:
                    by_fo.setdefault(fo["id"], []).append({"id": node["id"], "quantity": units})
                    moving[line] -= units
        if any(units > 0 for units in moving.values()) or len(by_fo) != 1:
            raise PermanentError(
                f"order {data['name']}: the backordered units are not on one open fulfillment "
                "order; hold them from Shopify's admin",
                reason="unsupported_split",
            )
        [(fo_id, items)] = by_fo.items()
        self.client.mutate(
            HOLD,
            {
                "id": fo_id,
                "hold": {
                    "reason": "INVENTORY_OUT_OF_STOCK",
                    "reasonNotes": (summary or f"Backorder {plan.backorder_number}")[:250],
                    "handle": hold_handle(plan.split_key or ""),
                    "notifyMerchant": False,
                    "fulfillmentOrderLineItems": items,
                },
            },
            "fulfillmentOrderHold",
        )
        return backorder_id(number(fo_id))

    def _record(
        self, data: Mapping[str, Any], plan: Plan, fo_number: str, *, capture: bool = True
    ) -> None:
        """Our metafield and tags, set to the same values on a repeat (no write when they are
        there), and the capture of what ships when one is due (`mapping.shipped_capture`)."""
        splits = splits_of(data)
        entry = {"number": plan.backorder_number or "", "fulfillment_order": fo_number}
        tags = [BACKORDER_TAG, f"#{plan.backorder_number}"]
        shipped = shipped_capture(data, plan, final=False) if capture else None
        recorded = splits.get(plan.split_key or "") == entry
        if recorded and set(tags) <= set(data.get("tags") or ()) and shipped is None:
            return
        splits[plan.split_key or ""] = entry
        variables: dict[str, Any] = {
            "metafields": [splits_metafield(data["id"], splits)],
            "order": data["id"],
            "tags": tags,
        }
        if shipped is not None:
            variables["capture"] = shipped
        answer = self.client.execute(RECORD_AND_CAPTURE if shipped else RECORD, variables)
        for payload in ("metafieldsSet", "tagsAdd", "orderCapture"):
            errors = (answer.get(payload) or {}).get("userErrors")
            if errors:
                raise PermanentError(
                    f"{payload}: {'; '.join(e['message'] for e in errors)}",
                    reason="record_refused",
                )
        if shipped is not None:
            log.info("shopify capture order=%s final=False", number(data["id"]))

    def _capture(
        self, data: Mapping[str, Any], auth: Mapping[str, Any], amount: Decimal, *, final: bool
    ) -> None:
        self.client.mutate(
            CAPTURE,
            {"input": capture_input(data, auth, amount, final=final)},
            "orderCapture",
        )
        log.info("shopify capture order=%s final=%s", number(data["id"]), final)

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None:
        """Append `text` to the order's staff note (once). Shopify has no note to the customer
        on an order: such a note is only logged."""
        if customer:
            log.info("shopify customer note skipped order=%s (no such note on Shopify)", order_id)
            return
        number_ = self._order_number(order_id)
        # The latest read of this instance: a split reads the order just before its note.
        data = self._orders.get(number_) or self._read(number_)
        note = str(data.get("note") or "")
        if text in note:
            return
        written = f"{note}\n\n{text}".strip()
        self.client.mutate(NOTE, {"input": {"id": data["id"], "note": written}}, "orderUpdate")
        data["note"] = written

    def set_status(self, order_id: str, canonical_status: str) -> None:
        """On hold: every open fulfillment order of the order is held for stock; new: our holds
        are released. From the order as the job read it when nothing was written since
        (`_current`: a hold's job read it to decide)."""
        data = self._current(self._order_number(order_id))
        if canonical_status == Status.ON_HOLD:
            for fo in open_fulfillment_orders(data):
                if fo["status"] == "OPEN":
                    self.client.mutate(
                        HOLD,
                        {
                            "id": fo["id"],
                            "hold": {
                                "reason": "INVENTORY_OUT_OF_STOCK",
                                "handle": hold_handle(f"hold-{number(data['id'])}"),
                                "notifyMerchant": False,
                            },
                        },
                        "fulfillmentOrderHold",
                    )
            return
        for fo in open_fulfillment_orders(data):
            if fo["status"] == "ON_HOLD":
                self.client.mutate(RELEASE_HOLD, {"id": fo["id"]}, "fulfillmentOrderReleaseHold")

    def release_order(self, order_id: str, release_as: str, release_key: str) -> str | None:
        """Release the hold of a held part (no write when it is no longer held) and capture its
        value from an authorised payment, finally when nothing else of the order is held.
        Returns None, or, when the authorisation has lapsed (commonly after 7 days) and
        something is still owed, the order's status page, where the customer pays the balance:
        the payment request sent to them instead of a capture that would fail. Released to be
        paid first (`ReleaseAs.UNPAID`) with nothing authorised and something owed, the same:
        Shopify's invoice, once, and the status page."""
        order_number = self._order_number(order_id)
        data = self._read(order_number)
        if origin_of(data) is not None:
            return self._linked.release(data)  # a linked backorder order
        wanted = fulfillment_order_number(order_id) if is_backorder_id(order_id) else None
        parts = recorded_parts(data)  # an order held whole keeps its split-off parts held
        released = ZERO
        still_held = False
        for fo in data["fulfillmentOrders"]["nodes"]:
            fo_number = number(fo["id"])
            if fo_number != wanted if wanted is not None else fo_number in parts:
                still_held = still_held or fo["status"] == "ON_HOLD"
                continue
            if fo["status"] == "ON_HOLD":
                # Only a part released now is captured for: a retry after a crash past the
                # release captures nothing again (what it missed, the final capture takes).
                released += held_part(data, fo).total
                self.client.mutate(RELEASE_HOLD, {"id": fo["id"]}, "fulfillmentOrderReleaseHold")
        auth = authorisation(data)
        if authorisation_lapsed(data):
            self._request_payment(data, invoice_tag(order_id))
            return str(data.get("statusPageUrl") or "") or None
        if release_as == ReleaseAs.UNPAID and auth is None and _owed(data) > ZERO:
            # Nothing authorised to capture (a bank transfer, say): the customer pays first.
            self._request_payment(data, invoice_tag(order_id), UNPAID_INVOICE_MESSAGE)
            return str(data.get("statusPageUrl") or "") or None
        capturable = money(data.get("totalCapturableSet"), str(data["currencyCode"]))
        # The authorisation is not lowered when held units are cancelled (an order edit): never
        # capture more than the order still owes (`totalOutstandingSet`).
        if data.get("totalOutstandingSet") is not None:
            owed = money(data["totalOutstandingSet"], str(data["currencyCode"]))
            capturable = min(capturable, owed)
        amount = capturable if not still_held else min(capturable, released)
        if auth is not None and amount > ZERO:
            self._capture(data, auth, amount, final=not still_held)
        return None

    def _request_payment(
        self, data: Mapping[str, Any], tag: str, message: str = INVOICE_MESSAGE
    ) -> None:
        """Ask the customer to pay what the order owes (Shopify's invoice e-mail), once per
        released part: the tag written after it marks it sent (a crash between the two sends
        it again on the retry: a second e-mail rather than none)."""
        if tag in (data.get("tags") or ()):
            return
        self.client.mutate(
            INVOICE,
            {"id": data["id"], "email": {"customMessage": message}},
            "orderInvoiceSend",
        )
        self.client.mutate(INVOICED, {"id": data["id"], "tags": [tag]}, "tagsAdd")
        log.info("shopify authorisation expired order=%s: invoice sent", number(data["id"]))

    def write_resplit(self, backorder: Order, plan: Plan, *, new_order_id: str | None) -> str:
        """Partial release of the held part `backorder` (or of an order held whole): what still
        waits moves to a new held fulfillment order (unless `new_order_id` holds it already;
        resplitting.py), recorded on the order like a split (metafield and tags, no capture:
        the release of `backorder` captures what it ships); the new held part's id."""
        assert plan.split_key is not None and plan.backorder_number is not None
        if backorder.links.is_backorder_order and not is_backorder_id(backorder.id):
            raise PermanentError(
                f"backorder order {backorder.id}: a partial release of a linked backorder order "
                "is not supported on Shopify yet",
                reason="unsupported_on_shopify",
            )
        part: str | None = None  # an order held whole: its held fulfillment order
        if is_backorder_id(backorder.id):
            part = fulfillment_order_number(backorder.id)
        data = self._read(backorder.links.parent_id or backorder.id)
        if new_order_id is None:
            new_order_id = backorder_id(split_off(self.client, data, part, plan))
        self._record(data, plan, fulfillment_order_number(new_order_id), capture=False)
        return new_order_id

    def original_line_ids(self, order_id: str) -> Mapping[str, str]:
        """A held part's lines are its order's own lines."""
        return {line.line_id: line.line_id for line in self.get_order(order_id).lines}

    def remove_line(self, order_id: str, line_id: str) -> str | None:
        """Take a line's held units off the order (an order edit, restocked; cancelling.py),
        unless none are held any more; the held part's total afterwards."""
        return self.reduce_line(order_id, line_id, 0, ZERO, ZERO)

    def reduce_line(
        self, order_id: str, line_id: str, quantity: int, subtotal: Decimal, total: Decimal
    ) -> str | None:
        """Leave `quantity` units of the line held (an order edit taking the others off,
        restocked; Shopify re-prices the order itself), unless it holds that many already;
        the held part's total afterwards."""
        order_number = self._order_number(order_id)
        data = self._read(order_number)
        if set_held_quantity(self.client, data, order_id, line_id, quantity):
            data = self._read(order_number)
        return str(held_total(data, order_id))

    def cancel_order(self, order_id: str) -> bool:
        """Cancel every held unit of `order_id`: the order itself (`orderCancel`) when they are
        all it has, else an edit taking them off (cancelling.py); no write when nothing is held.
        True when the order itself is cancelled."""
        order_number = self._order_number(order_id)
        cancelled = cancel_held(self.client, self._read(order_number), order_id)
        self._orders.pop(order_number, None)
        return cancelled

    def held_units(self, promises: Sequence[Promise]) -> HeldUnits:
        """Shopify keeps an order's units committed until they ship or the order is cancelled,
        paid or not: nothing released is given back to the figure, so nothing is held back.
        A promise whose order is gone is GONE, every other one SETTLED (no read without one)."""
        if not promises:
            return HeldUnits()
        found = {order.id for order in self.get_orders([p.order_id for p in promises])}
        return HeldUnits(
            {},
            {
                p.order_id: PromiseState.SETTLED if p.order_id in found else PromiseState.GONE
                for p in promises
            },
        )

    def free_units(self, waiting: Sequence[Order], promises: Sequence[Promise]) -> FreeUnits:
        """Units free for the waiting held parts per inventory item: available at the
        fulfilling (primary) location, plus what they committed there themselves. One read of
        the inventory items; the held parts as `get_orders` read them (remembered)."""
        refs = dict.fromkeys(line.ref for order in waiting for line in order.lines)
        items = self._items(refs)
        primary = self.primary_location() if items else ""
        figures = {ref: _figure(items.get(ref.variant_id or ""), primary) for ref in refs}
        taken: dict[ProductRef, int] = {}
        for order in waiting:
            reduced = self.reduced_stock(order.id)
            for line in order.lines:
                taken[line.ref] = taken.get(line.ref, 0) + reduced.get(line.line_id, 0)
        held = self.held_units(promises)
        free = {
            ref: 0 if figure is None else free_units(figure, taken.get(ref, 0), 0)
            for ref, figure in figures.items()
        }
        return FreeUnits(free, {ref: ref for ref in refs}, held)

    def stock_elsewhere(self, order_ids: Sequence[str]) -> Mapping[tuple[str, ProductRef], int]:
        """Units `available` at the shop's other locations than the one whose fulfillment order
        holds each line (Shopify keeps stock per location; allocation counts the fulfilling
        one only). One order read per held part, one read of the inventory items."""
        placed: list[tuple[str, ProductRef, str]] = []
        for order_id in dict.fromkeys(str(i) for i in order_ids):
            try:
                order = self.get_order(order_id)
            except NotFound:
                continue
            data = self._data(self._order_number(order_id))
            for line in order.lines:
                location = location_of_line(data, line.line_id) or self.primary_location()
                placed.append((order_id, line.ref, location))
        items = self._items(ref for _, ref, _ in placed)
        elsewhere: dict[tuple[str, ProductRef], int] = {}
        for order_id, ref, location in placed:
            item = items.get(ref.variant_id or "")
            if item is None or not item["tracked"]:
                continue
            levels = item["inventoryLevels"]["nodes"]
            units = sum(
                max(0, available_at(levels, number(level["location"]["id"])))
                for level in levels
                if number(level["location"]["id"]) != location
            )
            if units > 0:
                elsewhere[(order_id, ref)] = elsewhere.get((order_id, ref), 0) + units
        return elsewhere

    def order_summaries(self, order_ids: Iterable[str]) -> dict[str, OrderSummary]:
        """Orders (and held parts) by id as the pages show them; one read each."""
        found: dict[str, OrderSummary] = {}
        for order_id in dict.fromkeys(str(i) for i in order_ids):
            try:
                order = self.get_order(order_id)
            except (NotFound, ValidationFailed):
                continue
            names = {line.line_id: line.name for line in order.lines}
            found[order_id] = OrderSummary(
                order_id=order_id,
                number=order.number,
                status=order.status,
                store_status=STATUS_NAMES.get(order.status, str(order.status)),
                currency=order.currency,
                customer=order.customer.email or f"customer {order.customer.id or ''}".strip(),
                line_names={(line.product_id, line.variant_id): line.name for line in order.lines},
                lines=names,
                original_lines=names if order.links.is_backorder_order else {},
                part_of=order.links.part_of,
            )
        return found

    def shelf_products(self, product_ids: Sequence[int]) -> dict[int, ShelfItem | None]:
        """Products a shopper can open (ACTIVE and on the online store), with their variants'
        stock and policy, in one read (shelf.py); None for any other id."""
        self._shelf = ShopifyShelf(self.client)  # one widget request's reads
        return self._shelf.products(product_ids)

    def shelf_variations(
        self, product_id: int, variation_ids: Sequence[int], public: Sequence[int]
    ) -> dict[int, ShelfItem]:
        """Variants (by variant number) of a product a shopper can open: from the read
        `shelf_products` made, else one read (shelf.py)."""
        shelf = getattr(self, "_shelf", None) or ShopifyShelf(self.client)
        return shelf.variations(product_id, variation_ids, public)

    # -- reconciliation and subscriptions ---------------------------------------------------

    def orders_modified_since(self, since: dt.datetime) -> Iterable[OrderChange]:
        """Orders updated since `since`, oldest first, with the fingerprint webhooks give."""
        stamp = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        after: str | None = None
        while True:
            page = self.client.execute(
                ORDERS_SINCE, {"query": f"updated_at:>='{stamp}'", "after": after}
            )["orders"]
            for node in page["nodes"]:
                yield OrderChange(
                    order_id=number(node["id"]),
                    modified_gmt=moment(node["updatedAt"]),
                    status=str(node["displayFulfillmentStatus"]),
                    fingerprint=order_fingerprint(
                        financial_status=node["displayFinancialStatus"],
                        cancelled=node["cancelledAt"] is not None,
                        closed=node["closedAt"] is not None,
                        lines=[
                            (number(line["id"]), line["quantity"])
                            for line in node["lineItems"]["nodes"]
                        ],
                    ),
                )
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def list_webhooks(self) -> list[WebhookInfo]:
        """Our subscriptions: those we recorded, or delivering to our public URL (another
        app's are not ours)."""
        return [
            WebhookInfo(id_, topic, "active", url)
            for id_, topic, url in ShopifyConnection(self.client).list_webhooks()
            if id_ in self.webhook_ids
            or (self.public_url and url.startswith(self.public_url + "/"))
        ]

    def activate_webhook(self, webhook_id: str) -> None:
        """Shopify subscriptions have no paused state: nothing to activate."""

    def order_admin_url(self, order_id: str) -> str:
        return f"{self.client.shop_url}/admin/orders/{self._order_number(order_id)}"

    def payment_state(self, order_id: str) -> PaymentState:
        return order_from_data(self._data(self._order_number(order_id))).payment_state


def _part_of(data: Mapping[str, Any], order_id: str) -> Order:
    """The held part `fo-<n>` of an order read."""
    wanted = fulfillment_order_number(order_id)
    for fo in data["fulfillmentOrders"]["nodes"]:
        if number(fo["id"]) == wanted:
            return held_part(data, fo)
    raise NotFound(f"backorder {order_id} is not on its order", reason="not_found")


def _figure(item: Mapping[str, Any] | None, location: str) -> int | None:
    """An inventory item's `available` at `location` (None when its stock is not tracked)."""
    if item is None or not item["tracked"]:
        return None
    return available_at(item["inventoryLevels"]["nodes"], location)
