"""Allocating arriving stock to open backorders, pure and deterministic.

Open backorders are served one after another: higher customer priority first, then the
oldest, then the lower order id (so equal inputs always give the same answer). Each takes
what its delivery condition allows from what is left:

- SHIP_AVAILABLE: every line takes what it can, part of a line included.
- LINES_COMPLETE: a line takes its whole quantity or nothing.
- WHOLE_ORDER: the order takes every line whole, or nothing at all.

Stock an order cannot use is not held back for it: a later order may take it. No unit is
ever allocated twice, and never more than is available.

`available` is keyed by stock figure (`OpenLine.pool_ref`): lines of products drawing on one
figure (variations whose parent keeps the stock) take from one count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from plugin.core.model import DeliveryCondition, ProductRef, Reason
from plugin.core.wording import all_units, units


@dataclass(frozen=True)
class OpenLine:
    """A line of an open backorder: what it still waits for."""

    line_id: str
    ref: ProductRef
    quantity: int
    pool: ProductRef | None = None  # the stock figure it draws on, when not its own

    @property
    def pool_ref(self) -> ProductRef:
        """The key of the stock figure this line draws on (`Stock.pool_ref`)."""
        return self.pool if self.pool is not None else self.ref


@dataclass(frozen=True)
class OpenBackorder:
    """An open backorder order (or an original held whole) waiting for stock."""

    order_id: str
    priority: int  # the customer's priority; higher is served first
    created_at: dt.datetime  # timezone-aware; older is served first
    delivery: DeliveryCondition
    lines: tuple[OpenLine, ...]
    number: str = ""  # the order number merchants see, for messages; defaults to the id


@dataclass(frozen=True)
class LineRelease:
    """How many units of one waiting line are released now."""

    line_id: str
    ref: ProductRef
    requested: int
    allocated: int


@dataclass(frozen=True)
class OrderRelease:
    """What one open backorder gets, with its place in the queue and the reason."""

    order_id: str
    rank: int  # 1 for the order served first
    lines: tuple[LineRelease, ...]
    reason: Reason

    @property
    def allocated(self) -> int:
        """Units released to this order."""
        return sum(line.allocated for line in self.lines)

    @property
    def requested(self) -> int:
        """Units this order waits for."""
        return sum(line.requested for line in self.lines)

    @property
    def complete(self) -> bool:
        """True when every line gets everything it waits for."""
        return all(line.allocated == line.requested for line in self.lines)


@dataclass(frozen=True)
class ReleaseResult:
    """Every open backorder in the order it was served, and the stock left over."""

    orders: tuple[OrderRelease, ...]
    remaining: tuple[tuple[ProductRef, int], ...]  # per stock figure, by product then variant

    def for_order(self, order_id: str) -> OrderRelease | None:
        """The allocation of `order_id`, if it was among the open backorders."""
        for release in self.orders:
            if release.order_id == order_id:
                return release
        return None


def queue_key(backorder: OpenBackorder) -> tuple[int, dt.datetime, str]:
    """Sort key of the release queue: priority (high first), age (old first), order id."""
    return (-backorder.priority, backorder.created_at, backorder.order_id)


def _ref_key(ref: ProductRef) -> tuple[str, int, str]:
    return (ref.product_id, 0 if ref.variant_id is None else 1, ref.variant_id or "")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def plan_release(
    available: Mapping[ProductRef, int], backorders: Iterable[OpenBackorder]
) -> ReleaseResult:
    """Allocate `available` stock to `backorders` in priority order; see the module docstring."""
    queue = list(backorders)
    seen: set[str] = set()
    for backorder in queue:
        if backorder.created_at.tzinfo is None:
            raise ValueError(f"order {backorder.order_id}: created_at must be timezone-aware")
        if backorder.order_id in seen:
            raise ValueError(f"order {backorder.order_id} is listed twice")
        seen.add(backorder.order_id)
    queue.sort(key=queue_key)
    # Platforms may report stock below zero: that is nothing to hand out.
    pool = {ref: (qty if qty > 0 else 0) for ref, qty in available.items()}
    total = len(queue)
    releases: list[OrderRelease] = []
    for rank, backorder in enumerate(queue, start=1):
        allocations = _allocate_order(backorder, pool)
        for line, got in zip(backorder.lines, allocations, strict=True):
            if got:
                pool[line.pool_ref] -= got
        lines = tuple(
            LineRelease(line.line_id, line.ref, max(line.quantity, 0), got)
            for line, got in zip(backorder.lines, allocations, strict=True)
        )
        releases.append(
            OrderRelease(backorder.order_id, rank, lines, _reason(backorder, lines, rank, total))
        )
    remaining = tuple(sorted(pool.items(), key=lambda item: _ref_key(item[0])))
    return ReleaseResult(tuple(releases), remaining)


def _allocate_order(backorder: OpenBackorder, pool: Mapping[ProductRef, int]) -> list[int]:
    """Units each line of `backorder` gets from `pool` (not modified here)."""
    taken: dict[ProductRef, int] = {}  # what earlier lines of this order already took
    result: list[int] = []
    condition = backorder.delivery
    for line in backorder.lines:
        wanted = line.quantity if line.quantity > 0 else 0
        key = line.pool_ref
        free = pool.get(key, 0) - taken.get(key, 0)
        if condition is DeliveryCondition.SHIP_AVAILABLE:
            got = wanted if wanted <= free else free
        else:
            got = wanted if wanted <= free else 0
        if got:
            taken[key] = taken.get(key, 0) + got
        result.append(got)
    if condition is DeliveryCondition.WHOLE_ORDER and any(
        got < max(line.quantity, 0) for line, got in zip(backorder.lines, result, strict=True)
    ):
        return [0] * len(result)
    return result


def _reason(
    backorder: OpenBackorder, lines: tuple[LineRelease, ...], rank: int, total: int
) -> Reason:
    name = backorder.number or backorder.order_id
    when = backorder.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    why = f"priority {backorder.priority}, created {when}; served {_ordinal(rank)} of {total}"
    requested = sum(line.requested for line in lines)
    allocated = sum(line.allocated for line in lines)
    if requested == 0:
        return Reason("release_nothing_waiting", f"Order {name} waits for nothing ({why}).")
    if allocated == requested:
        return Reason(
            "release_complete",
            f"Order {name} gets {all_units(requested)} it waits for ({why}).",
        )
    condition = backorder.delivery
    if allocated:
        rule = (
            "only lines whose whole quantity is available are released"
            if condition is DeliveryCondition.LINES_COMPLETE
            else "what is in stock ships now"
        ) + "; the rest moves to a new backorder order and waits for more stock"
        return Reason(
            "release_partial",
            f"Order {name} gets {allocated} of {units(requested)} ({why}); {rule}.",
        )
    if condition is DeliveryCondition.WHOLE_ORDER:
        cause = "it ships as a whole and not all of it is available"
    elif condition is DeliveryCondition.LINES_COMPLETE:
        cause = "no line's whole quantity is available"
    else:
        cause = "no stock is left for its products"
    return Reason("release_none", f"Order {name} gets nothing yet: {cause} ({why}).")
