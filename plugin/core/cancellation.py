"""Cancelling all or some units of one backorder line: the write and its money, pure.

The merchant's order page and the customer's page both cancel through
`plugin/usecases/cancelling.py`, which asks `plan_line_cancel` what to write:

- every unit of the line: the line is removed from the backorder order, or, when it is the
  order's only line, the order is cancelled (the line stays on it as the record);
- some units: the line keeps the rest, and its money is shared between the units kept and the
  units cancelled by largest remainder (`split.allocate`), so the two parts add up to the
  line's amounts to the minor unit; the units cancelled carry the amount the customer paid for
  them (total and tax), which is the refund due when they were paid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from plugin.core import wording
from plugin.core.model import Amounts, Line, minor_unit
from plugin.core.split import allocate


class CancelWrite(StrEnum):
    """What the store is asked to do."""

    REMOVE_LINE = "remove_line"
    CANCEL_ORDER = "cancel_order"
    REDUCE_LINE = "reduce_line"


class CancelError(ValueError):
    """A number of units that cannot be cancelled; `reason` is machine-readable."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class LineCancel:
    """The decided cancellation of `cancelled_units` of a line (`kept_units` stay on it)."""

    write: CancelWrite
    cancelled_units: int
    kept_units: int
    cancelled: Amounts  # the money of the units cancelled
    kept: Amounts  # the money the line keeps (zero when it is removed)

    @property
    def amount(self) -> Decimal:
        """What the customer was charged (or would be) for the cancelled units, tax included."""
        return self.cancelled.total + self.cancelled.tax


def plan_line_cancel(
    line: Line, units: int | None, *, other_lines: int, currency: str
) -> LineCancel:
    """Cancel `units` of `line` (None: all of them) on a backorder order that has
    `other_lines` lines besides it; raises CancelError for a count outside 1..quantity."""
    quantity = line.quantity
    wanted = quantity if units is None else units
    if isinstance(wanted, bool) or not isinstance(wanted, int):
        raise CancelError(
            "units_invalid", f"Give a whole number of units, from 1 to the line's {quantity}."
        )
    if wanted < 1:
        raise CancelError(
            "units_too_few", f"Cancel at least 1 unit (the line has {quantity}), not {wanted}."
        )
    if wanted > quantity:
        raise CancelError(
            "units_too_many",
            f"The line has {wording.units(quantity)} waiting: {wanted} is too many.",
        )
    whole = Amounts(line.subtotal, line.subtotal_tax, line.total, line.tax)
    kept_units = quantity - wanted
    if kept_units == 0:
        zero = Decimal(0).quantize(minor_unit(currency))
        write = CancelWrite.REMOVE_LINE if other_lines else CancelWrite.CANCEL_ORDER
        return LineCancel(write, wanted, 0, whole, Amounts(zero, zero, zero, zero))
    cancelled = Amounts(*(units_share(a, quantity, wanted, currency) for a in whole))
    kept = Amounts(*(a - c for a, c in zip(whole, cancelled, strict=True)))
    return LineCancel(CancelWrite.REDUCE_LINE, wanted, kept_units, cancelled, kept)


def units_share(amount: Decimal, quantity: int, units: int, currency: str) -> Decimal:
    """The part of a line's `amount` that `units` of its `quantity` carry, to the minor unit
    (largest remainder: the parts of the units kept and cancelled add up to `amount`). With no
    `currency` (the store did not say), to the amount's own last digit: amounts are recorded
    quantised to their currency's minor unit (`1000` yen, `10.00` dollars)."""
    if units >= quantity:
        return amount
    unit = minor_unit(currency) if currency else Decimal(1).scaleb(min(0, _exponent(amount)))
    return allocate(amount, (quantity - units, units), unit)[1]


def _exponent(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def units_value(total: Decimal, tax: Decimal, quantity: int, units: int, currency: str) -> Decimal:
    """What `units` of a line of `quantity` units (`total`, `tax`) are worth, tax included, as
    a cancellation of them counts it (`plan_line_cancel`)."""
    return units_share(total, quantity, units, currency) + units_share(
        tax, quantity, units, currency
    )


def after_cancels(
    total: Decimal, tax: Decimal, quantity: int, cancelled: Iterable[int], currency: str
) -> tuple[Decimal, Decimal, int]:
    """A line's `(total, tax, quantity)` after some units were cancelled from it, in order
    (`cancelled`: the units of each), each taking its share as `plan_line_cancel` did."""
    for units in cancelled:
        units = min(units, quantity)
        total -= units_share(total, quantity, units, currency)
        tax -= units_share(tax, quantity, units, currency)
        quantity -= units
    return total, tax, quantity
