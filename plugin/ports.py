"""Every interface the use cases need, and the records they exchange through them.

The use cases (`plugin/usecases/`) are written against these and nothing else: a platform adapter
(`plugin/platforms/<name>/`), the SQL and Redis adapters (`plugin/adapters/`) and the in-memory
fakes of `tests/fakes.py` implement them. Names here are neutral: canonical statuses
(`plugin/core/model.py`), "release as paid / unpaid"; each platform adapter maps its own
vocabulary onto them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, runtime_checkable

from plugin.core.model import Order, Plan, Policies, ProductRef, Reason, Stock, StockFigure
from plugin.core.purchasing import PurchaseOrder, Receipt
from plugin.core.serialize import ref_from_dict

# --- events: what the inbox records ----------------------------------------------------------


class Topic(StrEnum):
    """What an inbox event says happened, in every platform's terms: a platform's webhooks map
    their own topics onto these (`plugin/platforms/<name>/webhooks.py`)."""

    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    PRODUCT_UPDATED = "product.updated"


ORDER_TOPICS = frozenset({Topic.ORDER_CREATED, Topic.ORDER_UPDATED})
PRODUCT_TOPICS = frozenset({Topic.PRODUCT_UPDATED})


def resource_of(topic: str) -> str:
    """The resource an event is about ("order", "product"): with its id, modification moment
    and content fingerprint it names one state in the inbox, whatever the topic."""
    return topic.partition(".")[0]


def moment_text(at: dt.datetime) -> str:
    """A moment as the inbox keys a resource state: UTC to the second, without an offset
    (`YYYY-MM-DDTHH:MM:SS`, also how WooCommerce writes `date_modified_gmt`)."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class ResourceState:
    """One state of an order or product, as a delivery or a listing reports it: the inbox keeps
    one event per state (its id, modification moment and content fingerprint)."""

    resource_id: str
    modified_gmt: dt.datetime
    fingerprint: str
    # The products an order delivery names (its lines), so a job can read their stock with the
    # order (`SplitPlatform.read_order_and_products`); empty when the platform does not say.
    products: tuple[ProductRef, ...] = ()


@dataclass(frozen=True)
class OrderChange:
    """One order seen by reconciliation: enough to build an inbox event."""

    order_id: str
    modified_gmt: dt.datetime
    status: str  # the platform's own status name
    # The content's fingerprint, as the webhook computes it for the same order state, so both
    # give one inbox key (e.g. plugin/platforms/woocommerce/fingerprint.py).
    fingerprint: str


# --- the split ledger ----------------------------------------------------------------------------


class SplitState:
    """States of a split, in order. A split only moves forward."""

    PLANNED = "planned"
    BACKORDER_CREATED = "backorder_created"
    ORIGINAL_UPDATED = "original_updated"
    NOTED = "noted"
    DONE = "done"
    FAILED = "failed"  # permanent error; recorded for the merchant, not retried


SPLIT_FINISHED = (SplitState.DONE, SplitState.FAILED)


@dataclass(frozen=True)
class SplitRecord:
    store_id: int
    original_order_id: str
    split_key: str
    state: str
    plan: Mapping[str, object]  # the serialised Plan
    backorder_order_id: str | None = None
    create_attempted: bool = False  # a create call may have reached the platform
    error: str | None = None
    payment_expires_at: dt.datetime | None = None  # the order's authorisation lapses then


class SplitLedger(Protocol):
    """Persistent split state machine, keyed by (store_id, split_key)."""

    def get(self, store_id: int, split_key: str) -> SplitRecord | None: ...

    def start(
        self,
        store_id: int,
        original_order_id: str,
        split_key: str,
        plan: Mapping[str, object],
        *,
        payment_expires_at: dt.datetime | None = None,
    ) -> SplitRecord:
        """Insert in state PLANNED (with when the order's authorisation lapses, when it has
        one), or return the existing record for that key."""
        ...

    def mark_create_attempted(self, store_id: int, split_key: str) -> None:
        """Committed before the create call, so a retry knows to look for the order first."""
        ...

    def advance(
        self,
        store_id: int,
        split_key: str,
        state: str,
        *,
        backorder_order_id: str | None = None,
        error: str | None = None,
    ) -> None: ...

    def for_order(self, store_id: int, order_id: str) -> list[SplitRecord]:
        """Splits whose original or backorder order is `order_id`."""
        ...


@dataclass(frozen=True)
class ExpiringPayment:
    """A split whose order's card authorisation lapses while its backorder still waits."""

    store_id: int
    split_key: str
    original_order_id: str
    backorder_order_id: str
    backorder_number: str
    expires_at: dt.datetime


class PaymentExpiries(Protocol):
    """Authorisations recorded at split time (`SplitLedger.start`), for the merchant's warning."""

    def expiring(self, before: dt.datetime) -> list[ExpiringPayment]:
        """Finished splits whose authorisation lapses before `before`, whose backorder was not
        released and whose merchant was not warned yet, soonest first."""
        ...

    def claim_expiry_warning(
        self, payment: ExpiringPayment, at: dt.datetime, *, alert_kind: str, message: str
    ) -> bool:
        """Mark the split's merchant warned at `at` and record the merchant's alert, in one
        transaction: False, and nothing written, when another run did it first; a crash in
        between writes neither, so the next run warns."""
        ...


# --- the release ledger --------------------------------------------------------------------------


class ReleaseAs(StrEnum):
    """How a released order goes on: paid (it ships now) or unpaid (the customer pays first).

    The values are how the release ledger has always stored them (`releases.target_status`,
    WooCommerce's status names from before there was a second platform); each platform adapter
    maps them onto its own statuses (`Platform.release_order`).
    """

    PAID = "processing"
    UNPAID = "pending"


class ReleaseState:
    """States of a release, in order; a release only moves forward."""

    PLANNED = "planned"
    STATUS_SET = "status_set"
    DONE = "done"
    SETTLED = "settled"  # an unpaid release whose units no longer need holding back
    GONE = "gone"  # the order no longer exists in the store: nothing to release or hold back


# A release is over in these states: nothing more to write, nothing to resume.
RELEASE_FINISHED = (ReleaseState.DONE, ReleaseState.SETTLED, ReleaseState.GONE)


@dataclass(frozen=True)
class ReleaseRecord:
    store_id: int
    release_key: str
    order_id: str
    state: str
    target_status: str  # a ReleaseAs value
    lines: tuple[Mapping[str, Any], ...]  # {line_id, product_id, variant_id, units[, pool]}
    payment_url: str | None = None


def release_pool(line: Mapping[str, Any]) -> ProductRef:
    """The stock figure a release line draws on (its own product's, unless it names one)."""
    pool = line.get("pool")
    if isinstance(pool, Mapping) and pool.get("product_id"):
        return ref_from_dict(pool)
    return ProductRef(str(line["product_id"]), line.get("variant_id") or None)


class ReleaseLedger(Protocol):
    def backorder_orders_for(self, store_id: int, ref: ProductRef) -> list[str]: ...

    def get(self, store_id: int, release_key: str) -> ReleaseRecord | None: ...

    def for_order(self, store_id: int, order_id: str) -> list[ReleaseRecord]: ...

    def released_to_pay(self, store_id: int) -> list[ReleaseRecord]: ...

    def start(
        self,
        store_id: int,
        release_key: str,
        order_id: str,
        target_status: str,
        lines: Sequence[Mapping[str, Any]],
    ) -> ReleaseRecord: ...

    def advance(
        self, store_id: int, release_key: str, state: str, *, payment_url: str | None = None
    ) -> None: ...


# --- the cancellation ledger ---------------------------------------------------------------------


class CancelState:
    """States of a cancellation, in order; a cancellation only moves forward."""

    REQUESTED = "requested"
    WRITTEN = "written"  # the store has the change (line removed or order cancelled)
    NOTED = "noted"  # the backorder order has its note
    DONE = "done"  # the original has its note too


@dataclass(frozen=True)
class CancellationRecord:
    store_id: int
    cancel_key: str
    backorder_order_id: str
    original_order_id: str
    line_id: str  # the original's line id (the split plan's line)
    product_id: str
    variant_id: str | None
    quantity: int
    reason: str
    requested_by: str
    state: str
    write_attempted: bool = False
    attempt: int = 1
    outcome: Mapping[str, Any] | None = None
    error: str | None = None
    created_at: dt.datetime | None = None
    units: int | None = None  # units to cancel; None: the whole line

    @property
    def ref(self) -> ProductRef:
        return ProductRef(self.product_id, self.variant_id)

    @property
    def is_held_whole(self) -> bool:
        """A line of an original that waits whole for stock (`core.split.hold_key`): the order
        it is cancelled on is the original itself."""
        return self.backorder_order_id == self.original_order_id

    @property
    def is_open(self) -> bool:
        """Still to be carried out (not done, not stopped with an error)."""
        return self.state != CancelState.DONE and self.error is None

    @property
    def units_taken_off(self) -> int:
        """The units this cancellation took off a line it kept (done, some units): what waits
        on the line is lowered by them (`core.cancellation.after_cancels`); else 0."""
        if self.state != CancelState.DONE or not (self.outcome or {}).get("reduces_line"):
            return 0
        return self.units or 0

    @property
    def removes_line(self) -> bool:
        """The line is cancelled or being cancelled: only a refusal before the write keeps it.
        A cancellation of some units keeps the line (unless it asked for all it had left)."""
        if self.error is not None and not self.write_attempted:
            return False
        if self.units is None:
            return True
        return self.outcome is not None and not self.outcome.get("reduces_line")


class CancellationLedger(Protocol):
    def get(self, store_id: int, cancel_key: str) -> CancellationRecord | None: ...

    def mark_write_attempted(
        self, store_id: int, cancel_key: str, outcome: Mapping[str, Any]
    ) -> None: ...

    def advance(
        self,
        store_id: int,
        cancel_key: str,
        state: str,
        *,
        outcome: Mapping[str, Any] | None = None,
    ) -> None: ...

    def fail(self, store_id: int, cancel_key: str, error: str) -> None: ...


# --- free units: the platform's answer -----------------------------------------------------------


class PromiseState(StrEnum):
    """What became of units released to an order awaiting payment (a `Promise`)."""

    HOLDING = "holding"  # in the store's stock figure, but promised: not free for anyone else
    SETTLED = "settled"  # nothing held any more (paid, or cancelled)
    GONE = "gone"  # the order no longer exists in the store


@dataclass(frozen=True)
class Promise:
    """Units we released to an order that has not paid yet (a release record's lines)."""

    order_id: str
    lines: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class HeldUnits:
    """The units of some promises still held, per stock figure, and each promise's state."""

    held: Mapping[ProductRef, int] = field(default_factory=dict)
    states: Mapping[str, PromiseState] = field(default_factory=dict)  # by order id


@dataclass(frozen=True)
class FreeUnits:
    """Units free for a set of waiting orders, per stock figure (README "Stock accounting"): the
    store's figure, plus what those orders already took from it, less the units promised to
    orders awaiting payment. `pools` names the figure each product of theirs draws on."""

    free: Mapping[ProductRef, int]
    pools: Mapping[ProductRef, ProductRef]
    promises: HeldUnits = field(default_factory=HeldUnits)


# --- what the use cases need of a store -----------------------------------------------------


@dataclass(frozen=True)
class WebhookInfo:
    """One of our webhook subscriptions on a store."""

    id: str
    topic: str
    status: str  # active | paused | disabled (disabled: the store stopped delivering it)
    delivery_url: str


class HeldStockPlatform(Protocol):
    """The units promised to released unpaid orders, as the store counts them
    (`plugin.usecases.releasing.held_by_unpaid_releases`)."""

    def held_units(self, promises: Sequence[Promise]) -> HeldUnits:
        """The units of `promises` the store's figures count but which are promised, and what
        became of each promise (one read for all of them, none for no promise)."""
        ...


# At most this many requests of one split are in flight at once (`read_order_and_products`):
# each still waits for its slot of the store's shared rate limiter.
MAX_CONCURRENT_READS = 2


@dataclass(frozen=True)
class ProductReading:
    """The store's stock records of some products, read before their order was (a webhook
    delivery named them): `SplitPlatform.get_stock` turns them into stock seen from the order.

    `refs` are the products asked for; `records` holds, per product the store still has, the
    platform's own record (opaque to the use cases, which only pass a reading on).
    """

    refs: frozenset[ProductRef] = frozenset()
    records: Mapping[ProductRef, object] = field(default_factory=dict)

    def without(self, refs: Collection[ProductRef]) -> ProductReading:
        """This reading less `refs` (a later `get_stock` reads them again)."""
        dropped = set(refs)
        return ProductReading(
            self.refs - dropped,
            {ref: record for ref, record in self.records.items() if ref not in dropped},
        )


class SplitPlatform(HeldStockPlatform, Protocol):
    """What splitting an order (and holding it whole) needs from a store."""

    def get_order(self, order_id: str) -> Order: ...

    def read_order_and_products(
        self, order_id: str, products: Collection[ProductRef]
    ) -> tuple[Order, ProductReading]:
        """`get_order` and the stock records of `products` at the same time (the products a
        delivery of the order named; at most `MAX_CONCURRENT_READS` requests in flight, each
        through the store's rate limiter): one round trip where reading the order, then its
        stock, takes two. Either read failing raises its error."""
        ...

    def get_stock(
        self, order: Order, read: ProductReading | None = None
    ) -> Mapping[ProductRef, Stock]:
        """Stock of every product of `order`, seen from that order: the products `read`
        asked for from it, the others in one request (none when `read` covers them all)."""
        ...

    def find_backorder_order(self, original_id: str, split_key: str) -> str | None:
        """The id of an existing backorder order made for `split_key`, if any."""
        ...

    def write_split(
        self, original: Order, plan: Plan, *, backorder_order_id: str | None, summary: str = ""
    ) -> str:
        """Create the backorder order (unless `backorder_order_id` exists already), recording
        `summary` on it for the merchant, and update the original. Returns the backorder
        order's id."""
        ...

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None: ...

    def set_status(self, order_id: str, canonical_status: str) -> None: ...


class ReconcilePlatform(Protocol):
    """What reconciling a store reads: the orders changed since a moment, and our webhooks."""

    def orders_modified_since(self, since: dt.datetime) -> Iterable[OrderChange]: ...


class WebhookSubscriptions(Protocol):
    """The store's webhook subscriptions (ours only)."""

    def list_webhooks(self) -> list[WebhookInfo]: ...

    def activate_webhook(self, webhook_id: str) -> None: ...


class ResplitPlatform(Protocol):
    """What splitting a backorder order again needs from a store."""

    def get_order(self, order_id: str) -> Order: ...

    def backorder_numbers(self, original_id: str) -> list[str]:
        """The numbers (`1042-001`, ...) of every backorder order of an original."""
        ...

    def find_backorder_order(self, original_id: str, split_key: str) -> str | None:
        """The original's backorder order written under `split_key`, if any."""
        ...

    def write_resplit(self, backorder: Order, plan: Plan, *, new_order_id: str | None) -> str:
        """Create the new backorder order (unless `new_order_id` exists) and reduce
        `backorder` to what ships now; returns the new order's id."""
        ...

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None: ...


class ReleasePlatform(HeldStockPlatform, ResplitPlatform, Protocol):
    """What releasing needs from a store (splitting a backorder order again included)."""

    def get_order(self, order_id: str) -> Order: ...

    def waiting_since(self, order_id: str) -> dt.datetime | None:
        """Since when the units of an order read by `get_order` wait, when that is earlier
        than its creation (an order made by a re-split keeps its place in the queue)."""
        ...

    def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        """Several orders in one read (per 100), in the order asked; an order the store no
        longer has is left out."""
        ...

    def stock_figure(self, ref: ProductRef) -> StockFigure:
        """The stock figure that `ref` draws on (its key, shared by variations whose parent
        keeps the stock) and its quantity, None when the store does not count it."""
        ...

    def free_units(self, waiting: Sequence[Order], promises: Sequence[Promise]) -> FreeUnits:
        """Units free for the `waiting` orders per stock figure of their products: what they
        took themselves counts for them, `promises` against them (README "Stock
        accounting"). One read per product, and one for the promises."""
        ...

    def release_order(self, order_id: str, release_as: str, release_key: str) -> str | None:
        """Move a held order on, paid or unpaid (a `ReleaseAs`; no write when it is no longer
        on hold, so a repeat never undoes a later change); returns its payment link when it
        must be paid."""
        ...

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None: ...


class CancelPlatform(Protocol):
    """What cancelling a backorder line needs from a store."""

    def get_order(self, order_id: str) -> Order: ...

    def original_line_ids(self, order_id: str) -> Mapping[str, str]:
        """The original's line id per line id of a backorder order read by `get_order`."""
        ...

    def remove_line(self, order_id: str, line_id: str) -> str | None:
        """Remove a line (no write when it is gone already); returns the order's new total."""
        ...

    def reduce_line(
        self, order_id: str, line_id: str, quantity: int, subtotal: Decimal, total: Decimal
    ) -> str | None:
        """Set a line to `quantity` units with these amounts (no write when it has that
        quantity already), giving back the stock of the units taken off; returns the order's
        new total."""
        ...

    def cancel_order(self, order_id: str) -> bool:
        """Cancel every unit a held order still waits for (no write when it is cancelled
        already): True when the order itself is cancelled in the store; False when it is a part
        of its original (`Links.part_of`) that goes on without them."""
        ...

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None: ...


class Catalogue(Protocol):
    """What the merchant pages, the storefront widget and the bulk change read and write."""

    def list_products(
        self, *, search: str, stock_status: str, backorders: str, limit: int
    ) -> list[CatalogueItem]: ...

    def list_variations(self, product_id: int, *, limit: int) -> list[CatalogueItem]: ...

    def set_backorders(self, ref: ProductRef, value: str) -> None:
        """Set the store's own backorder setting of a product or variation (no write when it
        has that value)."""
        ...

    def list_customers(self, *, search: str, limit: int) -> list[CustomerEntry]: ...

    def order_summaries(self, order_ids: Iterable[str]) -> dict[str, OrderSummary]: ...

    def shelf_products(self, product_ids: Sequence[int]) -> dict[int, ShelfItem | None]:
        """Published products among `product_ids` (one read); None for any other id."""
        ...

    def shelf_variations(
        self, product_id: int, variation_ids: Sequence[int], public: Sequence[int]
    ) -> dict[int, ShelfItem]:
        """Published variations among `variation_ids` of public product `product_id` whose
        public variation ids are `public` (one read)."""
        ...

    def expand_products(self, product_ids: Sequence[int]) -> list[tuple[int, int | None]]:
        """Each product and, after a variable one, each of its variations (one read per 100)."""
        ...

    def write_backorders(
        self, items: Sequence[tuple[int, int | None]], value: str
    ) -> Iterator[list[BackorderOutcome]]:
        """Set the backorder setting of each item, in the platform's natural groups; yields
        the outcomes of each group once it is written."""
        ...


class AdminLinks(Protocol):
    def order_admin_url(self, order_id: str) -> str:
        """The order's page in the store's own admin."""
        ...


class StockLocations(Protocol):
    def stock_elsewhere(self, order_ids: Sequence[str]) -> Mapping[tuple[str, ProductRef], int]:
        """Units available at locations that do not fulfil each waiting (backorder) order, per
        (order, product) where there are any: stock that exists, which allocation never takes
        for it (the backorders page marks it blue). Empty on a platform that keeps one stock
        figure per product."""
        ...


class Platform(
    SplitPlatform,
    ReconcilePlatform,
    WebhookSubscriptions,
    ReleasePlatform,
    CancelPlatform,
    Catalogue,
    AdminLinks,
    StockLocations,
    Protocol,
):
    """A store's API in domain terms: everything the use cases need of it. Raises the
    TransientError / PermanentError families (`plugin/errors.py`)."""


# --- what the merchant pages, the widget and the bulk change read and write ----------------


@dataclass(frozen=True)
class OrderSummary:
    """An order as the merchant pages show it, read leniently (a page never fails on a field)."""

    order_id: str
    number: str
    status: Any  # the canonical `Status`
    # The platform's own name of its status, as its admin shows it to the merchant (never a raw
    # slug: each adapter names its statuses, e.g. "On hold (waiting for stock)").
    store_status: str
    currency: str
    customer: str  # name, else e-mail, else "customer <id>"
    line_names: Mapping[tuple[str, str | None], str]  # (product id, variant id) -> line name
    lines: Mapping[str, str]  # line id -> name
    original_lines: Mapping[str, str]  # for a backorder order: the original's line id -> name
    # For a backorder order that is a part of its original (`Links.part_of`): its number.
    part_of: str | None = None

    def product_name(self, product_id: str, variant_id: str | None) -> str | None:
        """The name of the order's line of a product (any variation when none is named)."""
        for (product, variation), name in self.line_names.items():
            if product == product_id and variant_id in (None, variation):
                return name
        return None


@dataclass(frozen=True)
class CatalogueItem:
    """A product or variation as the products page lists it. `stock_status` and `backorders`
    are the platform's own values (its `STOCK_STATUSES` and `BACKORDER_CHOICES`)."""

    id: int
    name: str
    sku: str
    type: str  # the platform's product type; "variable" has variations
    manage_stock: bool
    stock_quantity: int | None
    stock_status: str
    backorders: str
    variable: bool = False


@dataclass(frozen=True)
class CustomerEntry:
    """A customer of the store as the customers page lists it."""

    id: int
    first_name: str
    last_name: str
    email: str
    username: str


@dataclass(frozen=True)
class ShelfItem:
    """What a shopper sees of a published product or variation (the storefront widget): its
    stock figure, whether the store takes backorders and, for a product, its public
    variations. `ref` is how Backorders' own records (policies, open backorders, purchase
    orders) name it when that is not (product id, variation id): a Shopify page names a
    variant, the records its inventory item."""

    id: int
    figure: StockFigure
    counted_in_stock: bool  # not counted by the store, and shown as in stock
    backorders_allowed: bool
    variation_ids: tuple[int, ...] = ()
    ref: ProductRef | None = None


@dataclass(frozen=True)
class BackorderOutcome:
    """What a bulk change of the backorder setting did to one product or variation."""

    product_id: int
    variation_id: int | None
    ok: bool
    message: str


@dataclass(frozen=True)
class BulkJob:
    """A bulk change of the backorder setting as recorded: what it sets, on which products,
    and how far it got. `items` (each product, then each variation of a variable product) is
    None until the job has read the products."""

    job_id: str
    store_id: int
    value: str
    product_ids: list[int]
    items: list[dict[str, int]] | None
    total: int
    done: int
    failed: int
    status: str  # queued | running | finished | failed
    error: str = ""


class BulkJobs(Protocol):
    """Where bulk changes are recorded, queued and followed (kept for a day)."""

    def start(self, store_id: int, value: str, product_ids: list[int]) -> str:
        """Record a queued job and queue it for a worker; its id."""
        ...

    def get(self, job_id: str) -> BulkJob | None:
        """The job, or None when unknown or expired (or `job_id` is not one of ours)."""
        ...

    def outcomes(self, job_id: str) -> list[dict[str, Any]]: ...

    def set_status(self, job_id: str, status: str, error: str = "") -> None: ...

    def plan(self, job_id: str, items: list[dict[str, int]]) -> None:
        """Keep the items the job will write (a retry reads them back) and their number."""
        ...

    def record(self, job_id: str, outcomes: list[dict[str, Any]], failed: int) -> None:
        """Append `outcomes`, count them done, and set the failures so far, together."""
        ...


# --- the platform itself (not bound to a store) ---------------------------------------------------


@dataclass(frozen=True)
class StoreAccess:
    """What opening a store's `Platform` needs: where, with which keys and under which limit."""

    store_id: int
    base_url: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    webhook_ids: tuple[int, ...] = ()
    public_url: str = ""  # where our webhooks are delivered (ours are those pointing here)
    throttle: Callable[[], None] | None = None
    # Holds every worker's requests to the store for some seconds (`StoreRateLimiter.pause`):
    # a platform whose answers say its budget runs low holds them all back before the store
    # refuses (Shopify's cost bucket).
    pause: Callable[[float], object] | None = None
    timeout: float = 30.0
    allow_private_addresses: bool = False
    # The store's choice among the driver's `split_modes` ('' = the platform's default).
    split_mode: str = ""


class Delivery(Protocol):
    """One webhook delivery as the route read it."""

    @property
    def body(self) -> bytes: ...

    def header(self, name: str) -> str | None: ...


class Rejected(Exception):
    """A webhook guard's answer: status code and a short reason (never the payload)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class StoreSentError(Exception):
    """A signed delivery whose payload is the store's own error instead of the resource (e.g.
    WooCommerce's `rest_no_route` when it could not read the order it delivers): it names
    nothing to record, and it is not the sender's mistake. Answered 200, so the store does not
    count a failure against its webhook; reconciliation finds the change."""

    def __init__(self, code: str, status: int | None) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


class DeliveryTopic(NamedTuple):
    """A delivery's topic as the platform sent it (`name`), the neutral topic it becomes (None:
    no work for us, answered 204), and whether it is one we know needs none (for the log).

    `uninstalled_from` names the account (the store's consumer key: Shopify's shop name) of a
    delivery saying our app was uninstalled there: the route disconnects that store at once
    (its token is revoked already), when the account is the store's."""

    name: str
    topic: Topic | None
    ignored: bool
    uninstalled_from: str | None = None


class Webhooks(Protocol):
    """A platform's deliveries: ping, signature, topic and payload (`webhooks/receive.py`)."""

    def is_ping(self, delivery: Delivery) -> bool: ...

    def verify(self, secret: str, delivery: Delivery) -> bool:
        """True when the delivery is signed with `secret`; constant time, never raises."""
        ...

    def topic(self, delivery: Delivery) -> DeliveryTopic:
        """The delivery's topic; raises Rejected when it names none."""
        ...

    def parse(self, topic: str, delivery: Delivery) -> ResourceState:
        """The resource state a delivery reports; raises Rejected (400) for a bad payload."""
        ...


class StoreConnection(Protocol):
    """A store reached with keys being connected (before it has a row and a rate limit)."""

    def check_credentials(self) -> None:
        """One cheap authenticated read; InvalidKeys / ConnectError when it fails."""
        ...

    def register_webhooks(self, *, delivery_url: str, secret: str) -> list[int]:
        """Subscribe to every topic we need; on failure delete what was made and re-raise."""
        ...

    def delete_webhooks(self, webhook_ids: Iterable[int]) -> list[int]:
        """Delete our webhooks; the ids that could not be deleted (gone already is fine)."""
        ...

    def webhooks_intact(self, webhook_ids: Iterable[int], delivery_url: str) -> bool:
        """Every recorded webhook still exists, is active and points at us."""
        ...


@dataclass(frozen=True)
class AppKeys:
    """Keys a store sent to our callback at the end of its app authorization."""

    consumer_key: str
    consumer_secret: str
    user_id: str  # the state we sent, echoed back
    key_permissions: str = ""
    key_id: int | None = None


class NonceClaims(Protocol):
    def claim(self, nonce: str, ttl_seconds: int) -> bool:
        """True the first time `nonce` is claimed, False ever after (within the TTL)."""
        ...


class AppCredentials(Protocol):
    """Our public app's credentials on one platform (`Config.platform_app`), empty when none is
    configured."""

    @property
    def client_id(self) -> str: ...

    @property
    def client_secret(self) -> str: ...

    @property
    def is_configured(self) -> bool: ...

    def base_url(self, account: str) -> str:
        """Where the account (Shopify: the shop named `*.myshopify.com`) is reached."""
        ...


@dataclass(frozen=True)
class InstalledApp:
    """What a finished app install gives: the account it is installed on, and its token."""

    account: str
    access_token: str = field(repr=False)


class AppInstall(Protocol):
    """Our public app installed on an account by the authorization code grant (Shopify's
    OAuth): the merchant is sent to the platform to approve, and comes back with a code that is
    exchanged once for a token. Every check of the platform's signatures is the platform's."""

    # Reasons `complete` refuses with before it uses the state up: the pending install stays,
    # so a forged or misdirected callback cannot cancel the merchant's.
    refused_before_claim: frozenset[str]

    def authorize_url(self, account: str, *, state: str, redirect_uri: str) -> str:
        """Where to send the merchant to approve the install."""
        ...

    def check_launch(self, query: Mapping[str, str]) -> str:
        """The account of a signed request the platform sends when the merchant opens or
        installs the app; ConnectError when it is not the platform's."""
        ...

    def complete(
        self, query: Mapping[str, str], *, expected_state: str, expected_account: str
    ) -> InstalledApp:
        """Check the callback, claim its state once and exchange its code once; ConnectError
        (with a `reason`) when refused, TransientError when the platform could not be reached."""
        ...


class PlatformDriver(Protocol):
    """One platform (WooCommerce, Shopify, ...): the registry's entry for `stores.platform`."""

    name: str  # as stored in `stores.platform` and named in `/webhooks/<name>/<store id>`
    label: str  # as merchants know it
    # A platform whose merchants connect an account (a shop) with a token or our app's install
    # (web/app_connect.py): its page's template and what it calls an account; None when its
    # stores are connected by URL and keys (web/connect.py).
    account_page: str | None
    account_label: str
    webhooks: Webhooks
    stock_statuses: tuple[str, ...]  # the products page's stock filter
    backorder_choices: tuple[tuple[str, str], ...]  # (value, label) of its backorder setting
    # (value, label) of the ways it can write a split, the default first; () when it has one
    # way only (the settings page offers the choice only when there is one to make).
    split_modes: tuple[tuple[str, str], ...]
    # Whether it can add an order note that the store e-mails to the customer (the setting
    # "customer_note_on_split" is offered only then; Shopify's orders have no such note).
    customer_notes: bool
    # Store API calls a split makes on the happy path without that note, as its adapter counts
    # them (the settings page's hint); None when it is not one figure.
    split_calls: int | None

    def open(self, access: StoreAccess) -> Platform: ...

    def connection(
        self, base_url: str, consumer_key: str, consumer_secret: str, *, allow_private: bool
    ) -> StoreConnection: ...

    def authorize_url(
        self, store_url: str, *, state: str, return_url: str, callback_url: str
    ) -> str: ...

    def parse_app_keys(self, body: object) -> AppKeys: ...

    def account_name(self, typed: str) -> str:
        """The account a merchant typed, as the platform names it (Shopify: the shop's
        `*.myshopify.com` name); ConnectError when it is not one."""
        ...

    def app_install(
        self, app: AppCredentials, nonces: NonceClaims, *, allow_private: bool
    ) -> AppInstall:
        """Our app's install on this platform; ConnectError (reason `oauth_not_configured`)
        when the app's credentials are not configured or the platform has no such install."""
        ...

    def eligible_choices(self) -> tuple[tuple[str, str], ...]:
        """(canonical status, label) a merchant may make eligible for a split."""
        ...


class PlatformDrivers(Protocol):
    """The platforms we know, by the name a store row records (`stores.platform`)."""

    def driver(self, name: str) -> PlatformDriver: ...


# --- messages: what the notifier renders and the outbox keeps ----------------------------------


@dataclass(frozen=True)
class TemplateText:
    """The editable wording of one message: a subject line and a body."""

    subject: str
    body: str


class MessageWording(Protocol):
    """The shipped wording of the store messages, and rendering a wording safely."""

    def default(self, kind: str) -> TemplateText: ...

    def render(self, wording: TemplateText, context: Mapping[str, Any]) -> tuple[str, str]:
        """(subject, body); `plugin.errors.TemplateProblem` when the wording does not render."""
        ...


@dataclass(frozen=True)
class Message:
    """One rendered message for one recipient. `key` is unique per store and event."""

    store_id: (
        int | None
    )  # None: an account e-mail, no store's (plugin/adapters/mail/account_mail.py)
    key: str
    kind: str
    recipient: str
    subject: str
    body: str
    attachments: tuple[tuple[str, str, str], ...] = ()  # (file name, content type, text)


@dataclass(frozen=True)
class StoreMail:
    """What rendering needs to know about a store."""

    name: str
    alert_email: str = ""
    templates: Mapping[str, TemplateText] = field(default_factory=dict)
    # Per product: when a sent purchase order brings units no backorder has yet (issue 14);
    # a new backorder expects that date before the product's manual one.
    expected_dates: Mapping[ProductRef, dt.date] = field(default_factory=dict)


# --- merchant accounts --------------------------------------------------------------------------


@dataclass(frozen=True)
class MerchantRecord:
    id: int
    email: str
    password_hash: str = field(repr=False)
    session_version: int = 1  # raised to end every session of the merchant
    email_verified: bool = False  # the merchant opened the link sent to `email`


class Merchants(Protocol):
    """Merchant accounts (plugin/adapters/sql/merchants.py)."""

    def create(
        self, email: str, password_hash: str, *, verified: bool
    ) -> MerchantRecord | None: ...
    def by_email(self, email: str) -> MerchantRecord | None: ...
    def get(self, merchant_id: int) -> MerchantRecord | None: ...
    def set_password_hash(self, merchant_id: int, password_hash: str) -> None: ...
    def mark_verified(self, merchant_id: int) -> bool: ...
    def assign_store(self, store_id: int, merchant_id: int) -> bool: ...


# --- storage ------------------------------------------------------------------------------------


class PolicyStore(Protocol):
    def policies_for(self, store_id: int, order: Order) -> Policies:
        """Store settings, the policies of the order's products and its customer's policy."""
        ...


class Inbox(Protocol):
    def add(
        self,
        store_id: int,
        topic: str,
        resource_id: str,
        modified_gmt: str | dt.datetime,
        source: str,
        *,
        fingerprint: str | None = None,
    ) -> int | None:
        """Insert an event; None when its dedupe key (resource, id, modified, fingerprint)
        exists."""
        ...


class AuditLog(Protocol):
    def record(self, store_id: int, order_id: str, kind: str, message: str, **data: object) -> None:
        """Append one entry (decision, platform call, retry, error) to the order's trail."""
        ...


class Together(Protocol):
    """Writes made through the ledgers and the audit log inside the block commit as one, or
    none do (`Database.together`); a step's record and its audit entry go together."""

    def __call__(self) -> AbstractContextManager[object]: ...


class Alerts(Protocol):
    """Where the merchant is told about something needing attention."""

    def add_alert(
        self, store_id: int, kind: str, message: str, *, order_id: str | None = None
    ) -> object: ...


class Checkpoints(Protocol):
    def get_checkpoint(self, store_id: int) -> dt.datetime | None: ...

    def set_checkpoint(self, store_id: int, at: dt.datetime) -> None: ...


# --- people -------------------------------------------------------------------------------------


class SplitNotifier(Protocol):
    """Who tells people about a split (`plugin/usecases/notifying.py`); optional."""

    def order_split(self, store_id: int, order: Order, plan: Plan, policies: Policies) -> object:
        """The customer: what ships now, what is on backorder."""
        ...

    def order_not_backordered(
        self, store_id: int, order: Order, problems: tuple[Reason, ...]
    ) -> object:
        """The merchant: lines that could not be backordered (oversold, cap)."""
        ...


# --- locks --------------------------------------------------------------------------------------

# Holds the allocation locks of these products while the block runs (plugin/adapters/redis).
StockLock = Callable[[Sequence[ProductRef]], AbstractContextManager[object]]
OrderLock = Callable[[str], AbstractContextManager[object]]
Lock = Callable[[], AbstractContextManager[object]]


# --- purchasing (issue 14) ----------------------------------------------------------------------


class StockRaisePlatform(Protocol):
    """What receiving a purchase order needs from a store: read a stock figure, and write it."""

    def stock_figure(self, ref: ProductRef) -> StockFigure: ...

    def set_stock(self, pool: ProductRef, quantity: int) -> None:
        """Set the stock figure `pool` (a `StockFigure.pool`) to `quantity`. Absolute: a
        platform whose API only sets the figure (WooCommerce) offers no increment, so the
        caller reads, records the target and writes it (`plugin/usecases/purchasing.py`)."""
        ...

    def get_order(self, order_id: str) -> Order: ...

    def set_status(self, order_id: str, canonical_status: str) -> None: ...

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None: ...


@runtime_checkable
class StockSetAside(Protocol):
    """What setting units aside needs from a store (a merchant's manual backorder,
    `plugin/usecases/manual_splitting.py`): read a stock figure, and write it."""

    def stock_figure(self, ref: ProductRef) -> StockFigure: ...

    def set_stock(self, pool: ProductRef, quantity: int) -> None: ...


class ProductLookup(Protocol):
    """Whether a store has a product: a CSV naming an unknown one is refused row by row."""

    def product_exists(self, ref: ProductRef) -> bool: ...


class ReceiptState:
    """States of a purchase order receipt, in order; a receipt only moves forward."""

    PLANNED = "planned"  # the purchase order records the units; the store's stock not yet
    STOCKED = "stocked"  # every stock figure raised by its received units
    RELEASED = "released"  # allocation ran for the received products
    DONE = "done"  # the merchant was told what was released
    FAILED = "failed"  # stopped for the merchant to look at (never retried)


@dataclass(frozen=True)
class ReceiptRecord:
    store_id: int
    receipt_key: str
    number: str  # the purchase order's
    state: str
    lines: tuple[Mapping[str, Any], ...]  # {product_id, variant_id, units}: to stock
    # Per stock figure (key `product_id[/variant_id]` of the pool): {product_id, variant_id,
    # units, base, target, attempted, written}: the reading, the figure to write, and whether
    # its write was attempted (committed before the call) and seen to land.
    stock: Mapping[str, Mapping[str, Any]]
    drop_shipped: tuple[Mapping[str, Any], ...] = ()  # {order_id, product_id, variant_id, units}
    released: tuple[str, ...] = ()
    error: str | None = None


class ReceiptLedger(Protocol):
    def get(self, store_id: int, receipt_key: str) -> ReceiptRecord | None: ...

    def set_stock_entry(
        self, store_id: int, receipt_key: str, figure: str, entry: Mapping[str, Any]
    ) -> None:
        """Record one stock figure's entry (committed before the next store call)."""
        ...

    def advance(
        self,
        store_id: int,
        receipt_key: str,
        state: str,
        *,
        released: Sequence[str] | None = None,
        error: str | None = None,
    ) -> None: ...


class PurchaseOrders(Protocol):
    """A store's purchase orders (`plugin/adapters/sql/purchasing.py`)."""

    def taken_numbers(self, store_id: int) -> set[str]: ...

    def add(self, store_id: int, orders: Iterable[PurchaseOrder]) -> None:
        """Store new purchase orders, all or none."""
        ...

    def replace(self, store_id: int, old: PurchaseOrder, new: PurchaseOrder) -> None:
        """Write `new` over `old`; PurchasingError when the stored order is no longer `old`."""
        ...

    def record_receipt(
        self, store_id: int, old: PurchaseOrder, receipt: Receipt, receipt_key: str
    ) -> ReceiptRecord:
        """The purchase order as received and the receipt to carry out, in one write."""
        ...


class SupplierMail(Protocol):
    """Posts one e-mail to the outbox once per key (the mail job sends it)."""

    def __call__(
        self,
        store_id: int,
        key: str,
        recipient: str,
        subject: str,
        body: str,
        attachments: Sequence[tuple[str, str, str]] = (),  # (file name, content type, text)
    ) -> object: ...


# --- customers' self-service (issue 15) ---------------------------------------------------------


class DateStyle(StrEnum):
    """How a store's customer page writes a date."""

    ISO = "iso"  # 2026-12-04
    DAY_MONTH = "dmy"  # 04/12/2026
    MONTH_DAY = "mdy"  # 12/04/2026
    LONG = "long"  # 4 December 2026


@dataclass(frozen=True)
class SelfServiceSettings:
    """A store's choices for its customers' page and its delay notices."""

    allow_cancel: bool = True  # customers may cancel backordered lines themselves
    allow_delivery: bool = True  # customers may change how the rest of their order ships
    delay_rule: str = "off"  # a plugin.core.delays.DelayRule value
    stated_shipping_days: int | None = None  # shipping time stated to customers, in days
    answer_days: int = 14  # how long a customer has to answer a delay notice
    timezone: str = "UTC"  # an IANA zone name: the store's calendar
    date_style: DateStyle = DateStyle.ISO
    decimal_comma: bool = False  # 12,50 rather than 12.50


class RequestState:
    """States of a customer's request, in order; a request only moves forward."""

    REQUESTED = "requested"
    WRITTEN = "written"  # the store has the change
    NOTED = "noted"  # the order(s) changed have their note
    DONE = "done"


@dataclass(frozen=True)
class CustomerRequestRecord:
    """One action a customer took on their page (cancel lines, change delivery, answer a
    delay notice), carried out once by a worker job under `request_key`."""

    store_id: int
    request_key: str
    kind: str  # 'cancel' | 'delivery'
    order_id: str  # the order the customer placed
    email: str  # the customer's address, named in notes and the audit trail
    payload: Mapping[str, Any]
    state: str
    outcome: Mapping[str, Any] | None = None
    error: str | None = None
    created_at: dt.datetime | None = None


class CustomerRequests(Protocol):
    def get(self, store_id: int, request_key: str) -> CustomerRequestRecord | None: ...

    def advance(
        self,
        store_id: int,
        request_key: str,
        state: str,
        *,
        outcome: Mapping[str, Any] | None = None,
    ) -> None: ...

    def fail(self, store_id: int, request_key: str, error: str) -> None: ...


@runtime_checkable
class DeliveryPlatform(Protocol):
    """What changing an order's delivery condition needs from a store."""

    def get_order(self, order_id: str) -> Order: ...

    def set_delivery_condition(self, order_id: str, condition: str) -> None:
        """Record the per-order delivery condition (a DeliveryCondition value) on the order,
        where the next allocation reads it (`Order.delivery_override`)."""
        ...

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None: ...


# --- delay notices (issue 15; the decisions are plugin/core/delays.py) -------------------------


@dataclass(frozen=True)
class DelayWatchRecord:
    """A backorder order followed for delay notices, with what was sent and answered (as
    plugin.core.delays.SentNotice / Answer mappings, oldest first)."""

    store_id: int
    order_id: str  # the backorder order
    original_order_id: str
    ordered_at: dt.datetime
    promised_date: dt.date | None
    notices: tuple[Mapping[str, Any], ...] = ()
    answers: tuple[Mapping[str, Any], ...] = ()
    cancelled_at: dt.datetime | None = None
    wake_at: dt.datetime | None = None


class DelayRecords(Protocol):
    def watch(
        self,
        store_id: int,
        order_id: str,
        *,
        original_order_id: str,
        ordered_at: dt.datetime,
        promised_date: dt.date | None,
    ) -> DelayWatchRecord:
        """The order's record, made on first sight (an existing one is returned unchanged)."""
        ...

    def add_notice(self, store_id: int, order_id: str, notice: Mapping[str, Any]) -> None:
        """Record a notice as sent (a number already recorded is left as it is)."""
        ...

    def add_answer(self, store_id: int, order_id: str, answer: Mapping[str, Any]) -> bool:
        """Record the customer's answer to a notice; False when it was answered already."""
        ...

    def mark_cancelled(self, store_id: int, order_id: str, at: dt.datetime) -> None: ...

    def set_wake(self, store_id: int, order_id: str, at: dt.datetime | None) -> None: ...

    def claim(
        self, store_id: int, action_key: str, order_id: str, kind: str, data: Mapping[str, Any]
    ) -> bool:
        """Record an action carried out; False when its key was recorded before."""
        ...
