"""Purchasing for backorders: suppliers, purchase proposals, purchase orders and receipts.

Pure and deterministic like the rest of the core: no clock (`today` is an argument), no I/O,
every value immutable. Bad input is refused with `PurchasingError`, which carries a
machine-readable `reason` and a message saying what to change; warnings are `Reason`s.

How the later use cases are meant to use it (storage, pages, e-mail and the store write are
theirs):

1. Saving a supplier or a product link: `check_supplier` / `check_link` refuse bad input.
   For each proposal or draft, build a `Catalogue` of the store's suppliers and links.
2. The proposal page: `plan_proposal(open backorders, free units, purchase orders, catalogue)`.
   Open backorders are `release.OpenBackorder`s, read as allocation reads them; free units
   per product are counted with `model.free_units`, as allocation counts them. Per product
   it shows demand, free stock, units on order, what to buy (rounded up to the supplier's
   pack size and minimum) and the backorder orders behind it, grouped by supplier.
3. The merchant selects products and/or backorder orders: `draft_purchase_orders(proposal,
   ...)` gives one draft per supplier, numbered from a pattern, each line reserving its units
   for its backorder orders in allocation order (`release.queue_key`). Plan again from
   current figures just before drafting, and store the drafts as they are: the next proposal
   counts their units as on order and orders nothing twice. Numbers come from the mechanism
   that numbers backorder orders (`split.next_backorder_seq`), {number} being the day.
4. `send` (before e-mailing the supplier), `reschedule`, `shorten`, `cancel` and
   `apply_receipt` each return the new state of the purchase order; store it, then act on
   what they report: reservations freed, units to add to the store's stock (exactly the
   received units: write that to the store), drop-shipped units (complete those orders
   without touching stock), warnings to show.
5. Expected dates: `expected_dates(...)` before and after a change, then `date_changes(old,
   new)` lists every backorder line whose date moved, to record and notify.

Money: a line's value is its quantity at unit cost, rounded half up to the minor unit of the
supplier's currency; an order's or a group's value is the sum of its lines', so they match,
and its value in the store's currency is that sum converted once at the supplier's rate.

Units reserved on a purchase order are reserved for their backorder orders in the purchasing
sense only (nothing is bought twice and each order gets a date); when stock arrives, the
release use case still allocates it by priority and age (`release.plan_release`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import NamedTuple

from plugin.core.model import ZERO, ProductRef, Reason, minor_unit
from plugin.core.release import OpenBackorder, queue_key
from plugin.core.split import backorder_number, next_backorder_seq, numbering_pattern_errors
from plugin.core.wording import units

DEFAULT_PURCHASE_NUMBERING_PATTERN = "PO-{number}-{seq:03d}"  # {number}: the day, YYYYMMDD


class PurchasingError(ValueError):
    """Refused input: `reason` is a snake_case code, the message says what to change."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# --- suppliers and product links ----------------------------------------------------------


@dataclass(frozen=True)
class Supplier:
    """A supplier. `exchange_rate` is store currency per 1 unit of `currency`."""

    id: str
    name: str
    currency: str
    email: str = ""
    lead_time_days: int = 0
    minimum_order_value: Decimal = ZERO  # in `currency`; 0 = none
    exchange_rate: Decimal | None = None  # required when `currency` is not the store's
    notes: str = ""


@dataclass(frozen=True)
class SupplierProduct:
    """A product (or variation) a supplier sells: its SKU there, unit cost, pack and minimum."""

    supplier_id: str
    ref: ProductRef
    unit_cost: Decimal  # in the supplier's currency
    supplier_sku: str = ""
    pack_size: int = 1  # sold in multiples of this
    minimum_quantity: int = 0  # the least the supplier sells at once; 0 = no minimum
    preferred: bool = False


_CURRENCY = re.compile(r"[A-Z]{3}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_supplier(supplier: Supplier, store_currency: str) -> None:
    """Refuse a supplier that cannot be saved, saying what to change."""
    name = supplier.name.strip()
    if not name:
        raise PurchasingError("supplier_name_missing", "Give the supplier a name.")
    if not _CURRENCY.fullmatch(supplier.currency):
        raise PurchasingError(
            "supplier_currency_invalid",
            f"Supplier {name}: the currency must be a three-letter ISO code such as EUR, "
            f"not {supplier.currency!r}.",
        )
    if supplier.email and not _EMAIL.fullmatch(supplier.email):
        raise PurchasingError(
            "supplier_email_invalid",
            f"Supplier {name}: {supplier.email!r} is not an e-mail address; correct it or "
            "leave it empty.",
        )
    _whole(supplier.lead_time_days, f"Supplier {name}: the lead time in days")
    if not _is_amount(supplier.minimum_order_value) or supplier.minimum_order_value < 0:
        raise PurchasingError(
            "minimum_order_value_invalid",
            f"Supplier {name}: the minimum order value must be an amount of 0 or more "
            f"in {supplier.currency}.",
        )
    rate = supplier.exchange_rate
    if rate is not None and (not _is_amount(rate) or rate <= 0):
        raise PurchasingError(
            "exchange_rate_invalid",
            f"Supplier {name}: the exchange rate must be a number above 0 "
            f"({store_currency} per 1 {supplier.currency}).",
        )
    if supplier.currency != store_currency and rate is None:
        raise PurchasingError(
            "exchange_rate_missing",
            f"Supplier {name} invoices in {supplier.currency} and the store sells in "
            f"{store_currency}: enter an exchange rate ({store_currency} per 1 "
            f"{supplier.currency}) or change the supplier's currency.",
        )


def check_link(link: SupplierProduct) -> None:
    """Refuse a product link that cannot be saved, saying what to change."""
    what = f"{_label(link.ref)} at supplier {link.supplier_id}"
    if not _is_amount(link.unit_cost) or link.unit_cost < 0:
        raise PurchasingError(
            "unit_cost_invalid", f"{_cap(what)}: the unit cost must be an amount of 0 or more."
        )
    if _whole(link.pack_size, f"{_cap(what)}: the pack size") < 1:
        raise PurchasingError(
            "pack_size_invalid", f"{_cap(what)}: the pack size must be 1 or more."
        )
    _whole(link.minimum_quantity, f"{_cap(what)}: the minimum quantity")


@dataclass(frozen=True)
class Catalogue:
    """A store's suppliers and product links, checked together (see `link_for`)."""

    store_currency: str
    suppliers: tuple[Supplier, ...]
    links: tuple[SupplierProduct, ...]
    _suppliers: dict[str, Supplier] = field(init=False, repr=False, compare=False)
    _links: dict[ProductRef, list[SupplierProduct]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _CURRENCY.fullmatch(self.store_currency):
            raise PurchasingError(
                "store_currency_invalid",
                f"The store's currency must be a three-letter ISO code, not "
                f"{self.store_currency!r}.",
            )
        suppliers: dict[str, Supplier] = {}
        for supplier in self.suppliers:
            check_supplier(supplier, self.store_currency)
            if supplier.id in suppliers:
                raise PurchasingError(
                    "supplier_listed_twice", f"Supplier {supplier.id} is listed twice."
                )
            suppliers[supplier.id] = supplier
        links: dict[ProductRef, list[SupplierProduct]] = {}
        for link in self.links:
            check_link(link)
            if link.supplier_id not in suppliers:
                raise PurchasingError(
                    "unknown_supplier",
                    f"{_cap(_label(link.ref))} is linked to supplier {link.supplier_id}, "
                    "which does not exist: link it to an existing supplier.",
                )
            known = links.setdefault(link.ref, [])
            if any(other.supplier_id == link.supplier_id for other in known):
                raise PurchasingError(
                    "link_listed_twice",
                    f"{_cap(_label(link.ref))} is linked to supplier "
                    f"{suppliers[link.supplier_id].name} twice: keep one link.",
                )
            if link.preferred and any(other.preferred for other in known):
                raise PurchasingError(
                    "two_preferred_suppliers",
                    f"{_cap(_label(link.ref))} has more than one preferred supplier: "
                    "mark only one as preferred.",
                )
            known.append(link)
        object.__setattr__(self, "_suppliers", suppliers)
        object.__setattr__(self, "_links", links)

    def supplier(self, supplier_id: str) -> Supplier:
        """The supplier with id `supplier_id`."""
        return self._suppliers[supplier_id]

    def link_for(self, ref: ProductRef) -> SupplierProduct | Reason:
        """The link to buy `ref` from, or why there is none.

        A variation without links of its own is bought as its product is. Among several
        links the preferred one is used; a single link is used whether preferred or not.
        """
        links = self._links.get(ref)
        if not links and ref.variant_id is not None:
            links = self._links.get(ProductRef(ref.product_id))
        if not links:
            return Reason(
                "no_supplier", f"{_cap(_label(ref))} has no supplier: link one to order it."
            )
        preferred = [link for link in links if link.preferred]
        if preferred:
            return preferred[0]
        if len(links) == 1:
            return links[0]
        names = ", ".join(sorted(self._suppliers[link.supplier_id].name for link in links))
        return Reason(
            "no_preferred_supplier",
            f"{_cap(_label(ref))} has {len(links)} suppliers ({names}) and none is preferred: "
            "mark one as preferred.",
        )


def order_quantity(needed: int, pack_size: int, minimum_quantity: int) -> int:
    """`needed` rounded up to the minimum quantity and then to a whole number of packs."""
    if needed <= 0:
        return 0
    quantity = max(needed, minimum_quantity)
    return -(-quantity // pack_size) * pack_size


# --- purchase orders ----------------------------------------------------------------------


class PurchaseOrderStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PARTLY_RECEIVED = "partly_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


_TRANSITIONS: dict[PurchaseOrderStatus, frozenset[PurchaseOrderStatus]] = {
    PurchaseOrderStatus.DRAFT: frozenset({PurchaseOrderStatus.SENT, PurchaseOrderStatus.CANCELLED}),
    PurchaseOrderStatus.SENT: frozenset(
        {
            PurchaseOrderStatus.PARTLY_RECEIVED,
            PurchaseOrderStatus.RECEIVED,
            PurchaseOrderStatus.CANCELLED,
        }
    ),
    PurchaseOrderStatus.PARTLY_RECEIVED: frozenset(
        {
            PurchaseOrderStatus.PARTLY_RECEIVED,  # a further partial delivery
            PurchaseOrderStatus.RECEIVED,
            PurchaseOrderStatus.CANCELLED,  # the rest will not come
        }
    ),
    PurchaseOrderStatus.RECEIVED: frozenset(),
    PurchaseOrderStatus.CANCELLED: frozenset(),
}
OPEN_STATUSES = frozenset(
    {PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED}
)
_SENT_STATUSES = frozenset({PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED})


def check_transition(current: PurchaseOrderStatus, new: PurchaseOrderStatus) -> None:
    """Refuse moving a purchase order from `current` to `new` when that is not allowed."""
    if new in _TRANSITIONS[current]:
        return
    if current is PurchaseOrderStatus.CANCELLED:
        hint = "it is cancelled; draft a new purchase order instead"
    elif current is PurchaseOrderStatus.RECEIVED:
        hint = "it was received in full; record anything more on a new purchase order"
    elif current is PurchaseOrderStatus.DRAFT:
        hint = "it is a draft; send it first"
    else:
        hint = f"a {current.value.replace('_', ' ')} order goes on to received or cancelled"
    raise PurchasingError(
        "invalid_transition",
        f"A purchase order cannot go from {current.value.replace('_', ' ')} to "
        f"{new.value.replace('_', ' ')}: {hint}.",
    )


class Reservation(NamedTuple):
    """Units of a purchase order line reserved for one backorder order."""

    order_id: str
    units: int


class ReservedUnits(NamedTuple):
    """Units of a product reserved for a backorder order that arrived, were freed or shipped."""

    ref: ProductRef
    order_id: str
    units: int


@dataclass(frozen=True)
class PurchaseOrderLine:
    """One product on a purchase order. `reservations` hold outstanding units only."""

    ref: ProductRef
    quantity: int
    unit_cost: Decimal  # in the purchase order's currency
    supplier_sku: str = ""
    received: int = 0
    reservations: tuple[Reservation, ...] = ()  # in allocation order
    drop_ship: bool = False  # the supplier ships to the customers of `reservations`

    def __post_init__(self) -> None:
        what = _cap(_label(self.ref))
        _whole(self.quantity, f"{what}: the quantity ordered")
        _whole(self.received, f"{what}: the quantity received")
        if not _is_amount(self.unit_cost) or self.unit_cost < 0:
            raise PurchasingError(
                "unit_cost_invalid", f"{what}: the unit cost must be an amount of 0 or more."
            )
        seen: set[str] = set()
        for reservation in self.reservations:
            if _whole(reservation.units, f"{what}: units reserved") < 1:
                raise PurchasingError(
                    "reservation_invalid", f"{what}: a reservation must hold at least 1 unit."
                )
            if reservation.order_id in seen:
                raise PurchasingError(
                    "reservation_invalid",
                    f"{what}: backorder order {reservation.order_id} is reserved twice.",
                )
            seen.add(reservation.order_id)
        if self.reserved > self.outstanding:
            raise PurchasingError(
                "reservation_invalid",
                f"{what}: {self.reserved} units are reserved but only {self.outstanding} are "
                "still to come.",
            )

    @property
    def outstanding(self) -> int:
        """Units still to come."""
        return self.quantity - self.received if self.quantity > self.received else 0

    @property
    def reserved(self) -> int:
        """Units still to come that are reserved for backorder orders."""
        return sum(reservation.units for reservation in self.reservations)


@dataclass(frozen=True)
class PurchaseOrder:
    """A purchase order to one supplier. Its lines hold distinct products."""

    number: str
    supplier_id: str
    currency: str
    status: PurchaseOrderStatus
    lines: tuple[PurchaseOrderLine, ...]
    expected_date: dt.date | None = None  # set on sending, from the supplier's lead time

    def __post_init__(self) -> None:
        refs = [line.ref for line in self.lines]
        if len(set(refs)) != len(refs):
            raise PurchasingError(
                "line_listed_twice",
                f"Purchase order {self.number} lists a product twice: keep one line for it.",
            )
        if self.status is PurchaseOrderStatus.CANCELLED and any(
            line.reservations for line in self.lines
        ):
            raise PurchasingError(
                "reservation_invalid",
                f"Purchase order {self.number} is cancelled and can reserve nothing.",
            )
        for line in self.lines:
            if (
                line.drop_ship
                and line.reserved != line.outstanding
                and self.status in OPEN_STATUSES
            ):
                raise PurchasingError(
                    "reservation_invalid",
                    f"{_cap(_label(line.ref))}: every unit still to come on a drop-ship line goes "
                    f"to a backorder order ({line.outstanding} to come, {line.reserved} "
                    "reserved).",
                )

    @property
    def value(self) -> Decimal:
        """The order's value at cost, in its currency."""
        return sum(
            (_cost(line.quantity, line.unit_cost, self.currency) for line in self.lines), ZERO
        )

    def line(self, ref: ProductRef) -> PurchaseOrderLine | None:
        """The line of `ref`, if the order has one."""
        for line in self.lines:
            if line.ref == ref:
                return line
        return None


class Amendment(NamedTuple):
    """A purchase order after `cancel` or `shorten`, and the reservations that freed."""

    purchase_order: PurchaseOrder
    freed: tuple[ReservedUnits, ...]


@dataclass(frozen=True)
class Receipt:
    """What `apply_receipt` decided: the new state, the stock to add, what to tell."""

    purchase_order: PurchaseOrder
    stock_increase: tuple[tuple[ProductRef, int], ...]  # exactly the units received to stock
    arrived: tuple[ReservedUnits, ...]  # reservations met: those units are in stock now
    drop_shipped: tuple[ReservedUnits, ...]  # shipped by the supplier to these orders
    warnings: tuple[Reason, ...]


def send(order: PurchaseOrder, supplier: Supplier, today: dt.date) -> PurchaseOrder:
    """The draft `order` as sent to `supplier`, expected after the lead time unless dated."""
    check_transition(order.status, PurchaseOrderStatus.SENT)
    if order.supplier_id != supplier.id:
        raise PurchasingError(
            "wrong_supplier",
            f"Purchase order {order.number} is for supplier {order.supplier_id}, "
            f"not {supplier.name}.",
        )
    if not supplier.email:
        raise PurchasingError(
            "supplier_email_missing",
            f"Supplier {supplier.name} has no e-mail address: add one to send purchase "
            f"order {order.number}.",
        )
    if not any(line.quantity for line in order.lines):
        raise PurchasingError(
            "empty_purchase_order",
            f"Purchase order {order.number} orders nothing: add a quantity or cancel it.",
        )
    expected = order.expected_date or today + dt.timedelta(days=supplier.lead_time_days)
    return replace(order, status=PurchaseOrderStatus.SENT, expected_date=expected)


def reschedule(order: PurchaseOrder, expected_date: dt.date) -> PurchaseOrder:
    """`order` expected on `expected_date`; see `date_changes` for the backorders it moves."""
    _check_open(order, "change its expected date")
    return replace(order, expected_date=expected_date)


def cancel(order: PurchaseOrder) -> Amendment:
    """`order` cancelled: what is still to come will not come, its reservations are freed."""
    check_transition(order.status, PurchaseOrderStatus.CANCELLED)
    freed = tuple(
        ReservedUnits(line.ref, reservation.order_id, reservation.units)
        for line in order.lines
        for reservation in line.reservations
    )
    lines = tuple(replace(line, reservations=()) for line in order.lines)
    return Amendment(replace(order, status=PurchaseOrderStatus.CANCELLED, lines=lines), freed)


def shorten(order: PurchaseOrder, ref: ProductRef, quantity: int) -> Amendment:
    """`order` with the line of `ref` lowered to `quantity`; the last-served orders lose
    their reservations first. A line lowered to 0 is removed."""
    _check_open(order, "change its quantities")
    line = _line_of(order, ref)
    what = _cap(_label(ref))
    quantity = _whole(quantity, f"{what} on purchase order {order.number}: the new quantity")
    if quantity > line.quantity:
        raise PurchasingError(
            "not_a_shortening",
            f"{what}: purchase order {order.number} orders {line.quantity}; to order more "
            "than that, draft a new purchase order.",
        )
    if quantity < line.received:
        raise PurchasingError(
            "below_received",
            f"{what}: {line.received} units were received already on purchase order "
            f"{order.number}; the quantity cannot go below that.",
        )
    # What the shorter line still brings stays with the first-served orders.
    keep, freed = _take(line.reservations, quantity - line.received)
    lines = tuple(
        other if other.ref != ref else replace(line, quantity=quantity, reservations=keep)
        for other in order.lines
        if other.ref != ref or quantity > 0
    )
    if not lines:
        raise PurchasingError(
            "would_empty_purchase_order",
            f"Lowering {_label(ref)} to 0 leaves purchase order {order.number} empty: "
            "cancel the purchase order instead.",
        )
    status = order.status
    if status is PurchaseOrderStatus.PARTLY_RECEIVED and all(
        other.received >= other.quantity for other in lines
    ):
        status = PurchaseOrderStatus.RECEIVED
    shortened = replace(order, status=status, lines=lines)
    return Amendment(shortened, tuple(ReservedUnits(ref, r.order_id, r.units) for r in freed))


def apply_receipt(order: PurchaseOrder, received: Mapping[ProductRef, int]) -> Receipt:
    """Record the units of each product that arrived on `order` (partial receipts and
    over-receipts included); the stock increase is exactly the units received."""
    if order.status not in _SENT_STATUSES:
        reason = {
            PurchaseOrderStatus.DRAFT: ("purchase_order_not_sent", "it is a draft: send it"),
            PurchaseOrderStatus.CANCELLED: (
                "purchase_order_cancelled",
                "it is cancelled: record the delivery on an open purchase order, or add the "
                "units to stock directly",
            ),
            PurchaseOrderStatus.RECEIVED: (
                "purchase_order_received",
                "it was received in full: record further units on a new purchase order",
            ),
        }[order.status]
        raise PurchasingError(
            reason[0], f"No receipt can be recorded on purchase order {order.number}: {reason[1]}."
        )
    units: dict[ProductRef, int] = {}
    for ref, count in received.items():
        line = _line_of(order, ref)
        units[ref] = _whole(count, f"{_cap(_label(ref))}: the quantity received")
        if line.drop_ship and line.received + units[ref] > line.quantity:
            raise PurchasingError(
                "drop_ship_over_quantity",
                f"{_cap(_label(ref))}: purchase order {order.number} drop-ships "
                f"{line.quantity} units and {line.received} were shipped already; enter at "
                f"most {line.quantity - line.received}.",
            )
    if not any(units.values()):
        raise PurchasingError(
            "empty_receipt",
            f"Enter the units received for at least one line of purchase order {order.number}.",
        )
    lines: list[PurchaseOrderLine] = []
    stock: list[tuple[ProductRef, int]] = []
    arrived: list[ReservedUnits] = []
    shipped: list[ReservedUnits] = []
    warnings: list[Reason] = []
    for line in order.lines:
        count = units.get(line.ref, 0)
        if not count:
            lines.append(line)
            continue
        if count > line.outstanding:
            warnings.append(
                Reason(
                    "over_receipt",
                    f"{_cap(_label(line.ref))}: {line.received + count} units received of "
                    f"{line.quantity} ordered on purchase order {order.number}; the "
                    f"{count - line.outstanding} extra go to stock as well.",
                )
            )
        met, keep = _take(line.reservations, count)
        (shipped if line.drop_ship else arrived).extend(
            ReservedUnits(line.ref, r.order_id, r.units) for r in met
        )
        if not line.drop_ship:
            stock.append((line.ref, count))
        lines.append(replace(line, received=line.received + count, reservations=keep))
    status = (
        PurchaseOrderStatus.RECEIVED
        if all(line.received >= line.quantity for line in lines)
        else PurchaseOrderStatus.PARTLY_RECEIVED
    )
    check_transition(order.status, status)
    return Receipt(
        replace(order, status=status, lines=tuple(lines)),
        tuple(stock),
        tuple(arrived),
        tuple(shipped),
        tuple(warnings),
    )


def _check_open(order: PurchaseOrder, doing: str) -> None:
    if order.status not in OPEN_STATUSES:
        raise PurchasingError(
            "purchase_order_closed",
            f"Purchase order {order.number} is {order.status.value}: you cannot {doing}.",
        )


def _line_of(order: PurchaseOrder, ref: ProductRef) -> PurchaseOrderLine:
    line = order.line(ref)
    if line is None:
        raise PurchasingError(
            "unknown_line",
            f"{_cap(_label(ref))} is not on purchase order {order.number}.",
        )
    return line


def _take(
    reservations: tuple[Reservation, ...], units: int
) -> tuple[tuple[Reservation, ...], tuple[Reservation, ...]]:
    """Meet `units` of `reservations` first-served first: (met, still reserved)."""
    met: list[Reservation] = []
    rest: list[Reservation] = []
    for reservation in reservations:
        if units >= reservation.units:
            met.append(reservation)
            units -= reservation.units
        elif units > 0:
            met.append(Reservation(reservation.order_id, units))
            rest.append(Reservation(reservation.order_id, reservation.units - units))
            units = 0
        else:
            rest.append(reservation)
    return tuple(met), tuple(rest)


# --- proposal -----------------------------------------------------------------------------


class ReorderPoint(NamedTuple):
    """Stock the merchant keeps of a product besides what backorders wait for.

    The product's position is its free stock plus the units on open purchase orders less the
    units open backorder orders wait for. When the position falls below `point`, the proposal
    buys enough to bring it up to `up_to` (0: up to `point` itself): `needed = target -
    position`. With no reorder point (0) that is what backorders alone need: demand - free -
    on order.
    """

    point: int
    up_to: int = 0  # 0: the reorder point itself

    @property
    def target(self) -> int:
        """The position an order brings the product back to."""
        return self.up_to if self.up_to > self.point else self.point


def check_reorder_point(ref: ProductRef, reorder_point: ReorderPoint) -> ReorderPoint:
    """`reorder_point` if it can be saved for `ref`, else a refusal saying what to change."""
    what = _cap(_label(ref))
    point = _whole(reorder_point.point, f"{what}: the reorder point")
    up_to = _whole(reorder_point.up_to, f"{what}: the quantity to order up to")
    if up_to and up_to < point:
        raise PurchasingError(
            "order_up_to_below_reorder_point",
            f"{what}: the quantity to order up to ({up_to}) is below the reorder point "
            f"({point}); raise it to {point} or more, or leave it empty to order up to the "
            "reorder point.",
        )
    return ReorderPoint(point, up_to)


@dataclass(frozen=True)
class ProposalLine:
    """What to buy of one product, and why.

    `demand == covered_by_purchase + covered_by_stock + uncovered`: the units open backorder
    orders wait for are reserved on (or otherwise on) purchase orders, free in stock, or
    still to buy, for the orders in `covers`. `needed` brings the position (free + on order
    - demand) back to the reorder target (`ReorderPoint`), and `quantity` is `needed` rounded
    up to the supplier's minimum and pack size.
    """

    ref: ProductRef
    demand: int
    free: int  # its part of the free units of its stock figure (`share_free_units`)
    on_order: int
    reorder_point: int
    covered_by_purchase: int
    covered_by_stock: int
    needed: int  # reorder target - (free + on order - demand); only lines needing some
    quantity: int  # to order
    covers: tuple[Reservation, ...]  # backorder orders the new units are for, allocation order
    link: SupplierProduct | None  # None: listed apart, see `reason`
    value: Decimal  # quantity at unit cost, in the supplier's currency; 0 without a link
    reason: Reason
    stock_figure: ProductRef | None = None  # the figure it draws on when not its own
    reorder_target: int = 0  # the position `needed` brings it to: up-to quantity, else point

    @property
    def uncovered(self) -> int:
        """Units open backorders wait for that nothing covers yet."""
        return sum(reservation.units for reservation in self.covers)


@dataclass(frozen=True)
class SupplierGroup:
    """The proposal's lines to buy from one supplier, with their value."""

    supplier: Supplier
    lines: tuple[ProposalLine, ...]
    value: Decimal  # in the supplier's currency
    store_value: Decimal  # in the store's currency
    warnings: tuple[Reason, ...]


@dataclass(frozen=True)
class Proposal:
    """What to buy, grouped by supplier; products that cannot be bought listed apart."""

    store_currency: str
    groups: tuple[SupplierGroup, ...]  # by supplier name, then id
    unlinked: tuple[ProposalLine, ...]

    @property
    def lines(self) -> tuple[ProposalLine, ...]:
        """Every line that can be bought, in group order."""
        return tuple(line for group in self.groups for line in group.lines)


def plan_proposal(
    backorders: Iterable[OpenBackorder],
    free: Mapping[ProductRef, int],
    purchase_orders: Iterable[PurchaseOrder],
    catalogue: Catalogue,
    *,
    reorder_points: Mapping[ProductRef, ReorderPoint] | None = None,
    stock_figures: Mapping[ProductRef, ProductRef] | None = None,
) -> Proposal:
    """What to buy for the open `backorders` (and products kept in stock at a reorder point).

    `free` holds the free units of each stock figure (`model.free_units`), keyed as allocation
    keys them (`OpenLine.pool_ref`): products drawing on one figure share its units, counted
    once (`share_free_units`). `stock_figures` names the figure of a product that no open
    backorder names (one kept in stock at a reorder point), when not its own.
    `purchase_orders` may be all the store's: only open ones count. Products needing nothing
    are left out.
    """
    queue = _queue(backorders)
    waiting = _waiting(queue)
    reserved, on_order = _on_order(purchase_orders)
    kept = {ref: check_reorder_point(ref, rp) for ref, rp in (reorder_points or {}).items()}
    points = {ref: rp.point for ref, rp in kept.items()}
    figures = {**(stock_figures or {}), **_figures(queue)}
    shares = share_free_units(queue, free, reserved, points, figures)
    by_supplier: dict[str, list[ProposalLine]] = {}
    unlinked: list[ProposalLine] = []
    for ref in sorted(waiting.keys() | {r for r, p in points.items() if p}, key=_ref_key):
        figure = figures.get(ref, ref)
        line = _proposal_line(
            ref,
            waiting.get(ref, {}),
            shares.get(ref, 0),
            reserved.get(ref, {}),
            on_order.get(ref, 0),
            kept.get(ref, ReorderPoint(0)),
            catalogue,
            figure if figure != ref else None,
        )
        if line is None:
            continue
        if line.link is None:
            unlinked.append(line)
        else:
            by_supplier.setdefault(line.link.supplier_id, []).append(line)
    groups = [_group(catalogue, catalogue.supplier(s), tuple(ls)) for s, ls in by_supplier.items()]
    groups.sort(key=lambda g: (g.supplier.name, g.supplier.id))
    return Proposal(catalogue.store_currency, tuple(groups), tuple(unlinked))


def _queue(backorders: Iterable[OpenBackorder]) -> list[OpenBackorder]:
    """The open backorder orders in allocation order, each listed once."""
    queue = list(backorders)
    seen: set[str] = set()
    for backorder in queue:
        if backorder.created_at.tzinfo is None:
            raise PurchasingError(
                "naive_datetime", f"Order {backorder.order_id}: created_at must be timezone-aware."
            )
        if backorder.order_id in seen:
            raise PurchasingError(
                "order_listed_twice", f"Backorder order {backorder.order_id} is listed twice."
            )
        seen.add(backorder.order_id)
    queue.sort(key=queue_key)
    return queue


def _waiting(queue: Iterable[OpenBackorder]) -> dict[ProductRef, dict[str, int]]:
    """Units each open backorder order of `queue` waits for, per product, in queue order."""
    waiting: dict[ProductRef, dict[str, int]] = {}
    for backorder in queue:
        for line in backorder.lines:
            if line.quantity > 0:
                units = waiting.setdefault(line.ref, {})
                units[backorder.order_id] = units.get(backorder.order_id, 0) + line.quantity
    return waiting


def _figures(queue: Iterable[OpenBackorder]) -> dict[ProductRef, ProductRef]:
    """The stock figure each product of the open backorder orders draws on."""
    return {line.ref: line.pool_ref for backorder in queue for line in backorder.lines}


def share_free_units(
    queue: Iterable[OpenBackorder],
    free: Mapping[ProductRef, int],
    reserved: Mapping[ProductRef, Mapping[str, int]],
    reorder_points: Mapping[ProductRef, int],
    stock_figures: Mapping[ProductRef, ProductRef] | None = None,
) -> dict[ProductRef, int]:
    """Each product's part of the free units of the stock figure it draws on (`free`, keyed
    by `OpenLine.pool_ref`), so that products sharing one figure (a variation drawing on its
    parent's stock) count its units once between them, never once each.

    As allocation hands them out: to the units each open backorder order waits for beyond
    what purchase orders reserve for it (`reserved`, by product and order), orders in
    allocation order (`queue`, sorted), then to the reorder points of the products, in
    product order. A product no line names draws on the figure `stock_figures` gives it, else
    on its own. A product alone on its figure gets all the units that count for it: what is
    left after its demand and its reorder point changes nothing it needs.
    """
    left = {figure: units for figure, units in free.items() if units > 0}
    figures: dict[ProductRef, ProductRef] = dict(stock_figures or {})
    shares: dict[ProductRef, int] = {}

    def take(ref: ProductRef, figure: ProductRef, units: int) -> None:
        got = min(units, left.get(figure, 0))
        if got > 0:
            left[figure] -= got
            shares[ref] = shares.get(ref, 0) + got

    for backorder in queue:
        units: dict[ProductRef, int] = {}
        for line in backorder.lines:
            figures[line.ref] = line.pool_ref
            units[line.ref] = units.get(line.ref, 0) + max(line.quantity, 0)
        for ref, count in units.items():
            held = reserved.get(ref, {}).get(backorder.order_id, 0)
            take(ref, figures[ref], count - min(held, count))
    for ref in sorted(reorder_points, key=_ref_key):
        take(ref, figures.get(ref, ref), reorder_points[ref])
    return shares


def _on_order(
    purchase_orders: Iterable[PurchaseOrder],
) -> tuple[dict[ProductRef, dict[str, int]], dict[ProductRef, int]]:
    """Units reserved per product and backorder order, and units still to come per product,
    on the open purchase orders."""
    reserved: dict[ProductRef, dict[str, int]] = {}
    on_order: dict[ProductRef, int] = {}
    for order in purchase_orders:
        if order.status not in OPEN_STATUSES:
            continue
        for line in order.lines:
            on_order[line.ref] = on_order.get(line.ref, 0) + line.outstanding
            if line.reservations:
                held = reserved.setdefault(line.ref, {})
                for reservation in line.reservations:
                    held[reservation.order_id] = (
                        held.get(reservation.order_id, 0) + reservation.units
                    )
    return reserved, on_order


def _proposal_line(
    ref: ProductRef,
    waiting: Mapping[str, int],
    free: int,
    reserved: Mapping[str, int],
    on_order: int,
    reorder_point: ReorderPoint,
    catalogue: Catalogue,
    stock_figure: ProductRef | None,
) -> ProposalLine | None:
    free = free if free > 0 else 0
    demand = sum(waiting.values())
    position = free + on_order - demand
    if position >= reorder_point.point:
        return None
    needed = reorder_point.target - position
    covers: list[Reservation] = []
    covered_by_purchase = covered_by_stock = 0
    for cover in _cover(waiting, reserved, free, on_order):
        covered_by_purchase += cover.reserved + cover.on_order
        covered_by_stock += cover.in_stock
        if cover.short:
            covers.append(Reservation(cover.order_id, cover.short))
    found = catalogue.link_for(ref)
    if isinstance(found, Reason):
        link, quantity, value, reason = None, needed, ZERO, found
    else:
        link = found
        currency = catalogue.supplier(link.supplier_id).currency
        quantity = order_quantity(needed, link.pack_size, link.minimum_quantity)
        value = _cost(quantity, link.unit_cost, currency)
        reason = _proposal_reason(
            ref, demand, len(waiting), free, on_order, reorder_point, needed, quantity, link,
            stock_figure,
        )  # fmt: skip
    return ProposalLine(
        ref, demand, free, on_order, reorder_point.point, covered_by_purchase,
        covered_by_stock, needed, quantity, tuple(covers), link, value, reason, stock_figure,
        reorder_point.target if reorder_point.point else 0,
    )  # fmt: skip


class _Cover(NamedTuple):
    """How the units one backorder order waits for (of one product) are covered."""

    order_id: str
    reserved: int  # reserved for it on purchase orders
    in_stock: int  # free stock
    on_order: int  # units on purchase orders reserved for nobody
    short: int  # nothing yet


def _cover(
    waiting: Mapping[str, int], reserved: Mapping[str, int], free: int, on_order: int
) -> list[_Cover]:
    """Cover each order's units (`waiting`, allocation order) with its own reservations, then
    free stock, then units of `on_order` (all units still to come) reserved for nobody.

    Reservations beyond what an order still waits for (it was partly released, or it left)
    are reserved for nobody: they count with the units on order.
    """
    held = {order_id: min(reserved.get(order_id, 0), units) for order_id, units in waiting.items()}
    stock_left = free if free > 0 else 0
    unreserved = on_order - sum(held.values())
    covers: list[_Cover] = []
    for order_id, waiting_units in waiting.items():
        short = waiting_units - held[order_id]
        in_stock = short if short <= stock_left else stock_left
        stock_left -= in_stock
        short -= in_stock
        from_order = short if short <= unreserved else max(unreserved, 0)
        unreserved -= from_order
        covers.append(_Cover(order_id, held[order_id], in_stock, from_order, short - from_order))
    return covers


def _proposal_reason(
    ref: ProductRef,
    demand: int,
    orders: int,
    free: int,
    on_order: int,
    reorder_point: ReorderPoint,
    needed: int,
    quantity: int,
    link: SupplierProduct,
    stock_figure: ProductRef | None,
) -> Reason:
    parts = []
    if demand:
        parts.append(
            f"{units(demand)} wait on {orders} backorder order{'s' if orders != 1 else ''}"
        )
    if reorder_point.point and reorder_point.target > reorder_point.point:
        parts.append(f"reorder point {reorder_point.point}, ordered up to {reorder_point.target}")
    elif reorder_point.point:
        parts.append(f"{reorder_point.point} to keep in stock")
    if stock_figure is None:
        parts.append(f"{free} free in stock")
    else:
        parts.append(
            f"{free} free in stock ({_label(stock_figure)}'s stock, shared with other products)"
        )
    parts.append(f"{on_order} on order")
    why = f"{_cap(_label(ref))}: {', '.join(parts)}; {needed} needed"
    if quantity == needed:
        return Reason("to_order", f"{why}.")
    return Reason("to_order_rounded", f"{why}, {quantity} ordered ({_pack_rules(link, needed)}).")


def _pack_rules(link: SupplierProduct, units: int) -> str:
    """The supplier's rules that `units` does not meet, e.g. "minimum 10, packs of 6"."""
    rules = []
    if link.minimum_quantity > units:
        rules.append(f"minimum {link.minimum_quantity}")
    if units % link.pack_size:
        rules.append(f"packs of {link.pack_size}")
    return ", ".join(rules)


def _group(
    catalogue: Catalogue, supplier: Supplier, lines: tuple[ProposalLine, ...]
) -> SupplierGroup:
    value = sum((line.value for line in lines), ZERO)
    warning = _minimum_warning(supplier, value, "The proposal")
    return SupplierGroup(
        supplier,
        lines,
        value,
        _in_store_currency(value, supplier, catalogue.store_currency),
        (warning,) if warning else (),
    )


def _minimum_warning(supplier: Supplier, value: Decimal, what: str) -> Reason | None:
    if not supplier.minimum_order_value or value >= supplier.minimum_order_value:
        return None
    minimum = supplier.minimum_order_value.quantize(minor_unit(supplier.currency))
    return Reason(
        "below_minimum_order_value",
        f"{what} for {supplier.name} is worth {value} {supplier.currency}, below the "
        f"supplier's minimum order of {minimum} {supplier.currency}: add lines or raise "
        "quantities.",
    )


def _in_store_currency(value: Decimal, supplier: Supplier, store_currency: str) -> Decimal:
    if supplier.currency == store_currency or supplier.exchange_rate is None:
        return value
    return (value * supplier.exchange_rate).quantize(
        minor_unit(store_currency), rounding=ROUND_HALF_UP
    )


# --- drafting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Drafts:
    """Draft purchase orders, one per supplier, and what the merchant should look at."""

    purchase_orders: tuple[PurchaseOrder, ...]
    warnings: tuple[Reason, ...]


def draft_purchase_orders(
    proposal: Proposal,
    *,
    today: dt.date,
    taken_numbers: Collection[str],
    pattern: str = DEFAULT_PURCHASE_NUMBERING_PATTERN,
    products: Collection[ProductRef] | None = None,
    orders: Collection[str] | None = None,
    drop_ship: bool = False,
) -> Drafts:
    """Draft purchase orders for the selected lines of `proposal`, one per supplier.

    `products` selects lines (None: every line that can be bought); `orders` keeps only the
    units of those backorder orders, rounded again to packs and minimums. With `drop_ship`
    the supplier ships to the customers: exactly the orders' units, which `orders` must name.
    Numbers come from `pattern` with {number} the day (YYYYMMDD) and {seq} one past the
    purchase orders the store has (`taken_numbers`), as backorder orders are numbered.
    """
    errors = numbering_pattern_errors(pattern)
    if errors:
        raise PurchasingError(
            "numbering_pattern_invalid",
            f"The purchase order numbering pattern {pattern!r} is not valid: {' '.join(errors)} "
            "For purchase orders {number} is the day the order is drafted.",
        )
    if drop_ship and not orders:
        raise PurchasingError(
            "drop_ship_needs_orders", "Choose the backorder orders the supplier ships to."
        )
    _check_selection(proposal, products, orders)
    wanted_orders = set(orders) if orders is not None else None
    taken = set(taken_numbers)
    day = today.strftime("%Y%m%d")
    drafts: list[PurchaseOrder] = []
    warnings: list[Reason] = []
    for group in proposal.groups:
        lines = []
        for line in group.lines:
            if products is not None and line.ref not in products:
                continue
            drafted = _draft_line(line, wanted_orders, drop_ship, warnings)
            if drafted is not None:
                lines.append(drafted)
        if not lines:
            continue
        number = backorder_number(pattern, day, next_backorder_seq(pattern, day, taken))
        taken.add(number)
        draft = PurchaseOrder(
            number, group.supplier.id, group.supplier.currency, PurchaseOrderStatus.DRAFT,
            tuple(lines),
        )  # fmt: skip
        drafts.append(draft)
        warning = _minimum_warning(group.supplier, draft.value, f"Purchase order {number}")
        if warning:
            warnings.append(warning)
    if not drafts:
        raise PurchasingError(
            "nothing_to_order", "The selection has nothing left to buy: choose other lines."
        )
    return Drafts(tuple(drafts), tuple(warnings))


def _check_selection(
    proposal: Proposal, products: Collection[ProductRef] | None, orders: Collection[str] | None
) -> None:
    """Refuse a selection naming a product or backorder order the proposal cannot buy."""
    lines = {line.ref: line for line in proposal.lines}
    unlinked = {line.ref: line for line in proposal.unlinked}
    for ref in sorted(products or (), key=_ref_key):
        if ref in unlinked:
            raise PurchasingError(unlinked[ref].reason.code, unlinked[ref].reason.message)
        if ref not in lines:
            raise PurchasingError(
                "nothing_to_order",
                f"{_cap(_label(ref))} needs no purchase now: free stock and purchase orders "
                "cover it.",
            )
    chosen = [line for ref, line in lines.items() if products is None or ref in products]
    for order_id in sorted(orders or ()):
        if not any(r.order_id == order_id for line in chosen for r in line.covers):
            raise PurchasingError(
                "nothing_to_order",
                f"Backorder order {order_id} has nothing left to buy among the chosen "
                "products: free stock or purchase orders cover it, or its products have no "
                "supplier.",
            )


def _draft_line(
    line: ProposalLine, orders: set[str] | None, drop_ship: bool, warnings: list[Reason]
) -> PurchaseOrderLine | None:
    link = line.link
    assert link is not None  # grouped lines always have one
    covers = line.covers
    quantity = line.quantity
    if orders is not None:
        covers = tuple(r for r in covers if r.order_id in orders)
        covered = sum(r.units for r in covers)
        quantity = (
            covered if drop_ship else order_quantity(covered, link.pack_size, link.minimum_quantity)
        )
        if (
            drop_ship
            and covered
            and order_quantity(covered, link.pack_size, link.minimum_quantity) != covered
        ):
            warnings.append(
                Reason(
                    "drop_ship_off_pack",
                    f"{_cap(_label(line.ref))}: {units(covered)} to drop-ship, but the supplier "
                    f"sells {_pack_rules(link, covered)}: check that the supplier accepts it.",
                )
            )
    if not quantity:
        return None
    return PurchaseOrderLine(
        line.ref, quantity, link.unit_cost, link.supplier_sku, 0, covers, drop_ship
    )


# --- expected dates -----------------------------------------------------------------------

ExpectedDates = Mapping[tuple[str, ProductRef], dt.date | None]


class DateChange(NamedTuple):
    """A backorder line whose expected date moved."""

    order_id: str
    ref: ProductRef
    old: dt.date | None
    new: dt.date | None


def expected_dates(
    backorders: Iterable[OpenBackorder],
    free: Mapping[ProductRef, int],
    purchase_orders: Iterable[PurchaseOrder],
    manual_dates: Mapping[ProductRef, dt.date],
) -> dict[tuple[str, ProductRef], dt.date | None]:
    """When every unit each open backorder line waits for is expected, by (order id, product).
    `free` is keyed by stock figure, as for `plan_proposal`.

    Units reserved on a sent purchase order are expected on its date, units free stock
    covers (in allocation order) now, the others on the product's manual date. None when
    some units have no date; a line free stock covers whole is left out (it is released,
    not waited for). Drafts give no date: nothing was promised yet.
    """
    sent = [order for order in purchase_orders if order.status in _SENT_STATUSES]
    reserved, _ = _on_order(sent)
    queue = _queue(backorders)
    shares = share_free_units(queue, free, reserved, {})
    dated: dict[tuple[str, ProductRef], list[dt.date | None]] = {}
    for order in sent:
        for line in order.lines:
            for reservation in line.reservations:
                key = (reservation.order_id, line.ref)
                dated.setdefault(key, []).append(order.expected_date)
    dates: dict[tuple[str, ProductRef], dt.date | None] = {}
    for ref, waiting in _waiting(queue).items():
        # Nothing on order counts unless reserved: only a reservation gives a line a date.
        for cover in _cover(waiting, reserved.get(ref, {}), shares.get(ref, 0), 0):
            known = dated[(cover.order_id, ref)] if cover.reserved else []
            if cover.short:
                known = [*known, manual_dates.get(ref)]
            if known:
                dates[(cover.order_id, ref)] = (
                    None if None in known else max(d for d in known if d is not None)
                )
    return dates


def date_changes(old: ExpectedDates, new: ExpectedDates) -> tuple[DateChange, ...]:
    """Backorder lines present in both whose expected date differs, by order id and product."""
    changes = [
        DateChange(order_id, ref, old[(order_id, ref)], date)
        for (order_id, ref), date in new.items()
        if (order_id, ref) in old and old[(order_id, ref)] != date
    ]
    changes.sort(key=lambda change: (change.order_id, _ref_key(change.ref)))
    return tuple(changes)


# --- helpers ------------------------------------------------------------------------------


def _whole(value: object, what: str) -> int:
    """`value` if it is a whole number of 0 or more (an int), else a refusal naming `what`."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise PurchasingError("negative_quantity", f"{what} must be 0 or more, not {value}.")
        return value
    if (isinstance(value, Decimal) and value.is_finite() and value != int(value)) or (
        isinstance(value, float) and math.isfinite(value) and not value.is_integer()
    ):
        raise PurchasingError("fractional_quantity", f"{what} must be a whole number, not {value}.")
    raise PurchasingError("not_a_quantity", f"{what} must be a whole number, not {value!r}.")


def _is_amount(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def _cost(quantity: int, unit_cost: Decimal, currency: str) -> Decimal:
    return (unit_cost * quantity).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def _ref_key(ref: ProductRef) -> tuple[str, str]:
    return (ref.product_id, ref.variant_id or "")


def _label(ref: ProductRef) -> str:
    if ref.variant_id is None:
        return f"product {ref.product_id}"
    return f"product {ref.product_id} (variation {ref.variant_id})"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
