"""The platform-neutral domain: orders, stock, policies, and the split plan.

Everything here is immutable and standard-library only. Identifiers are strings so that
every platform (integer ids on WooCommerce, GIDs on Shopify) maps onto the same model.
Money is `Decimal`, quantised to the currency's minor unit (see `minor_unit`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

ZERO = Decimal("0")


class Status(StrEnum):
    """Canonical order statuses, after the source system of the backorder rules."""

    QUOTE = "quote"
    NEW = "new"
    ON_HOLD = "on_hold"
    NEW_BACKORDER = "new_backorder"
    BACKORDER_APPROVED = "backorder_approved"
    PICK = "pick"
    PACK = "pack"
    PENDING_DISPATCH = "pending_dispatch"
    DISPATCHED = "dispatched"
    CANCELLED = "cancelled"
    UNCOMMITTED = "uncommitted"


class PaymentState(StrEnum):
    UNPAID = "unpaid"
    AUTHORISED = "authorised"
    PAID = "paid"


class DeliveryCondition(StrEnum):
    """How a customer wants an order delivered when something is short."""

    SHIP_AVAILABLE = "ship_available"  # ship what is available now, backorder the rest
    LINES_COMPLETE = "lines_complete"  # a line ships only when its whole quantity is available
    WHOLE_ORDER = "whole_order"  # no split: the whole order waits


class BackorderMode(StrEnum):
    """A product's own backorder setting in the store: refused, taken and the customer told,
    or taken (each platform adapter maps its setting onto these)."""

    NO = "no"
    NOTIFY = "notify"
    YES = "yes"


class OversoldAction(StrEnum):
    """What to do with an order holding a short line that may not be backordered."""

    REPORT = "report"  # tell the merchant, leave the order as it is
    HOLD = "hold"  # tell the merchant and put the order On Hold


class Outcome(StrEnum):
    SPLIT = "split"  # a backorder order takes the short quantities
    HOLD = "hold"  # nothing moves; the order waits (whole-order delivery, or oversold + hold)
    NO_CHANGE = "no_change"  # nothing to do, or not allowed to do anything


class PaymentAction(StrEnum):
    """How the backorder order is paid."""

    CHARGE_ON_RELEASE = "charge_on_release"  # unpaid original: the customer pays when it ships
    PAID_FROM_ORIGINAL = "paid_from_original"  # paid original: no second charge


DEFAULT_ELIGIBLE_STATUSES = frozenset({Status.NEW, Status.ON_HOLD})
DEFAULT_NUMBERING_PATTERN = "{number}-{seq:03d}"

# ISO 4217 currencies whose minor unit is not 2 digits.
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency`, e.g. Decimal('0.01') for USD, Decimal('1') for JPY."""
    digits = _MINOR_UNITS.get(currency.upper(), 2)
    return Decimal(1).scaleb(-digits)


@dataclass(frozen=True)
class Address:
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address_1: str = ""
    address_2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Customer:
    id: str | None  # None for a guest checkout
    email: str = ""
    group: str = ""


class ProductRef(NamedTuple):
    """A product, or one variant of it: the unit stock is kept for.

    A named tuple, not a frozen dataclass: it keys every stock and policy lookup, and a
    tuple hashes and compares in C where a dataclass runs Python `__hash__` and `__eq__`.
    """

    product_id: str
    variant_id: str | None = None


@dataclass(frozen=True)
class Line:
    """An order line. `subtotal` is before discounts, `total` after; taxes likewise."""

    line_id: str
    product_id: str
    variant_id: str | None
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    subtotal: Decimal
    subtotal_tax: Decimal
    total: Decimal
    tax: Decimal

    @property
    def ref(self) -> ProductRef:
        return ProductRef(self.product_id, self.variant_id)

    @property
    def discount(self) -> Decimal:
        return self.subtotal - self.total


@dataclass(frozen=True)
class ShippingLine:
    line_id: str
    method_id: str
    method_title: str
    total: Decimal
    tax: Decimal = ZERO


@dataclass(frozen=True)
class FeeLine:
    line_id: str
    name: str
    total: Decimal
    tax: Decimal = ZERO


@dataclass(frozen=True)
class CouponLine:
    code: str
    discount: Decimal
    discount_tax: Decimal = ZERO


@dataclass(frozen=True)
class Links:
    """How an order relates to splits: set by the connector from the platform's records."""

    parent_id: str | None = None  # for a backorder order: its original
    is_backorder_order: bool = False  # created by Backorders as a backorder order
    split_count: int = 0  # how many splits were already made from this original
    # For a backorder order that is a part of its original (the units wait on that order
    # itself, e.g. Shopify's held fulfillment order): the original's number. Cancelling them
    # takes them off that order, which goes on; None when it is an order of its own.
    part_of: str | None = None
    # False when the platform cannot release part of this backorder order (Shopify's linked
    # backorder orders): it then waits until all its units are in, whatever the customer chose.
    releases_in_part: bool = True


@dataclass(frozen=True)
class Order:
    id: str
    number: str
    status: Status
    currency: str
    created_at: dt.datetime
    customer: Customer
    payment_state: PaymentState
    payment_method: str
    billing: Address
    shipping: Address
    lines: tuple[Line, ...]
    shipping_lines: tuple[ShippingLine, ...] = ()
    fees: tuple[FeeLine, ...] = ()
    coupons: tuple[CouponLine, ...] = ()
    total: Decimal = ZERO  # grand total as the platform reports it
    total_tax: Decimal = ZERO
    links: Links = field(default_factory=Links)
    delivery_override: DeliveryCondition | None = None  # per-order override, if any
    # When an authorised, uncaptured payment can no longer be captured (Shopify:
    # OrderTransaction.authorizationExpiresAt); None when there is none or it is not known.
    payment_expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class Stock:
    """Stock of one product/variant, as seen by the order being planned.

    `available` is the store's stock figure plus what the order itself already reduced (the
    connector adds it back); it may be negative on platforms that let stock go below zero.
    Units released to unpaid orders that the store gave back to its figure are still in it:
    `plan_split` takes those separately and counts them out (`free_units`).
    `open_backorder_qty` excludes the order being planned.

    `pool` names the stock figure this product draws on when it is not its own: on
    WooCommerce a variation whose parent keeps the stock (`manage_stock: "parent"`) draws on
    the parent's figure, shared by all such variations. Everything counted per figure (free
    units, held units, units on backorder) is keyed by `pool_ref`; products of one pool carry
    the same `available`, `backorders` and `open_backorder_qty`.
    """

    ref: ProductRef
    available: int
    managed: bool = True
    backorders: BackorderMode = BackorderMode.NO
    open_backorder_qty: int = 0
    pool: ProductRef | None = None  # None: the product keeps its own figure

    @property
    def pool_ref(self) -> ProductRef:
        """The key of the stock figure this product draws on."""
        return self.pool if self.pool is not None else self.ref


class StockFigure(NamedTuple):
    """The stock figure a product draws on (`Stock.pool_ref`) and its quantity, `None` when
    the store does not count that product's stock."""

    pool: ProductRef
    quantity: int | None


def free_units(figure: int, taken_by_candidates: int, held: int) -> int:
    """Units of a product that the orders being planned may have (README "Stock accounting").

    `figure` is the store's stock figure, `taken_by_candidates` what those orders themselves
    already took from it, and `held` the units released to unpaid orders still waiting for
    payment, which the store gave back to its figure but which are promised. Splitting (one
    order, `Stock.available` = figure + what it took) and allocation (the open backorder
    orders of a product) both count free units with this one rule, so neither hands out a
    unit the other promised. Every argument is per stock figure (`Stock.pool_ref`): products
    drawing on one figure share one count. Never below zero.
    """
    free = figure + taken_by_candidates - held
    return free if free > 0 else 0


@dataclass(frozen=True)
class StoreSettings:
    enabled: bool = True
    eligible_statuses: frozenset[Status] = DEFAULT_ELIGIBLE_STATUSES
    default_delivery: DeliveryCondition = DeliveryCondition.SHIP_AVAILABLE
    oversold_action: OversoldAction = OversoldAction.REPORT
    additional_shipping: Decimal = ZERO  # fixed charge added to each backorder order; 0 = none
    numbering_pattern: str = DEFAULT_NUMBERING_PATTERN  # fields: {number}, {seq}
    customer_note_on_split: bool = False  # a customer-visible order note: one more call a split


@dataclass(frozen=True)
class ProductPolicy:
    """Merchant's per-product policy. `allow_backorder=None` follows the platform's setting."""

    ref: ProductRef
    allow_backorder: bool | None = None
    cap: int | None = None  # most units that may be on backorder at once; None = no cap
    expected_date: dt.date | None = None
    message: str = ""


@dataclass(frozen=True)
class CustomerPolicy:
    customer_id: str
    delivery_condition: DeliveryCondition | None = None  # None = store default
    priority: int = 0  # higher is served first on release


@dataclass(frozen=True)
class Policies:
    """Everything the merchant decided that the planner needs for one order."""

    settings: StoreSettings = field(default_factory=StoreSettings)
    products: tuple[ProductPolicy, ...] = ()
    customer: CustomerPolicy | None = None


# Reason, Amounts and LinePlan are named tuples rather than frozen dataclasses: the planner
# makes a few of each per order line, and a frozen dataclass's __init__ (one
# object.__setattr__ per field) cost about four times as much as a named tuple's, most of
# the planner's time budget. They stay immutable values with the same fields, equality,
# hash and repr.


class Reason(NamedTuple):
    """One decision, machine-readable `code` plus a sentence a merchant understands."""

    code: str
    message: str
    line_id: str | None = None


class Amounts(NamedTuple):
    """Money of one line or one order part. All values quantised to the currency's minor unit."""

    subtotal: Decimal = ZERO
    subtotal_tax: Decimal = ZERO
    total: Decimal = ZERO
    tax: Decimal = ZERO


class LinePlan(NamedTuple):
    """What happens to one line. `keep + backorder == ordered`; `oversold + waiting <= keep`.

    `waiting` is only set when the whole order waits (Outcome.HOLD for whole-order delivery,
    or when nothing could ship now): nothing moves, so `backorder` stays 0 and `waiting` says
    how many of the kept units wait for stock.
    """

    line_id: str
    ref: ProductRef
    ordered: int
    keep: int  # stays on the original order
    backorder: int  # moves to the backorder order
    oversold: int  # of `keep`, units without stock that may not be backordered
    kept_amounts: Amounts
    moved_amounts: Amounts
    reason: Reason
    waiting: int = 0  # of `keep`, units the held original waits for (see docstring)


@dataclass(frozen=True)
class OrderTotals:
    """Totals of one order after the split: items (after discount) + tax + shipping + fees."""

    items: Decimal
    items_tax: Decimal
    discount: Decimal
    shipping: Decimal
    shipping_tax: Decimal
    fees: Decimal
    fees_tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class Plan:
    """The planner's answer for one order. Serialisable; no I/O went into making it."""

    order_id: str
    outcome: Outcome
    reasons: tuple[Reason, ...]
    lines: tuple[LinePlan, ...] = ()
    split_key: str | None = None  # deterministic; written on both orders
    backorder_number: str | None = None  # e.g. "1042-001"
    original_totals: OrderTotals | None = None
    backorder_totals: OrderTotals | None = None
    additional_shipping: Decimal = ZERO
    payment: PaymentAction | None = None
    moved_amount: Decimal = ZERO  # value of the backorder order (incl. additional shipping)
    hold_original: bool = False  # put the original On Hold
    alerts: tuple[Reason, ...] = ()  # for the merchant: oversold, cap reached

    @property
    def awaits_stock(self) -> bool:
        """True when the whole original waits for stock and is recorded as a backorder."""
        return any(line.waiting > 0 for line in self.lines)
