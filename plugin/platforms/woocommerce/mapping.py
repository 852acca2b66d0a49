"""WooCommerce JSON ↔ the core model: orders, stock seen from an order, and split request bodies.

Everything here is pure (no I/O, no clock). The facts it relies on, with their sources:

Statuses (PIPELINE.md): `pending`/`processing` → NEW; `on-hold` → ON_HOLD, or NEW_BACKORDER for a
backorder order we created (meta `backorders_role` = "backorder"); `completed` → DISPATCHED;
`cancelled`/`refunded`/`failed`/`trash` → CANCELLED; `checkout-draft` and statuses added by other
plugins → UNCOMMITTED (never eligible for a split, so an unknown status cannot cause one).

Payment state: WooCommerce has no "paid" flag, only `date_paid`. `WC_Order::maybe_set_date_paid`
(class-wc-order.php) sets it on the transition to a paid status (processing/completed), and
`payment_complete()` sets it when a gateway reports payment. So `date_paid` is set for a
cash-on-delivery order as soon as it is processing, although no money moved. Decision:
PAID iff `date_paid` is set and the payment method is not `cod`. Bank transfer (`bacs`) and
cheque (`cheque`) orders are put on-hold "awaiting payment" by their gateways and only reach
processing (setting `date_paid`) when the merchant confirms the money arrived, so for them
`date_paid` does mean paid; treating them as unpaid would charge the customer a second time for
the backorder. A backorder order we created with meta `backorders_payment` = "paid_from_original"
is PAID (see the create body below). AUTHORISED is never reported: authorisation-only gateways
keep that state in gateway-specific meta that the REST order does not describe generically.

Stock seen from the order (`Stock.available`): WooCommerce reduces stock when an order reaches
processing, completed or on-hold, or on payment complete (`wc_maybe_reduce_stock_levels`,
wc-stock-functions.php), and records per line how much it took in the line meta `_reduced_stock`
(`wc_reduce_stock_levels`; the order-level `_order_stock_reduced` flag is internal meta the REST
API does not return, but the line meta is returned in `line_items[].meta_data`). So for the
product (or variation) that keeps the stock:

    raw = stock_quantity + Σ _reduced_stock of this order's lines using that stock
    available = max(0, raw)            # what this order may take now
    open_backorder_qty = max(0, -raw)  # stock below zero = units other orders hold on backorder

A variation whose `manage_stock` is "parent" uses its parent product's stock: the REST answer shows
the parent's `stock_quantity` and `backorders` (WC_Product_Variation `get_manage_stock`,
`get_stock_quantity`, `get_backorders` in view context), and every order line of any such
variation reduces the parent's figure (`wc_update_product_stock` changes the product named by
`get_stock_managed_by_id`, the parent). So the stock is keyed by the figure it draws on
(`Stock.pool`, `stock_figure`): variations of one parent share one count. Products that do not
manage stock: `instock` → unmanaged; `outofstock` → managed with 0 available and backorders "no";
`onbackorder` → managed with 0 available and backorders allowed.

Split bodies (orders.md "Create an order", "Update an Order", "Batch update orders"; controller
behaviour from class-wc-rest-orders-v2-controller.php):
- Line `subtotal`/`total` are written explicitly from the plan: on create WooCommerce would
  otherwise price the line at today's catalogue price; taxes (`subtotal_tax`, `total_tax`) are
  read-only and WooCommerce recalculates them (`calculate_totals(true)` on update when items
  change, `calculate_totals()` on create), from the order's tax rates and addresses.
- An update sets `quantity`, `subtotal`, `total` of kept lines; a line that moves entirely is
  removed with `product_id: null` (`item_is_null`). Coupon lines are left alone (their stored
  `discount` is not recalculated; order `discount_total` is, from the line totals).
- Stock stays consistent without extra calls, and without us touching `_reduced_stock`: updating
  a kept line's quantity runs `wc_maybe_adjust_line_item_product_stock`, which gives back
  `_reduced_stock - new quantity`; removing a line runs the Version3 controller's `remove_item`,
  which gives back that line's whole `_reduced_stock` (`wc_maybe_adjust_line_item_product_stock(
  $item, 0)`, class-wc-rest-orders-controller.php) and refuses an item id the order does not
  have (400 `woocommerce_rest_invalid_item_id`); the backorder order is created `on-hold`, which
  reduces stock for its lines (`wc_maybe_reduce_stock_levels`). Net change zero; the units stay
  counted by the backorder order, and cancelling it restocks them. (WooCommerce releases whose
  v3 controller predates that `remove_item` wrapper did not restock removed lines; there a
  wholly moved line stays counted twice until the backorder order is completed or cancelled.)
- `set_paid` is never sent: with `set_paid: true` WooCommerce calls `payment_complete()`, which
  moves an `on-hold` order to `processing` and fires the payment hooks, so the backorder order
  would no longer wait. PAID_FROM_ORIGINAL is recorded as meta `backorders_payment`; the original
  keeps its own `date_paid` and no second charge is asked for (an on-hold order does not need
  payment: `needs_payment()` is only true for pending/failed).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from marshmallow import post_load

from plugin.core.model import (
    Address,
    Amounts,
    BackorderMode,
    CouponLine,
    Customer,
    DeliveryCondition,
    FeeLine,
    Line,
    LinePlan,
    Links,
    Order,
    Outcome,
    PaymentAction,
    PaymentState,
    Plan,
    ProductRef,
    ShippingLine,
    Status,
    Stock,
    StockFigure,
    minor_unit,
)
from plugin.platforms.woocommerce.schemas import OrderSchema, load_product

# Meta keys we write (PIPELINE.md); no leading underscore so the REST API always returns them.
META_SPLIT_KEY = "backorders_split_key"
META_ROLE = "backorders_role"  # "original" | "backorder"
META_NUMBER = "backorders_number"
META_DELIVERY = "backorders_delivery"  # per-order delivery override, a DeliveryCondition value
# Added by the connector (backward compatible; see module docstring and report):
META_SPLIT_KEYS = "backorders_split_keys"  # on the original: JSON list of every split key applied
META_PAYMENT = "backorders_payment"  # on a backorder order: the plan's PaymentAction
META_SUMMARY = "backorders_summary"  # on a backorder order: what it is and holds, for the merchant
META_RELEASE_KEY = (
    "backorders_release_key"  # on a released backorder order (plugin/usecases/releasing.py)
)
META_ORIGINAL_LINE = "backorders_original_line"  # on a backorder line: the original's line id
# On a backorder order split again (plugin/usecases/resplitting.py): its re-split key.
META_RESPLIT_KEY = "backorders_resplit_key"
# On a backorder order made by a re-split: since when its units wait (ISO 8601 UTC), so it keeps
# its place in the release queue (oldest first) instead of starting over.
META_WAITING_SINCE = "backorders_waiting_since"
LINE_REDUCED_STOCK = "_reduced_stock"  # WooCommerce's own line meta (wc-stock-functions.php)

ROLE_ORIGINAL = "original"
ROLE_BACKORDER = "backorder"

ADDITIONAL_SHIPPING_METHOD_ID = "backorders_shipping"
ADDITIONAL_SHIPPING_TITLE = "Backorder shipping"

COLLECT_ON_DELIVERY_METHODS = frozenset({"cod"})

_STATUS = {
    "pending": Status.NEW,
    "processing": Status.NEW,
    "on-hold": Status.ON_HOLD,
    "completed": Status.DISPATCHED,
    "cancelled": Status.CANCELLED,
    "refunded": Status.CANCELLED,
    "failed": Status.CANCELLED,
    "trash": Status.CANCELLED,
}

# Canonical status → the WooCommerce status we set (set_status).
_WC_STATUS = {
    Status.QUOTE: "pending",
    Status.UNCOMMITTED: "pending",
    Status.NEW: "processing",
    Status.ON_HOLD: "on-hold",
    Status.NEW_BACKORDER: "on-hold",
    Status.BACKORDER_APPROVED: "processing",
    Status.PICK: "processing",
    Status.PACK: "processing",
    Status.PENDING_DISPATCH: "processing",
    Status.DISPATCHED: "completed",
    Status.CANCELLED: "cancelled",
}

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# -- small helpers ----------------------------------------------------------------------------


def meta_value(meta_data: Iterable[Mapping[str, Any]], key: str) -> Any:
    """The value of the last `meta_data` entry with `key` (WooCommerce allows repeats), or None."""
    found = None
    for entry in meta_data:
        if entry.get("key") == key:
            found = entry.get("value")
    return found


def string_list(value: Any) -> tuple[str, ...]:
    """Distinct strings from a meta value holding a JSON list (or a list the store decoded)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    if not isinstance(value, list):
        return ()
    found: list[str] = []
    for item in value:
        text = str(item).strip()
        if text and text not in found:
            found.append(text)
    return tuple(found)


def _int(value: Any) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0


def money_text(amount: Decimal, currency: str) -> str:
    """An amount as WooCommerce expects it in a request: a decimal string in the minor unit."""
    return str(amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP))


def _money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def canonical_status(wc_status: str, *, is_backorder_order: bool = False) -> Status:
    """The canonical status of a WooCommerce status name (see module docstring)."""
    status = _STATUS.get(wc_status, Status.UNCOMMITTED)
    if status is Status.ON_HOLD and is_backorder_order:
        return Status.NEW_BACKORDER
    return status


def wc_status(canonical: str) -> str:
    """The WooCommerce status to set for a canonical status."""
    try:
        return _WC_STATUS[Status(canonical)]
    except ValueError as exc:
        raise ValueError(f"unknown canonical status {canonical!r}") from exc


def payment_state(order: Mapping[str, Any]) -> PaymentState:
    """PAID iff `date_paid` is set and the method is not cash on delivery (module docstring)."""
    meta = order.get("meta_data", [])
    if (
        meta_value(meta, META_ROLE) == ROLE_BACKORDER
        and meta_value(meta, META_PAYMENT) == PaymentAction.PAID_FROM_ORIGINAL.value
    ):
        return PaymentState.PAID
    if order.get("date_paid_gmt") is None:
        return PaymentState.UNPAID
    if order.get("payment_method", "") in COLLECT_ON_DELIVERY_METHODS:
        return PaymentState.UNPAID
    return PaymentState.PAID


def line_reduced_stock(line: Mapping[str, Any]) -> int:
    """How many units WooCommerce took from stock for this line (`_reduced_stock`, else 0)."""
    return max(0, _int(meta_value(line.get("meta_data", []), LINE_REDUCED_STOCK)))


# -- orders -----------------------------------------------------------------------------------


def load_order(payload: Any) -> dict[str, Any]:
    """Validate an order JSON object (REST answer or webhook body); raises ValidationError."""
    data: dict[str, Any] = OrderSchema().load(payload)
    return data


def _address(data: Mapping[str, Any]) -> Address:
    return Address(**{name: str(data.get(name, "") or "") for name in Address.__dataclass_fields__})


def order_from_data(data: Mapping[str, Any]) -> Order:
    """A loaded order (see `load_order`) as a core `Order`."""
    currency = str(data["currency"]).upper()
    meta = data.get("meta_data", [])
    role = meta_value(meta, META_ROLE)
    is_backorder_order = role == ROLE_BACKORDER
    parent_id = data.get("parent_id") or 0
    split_keys = string_list(meta_value(meta, META_SPLIT_KEYS))
    delivery_raw = meta_value(meta, META_DELIVERY)
    try:
        delivery = DeliveryCondition(str(delivery_raw)) if delivery_raw else None
    except ValueError:
        delivery = None  # a value we do not know is ignored, not an error
    customer_id = data.get("customer_id") or 0

    lines = []
    for item in data.get("line_items", []):
        quantity = int(item["quantity"])
        subtotal = _money(item["subtotal"], currency)
        unit_price = _money(subtotal / quantity, currency) if quantity else Decimal(0)
        variation_id = item.get("variation_id") or 0
        lines.append(
            Line(
                line_id=str(item["id"]),
                product_id=str(item["product_id"]),
                variant_id=str(variation_id) if variation_id else None,
                sku=item.get("sku", ""),
                name=item.get("name", ""),
                quantity=quantity,
                unit_price=unit_price,
                subtotal=subtotal,
                subtotal_tax=_money(item["subtotal_tax"], currency),
                total=_money(item["total"], currency),
                tax=_money(item["total_tax"], currency),
            )
        )

    return Order(
        id=str(data["id"]),
        number=str(data.get("number") or data["id"]),
        status=canonical_status(str(data["status"]), is_backorder_order=is_backorder_order),
        currency=currency,
        created_at=data.get("date_created_gmt") or _EPOCH,
        customer=Customer(
            id=str(customer_id) if customer_id else None,
            email=str(data.get("billing", {}).get("email", "") or ""),
        ),
        payment_state=payment_state(data),
        payment_method=str(data.get("payment_method", "")),
        billing=_address(data.get("billing", {})),
        shipping=_address(data.get("shipping", {})),
        lines=tuple(lines),
        shipping_lines=tuple(
            ShippingLine(
                line_id=str(s["id"]),
                method_id=s.get("method_id", ""),
                method_title=s.get("method_title", ""),
                total=_money(s["total"], currency),
                tax=_money(s["total_tax"], currency),
            )
            for s in data.get("shipping_lines", [])
        ),
        fees=tuple(
            FeeLine(
                line_id=str(f["id"]),
                name=f.get("name", ""),
                total=_money(f["total"], currency),
                tax=_money(f["total_tax"], currency),
            )
            for f in data.get("fee_lines", [])
        ),
        coupons=tuple(
            CouponLine(
                code=c.get("code", ""),
                discount=_money(c["discount"], currency),
                discount_tax=_money(c["discount_tax"], currency),
            )
            for c in data.get("coupon_lines", [])
        ),
        total=_money(data["total"], currency),
        total_tax=_money(data["total_tax"], currency),
        links=Links(
            parent_id=str(parent_id) if parent_id else None,
            is_backorder_order=is_backorder_order,
            split_count=len(split_keys),
        ),
        delivery_override=delivery,
    )


class CoreOrderSchema(OrderSchema):
    """`OrderSchema` whose `load` returns a core `Order`."""

    @post_load
    def _to_order(self, data: dict[str, Any], **kwargs: Any) -> Order:
        return order_from_data(data)


def order_from_json(payload: Any) -> Order:
    """Order JSON (REST answer or webhook body) → core `Order`; raises ValidationError."""
    order: Order = CoreOrderSchema().load(payload)
    return order


# -- stock ------------------------------------------------------------------------------------


def _backorder_mode(value: Any) -> BackorderMode:
    try:
        return BackorderMode(str(value))
    except ValueError:
        return BackorderMode.NO


def stock_figure(ref: ProductRef, record: Mapping[str, Any]) -> StockFigure:
    """The stock figure that product or variation `ref` (its REST JSON `record`) draws on: the
    parent product's when the variation's `manage_stock` is "parent" (module docstring), else
    its own; the quantity is None when the figure is not counted (`manage_stock` false)."""
    manage = record.get("manage_stock")
    pool = ProductRef(ref.product_id) if manage == "parent" and ref.variant_id else ref
    if manage not in (True, "parent"):
        return StockFigure(pool, None)
    quantity = record.get("stock_quantity")
    return StockFigure(pool, _int(quantity) if quantity is not None else 0)


def stock_for_order(
    order: Mapping[str, Any], products: Iterable[Mapping[str, Any]]
) -> dict[ProductRef, Stock]:
    """Stock of every product/variation of a loaded order, seen from that order.

    `products` holds the product and variation JSON objects (raw or loaded) for the order's
    lines, plus the parents of variations whose stock is kept on the parent.
    """
    by_id: dict[int, dict[str, Any]] = {}
    for payload in products:
        loaded = load_product(payload)
        by_id[loaded["id"]] = loaded

    # Which record keeps the stock of each line, and how much this order already took from it.
    owners: dict[ProductRef, tuple[int, dict[str, Any]] | None] = {}
    line_items: dict[ProductRef, dict[str, Any]] = {}
    reduced: dict[int, int] = {}
    for line in order.get("line_items", []):
        product_id = int(line["product_id"])
        variation_id = int(line.get("variation_id") or 0)
        ref = ProductRef(str(product_id), str(variation_id) if variation_id else None)
        item = by_id.get(variation_id or product_id)
        owner: tuple[int, dict[str, Any]] | None = None
        if item is not None:
            line_items[ref] = item
            if item["manage_stock"] == "parent":
                # Stock kept on the parent: all variations of it share one count. The variation
                # JSON already shows the parent's quantity and backorder setting; a parent record,
                # when given, is preferred.
                parent = by_id.get(product_id)
                if parent is not None and parent["manage_stock"] is True:
                    owner = (product_id, parent)
                else:
                    owner = (product_id, item)
            elif item["manage_stock"] is True:
                owner = (item["id"], item)
        owners[ref] = owner
        if owner is not None:
            reduced[owner[0]] = reduced.get(owner[0], 0) + line_reduced_stock(line)

    stocks: dict[ProductRef, Stock] = {}
    for ref, owner in owners.items():
        record_for_line = line_items.get(ref)
        if record_for_line is None:
            # The product no longer exists (deleted): nothing to count, do not block the order.
            stocks[ref] = Stock(ref=ref, available=0, managed=False)
        elif owner is not None:
            owner_id, record = owner
            seen = int(record["stock_quantity"] or 0) + reduced.get(owner_id, 0)
            own_id = int(ref.variant_id or ref.product_id)
            stocks[ref] = Stock(
                ref=ref,
                available=max(0, seen),
                managed=True,
                backorders=_backorder_mode(record["backorders"]),
                open_backorder_qty=max(0, -seen),
                # Variations drawing on their parent's figure share it (module docstring).
                pool=ProductRef(str(owner_id)) if owner_id != own_id else None,
            )
        else:
            mode = _backorder_mode(record_for_line["backorders"])
            status = record_for_line.get("stock_status", "instock")
            if status == "outofstock":
                stocks[ref] = Stock(ref=ref, available=0, managed=True, backorders=BackorderMode.NO)
            elif status == "onbackorder":
                allowed = mode if mode is not BackorderMode.NO else BackorderMode.NOTIFY
                stocks[ref] = Stock(ref=ref, available=0, managed=True, backorders=allowed)
            else:
                stocks[ref] = Stock(ref=ref, available=0, managed=False, backorders=mode)
    return stocks


# -- split request bodies ---------------------------------------------------------------------


def _require_split(plan: Plan) -> tuple[str, str]:
    if plan.outcome is not Outcome.SPLIT or not plan.split_key or not plan.backorder_number:
        raise ValueError("only a SPLIT plan with a split key and backorder number can be written")
    return plan.split_key, plan.backorder_number


def _meta(key: str, value: str) -> dict[str, str]:
    return {"key": key, "value": value}


def _moving_lines(original: Order, plan: Plan) -> Iterator[tuple[LinePlan, Line | None]]:
    """The plan's lines that move units to the backorder, each with the original's line
    (None when the original no longer has it)."""
    lines_by_id = {line.line_id: line for line in original.lines}
    for line_plan in plan.lines:
        if line_plan.backorder > 0:
            yield line_plan, lines_by_id.get(line_plan.line_id)


def _not_on_order(line_plan: LinePlan, original: Order) -> ValueError:
    return ValueError(f"plan line {line_plan.line_id} is not on order {original.id}")


def _amounts_text(amounts: Amounts, currency: str) -> dict[str, str]:
    """A line item's `subtotal` and `total` as a request writes them."""
    return {
        "subtotal": money_text(amounts.subtotal, currency),
        "total": money_text(amounts.total, currency),
    }


def backorder_create_body(
    original: Order,
    plan: Plan,
    *,
    payment_method_title: str = "",
    summary: str = "",
) -> dict[str, Any]:
    """POST /orders body for the backorder order of `plan` (see module docstring); `summary`,
    when given, is kept in meta `backorders_summary` instead of costing a note call."""
    split_key, number = _require_split(plan)
    currency = original.currency
    line_items: list[dict[str, Any]] = []
    for line_plan, line in _moving_lines(original, plan):
        if line is None:
            raise _not_on_order(line_plan, original)
        if not _int(line.product_id) and not line.variant_id:
            # prepare_line_items would keep such a line at product 0 and price 0.00, or refuse
            # it (woocommerce_rest_required_product_reference): never a backorder line.
            raise ValueError(
                f"line {line.line_id} names no product (product_id 0), so it cannot be backordered"
            )
        item: dict[str, Any] = {"product_id": int(line.product_id)}
        if line.variant_id:
            item["variation_id"] = int(line.variant_id)
        item["quantity"] = line_plan.backorder
        item.update(_amounts_text(line_plan.moved_amounts, currency))
        item["meta_data"] = [_meta(META_ORIGINAL_LINE, line.line_id)]
        line_items.append(item)
    if not line_items:
        raise ValueError("the plan moves nothing to a backorder order")

    shipping = {k: v for k, v in asdict(original.shipping).items() if k != "email"}
    body: dict[str, Any] = {
        "parent_id": int(original.id),
        "status": "on-hold",
        "currency": currency,
        "customer_id": int(original.customer.id) if original.customer.id else 0,
        "billing": asdict(original.billing),
        "shipping": shipping,
        "payment_method": original.payment_method,
        "payment_method_title": payment_method_title,
        "set_paid": False,
        "line_items": line_items,
        "meta_data": [
            _meta(META_SPLIT_KEY, split_key),
            _meta(META_ROLE, ROLE_BACKORDER),
            _meta(META_NUMBER, number),
            _meta(META_PAYMENT, (plan.payment or PaymentAction.CHARGE_ON_RELEASE).value),
        ],
    }
    if summary:
        body["meta_data"].append(_meta(META_SUMMARY, summary))
    if plan.additional_shipping > 0:
        body["shipping_lines"] = [
            {
                "method_id": ADDITIONAL_SHIPPING_METHOD_ID,
                "method_title": ADDITIONAL_SHIPPING_TITLE,
                "total": money_text(plan.additional_shipping, currency),
            }
        ]
    return body


def original_update_body(
    original: Order,
    plan: Plan,
    *,
    existing_split_keys: Sequence[str] = (),
) -> dict[str, Any]:
    """PUT /orders/<id> body (or batch `update` item, without `id`) for the original."""
    split_key, number = _require_split(plan)
    currency = original.currency
    line_items: list[dict[str, Any]] = []
    for line_plan, line in _moving_lines(original, plan):
        if line is None:
            if line_plan.keep == 0:
                # Removed by an earlier attempt of this split. Sending it again would be refused
                # (400 woocommerce_rest_invalid_item_id, Version3 `remove_item`).
                continue
            raise _not_on_order(line_plan, original)
        if line_plan.keep == 0:
            line_items.append({"id": int(line_plan.line_id), "product_id": None})
        else:
            line_items.append(
                {
                    "id": int(line_plan.line_id),
                    "quantity": line_plan.keep,
                    **_amounts_text(line_plan.kept_amounts, currency),
                }
            )
    split_keys = list(dict.fromkeys([*existing_split_keys, split_key]))
    body: dict[str, Any] = {
        "line_items": line_items,
        "meta_data": [
            _meta(META_SPLIT_KEY, split_key),
            _meta(META_ROLE, ROLE_ORIGINAL),
            _meta(META_NUMBER, number),
            _meta(META_SPLIT_KEYS, json.dumps(split_keys)),
        ],
    }
    if plan.hold_original:
        body["status"] = "on-hold"
    return body


# -- bodies for splitting a backorder order again (plugin/usecases/resplitting.py) -----------------


def waiting_since(order: Mapping[str, Any]) -> dt.datetime | None:
    """When the units of a loaded order started waiting (`backorders_waiting_since`), if set."""
    value = meta_value(order.get("meta_data", []), META_WAITING_SINCE)
    try:
        moment = dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None  # not ours to fail on: the order's creation date is used instead
    if moment is None:
        return None
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def resplit_create_body(
    backorder: Order, plan: Plan, *, backorder_data: Mapping[str, Any]
) -> dict[str, Any]:
    """POST /orders body for the order taking what still waits of `backorder` (loaded JSON
    `backorder_data`): made like the first backorder order (`backorder_create_body`: same
    customer, addresses, payment meta, moved money; each line's `backorders_original_line`
    names the line of `backorder` it comes from, as the re-split's plan does, which is what
    cancelling a line matches on), but a sibling of it (`parent_id` is the original, so
    `GET /orders?parent=` finds every backorder order of the original), keeping the delivery
    override and since when the units wait."""
    # An original that waited whole for stock (plugin/usecases/resplitting.py `original_of`) is its
    # own.
    original_id = backorder.links.parent_id if backorder.links.is_backorder_order else backorder.id
    if not original_id:
        raise ValueError(f"order {backorder.id} names no original order (parent_id)")
    body = backorder_create_body(
        backorder,
        plan,
        payment_method_title=str(backorder_data.get("payment_method_title", "")),
    )
    body["parent_id"] = int(original_id)
    since = waiting_since(backorder_data) or backorder.created_at
    body["meta_data"].append(_meta(META_WAITING_SINCE, since.astimezone(dt.UTC).isoformat()))
    delivery = meta_value(backorder_data.get("meta_data", []), META_DELIVERY)
    if delivery:
        body["meta_data"].append(_meta(META_DELIVERY, str(delivery)))
    return body


def resplit_update_body(backorder: Order, plan: Plan) -> dict[str, Any]:
    """PUT /orders/<id> body (or batch `update` item) reducing `backorder` to what ships now.

    Its lines change exactly as an original's do in a first split (`original_update_body`:
    absolute quantities and amounts, a wholly moved line removed, safe to repeat); its role,
    number and split key stay, and the re-split key is recorded.
    """
    split_key, _number = _require_split(plan)
    return {
        "line_items": original_update_body(backorder, plan)["line_items"],
        "meta_data": [_meta(META_RESPLIT_KEY, split_key)],
    }
