"""Plans and release allocations to and from JSON-safe dicts (Decimals as strings, enums
as their values).

The split ledger stores the plan it carries out, so a resumed split uses exactly the plan it
started with. `plan_from_dict(plan_to_dict(p)) == p` for every plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from plugin.core.model import (
    Amounts,
    LinePlan,
    OrderTotals,
    Outcome,
    PaymentAction,
    Plan,
    ProductRef,
    Reason,
)
from plugin.core.release import LineRelease, OrderRelease, ReleaseResult

SCHEMA_VERSION = 1

_TOTAL_FIELDS = (
    "items",
    "items_tax",
    "discount",
    "shipping",
    "shipping_tax",
    "fees",
    "fees_tax",
    "total",
)
_AMOUNT_FIELDS = ("subtotal", "subtotal_tax", "total", "tax")


def decimal_to_str(value: Decimal) -> str:
    """A Decimal as plain text without an exponent, e.g. '12.50'."""
    return format(value, "f")


def decimal_from_str(value: object) -> Decimal:
    """Parse a Decimal written by `decimal_to_str`; only strings are accepted."""
    if not isinstance(value, str):
        raise ValueError(f"expected a decimal string, got {type(value).__name__}")
    try:
        parsed = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc
    if not parsed.is_finite():
        raise ValueError(f"not a finite decimal: {value!r}")
    return parsed


def ref_to_dict(ref: ProductRef) -> dict[str, Any]:
    """A ProductRef as a dict."""
    return {"product_id": ref.product_id, "variant_id": ref.variant_id}


def ref_from_dict(d: Mapping[str, Any]) -> ProductRef:
    """A ProductRef from `ref_to_dict`'s dict."""
    variant = d["variant_id"]
    return ProductRef(_str(d["product_id"]), None if variant is None else _str(variant))


def reason_to_dict(reason: Reason) -> dict[str, Any]:
    """A Reason as a dict."""
    return {"code": reason.code, "message": reason.message, "line_id": reason.line_id}


def reason_from_dict(d: Mapping[str, Any]) -> Reason:
    """A Reason from `reason_to_dict`'s dict."""
    line_id = d.get("line_id")
    return Reason(_str(d["code"]), _str(d["message"]), None if line_id is None else _str(line_id))


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {type(value).__name__}")
    return value


def _amounts_to_dict(a: Amounts) -> dict[str, str]:
    return {name: decimal_to_str(getattr(a, name)) for name in _AMOUNT_FIELDS}


def _amounts_from_dict(d: Mapping[str, Any]) -> Amounts:
    return Amounts(**{name: decimal_from_str(d[name]) for name in _AMOUNT_FIELDS})


def _totals_to_dict(t: OrderTotals | None) -> dict[str, str] | None:
    if t is None:
        return None
    return {name: decimal_to_str(getattr(t, name)) for name in _TOTAL_FIELDS}


def _totals_from_dict(d: Mapping[str, Any] | None) -> OrderTotals | None:
    if d is None:
        return None
    return OrderTotals(**{name: decimal_from_str(d[name]) for name in _TOTAL_FIELDS})


def _line_to_dict(line: LinePlan) -> dict[str, Any]:
    return {
        "line_id": line.line_id,
        "ref": ref_to_dict(line.ref),
        "ordered": line.ordered,
        "keep": line.keep,
        "backorder": line.backorder,
        "oversold": line.oversold,
        "waiting": line.waiting,
        "kept_amounts": _amounts_to_dict(line.kept_amounts),
        "moved_amounts": _amounts_to_dict(line.moved_amounts),
        "reason": reason_to_dict(line.reason),
    }


def _line_from_dict(d: Mapping[str, Any]) -> LinePlan:
    return LinePlan(
        line_id=_str(d["line_id"]),
        ref=ref_from_dict(d["ref"]),
        ordered=_int(d["ordered"]),
        keep=_int(d["keep"]),
        backorder=_int(d["backorder"]),
        oversold=_int(d["oversold"]),
        waiting=_int(d.get("waiting", 0)),
        kept_amounts=_amounts_from_dict(d["kept_amounts"]),
        moved_amounts=_amounts_from_dict(d["moved_amounts"]),
        reason=reason_from_dict(d["reason"]),
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """`plan` as a JSON-safe dict (strings, ints, bools, None, lists, dicts only)."""
    return {
        "schema": SCHEMA_VERSION,
        "order_id": plan.order_id,
        "outcome": plan.outcome.value,
        "reasons": [reason_to_dict(r) for r in plan.reasons],
        "lines": [_line_to_dict(line) for line in plan.lines],
        "split_key": plan.split_key,
        "backorder_number": plan.backorder_number,
        "original_totals": _totals_to_dict(plan.original_totals),
        "backorder_totals": _totals_to_dict(plan.backorder_totals),
        "additional_shipping": decimal_to_str(plan.additional_shipping),
        "payment": None if plan.payment is None else plan.payment.value,
        "moved_amount": decimal_to_str(plan.moved_amount),
        "hold_original": plan.hold_original,
        "alerts": [reason_to_dict(r) for r in plan.alerts],
    }


def plan_from_dict(d: Mapping[str, Any]) -> Plan:
    """The Plan that `plan_to_dict` wrote. Raises ValueError on anything malformed."""
    try:
        if d.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"unsupported plan schema {d.get('schema')!r}")
        split = d["split_key"]
        number = d["backorder_number"]
        payment = d["payment"]
        hold = d["hold_original"]
        if not isinstance(hold, bool):
            raise ValueError("hold_original must be a boolean")
        return Plan(
            order_id=_str(d["order_id"]),
            outcome=Outcome(d["outcome"]),
            reasons=tuple(reason_from_dict(r) for r in d["reasons"]),
            lines=tuple(_line_from_dict(line) for line in d["lines"]),
            split_key=None if split is None else _str(split),
            backorder_number=None if number is None else _str(number),
            original_totals=_totals_from_dict(d["original_totals"]),
            backorder_totals=_totals_from_dict(d["backorder_totals"]),
            additional_shipping=decimal_from_str(d["additional_shipping"]),
            payment=None if payment is None else PaymentAction(payment),
            moved_amount=decimal_from_str(d["moved_amount"]),
            hold_original=hold,
            alerts=tuple(reason_from_dict(r) for r in d["alerts"]),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed plan: {exc!r}") from exc


def release_to_dict(result: ReleaseResult) -> dict[str, Any]:
    """A release allocation as a JSON-safe dict."""
    return {
        "schema": SCHEMA_VERSION,
        "orders": [
            {
                "order_id": order.order_id,
                "rank": order.rank,
                "lines": [
                    {
                        "line_id": line.line_id,
                        "ref": ref_to_dict(line.ref),
                        "requested": line.requested,
                        "allocated": line.allocated,
                    }
                    for line in order.lines
                ],
                "reason": reason_to_dict(order.reason),
            }
            for order in result.orders
        ],
        "remaining": [
            {"ref": ref_to_dict(ref), "quantity": quantity} for ref, quantity in result.remaining
        ],
    }


def release_from_dict(d: Mapping[str, Any]) -> ReleaseResult:
    """The ReleaseResult that `release_to_dict` wrote. Raises ValueError on malformed input."""
    try:
        if d.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"unsupported release schema {d.get('schema')!r}")
        orders = tuple(
            OrderRelease(
                order_id=_str(order["order_id"]),
                rank=_int(order["rank"]),
                lines=tuple(
                    LineRelease(
                        line_id=_str(line["line_id"]),
                        ref=ref_from_dict(line["ref"]),
                        requested=_int(line["requested"]),
                        allocated=_int(line["allocated"]),
                    )
                    for line in order["lines"]
                ),
                reason=reason_from_dict(order["reason"]),
            )
            for order in d["orders"]
        )
        remaining = tuple(
            (ref_from_dict(item["ref"]), _int(item["quantity"])) for item in d["remaining"]
        )
        return ReleaseResult(orders, remaining)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed release: {exc!r}") from exc
