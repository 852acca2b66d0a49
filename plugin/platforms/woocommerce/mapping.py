"""WooCommerce JSON ↔ the core model: orders, stock seen from an order, and split request bodies.

Everything here is pure (no I/O, no clock). The facts it relies on, with their sources:

Statuses: `statuses.py`.

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

Stock seen from the order, stock figures and free units: `stock.py`.

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
    ShippingLine,
    minor_unit,
)
from plugin.platforms.woocommerce.schemas import OrderSchema
from plugin.platforms.woocommerce.statuses import ON_HOLD, canonical_status, status_name
from plugin.ports import OrderSummary

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

ROLE_ORIGINAL = "original"
ROLE_BACKORDER = "backorder"

ADDITIONAL_SHIPPING_METHOD_ID = "backorders_shipping"
ADDITIONAL_SHIPPING_TITLE = "Backorder shipping"

COLLECT_ON_DELIVERY_METHODS = frozenset({"cod"})

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


def int_value(value: Any) -> int:
    """A whole number from a JSON value WooCommerce may send as text; 0 when it is none."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0


def money_text(amount: Decimal, currency: str) -> str:
    """An amount as WooCommerce expects it in a request: a decimal string in the minor unit."""
    return str(amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP))


def _money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


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


# -- orders -----------------------------------------------------------------------------------


# One instance each, kept: a schema's loads keep no state, and making one deep-copies every
# declared field and builds its nested schemas again (about 8 % of a split's worker CPU in cProfile,
# README "Benchmarks", `worker_cpu`).
_ORDER_SCHEMA = OrderSchema()


def load_order(payload: Any) -> dict[str, Any]:
    """Validate an order JSON object (REST answer or webhook body); raises ValidationError."""
    data: dict[str, Any] = _ORDER_SCHEMA.load(payload)
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

    # A backorder order is named by its backorder number (`1042-001`), as on every platform, in
    # what the customer and the merchant read (release e-mails, allocation decisions, the
    # customer's page); WooCommerce's own `number` is its post id.
    own_number = meta_value(meta, META_NUMBER) if is_backorder_order else None
    return Order(
        id=str(data["id"]),
        number=str(own_number or data.get("number") or data["id"]),
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


_CORE_ORDER_SCHEMA = CoreOrderSchema()


def order_from_json(payload: Any) -> Order:
    """Order JSON (REST answer or webhook body) → core `Order`; raises ValidationError."""
    order: Order = _CORE_ORDER_SCHEMA.load(payload)
    return order


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
        if not int_value(line.product_id) and not line.variant_id:
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
        "status": ON_HOLD,
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
        body["status"] = ON_HOLD
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


# -- orders as the merchant pages show them ------------------------------------------------------


def order_summary(record: Mapping[str, Any]) -> OrderSummary:
    """An order JSON read leniently for a page: its number, statuses, currency, customer and
    the names of its lines (by product, and by the original's line for a backorder order)."""
    meta = record.get("meta_data") or []
    store_status = str(record.get("status", ""))
    line_names: dict[tuple[str, str | None], str] = {}
    by_line: dict[str, str] = {}
    original_lines: dict[str, str] = {}
    for item in record.get("line_items") or []:
        name = str(item.get("name") or "")
        variation = str(item.get("variation_id") or "") or None
        line_names.setdefault((str(item.get("product_id")), variation), name)
        by_line[str(item.get("id"))] = name
        original = meta_value(item.get("meta_data") or [], META_ORIGINAL_LINE)
        if original not in (None, ""):
            original_lines.setdefault(str(original), name)
    billing = record.get("billing") or {}
    customer = f"{billing.get('first_name', '')} {billing.get('last_name', '')}".strip()
    is_backorder_order = meta_value(meta, META_ROLE) == ROLE_BACKORDER
    return OrderSummary(
        order_id=str(record.get("id", "")),
        number=str(record.get("number") or record.get("id", "")),
        status=canonical_status(store_status, is_backorder_order=is_backorder_order),
        store_status=status_name(store_status, is_backorder_order=is_backorder_order),
        currency=str(record.get("currency", "")),
        customer=customer
        or str(billing.get("email", ""))
        or f"customer {record.get('customer_id', '')}",
        line_names=line_names,
        lines=by_line,
        original_lines=original_lines,
    )
