"""The split plan: which quantities and how much money go to the backorder order.

Pure and deterministic: no clock, no I/O. The same order, stock and policies always give
the same `Plan`, so a retried job writes the same split under the same split key.

How the outcomes are expressed (`Plan.outcome`):

- SPLIT: at least one unit moves. `LinePlan.backorder` units and their money move to a new
  backorder order; shipping and fees stay on the original.
- HOLD: nothing moves, the original is put On Hold (`hold_original`). Either the whole order
  waits for stock (whole-order delivery, or nothing at all could ship now): every line keeps
  its full quantity, `LinePlan.waiting` counts the units it waits for and `Plan.awaits_stock`
  is true, so the order is recorded as a backorder and released as one. Or an oversold line
  meets the store's "hold" oversold action.
- NO_CHANGE: nothing to do (all in stock, oversold with "report"), or not allowed to act
  (store disabled, status not eligible, already split). Gate refusals carry no lines.

`payment` is set for a split and for a whole-order wait (how the order waiting for stock is
paid when released); `alerts` hold what the merchant must look at (oversold, cap reached,
stock unknown, invalid numbering pattern).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Collection, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from plugin.core.model import (
    DEFAULT_NUMBERING_PATTERN,
    ZERO,
    Amounts,
    DeliveryCondition,
    Line,
    LinePlan,
    Order,
    OrderTotals,
    Outcome,
    OversoldAction,
    PaymentAction,
    PaymentState,
    Plan,
    Policies,
    ProductRef,
    Reason,
    Stock,
    StoreSettings,
    minor_unit,
)
from plugin.core.rules import (
    LineDecision,
    decide_lines,
    delivery_condition,
    eligibility,
    line_label,
)
from plugin.core.wording import all_units

_ZERO = Decimal(0)

# `_new(NamedTupleClass, (every field, in order))` makes a named tuple without running its
# Python-level __new__, for less than half the cost; plan_split makes two or three per line.
# Unlike the class call it checks neither the count nor the types of the fields.
_new = tuple.__new__


def _exponent(currency: str) -> int:
    return int(minor_unit(currency).as_tuple().exponent)


@functools.lru_cache(maxsize=8)
def _zero_amounts(exponent: int) -> Amounts:
    # Zero written to the currency's precision ("0.00", "0", "0.000"), like every other amount.
    zero = _ZERO.scaleb(exponent)
    return Amounts(zero, zero, zero, zero)


_PATTERN_FIELDS = frozenset({"number", "seq"})
_MAX_PATTERN_LENGTH = 100
_MAX_FIELD_WIDTH = 20
_FORMATTER = string.Formatter()


# --- numbering ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def numbering_pattern_errors(pattern: str) -> tuple[str, ...]:
    """Why `pattern` cannot number backorder orders; empty when it can."""
    # Cached: a store has one pattern, and every plan checks it.
    errors: list[str] = []
    try:
        parsed = list(_FORMATTER.parse(pattern))
    except ValueError as exc:
        return (f"The pattern is not valid: {exc}.",)
    if len(pattern) > _MAX_PATTERN_LENGTH:
        return (f"The pattern may be at most {_MAX_PATTERN_LENGTH} characters long.",)
    names: set[str] = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        # Only plain names: "{number.__class__}" or "{seq[0]}" would reach into objects.
        if name not in _PATTERN_FIELDS:
            errors.append(f"Unknown field {{{name}}}: use only {{number}} and {{seq}}.")
        if conversion is not None:
            errors.append(f"Field {{{name}}} may not use a !{conversion} conversion.")
        if spec and ("{" in spec or "}" in spec):
            # A nested field ("{seq:{number.__class__}}") is formatted too: same risk.
            errors.append(f"Field {{{name}}} may not nest other fields in its format.")
        elif spec and any(int(n) > _MAX_FIELD_WIDTH for n in re.findall(r"\d+", spec)):
            # "{number:>999999999}" would build a gigabyte string on every split.
            errors.append(f"Field {{{name}}} may be at most {_MAX_FIELD_WIDTH} characters wide.")
        names.add(name)
    if "number" not in names:
        errors.append("The pattern must contain {number}, the original order number.")
    if "seq" not in names:
        errors.append("The pattern must contain {seq}, the split sequence (e.g. {seq:03d}).")
    if errors:
        return tuple(errors)
    try:
        # Check the first thousand splits: "{seq:.0e}" formats but gives 10 and 11 alike.
        numbers = [pattern.format(number="1042", seq=seq) for seq in range(1, 1001)]
    except (ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:
        return (f"The pattern does not format: {exc}.",)
    if not numbers[0].strip() or len(set(numbers)) != len(numbers):
        errors.append("The pattern must give a different number for every split.")
    if any(not number.isprintable() for number in numbers):
        errors.append("The pattern may not contain control characters.")
    return tuple(errors)


def validate_numbering_pattern(pattern: str) -> None:
    """Raise ValueError with every problem of `pattern`, if it has any."""
    errors = numbering_pattern_errors(pattern)
    if errors:
        raise ValueError(" ".join(errors))


def backorder_number(pattern: str, number: str, seq: int) -> str:
    """The backorder order's number, e.g. ("{number}-{seq:03d}", "1042", 1) -> "1042-001"."""
    validate_numbering_pattern(pattern)
    return pattern.format(number=number, seq=seq)


def split_key(order_id: str, seq: int) -> str:
    """The deterministic key of the `seq`-th split of an order, written on both orders."""
    return f"{order_id}:{seq}"


def next_split_seq(order: Order) -> int:
    """The sequence number the next split of `order` gets (1 for the first)."""
    return order.links.split_count + 1


# --- money ----------------------------------------------------------------------------------


def allocate(amount: Decimal, weights: tuple[int, ...], unit: Decimal) -> tuple[Decimal, ...]:
    """Split `amount` by `weights` in whole `unit`s, largest remainder first.

    The parts always add up to `amount` exactly. Ties go to the earlier part. A residue
    smaller than `unit` (an amount the platform did not round) stays on the first part.
    """
    total_weight = sum(weights)
    if total_weight <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative with a positive sum")
    sign = -1 if amount < 0 else 1
    magnitude = -amount if sign < 0 else amount
    base = magnitude.quantize(unit, rounding=ROUND_DOWN)
    residue = magnitude - base
    units = int(base / unit)
    floors: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        q, r = divmod(units * weight, total_weight)
        floors.append(q)
        remainders.append(r)
    left = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    parts = [Decimal(n) * unit for n in floors]
    parts[0] += residue
    # `0 - p`, not `-p`: a zero share stays "0.00" rather than "-0.00".
    return tuple(ZERO - p if sign < 0 else p for p in parts)


def _split_two(
    amount: Decimal, keep: int, moved: int, exponent: int, unit: Decimal
) -> tuple[Decimal, Decimal]:
    """`allocate(amount, (keep, moved), unit)` for `unit = 10**exponent`, without the loops.

    This runs four times per moved line, so it is the planner's hot path.
    """
    scaled = amount.scaleb(-exponent)
    units = int(scaled)
    if scaled != units:  # not in whole minor units: let the general rule place the residue
        kept_part, moved_part = allocate(amount, (keep, moved), unit)
        return kept_part, moved_part
    magnitude = -units if units < 0 else units
    quantity = keep + moved
    moved_units, remainder = divmod(magnitude * moved, quantity)
    # The kept share's remainder is `quantity - remainder`: the larger one gets the spare
    # unit, the kept share on a tie (as in `allocate`).
    if remainder * 2 > quantity:
        moved_units += 1
    # An int times `unit` has `unit`'s exponent, like Decimal(n).scaleb(exponent), at half
    # the cost; n has no more digits than `amount`, so nothing is rounded.
    moved_part = (-moved_units if units < 0 else moved_units) * unit
    return amount - moved_part, moved_part


def _line_amounts(line: Line) -> Amounts:
    return Amounts(line.subtotal, line.subtotal_tax, line.total, line.tax)


def _split_line_amounts(
    line: Line, keep: int, moved: int, exponent: int, unit: Decimal
) -> tuple[Amounts, Amounts]:
    """The money of `line` kept and moved when `keep` of its units stay and `moved` move."""
    if moved == 0:
        return _line_amounts(line), _zero_amounts(exponent)
    if keep == 0:
        return _zero_amounts(exponent), _line_amounts(line)
    ks, ms = _split_two(line.subtotal, keep, moved, exponent, unit)
    kst, mst = _split_two(line.subtotal_tax, keep, moved, exponent, unit)
    kt, mt = _split_two(line.total, keep, moved, exponent, unit)
    ktx, mtx = _split_two(line.tax, keep, moved, exponent, unit)
    return _new(Amounts, (ks, kst, kt, ktx)), _new(Amounts, (ms, mst, mt, mtx))


def _totals_of(
    subtotal: Decimal,
    items: Decimal,
    items_tax: Decimal,
    shipping: Decimal,
    shipping_tax: Decimal,
    fees: Decimal,
    fees_tax: Decimal,
) -> OrderTotals:
    """Order totals from the sums of its items' subtotal, total and tax."""
    return OrderTotals(
        items=items,
        items_tax=items_tax,
        discount=subtotal - items,
        shipping=shipping,
        shipping_tax=shipping_tax,
        fees=fees,
        fees_tax=fees_tax,
        total=items + items_tax + shipping + shipping_tax + fees + fees_tax,
    )


def _totals(
    amounts: list[Amounts],
    shipping: Decimal,
    shipping_tax: Decimal,
    fees: Decimal,
    fees_tax: Decimal,
    zero: Decimal,
) -> OrderTotals:
    subtotal = sum((a.subtotal for a in amounts), zero)
    items = sum((a.total for a in amounts), zero)
    items_tax = sum((a.tax for a in amounts), zero)
    return _totals_of(subtotal, items, items_tax, shipping, shipping_tax, fees, fees_tax)


def order_totals(order: Order) -> OrderTotals:
    """Totals of `order` as it stands, computed from its lines, shipping and fees."""
    zero = minor_unit(order.currency) * 0  # "0.00" for USD: sums keep the currency's precision
    # Summed in line order, as `_totals` would, without an Amounts per line.
    subtotal = items = items_tax = zero
    for line in order.lines:
        subtotal += line.subtotal
        items += line.total
        items_tax += line.tax
    return _totals_of(subtotal, items, items_tax, *_shipping_and_fees(order, zero))


def _shipping_and_fees(order: Order, zero: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Shipping, shipping tax, fees and fees tax of `order`: they stay on the original."""
    return (
        sum((s.total for s in order.shipping_lines), zero),
        sum((s.tax for s in order.shipping_lines), zero),
        sum((f.total for f in order.fees), zero),
        sum((f.tax for f in order.fees), zero),
    )


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount} {currency}"


# --- the plan -------------------------------------------------------------------------------


def plan_split(
    order: Order,
    stock: Mapping[ProductRef, Stock],
    policies: Policies,
    held: Mapping[ProductRef, int] | None = None,
) -> Plan:
    """Decide what of `order` ships now, what goes on backorder, and the money of both.

    `held`: units per stock figure (`Stock.pool_ref`) released to other orders that have not
    paid yet; the store gave them back to its figure (`stock`), but they are promised, so
    this order does not get them (README "Stock accounting"). Products drawing on one figure
    share it (`decide_lines`).
    """
    settings = policies.settings
    eligible, eligible_reason = eligibility(order, settings)
    if not eligible:
        return Plan(order_id=order.id, outcome=Outcome.NO_CHANGE, reasons=(eligible_reason,))

    condition, condition_reason = delivery_condition(order, policies)
    decisions = decide_lines(order, stock, policies, condition, held)
    alerts = tuple(d.alert for d in decisions if d.alert is not None)
    any_backorder = any(d.backorder for d in decisions)
    any_oversold = any(d.oversold for d in decisions)
    hold_for_oversold = any_oversold and settings.oversold_action is OversoldAction.HOLD
    payment = (
        PaymentAction.PAID_FROM_ORIGINAL
        if order.payment_state is PaymentState.PAID
        else PaymentAction.CHARGE_ON_RELEASE
    )
    reasons: list[Reason] = [eligible_reason, condition_reason]
    if hold_for_oversold:
        oversold_reason = Reason(
            "oversold_hold",
            "Some units are out of stock and may not be backordered; the store puts such "
            "orders On Hold for review.",
        )
    else:
        oversold_reason = Reason(
            "oversold_report",
            "Some units are out of stock and may not be backordered; they stay on the order "
            "and the merchant is alerted.",
        )

    if any_backorder and (
        condition is DeliveryCondition.WHOLE_ORDER or not any(d.keep for d in decisions)
    ):
        return _whole_order_waits(
            order, decisions, reasons, condition, alerts, any_oversold, oversold_reason,
            order_totals(order), payment,
        )  # fmt: skip

    if not any_backorder:
        exponent = _exponent(order.currency)
        lines = tuple(_unchanged_line(d, exponent) for d in decisions)
        if any_oversold:
            reasons.append(oversold_reason)
        elif alerts:  # stock unknown for some product: it may be short, but nothing moves
            reasons.append(
                Reason("nothing_to_backorder", "Nothing goes on backorder; see the alerts.")
            )
        else:
            reasons.append(Reason("nothing_to_backorder", "Every line can ship now; no split."))
        return Plan(
            order_id=order.id,
            outcome=Outcome.HOLD if hold_for_oversold else Outcome.NO_CHANGE,
            reasons=tuple(reasons),
            lines=lines,
            original_totals=order_totals(order),
            hold_original=hold_for_oversold,
            alerts=alerts,
        )

    return _moving_plan(
        order, settings, decisions, reasons, alerts, payment, hold_for_oversold,
        (oversold_reason,) if any_oversold else (),
    )  # fmt: skip


def _moving_plan(
    order: Order,
    settings: StoreSettings,
    decisions: tuple[LineDecision, ...],
    reasons: list[Reason],
    alerts: tuple[Reason, ...],
    payment: PaymentAction,
    hold_original: bool,
    closing: tuple[Reason, ...],
) -> Plan:
    """The SPLIT plan moving each decision's `backorder` units, with their money, to a new
    backorder order: totals of both orders, its number, and the payment and shipping reasons
    (`reasons` first, `closing` last)."""
    unit = minor_unit(order.currency)
    exponent = _exponent(order.currency)
    zero = unit * 0
    no_amounts = _zero_amounts(exponent)
    line_plans: list[LinePlan] = []
    # Totals of both orders, summed in line order as `_totals` would, while the lines are built.
    kept_subtotal = kept_items = kept_tax = moved_subtotal = moved_items = moved_tax = zero
    moved_lines = moved_units = 0
    # Unpacking reads a named tuple's fields at once, cheaper than one attribute at a time.
    for line, ref, keep, moved, oversold, reason, _alert in decisions:
        if not moved:
            kept_amounts = _new(Amounts, (line.subtotal, line.subtotal_tax, line.total, line.tax))
            moved_amounts = no_amounts
        elif not keep:
            kept_amounts = no_amounts
            moved_amounts = _new(Amounts, (line.subtotal, line.subtotal_tax, line.total, line.tax))
        else:
            kept_amounts, moved_amounts = _split_line_amounts(line, keep, moved, exponent, unit)
        subtotal, _subtotal_tax, total, tax = kept_amounts
        kept_subtotal += subtotal
        kept_items += total
        kept_tax += tax
        if moved:
            moved_lines += 1
            moved_units += moved
            subtotal, _subtotal_tax, total, tax = moved_amounts
            moved_subtotal += subtotal
            moved_items += total
            moved_tax += tax
        line_plans.append(
            _new(LinePlan, (
                line.line_id, ref, line.quantity, keep, moved, oversold,
                kept_amounts, moved_amounts, reason, 0,
            ))
        )  # fmt: skip
    extra = settings.additional_shipping
    extra = extra.quantize(unit, rounding=ROUND_HALF_UP) if extra > 0 else zero
    # The original keeps shipping and fees; its line totals are not needed here.
    original_after = _totals_of(
        kept_subtotal, kept_items, kept_tax, *_shipping_and_fees(order, zero)
    )
    backorder_totals = _totals_of(moved_subtotal, moved_items, moved_tax, extra, zero, zero, zero)

    seq = next_split_seq(order)
    pattern = settings.numbering_pattern
    if numbering_pattern_errors(pattern):
        alerts += (
            Reason(
                "numbering_pattern_invalid",
                f"The numbering pattern {pattern!r} is not valid; the default "
                f"{DEFAULT_NUMBERING_PATTERN!r} was used.",
            ),
        )
        pattern = DEFAULT_NUMBERING_PATTERN
    number = pattern.format(number=order.number, seq=seq)
    reasons.append(
        Reason(
            "split",
            f"{moved_units} units on {moved_lines} line(s) move to backorder order {number}; "
            "the rest ships now.",
        )
    )
    value = _money(backorder_totals.total, order.currency)
    if payment is PaymentAction.PAID_FROM_ORIGINAL:
        extra_note = (
            f" The additional shipping of {_money(extra, order.currency)} is not yet paid."
            if extra
            else ""
        )
        reasons.append(
            Reason(
                "payment_paid_from_original",
                f"The order is paid; backorder order {number} ({value}) is covered by that "
                f"payment and is not charged again.{extra_note}",
            )
        )
    else:
        reasons.append(
            Reason(
                "payment_charge_on_release",
                f"The order is not paid yet: the customer now pays "
                f"{_money(original_after.total, order.currency)} for what ships, and {value} "
                f"for backorder order {number} when it ships.",
            )
        )
    if extra:
        reasons.append(
            Reason(
                "additional_shipping",
                f"Additional shipping of {_money(extra, order.currency)} is added to backorder "
                f"order {number}.",
            )
        )
    reasons.extend(closing)
    return Plan(
        order_id=order.id,
        outcome=Outcome.SPLIT,
        reasons=tuple(reasons),
        lines=tuple(line_plans),
        split_key=split_key(order.id, seq),
        backorder_number=number,
        original_totals=original_after,
        backorder_totals=backorder_totals,
        additional_shipping=extra,
        payment=payment,
        moved_amount=backorder_totals.total,
        hold_original=hold_original,
        alerts=alerts,
    )


def _unchanged_line(d: LineDecision, exponent: int, waiting: int = 0) -> LinePlan:
    line = d.line
    return LinePlan(
        line.line_id, d.ref, line.quantity, line.quantity, 0, d.oversold,
        Amounts(line.subtotal, line.subtotal_tax, line.total, line.tax), _zero_amounts(exponent),
        d.reason, waiting,
    )  # fmt: skip


def _whole_order_waits(
    order: Order,
    decisions: tuple[LineDecision, ...],
    reasons: list[Reason],
    condition: DeliveryCondition,
    alerts: tuple[Reason, ...],
    any_oversold: bool,
    oversold_reason: Reason,
    before: OrderTotals,
    payment: PaymentAction,
) -> Plan:
    exponent = _exponent(order.currency)
    lines: list[LinePlan] = []
    for d in decisions:
        if d.backorder:
            waiting_reason = Reason(
                "whole_order_waits",
                f"{line_label(d.line)}: waits for {d.backorder} of {d.line.quantity} units; "
                "the whole order waits with it.",
                d.line.line_id,
            )
            d = d._replace(reason=waiting_reason)
        lines.append(_unchanged_line(d, exponent, waiting=d.backorder))
    why = (
        "the customer wants the whole order delivered together"
        if condition is DeliveryCondition.WHOLE_ORDER
        else "nothing in it can ship now"
    )
    reasons.append(
        Reason(
            "whole_order_waits",
            f"Order {order.number} is not split because {why}: it is put On Hold and "
            "recorded as a backorder until the missing stock arrives.",
        )
    )
    if any_oversold:
        reasons.append(oversold_reason)
    return Plan(
        order_id=order.id,
        outcome=Outcome.HOLD,
        reasons=tuple(reasons),
        lines=tuple(lines),
        original_totals=before,
        payment=payment,
        hold_original=True,
        alerts=alerts,
    )


# --- splitting a partly released backorder order again ----------------------------------------


def hold_key(order_id: str) -> str:
    """The key under which an original that waits whole for stock (`Plan.awaits_stock`) is
    recorded in the split ledger: allocation serves it like a backorder order."""
    return f"hold:{order_id}"


def resplit_key(backorder_order_id: str) -> str:
    """The deterministic key of splitting backorder order `backorder_order_id` again.

    An order is split again at most once: its part in stock is released (one release per
    order), and what still waits moves to a new backorder order with a key of its own.
    """
    return f"resplit:{backorder_order_id}"


def next_backorder_seq(pattern: str, original_number: str, taken: Collection[str]) -> int:
    """The sequence number of a new backorder order of an original whose backorder orders
    already carry the numbers `taken`: one past their count, skipping numbers in use (a
    deleted sibling or a changed pattern must not give two orders one number)."""
    if numbering_pattern_errors(pattern):
        pattern = DEFAULT_NUMBERING_PATTERN
    used = set(taken)
    seq = len(used) + 1
    while pattern.format(number=original_number, seq=seq) in used:
        seq += 1
    return seq


def plan_resplit(
    backorder: Order,
    released: Mapping[str, int],
    *,
    original_number: str,
    taken_numbers: Collection[str],
    settings: StoreSettings,
) -> Plan:
    """Split a partly released backorder order again, or an original that waited whole for
    stock (`hold_key`) when arriving stock covers part of it: it is then its own original.

    `released` gives the units per line id that arrived stock covers: they stay on the order
    and ship now; the rest of each line moves, with its share of the money (largest-remainder
    rounding, as in `plan_split`), to a new backorder order of the same original, numbered
    after all the backorder orders the original already has (`taken_numbers`). The new order
    is paid like the one it comes from. Raises ValueError unless some but not all units are
    released.
    """
    quantities = {line.line_id: line.quantity for line in backorder.lines}
    unknown = sorted(set(released) - set(quantities))
    if unknown:
        raise ValueError(f"lines {unknown} are not on order {backorder.id}")
    for line_id, units in released.items():
        if not 0 <= units <= quantities[line_id]:
            raise ValueError(f"line {line_id}: {units} of {quantities[line_id]} units released")
    kept_units = sum(released.values())
    moved_units = sum(quantities.values()) - kept_units
    if kept_units <= 0 or moved_units <= 0:
        raise ValueError("a re-split releases some units and leaves some waiting")

    unit = minor_unit(backorder.currency)
    exponent = _exponent(backorder.currency)
    zero = unit * 0
    before = order_totals(backorder)
    line_plans: list[LinePlan] = []
    kept: list[Amounts] = []
    moved: list[Amounts] = []
    for line in backorder.lines:
        keep = released.get(line.line_id, 0)
        rest = line.quantity - keep
        if rest:
            reason = Reason(
                "resplit_waits",
                f"{line_label(line)}: {keep} of {line.quantity} units ship now, {rest} wait.",
                line.line_id,
            )
        else:
            reason = Reason(
                "resplit_ships",
                f"{line_label(line)}: {all_units(keep, ('ships', 'ship'))} now.",
                line.line_id,
            )
        kept_amounts, moved_amounts = _split_line_amounts(line, keep, rest, exponent, unit)
        kept.append(kept_amounts)
        if rest:
            moved.append(moved_amounts)
        line_plans.append(
            LinePlan(
                line.line_id,
                line.ref,
                line.quantity,
                keep,
                rest,
                0,
                kept_amounts,
                moved_amounts,
                reason,
            )  # fmt: skip
        )
    extra = settings.additional_shipping
    extra = extra.quantize(unit, rounding=ROUND_HALF_UP) if extra > 0 else zero
    after = _totals(kept, before.shipping, before.shipping_tax, before.fees, before.fees_tax, zero)
    new_totals = _totals(moved, extra, zero, zero, zero, zero)

    alerts: tuple[Reason, ...] = ()
    pattern = settings.numbering_pattern
    if numbering_pattern_errors(pattern):
        alerts = (
            Reason(
                "numbering_pattern_invalid",
                f"The numbering pattern {pattern!r} is not valid; the default "
                f"{DEFAULT_NUMBERING_PATTERN!r} was used.",
            ),
        )
        pattern = DEFAULT_NUMBERING_PATTERN
    seq = next_backorder_seq(pattern, original_number, taken_numbers)
    number = pattern.format(number=original_number, seq=seq)
    currency = backorder.currency
    payment = (
        PaymentAction.PAID_FROM_ORIGINAL
        if backorder.payment_state is PaymentState.PAID
        else PaymentAction.CHARGE_ON_RELEASE
    )
    value = _money(new_totals.total, currency)
    # A held original (`hold_key`) is split like a backorder order: it is its own original.
    name = ("backorder order " if backorder.links.is_backorder_order else "order ") + (
        backorder.number
    )
    reasons = [
        Reason(
            "resplit",
            f"{kept_units} of {kept_units + moved_units} units of {name} are in stock and ship "
            f"now; the other {moved_units} move to backorder order {number} and wait for stock.",
        )
    ]
    if payment is PaymentAction.PAID_FROM_ORIGINAL:
        reasons.append(
            Reason(
                "payment_paid_from_original",
                f"{name[0].upper()}{name[1:]} is paid; backorder order {number} "
                f"({value}) is covered by that payment and is not charged again.",
            )
        )
    else:
        reasons.append(
            Reason(
                "payment_charge_on_release",
                f"Not paid yet: the customer pays {_money(after.total, currency)} for what "
                f"ships now, and {value} for backorder order {number} when it ships.",
            )
        )
    if extra:
        reasons.append(
            Reason(
                "additional_shipping",
                f"Additional shipping of {_money(extra, currency)} is added to backorder "
                f"order {number}.",
            )
        )
    return Plan(
        order_id=backorder.id,
        outcome=Outcome.SPLIT,
        reasons=tuple(reasons),
        lines=tuple(line_plans),
        split_key=resplit_key(backorder.id),
        backorder_number=number,
        original_totals=after,
        backorder_totals=new_totals,
        additional_shipping=extra,
        payment=payment,
        moved_amount=new_totals.total,
        alerts=alerts,
    )


# --- units put on backorder by the merchant ---------------------------------------------------


def manual_quantity_problems(order: Order, manual: Mapping[str, int]) -> tuple[Reason, ...]:
    """Why `manual` (units to put on backorder per line id) cannot apply to `order`; empty when
    it can. Every line may take 0 to its ordered quantity, and at least one unit must move."""
    problems: list[Reason] = []
    lines = {line.line_id: line for line in order.lines}
    for line_id in sorted(set(manual) - set(lines)):
        problems.append(
            Reason("line_unknown", f"Order {order.number} has no line {line_id}.", line_id)
        )
    for line in order.lines:
        units = manual.get(line.line_id, 0)
        label = line_label(line)
        if isinstance(units, bool) or not isinstance(units, int):
            problems.append(
                Reason(
                    "quantity_not_whole",
                    f"{label}: the units to put on backorder must be a whole number.",
                    line.line_id,
                )
            )
        elif not 0 <= units <= max(line.quantity, 0):
            problems.append(
                Reason(
                    "quantity_out_of_range",
                    f"{label}: {units} units cannot go on backorder; choose 0 to "
                    f"{max(line.quantity, 0)}, the ordered quantity.",
                    line.line_id,
                )
            )
        elif units and not line.variant_id and line.product_id in ("", "0"):
            problems.append(
                Reason(
                    "no_product",
                    f"{label} names no product in the store, so it cannot be backordered.",
                    line.line_id,
                )
            )
    if not problems and not any(manual.get(line.line_id, 0) for line in order.lines):
        problems.append(
            Reason(
                "nothing_to_backorder",
                "Choose at least one unit to put on backorder; 0 on every line changes nothing.",
            )
        )
    return tuple(problems)


def plan_manual_split(
    order: Order, manual: Mapping[str, int], settings: StoreSettings, *, requested_by: str
) -> Plan:
    """Split `order` with exactly the units the merchant chose per line id (`manual`), whatever
    the stock: they move, with their money, to a backorder order numbered, paid and explained
    like any split (`plan_split`). NO_CHANGE, without lines, when the order is not eligible or
    the quantities do not fit it (the reasons say why; `manual_quantity_problems`)."""
    eligible, eligible_reason = eligibility(order, settings)
    if not eligible:
        return Plan(order_id=order.id, outcome=Outcome.NO_CHANGE, reasons=(eligible_reason,))
    problems = manual_quantity_problems(order, manual)
    if problems:
        return Plan(order_id=order.id, outcome=Outcome.NO_CHANGE, reasons=problems)
    decisions: list[LineDecision] = []
    for line in order.lines:
        units = manual.get(line.line_id, 0)
        label = line_label(line)
        if units:
            code = "manual_backorder" if units < line.quantity else "manual_line_backordered"
            message = (
                f"{label}: {requested_by} put {units} of {line.quantity} units on backorder "
                f"by hand; {line.quantity - units} ship now."
            )
        else:
            code = "manual_kept"
            message = f"{label}: {all_units(line.quantity, ('ships', 'ship'))} now."
        decisions.append(
            LineDecision(
                line, line.ref, line.quantity - units, units, 0,
                Reason(code, message, line.line_id),
            )
        )  # fmt: skip
    payment = (
        PaymentAction.PAID_FROM_ORIGINAL
        if order.payment_state is PaymentState.PAID
        else PaymentAction.CHARGE_ON_RELEASE
    )
    reasons = [
        eligible_reason,
        Reason(
            "manual_split",
            f"{requested_by} chose the units to put on backorder by hand (stock in the store "
            "is not consulted: damaged or reserved units); they are set aside from the store's "
            "stock figure.",
        ),
    ]
    return _moving_plan(order, settings, tuple(decisions), reasons, (), payment, False, ())
