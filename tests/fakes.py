"""In-memory fakes of the ports in `plugin/ports.py` (and the few small ones in
`plugin/usecases/splitting.py`), in the cosmicpython style: real behaviour, no mocks.

`FakePlatform` behaves like a store that keeps orders and stock: `write_split` really creates a
backorder order and really reduces the original. Its switches make a chosen step fail with a
transient or permanent error, or "crash" (a `Crash` raised right after the step's effect took
place, as if the worker process died there), so tests can drive the split state machine through
every failure point.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

from plugin.adapters.sql.inbox import dedupe_key
from plugin.core.model import (
    BackorderMode,
    Customer,
    Line,
    Links,
    Order,
    PaymentAction,
    PaymentState,
    Plan,
    Policies,
    ProductRef,
    Status,
    Stock,
    StockFigure,
)
from plugin.errors import NotFound, PermanentError
from plugin.platforms.woocommerce import stock as woocommerce_stock
from plugin.platforms.woocommerce.statuses import status_name
from plugin.ports import (
    BackorderOutcome,
    CatalogueItem,
    FreeUnits,
    HeldUnits,
    OrderChange,
    OrderSummary,
    ProductReading,
    Promise,
    PromiseState,
    ShelfItem,
    SplitRecord,
    SplitState,
    WebhookInfo,
    release_pool,
)

UTC = dt.UTC
_STATE_ORDER = [
    SplitState.PLANNED,
    SplitState.BACKORDER_CREATED,
    SplitState.ORIGINAL_UPDATED,
    SplitState.NOTED,
    SplitState.DONE,
]


class Crash(BaseException):  # noqa: N818 - it stands for a process dying, not an error
    """The worker process died right after a step: nothing in the service may catch it."""


def make_line(
    line_id: str, product_id: str, quantity: int, unit_price: str = "10.00", *, name: str = ""
) -> Line:
    """An order line without tax or discount."""
    price = Decimal(unit_price)
    amount = price * quantity
    return Line(
        line_id=line_id,
        product_id=product_id,
        variant_id=None,
        sku=f"SKU-{product_id}",
        name=name or f"Product {product_id}",
        quantity=quantity,
        unit_price=price,
        subtotal=amount,
        subtotal_tax=Decimal("0.00"),
        total=amount,
        tax=Decimal("0.00"),
    )


def make_order(
    order_id: str = "1042",
    lines: Iterable[Line] = (),
    *,
    status: Status = Status.NEW,
    payment_state: PaymentState = PaymentState.UNPAID,
    links: Links | None = None,
) -> Order:
    """A New USD order by customer 7 with the given lines."""
    lines = tuple(lines)
    total = sum((line.total for line in lines), Decimal("0.00"))
    return Order(
        id=order_id,
        number=order_id,
        status=status,
        currency="USD",
        created_at=dt.datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
        customer=Customer(id="7", email="ann@example.com"),
        payment_state=payment_state,
        payment_method="cod",
        billing=_address(),
        shipping=_address(),
        lines=lines,
        total=total,
        links=links or Links(),
    )


def _address():  # type: ignore[no-untyped-def]
    from plugin.core.model import Address

    return Address(first_name="Ann", last_name="Lee", email="ann@example.com", country="US")


@dataclass
class CreatedOrder:
    order_id: str
    original_id: str
    split_key: str
    number: str
    quantities: dict[str, int]  # line id of the original -> units moved
    summary: str = ""  # what the store keeps on the backorder order for the merchant


@dataclass
class FakePlatform:
    """A store in memory. `fail_at[step]` raises that error when `step` is reached;
    `crash_after` raises `Crash` right after that step's effect. Steps: get_order, get_stock,
    read_products (the stock read beside the order, `read_order_and_products`),
    find_backorder_order, create_backorder, update_original, add_note, set_status,
    orders_modified_since, list_webhooks, activate_webhook."""

    orders: dict[str, Order] = field(default_factory=dict)
    stock: dict[ProductRef, Stock] = field(default_factory=dict)
    changes: list[OrderChange] = field(default_factory=list)
    webhooks: list[WebhookInfo] = field(default_factory=list)
    fail_at: dict[str, BaseException] = field(default_factory=dict)
    fail_times: dict[str, int] = field(default_factory=dict)  # how often; absent = always
    crash_after: str | None = None
    created: list[CreatedOrder] = field(default_factory=list)
    notes: list[tuple[str, str, bool]] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    split_keys: dict[str, set[str]] = field(default_factory=dict)  # original id -> keys applied
    promise_states: dict[str, PromiseState] = field(default_factory=dict)  # order id -> state
    # (order id, product) -> units at another location than the one fulfilling the order
    elsewhere: dict[tuple[str, ProductRef], int] = field(default_factory=dict)
    _next_id: int = 5000

    def add_order(self, order: Order) -> Order:
        self.orders[order.id] = order
        return order

    def set_stock(self, product_id: str, available: int, **kwargs: object) -> None:
        ref = ProductRef(product_id)
        self.stock[ref] = Stock(ref, available, **kwargs)  # type: ignore[arg-type]

    # -- switches ---------------------------------------------------------------------------
    def _step(self, step: str) -> None:
        self.calls.append(step)
        error = self.fail_at.get(step)
        if error is None:
            return
        left = self.fail_times.get(step)
        if left is not None:
            if left <= 0:
                return
            self.fail_times[step] = left - 1
        raise error

    def _done(self, step: str) -> None:
        if self.crash_after == step:
            self.crash_after = None  # the restarted worker does not crash again
            raise Crash(step)

    # -- Platform ---------------------------------------------------------------------------
    def get_order(self, order_id: str) -> Order:
        from plugin.errors import NotFound

        self._step("get_order")
        if order_id not in self.orders:
            raise NotFound(f"order {order_id} not found")
        self._done("get_order")
        return self.orders[order_id]

    def read_order_and_products(
        self, order_id: str, products: Collection[ProductRef]
    ) -> tuple[Order, ProductReading]:
        order = self.get_order(order_id)
        refs = frozenset(products)
        if not refs:
            return order, ProductReading()
        self._step("read_products")
        records = {ref: self.stock[ref] for ref in refs if ref in self.stock}
        self._done("read_products")
        return order, ProductReading(refs, records)

    def get_stock(
        self, order: Order, read: ProductReading | None = None
    ) -> Mapping[ProductRef, Stock]:
        asked = read.refs if read is not None else frozenset()
        known: dict[ProductRef, object] = dict(read.records) if read is not None else {}
        unread = [line.ref for line in order.lines if line.ref not in asked]
        if unread or read is None:
            self._step("get_stock")
            known.update({ref: self.stock[ref] for ref in unread if ref in self.stock})
            self._done("get_stock")
        return {line.ref: cast(Stock, known[line.ref]) for line in order.lines if line.ref in known}

    def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        self._step("get_orders")
        return [self.orders[i] for i in order_ids if i in self.orders]

    def held_units(self, promises: Sequence[Promise]) -> HeldUnits:
        """The platform's answer, as this fake was told it: every promise holds its units
        unless `promise_states` says otherwise."""
        self._step("held_units")
        held: dict[ProductRef, int] = {}
        states = {
            p.order_id: self.promise_states.get(p.order_id, PromiseState.HOLDING) for p in promises
        }
        for promise in promises:
            if states[promise.order_id] is PromiseState.HOLDING:
                for line in promise.lines:
                    pool = release_pool(line)
                    held[pool] = held.get(pool, 0) + int(line["units"])
        return HeldUnits(held, states)

    def find_backorder_order(self, original_id: str, split_key: str) -> str | None:
        self._step("find_backorder_order")
        found = [
            c.order_id
            for c in self.created
            if c.original_id == original_id and c.split_key == split_key
        ]
        self._done("find_backorder_order")
        return found[0] if found else None

    def write_split(
        self, original: Order, plan: Plan, *, backorder_order_id: str | None, summary: str = ""
    ) -> str:
        assert plan.split_key is not None and plan.backorder_number is not None
        if backorder_order_id is None:
            self._step("create_backorder")
            backorder_order_id = str(self._next_id)
            self._next_id += 1
            moved = {lp.line_id: lp.backorder for lp in plan.lines if lp.backorder}
            by_id = {line.line_id: line for line in original.lines}
            self.created.append(
                CreatedOrder(
                    backorder_order_id,
                    original.id,
                    plan.split_key,
                    plan.backorder_number,
                    moved,
                    summary,
                )
            )
            backorder = make_order(
                backorder_order_id,
                [
                    dataclasses.replace(by_id[line_id], line_id=f"b{line_id}", quantity=qty)
                    for line_id, qty in moved.items()
                ],
                status=Status.NEW_BACKORDER,
                links=Links(parent_id=original.id, is_backorder_order=True),
            )
            self.orders[backorder_order_id] = backorder
            self._done("create_backorder")
        self._step("update_original")
        current = self.orders[original.id]
        keep = {lp.line_id: lp.keep for lp in plan.lines}
        lines = tuple(
            dataclasses.replace(line, quantity=keep.get(line.line_id, line.quantity))
            for line in current.lines
        )
        # Like the connector: the original's update records the split key (so the split count)
        # and carries the On Hold status when asked.
        keys = {*self.split_keys.get(original.id, ()), plan.split_key}
        self.split_keys[original.id] = keys
        self.orders[original.id] = dataclasses.replace(
            current,
            status=Status.ON_HOLD if plan.hold_original else current.status,
            lines=lines,
            links=dataclasses.replace(current.links, split_count=len(keys)),
        )
        self._done("update_original")
        return backorder_order_id

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None:
        self._step("add_note")
        self.notes.append((order_id, text, customer))
        self._done("add_note")

    def set_status(self, order_id: str, canonical_status: str) -> None:
        self._step("set_status")
        self.statuses.append((order_id, canonical_status))
        self.orders[order_id] = dataclasses.replace(
            self.orders[order_id], status=Status(canonical_status)
        )
        self._done("set_status")

    def orders_modified_since(self, since: dt.datetime) -> Iterable[OrderChange]:
        self._step("orders_modified_since")
        result = [c for c in self.changes if c.modified_gmt > since]
        self._done("orders_modified_since")
        return result

    # -- WebhookAdmin ------------------------------------------------------------------------
    def list_webhooks(self) -> list[WebhookInfo]:
        self._step("list_webhooks")
        return list(self.webhooks)

    def activate_webhook(self, webhook_id: str) -> None:
        self._step("activate_webhook")
        self.webhooks = [
            dataclasses.replace(w, status="active") if w.id == webhook_id else w
            for w in self.webhooks
        ]


@dataclass
class FakeLedger:
    """SplitLedger in memory; refuses to move a split backwards, as the SQL one must."""

    records: dict[tuple[int, str], SplitRecord] = field(default_factory=dict)

    def get(self, store_id: int, split_key: str) -> SplitRecord | None:
        return self.records.get((store_id, split_key))

    def start(
        self,
        store_id: int,
        original_order_id: str,
        split_key: str,
        plan: Mapping[str, object],
        *,
        payment_expires_at: dt.datetime | None = None,
    ) -> SplitRecord:
        existing = self.records.get((store_id, split_key))
        if existing is not None:
            return existing
        record = SplitRecord(
            store_id,
            original_order_id,
            split_key,
            SplitState.PLANNED,
            plan,
            payment_expires_at=payment_expires_at,
        )
        self.records[(store_id, split_key)] = record
        return record

    def mark_create_attempted(self, store_id: int, split_key: str) -> None:
        record = self.records[(store_id, split_key)]
        self.records[(store_id, split_key)] = dataclasses.replace(record, create_attempted=True)

    def advance(
        self,
        store_id: int,
        split_key: str,
        state: str,
        *,
        backorder_order_id: str | None = None,
        error: str | None = None,
    ) -> None:
        record = self.records[(store_id, split_key)]
        if state != SplitState.FAILED and record.state != SplitState.FAILED:
            assert _STATE_ORDER.index(state) >= _STATE_ORDER.index(record.state), (
                f"split moved backwards: {record.state} -> {state}"
            )
        self.records[(store_id, split_key)] = dataclasses.replace(
            record,
            state=state,
            backorder_order_id=backorder_order_id or record.backorder_order_id,
            error=error or record.error,
        )

    def for_order(self, store_id: int, order_id: str) -> list[SplitRecord]:
        return [
            r
            for (sid, _), r in self.records.items()
            if sid == store_id and order_id in (r.original_order_id, r.backorder_order_id)
        ]


@dataclass
class FakePolicies:
    policies: Policies = field(default_factory=Policies)
    asked: list[tuple[int, str]] = field(default_factory=list)

    def policies_for(self, store_id: int, order: Order) -> Policies:
        self.asked.append((store_id, order.id))
        return self.policies


@dataclass
class AuditEntry:
    store_id: int
    order_id: str
    kind: str
    message: str
    data: dict[str, object]


@dataclass
class FakeAudit:
    entries: list[AuditEntry] = field(default_factory=list)

    def record(self, store_id: int, order_id: str, kind: str, message: str, **data: object) -> None:
        self.entries.append(AuditEntry(store_id, order_id, kind, message, dict(data)))

    def kinds(self) -> list[str]:
        return [e.kind for e in self.entries]


@dataclass
class FakeAlerts:
    alerts: list[tuple[int, str | None, str, str]] = field(default_factory=list)

    def add_alert(
        self, store_id: int, kind: str, message: str, *, order_id: str | None = None
    ) -> int:
        self.alerts.append((store_id, order_id, kind, message))
        return len(self.alerts)


@dataclass
class FakeInbox:
    """Inbox with the dedupe key (store, `dedupe_key`) of the SQL one."""

    events: dict[int, tuple[int, str, str, str, str, str | None]] = field(default_factory=dict)
    keys: set[tuple[int, str]] = field(default_factory=set)

    def add(
        self,
        store_id: int,
        topic: str,
        resource_id: str,
        modified_gmt: str,
        source: str,
        *,
        fingerprint: str | None = None,
    ) -> int | None:
        key = (store_id, dedupe_key(topic, resource_id, modified_gmt, fingerprint))
        if key in self.keys:
            return None
        self.keys.add(key)
        event_id = len(self.events) + 1
        self.events[event_id] = (store_id, topic, resource_id, modified_gmt, source, fingerprint)
        return event_id


@dataclass
class FakeCheckpoints:
    checkpoints: dict[int, dt.datetime] = field(default_factory=dict)

    def get_checkpoint(self, store_id: int) -> dt.datetime | None:
        return self.checkpoints.get(store_id)

    def set_checkpoint(self, store_id: int, at: dt.datetime) -> None:
        self.checkpoints[store_id] = at


# --- releasing (plugin/usecases/releasing.py) -----------------------------------------------------


@dataclass
class FakeCustomerPolicies:
    """PolicyStore with one policy per customer id (release priority, delivery condition)."""

    customers: dict[str, object] = field(default_factory=dict)  # id -> CustomerPolicy
    settings: object | None = None

    def policies_for(self, store_id: int, order: Order) -> Policies:
        from plugin.core.model import CustomerPolicy, StoreSettings

        customer = self.customers.get(order.customer.id or "")
        assert customer is None or isinstance(customer, CustomerPolicy)
        settings = self.settings if isinstance(self.settings, StoreSettings) else StoreSettings()
        return Policies(settings=settings, customer=customer)


def _ref_line(line_id: str, product: str | ProductRef, quantity: int) -> Line:
    """`make_line` for a product id or a (product, variation) ref."""
    ref = product if isinstance(product, ProductRef) else ProductRef(product)
    return dataclasses.replace(
        make_line(line_id, ref.product_id, quantity), variant_id=ref.variant_id
    )


@dataclass
class FakeReleaseStore:
    """A store's backorder orders and stock with WooCommerce's stock rules for releasing
    (sandbox/woocommerce/stock.py): creating an order on-hold reduces stock; on-hold -> processing
    changes nothing (already reduced); -> pending gives the units back; paying a pending
    order reduces them again; cancelling gives back what is reduced. `crash_after` /
    `fail_at` as in `FakePlatform`.

    It is also a store that new orders are placed in (`place_order`, stock reduced) and split by
    `plugin/usecases/splitting.py` (`get_stock` seen from the order, `write_split` as one batch), so
    the two use cases share one stock figure. A product missing from `stock` is not counted
    (unmanaged). `before_stock` / `after_stock` run around `get_stock`'s read and `before_write`
    before `write_split`, outside the store's mutex, for tests that make something happen
    there."""

    stock: dict[ProductRef, int] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    wc_status: dict[str, str] = field(default_factory=dict)
    reduced: dict[str, dict[str, int]] = field(default_factory=dict)
    fail_at: dict[str, BaseException] = field(default_factory=dict)
    crash_after: str | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)
    transitions: list[tuple[str, str, str]] = field(default_factory=list)  # id, from, to
    calls: list[str] = field(default_factory=list)
    # What a re-split writes on orders: backorders_number, backorders_split_key, since when.
    numbers: dict[str, str] = field(default_factory=dict)
    split_keys: dict[str, str] = field(default_factory=dict)
    since: dict[str, dt.datetime] = field(default_factory=dict)
    originals: dict[str, Order] = field(default_factory=dict)
    next_id: int = 900
    before_stock: Callable[[], object] | None = None
    after_stock: Callable[[], object] | None = None
    before_write: Callable[[], object] | None = None
    deleted: set[str] = field(default_factory=set)
    # Variations drawing on another product's figure (WooCommerce's manage_stock "parent"):
    # ref -> the figure's key; `stock` is kept per figure.
    pools: dict[ProductRef, ProductRef] = field(default_factory=dict)

    def pool(self, ref: ProductRef) -> ProductRef:
        """The key of the stock figure `ref` draws on."""
        return self.pools.get(ref, ref)

    def __post_init__(self) -> None:
        import threading

        self._mutex = threading.RLock()

    def _step(self, step: str) -> None:
        self.calls.append(step)
        error = self.fail_at.pop(step, None)
        if error is not None:
            raise error

    def _done(self, step: str) -> None:
        if self.crash_after == step:
            self.crash_after = None
            raise Crash(step)

    def add_backorder(
        self,
        order_id: str,
        customer_id: str,
        lines: Iterable[tuple[str, str | ProductRef, int]],  # (line id, product, quantity)
        *,
        created_minute: int = 0,
        paid: bool = False,
    ) -> Order:
        """A backorder order created on-hold: its units are taken from stock at once."""
        made = [_ref_line(line_id, product, qty) for line_id, product, qty in lines]
        original = f"1{order_id}"  # each backorder order has its own original, number 1<id>
        self.originals[original] = make_order(original)
        self.numbers[order_id] = f"{original}-001"
        order = dataclasses.replace(
            make_order(
                order_id,
                made,
                status=Status.NEW_BACKORDER,
                payment_state=PaymentState.PAID if paid else PaymentState.UNPAID,
                links=Links(parent_id=original, is_backorder_order=True),
            ),
            created_at=dt.datetime(2026, 11, 1, 9, created_minute, tzinfo=UTC),
            customer=Customer(id=customer_id, email=f"c{customer_id}@example.com"),
        )
        self.orders[order_id] = order
        self.wc_status[order_id] = "on-hold"
        self.reduced[order_id] = {}
        for line in made:
            self.stock[self.pool(line.ref)] = self.stock.get(self.pool(line.ref), 0) - line.quantity
            self.reduced[order_id][line.line_id] = line.quantity
        return order

    def restock(self, product: str | ProductRef, units: int) -> None:
        ref = self.pool(product if isinstance(product, ProductRef) else ProductRef(product))
        with self._mutex:
            self.stock[ref] = self.stock.get(ref, 0) + units

    def place_order(
        self,
        order_id: str,
        lines: Iterable[tuple[str, str | ProductRef, int]],  # (line id, product, quantity)
        *,
        paid: bool,
    ) -> Order:
        """A customer's order, placed processing (paid) or on-hold (unpaid bank transfer):
        either way WooCommerce takes its units from the counted stock."""
        made = [_ref_line(line_id, product, qty) for line_id, product, qty in lines]
        order = make_order(
            order_id,
            made,
            status=Status.NEW if paid else Status.ON_HOLD,
            payment_state=PaymentState.PAID if paid else PaymentState.UNPAID,
        )
        with self._mutex:
            self.orders[order_id] = order
            self.wc_status[order_id] = "processing" if paid else "on-hold"
            self.reduced[order_id] = {}
            for line in made:
                if self.pool(line.ref) in self.stock:
                    self.stock[self.pool(line.ref)] -= line.quantity
                    self.reduced[order_id][line.line_id] = line.quantity
        return order

    def cancel(self, order_id: str) -> None:
        """The customer or the merchant cancels an order: its reduced units come back."""
        with self._mutex:
            self._move(order_id, "cancelled")

    def open_backorder_units(self, ref: ProductRef) -> int:
        """Units of figure `ref` that on-hold backorder orders took from stock and wait for."""
        with self._mutex:
            return sum(
                self.reduced[order_id].get(line.line_id, 0)
                for order_id, order in self.orders.items()
                if order.links.is_backorder_order and self.wc_status[order_id] == "on-hold"
                for line in order.lines
                if self.pool(line.ref) == ref
            )

    def pay(self, order_id: str) -> None:
        """The customer pays a pending order: processing, stock reduced again."""
        with self._mutex:
            assert self.wc_status[order_id] == "pending"
            self._move(order_id, "processing")

    def _move(self, order_id: str, status: str) -> None:
        before = self.wc_status[order_id]
        order = self.orders[order_id]
        if status in ("pending", "cancelled") and self.reduced[order_id]:
            for line in order.lines:
                if line.line_id in self.reduced[order_id]:
                    self.stock[self.pool(line.ref)] += self.reduced[order_id].pop(line.line_id)
        if status in ("processing", "on-hold") and not self.reduced[order_id]:
            for line in order.lines:
                if self.pool(line.ref) in self.stock:
                    self.stock[self.pool(line.ref)] -= line.quantity
                    self.reduced[order_id][line.line_id] = line.quantity
        self.wc_status[order_id] = status
        held = Status.NEW_BACKORDER if order.links.is_backorder_order else Status.ON_HOLD
        canonical = {"on-hold": held, "cancelled": Status.CANCELLED}
        self.orders[order_id] = dataclasses.replace(order, status=canonical.get(status, Status.NEW))
        self.transitions.append((order_id, before, status))

    # -- ReleasePlatform ---------------------------------------------------------------------
    def delete_order(self, order_id: str) -> None:
        """The merchant deletes the order: reads answer NotFound (or leave it out) from now."""
        with self._mutex:
            self.orders.pop(order_id)
            self.wc_status.pop(order_id, None)
            self.deleted.add(order_id)

    def get_order(self, order_id: str) -> Order:
        with self._mutex:
            self._step("get_order")
            if order_id in self.deleted:
                raise NotFound(
                    f"order {order_id} was deleted", reason="woocommerce_rest_shop_order_invalid_id"
                )
            return self.orders.get(order_id) or self.originals[order_id]

    def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        with self._mutex:
            self._step("get_orders")
            return [self.orders[i] for i in order_ids if i in self.orders]

    def waiting_since(self, order_id: str) -> dt.datetime | None:
        return self.since.get(order_id)

    def backorder_numbers(self, original_id: str) -> list[str]:
        with self._mutex:
            self._step("backorder_numbers")
            return [
                self.numbers[o.id] for o in self.orders.values() if o.links.parent_id == original_id
            ]

    def find_backorder_order(self, original_id: str, split_key: str) -> str | None:
        with self._mutex:
            self._step("find_backorder_order")
            for order_id, key in self.split_keys.items():
                if key == split_key and self.orders[order_id].links.parent_id == original_id:
                    return order_id
            return None

    def write_resplit(self, backorder: Order, plan: Plan, *, new_order_id: str | None) -> str:
        """One batch, as the store runs it: create the new order on-hold (its units taken from
        stock) and set the backorder order's quantities (stock given back)."""
        with self._mutex:
            self._step("write_resplit")
            current = self.orders[backorder.id]
            if new_order_id is None:
                new_order_id = str(self.next_id)
                self.next_id += 1
                moved = [
                    dataclasses.replace(
                        make_line(f"{lp.line_id}r", lp.ref.product_id, lp.backorder),
                        variant_id=lp.ref.variant_id,
                    )
                    for lp in plan.lines
                    if lp.backorder
                ]
                # A sibling of a backorder order; the first backorder order of a held original.
                parent = current.links.parent_id if current.links.is_backorder_order else current.id
                self.orders[new_order_id] = dataclasses.replace(
                    current, id=new_order_id, number=new_order_id, lines=tuple(moved),
                    created_at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
                    links=Links(parent_id=parent, is_backorder_order=True),
                    status=Status.NEW_BACKORDER,
                )  # fmt: skip
                self.wc_status[new_order_id] = "on-hold"
                self.reduced[new_order_id] = {}
                for line in moved:
                    self.stock[self.pool(line.ref)] = (
                        self.stock.get(self.pool(line.ref), 0) - line.quantity
                    )
                    self.reduced[new_order_id][line.line_id] = line.quantity
                assert plan.split_key and plan.backorder_number
                self.split_keys[new_order_id] = plan.split_key
                self.numbers[new_order_id] = plan.backorder_number
                self.since[new_order_id] = self.since.get(backorder.id, current.created_at)
            keep = {lp.line_id: lp.keep for lp in plan.lines}
            lines = []
            for line in current.lines:
                units = keep.get(line.line_id, line.quantity)
                self.stock[self.pool(line.ref)] += (
                    self.reduced[backorder.id].get(line.line_id, 0) - units
                )
                if units:
                    self.reduced[backorder.id][line.line_id] = units
                    lines.append(dataclasses.replace(line, quantity=units))
                else:
                    self.reduced[backorder.id].pop(line.line_id, None)
            self.orders[backorder.id] = dataclasses.replace(current, lines=tuple(lines))
            self._done("write_resplit")
            return new_order_id

    def stock_figure(self, ref: ProductRef) -> StockFigure:
        with self._mutex:
            self._step("stock_figure")
            return StockFigure(self.pool(ref), self.stock.get(self.pool(ref)))

    def set_stock(self, pool: ProductRef, quantity: int) -> None:
        """Set a stock figure (absolute, as WooCommerce's REST API does)."""
        with self._mutex:
            self._step("set_stock")
            self.stock[self.pool(pool)] = quantity
            self._done("set_stock")

    def reduced_stock(self, order_id: str) -> Mapping[str, int]:
        with self._mutex:
            return dict(self.reduced[order_id])

    # -- Platform (plugin/usecases/splitting.py) ---------------------------------------------------
    def read_order_and_products(
        self, order_id: str, products: Collection[ProductRef]
    ) -> tuple[Order, ProductReading]:
        """`get_order`, then the figures of `products` (step `read_products`): the WooCommerce
        adapter sends the two reads at once."""
        order = self.get_order(order_id)
        refs = frozenset(products)
        if not refs:
            return order, ProductReading()
        return order, ProductReading(refs, self._read_figures(refs, "read_products"))

    def _read_figures(self, refs: Iterable[ProductRef], step: str) -> dict[ProductRef, int]:
        """The figure each of `refs` draws on, for those the store counts."""
        if self.before_stock is not None:
            self.before_stock()
        with self._mutex:
            self._step(step)
            figures = {
                ref: self.stock[self.pool(ref)] for ref in refs if self.pool(ref) in self.stock
            }
        if self.after_stock is not None:
            self.after_stock()
        return figures

    def get_stock(
        self, order: Order, read: ProductReading | None = None
    ) -> Mapping[ProductRef, Stock]:
        """Seen from `order` as the WooCommerce adapter sees it (its stock.py): the figures
        `read` holds, the others read now (step `get_stock`)."""
        asked = read.refs if read is not None else frozenset()
        figures: dict[ProductRef, object] = dict(read.records) if read is not None else {}
        unread = [line.ref for line in order.lines if line.ref not in asked]
        if unread or read is None:
            figures.update(self._read_figures(unread, "get_stock"))
        with self._mutex:
            result: dict[ProductRef, Stock] = {}
            for line in order.lines:
                if line.ref not in figures:
                    result[line.ref] = Stock(line.ref, 0, managed=False)
                    continue
                pool = self.pool(line.ref)
                took = sum(
                    self.reduced.get(order.id, {}).get(other.line_id, 0)
                    for other in order.lines
                    if self.pool(other.ref) == pool
                )
                figure = cast(int, figures[line.ref])
                available, elsewhere = woocommerce_stock.seen_from_order(figure, took)
                result[line.ref] = Stock(
                    line.ref, available, True, BackorderMode.YES, elsewhere,
                    pool=pool if pool != line.ref else None,
                )  # fmt: skip
        return result

    def held_units(self, promises: Sequence[Promise]) -> HeldUnits:
        """WooCommerce's answer (its stock.py `held_units`) over this store's orders."""
        if not promises:
            return HeldUnits()
        found = {o.id: o for o in self.get_orders([p.order_id for p in promises])}
        return woocommerce_stock.held_units(promises, found, self.reduced_stock)

    def free_units(self, waiting: Sequence[Order], promises: Sequence[Promise]) -> FreeUnits:
        """WooCommerce's answer (its stock.py `free_for_waiting`) over this store's stock."""
        refs = dict.fromkeys(line.ref for order in waiting for line in order.lines)
        figures = [(ref, self.stock_figure(ref)) for ref in refs]
        held = self.held_units(promises)
        free, pools = woocommerce_stock.free_for_waiting(
            figures, waiting, self.reduced_stock, held.held
        )
        return FreeUnits(free, pools, held)

    def write_split(
        self, original: Order, plan: Plan, *, backorder_order_id: str | None, summary: str = ""
    ) -> str:
        """One batch, as the store runs it: create the backorder order on-hold (its units
        taken from stock) and set the original's quantities (stock given back)."""
        assert plan.split_key is not None and plan.backorder_number is not None
        if self.before_write is not None:
            self.before_write()
        with self._mutex:
            self._step("write_split")
            current = self.orders[original.id]
            if backorder_order_id is None:
                backorder_order_id = str(self.next_id)
                self.next_id += 1
                moved = [
                    dataclasses.replace(line, line_id=f"b{line.line_id}", quantity=lp.backorder)
                    for line, lp in zip(current.lines, plan.lines, strict=True)
                    if lp.backorder
                ]
                paid = plan.payment is PaymentAction.PAID_FROM_ORIGINAL
                self.orders[backorder_order_id] = dataclasses.replace(
                    make_order(
                        backorder_order_id, moved, status=Status.NEW_BACKORDER,
                        payment_state=PaymentState.PAID if paid else PaymentState.UNPAID,
                        links=Links(parent_id=original.id, is_backorder_order=True),
                    ),
                    customer=current.customer,
                    created_at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC),  # after the others
                )  # fmt: skip
                self.wc_status[backorder_order_id] = "on-hold"
                self.reduced[backorder_order_id] = {}
                for line in moved:
                    if self.pool(line.ref) in self.stock:
                        self.stock[self.pool(line.ref)] -= line.quantity
                        self.reduced[backorder_order_id][line.line_id] = line.quantity
                self.split_keys[backorder_order_id] = plan.split_key
                self.numbers[backorder_order_id] = plan.backorder_number
            keep = {lp.line_id: lp.keep for lp in plan.lines}
            lines = []
            for line in current.lines:
                units = keep.get(line.line_id, line.quantity)
                reduced = self.reduced[original.id].pop(line.line_id, 0)
                if self.pool(line.ref) in self.stock:
                    given_back = reduced - units if reduced else 0
                    self.stock[self.pool(line.ref)] += given_back
                    if reduced and units:
                        self.reduced[original.id][line.line_id] = units
                if units:
                    lines.append(dataclasses.replace(line, quantity=units))
            self.orders[original.id] = dataclasses.replace(
                current,
                lines=tuple(lines),
                links=dataclasses.replace(current.links, split_count=1),
            )
            return backorder_order_id

    def set_status(self, order_id: str, canonical_status: str) -> None:
        """Like the connector: On Hold is WooCommerce's on-hold (stock taken if not yet)."""
        with self._mutex:
            self._step("set_status")
            if canonical_status == Status.ON_HOLD.value:
                self._move(order_id, "on-hold")
            else:
                self.orders[order_id] = dataclasses.replace(
                    self.orders[order_id], status=Status(canonical_status)
                )
            self._done("set_status")

    def release_order(self, order_id: str, status: str, release_key: str) -> str | None:
        with self._mutex:
            self._step("release_order")
            if self.wc_status[order_id] == "on-hold":
                self._move(order_id, status)
            self._done("release_order")
            if status == "pending" and self.wc_status[order_id] == "pending":
                return f"http://store.test/checkout/order-pay/{order_id}/?pay_for_order=true"
            return None

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None:
        with self._mutex:
            self._step("add_note")
            self.notes.append((order_id, text))
            self._done("add_note")


@dataclass
class FakeReleaseLedger:
    """ReleaseLedger in memory; `splits` lists (backorder order id, product ids it waits for),
    and the finished splits of `split_ledger` (re-splits) count too, as in the SQL one."""

    splits: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    records: dict[tuple[int, str], object] = field(default_factory=dict)
    split_ledger: FakeLedger | None = None

    def backorder_orders_for(self, store_id: int, ref: ProductRef) -> list[str]:
        found = [order_id for order_id, products in self.splits if ref.product_id in products]
        for record in self.split_ledger.records.values() if self.split_ledger else ():
            moved = {
                line["ref"]["product_id"]  # type: ignore[index]
                for line in record.plan["lines"]  # type: ignore[attr-defined]
                if line["backorder"]  # type: ignore[index]
            }
            if record.state == SplitState.DONE and ref.product_id in moved:
                assert record.backorder_order_id is not None
                found.append(record.backorder_order_id)
        return found

    def get(self, store_id: int, release_key: str):  # type: ignore[no-untyped-def]
        return self.records.get((store_id, release_key))

    def for_order(self, store_id: int, order_id: str) -> list:  # type: ignore[type-arg]
        return [
            r
            for (sid, _), r in self.records.items()
            if sid == store_id and r.order_id == order_id  # type: ignore[attr-defined]
        ]

    def released_to_pay(self, store_id: int) -> list:  # type: ignore[type-arg]
        return [
            r
            for (sid, _), r in self.records.items()
            if sid == store_id and r.target_status == "pending"  # type: ignore[attr-defined]
        ]

    def start(self, store_id, release_key, order_id, target_status, lines):  # type: ignore[no-untyped-def]
        from plugin.ports import ReleaseRecord, ReleaseState

        existing = self.records.get((store_id, release_key))
        if existing is not None:
            return existing
        record = ReleaseRecord(
            store_id, release_key, order_id, ReleaseState.PLANNED, target_status,
            tuple(dict(line) for line in lines),
        )  # fmt: skip
        self.records[(store_id, release_key)] = record
        return record

    def advance(self, store_id, release_key, state, *, payment_url=None):  # type: ignore[no-untyped-def]
        record = self.records[(store_id, release_key)]
        self.records[(store_id, release_key)] = dataclasses.replace(
            record,  # type: ignore[type-var]
            state=state,
            payment_url=payment_url or record.payment_url,  # type: ignore[attr-defined]
        )


# --- the whole store (plugin.ports.Platform), for the contract suite and the toy platform -------

FAKE_TOPICS = ("order.created", "order.updated", "product.updated")  # what `connect` subscribes
ALLOW, DENY = "allow", "deny"  # the fake's own backorder setting values (its `BACKORDER_CHOICES`)


def fake_fingerprint(order: Order, status: str) -> str:
    """The fake store's fingerprint of an order's state: what a split decides on."""
    import hashlib

    content = "|".join(
        [status, *(f"{line.line_id}:{line.ref}:{line.quantity}" for line in order.lines)]
    )
    return hashlib.sha256(content.encode()).hexdigest()[:16]


@dataclass
class FakeStore(FakeReleaseStore):
    """A whole store in memory (`plugin.ports.Platform`), with WooCommerce's stock rules (those
    of `FakeReleaseStore`), its own product catalogue, order modification times, webhook
    subscriptions and signed deliveries (`FakeWebhooks`). It passes the platform contract suite
    (tests/contract/platform) like the WooCommerce adapter: where they disagreed, this fake was
    made to do what WooCommerce does."""

    base_url: str = "http://fake-store.test"
    products: dict[ProductRef, dict[str, object]] = field(default_factory=dict)
    modified: dict[str, dt.datetime] = field(default_factory=dict)
    subscriptions: dict[str, WebhookInfo] = field(default_factory=dict)
    webhook_ids: tuple[str, ...] = ()  # the subscriptions recorded as ours (`StoreAccess`)
    public_url: str = ""
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(UTC))
    next_product: int = 100
    next_webhook: int = 1

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("_mutex", None)
        state["clock"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        import threading

        self.__dict__.update(state)
        self.clock = lambda: dt.datetime.now(UTC)
        self._mutex = threading.RLock()

    def _touch(self, order_id: str) -> None:
        self.modified[order_id] = self.clock().replace(microsecond=0)

    # -- the shop: what a merchant and customers do ----------------------------------------
    def add_product(
        self,
        name: str,
        *,
        price: str = "10.00",
        stock: int | None = None,
        backorders: str = DENY,
        published: bool = True,
    ) -> ProductRef:
        """A product; `published=False` is one a shopper cannot open (a draft)."""
        with self._mutex:
            ref = ProductRef(str(self.next_product))
            self.next_product += 1
            self.products[ref] = {"name": name, "price": price, "backorders": backorders}
            if not published:
                self.products[ref]["published"] = False
            if stock is not None:
                self.stock[ref] = stock
            return ref

    def new_order(self, lines: Sequence[tuple[ProductRef, int]], *, paid: bool) -> str:
        """A customer's order, placed paid (New, stock taken) or unpaid on hold (stock taken)."""
        with self._mutex:
            order_id = str(self.next_id)
            self.next_id += 1
            made = [
                dataclasses.replace(
                    make_line(
                        str(10 * int(order_id) + index), ref.product_id, quantity,
                        str(self.products[ref]["price"]), name=str(self.products[ref]["name"]),
                    ),
                    variant_id=ref.variant_id,
                )
                for index, (ref, quantity) in enumerate(lines, start=1)
            ]  # fmt: skip
            self.place_order(order_id, [], paid=paid)
            self.orders[order_id] = dataclasses.replace(
                self.orders[order_id],
                lines=tuple(made),
                total=sum((line.total for line in made), Decimal("0.00")),
                created_at=self.clock().replace(microsecond=0),
            )
            for line in made:
                if self.pool(line.ref) in self.stock:
                    self.stock[self.pool(line.ref)] -= line.quantity
                    self.reduced[order_id][line.line_id] = line.quantity
            self._touch(order_id)
            return order_id

    def store_status(self, order_id: str) -> str:
        return self.wc_status.get(order_id, "on-hold")

    def delivery_body(self, order_id: str) -> bytes:
        """What the store delivers for an order: its id, modification moment, status, lines."""
        import json

        with self._mutex:
            order = self.orders[order_id]
            return json.dumps(
                {
                    "id": order_id,
                    "modified": self.modified[order_id].isoformat(),
                    "status": self.store_status(order_id),
                    "lines": [
                        [line.line_id, list(line.ref), line.quantity] for line in order.lines
                    ],
                }
            ).encode()

    # -- writes record when the order changed ------------------------------------------------
    def write_split(self, original: Order, plan: Plan, **kwargs) -> str:  # type: ignore[no-untyped-def,override]
        with self._mutex:
            # The original read now: its lines carry what was ordered (a retry re-applies).
            backorder_id = super().write_split(original, plan, **kwargs)
            self._touch(original.id)
            self._touch(backorder_id)
            self.modified.setdefault(backorder_id, self.clock())
            self.orders[backorder_id] = dataclasses.replace(
                self.orders[backorder_id], number=plan.backorder_number or backorder_id,
                created_at=self.clock().replace(microsecond=0),
            )  # fmt: skip
            return backorder_id

    def write_resplit(self, backorder: Order, plan: Plan, *, new_order_id: str | None) -> str:
        with self._mutex:
            new_id = super().write_resplit(backorder, plan, new_order_id=new_order_id)
            self._touch(backorder.id)
            self._touch(new_id)
            return new_id

    def _move(self, order_id: str, status: str) -> None:
        super()._move(order_id, status)
        self._touch(order_id)

    def get_order(self, order_id: str) -> Order:
        with self._mutex:
            if order_id not in self.orders and order_id not in self.originals:
                self._step("get_order")
                raise NotFound(f"order {order_id} not found", reason="not_found")
            return super().get_order(order_id)

    # -- reconciliation and webhooks -------------------------------------------------------
    def orders_modified_since(self, since: dt.datetime) -> Iterable[OrderChange]:
        with self._mutex:
            self._step("orders_modified_since")
            return [
                OrderChange(
                    order_id,
                    at,
                    self.store_status(order_id),
                    fake_fingerprint(self.orders[order_id], self.store_status(order_id)),
                )  # fmt: skip
                for order_id, at in sorted(self.modified.items(), key=lambda i: int(i[0]))
                if at > since and order_id in self.orders
            ]

    def list_webhooks(self) -> list[WebhookInfo]:
        with self._mutex:
            self._step("list_webhooks")
            prefix = self.public_url.rstrip("/") + "/" if self.public_url else None
            return [
                hook
                for hook in self.subscriptions.values()
                if hook.id in self.webhook_ids
                or (prefix is not None and hook.delivery_url.startswith(prefix))
            ]

    def activate_webhook(self, webhook_id: str) -> None:
        with self._mutex:
            self._step("activate_webhook")
            hook = self.subscriptions[webhook_id]
            self.subscriptions[webhook_id] = dataclasses.replace(hook, status="active")

    # -- StoreConnection (the connect flow) ------------------------------------------------
    def check_credentials(self) -> None:
        self._step("check_credentials")

    def register_webhooks(self, *, delivery_url: str, secret: str) -> list[int]:
        with self._mutex:
            ids = []
            for topic in FAKE_TOPICS:
                hook_id = str(self.next_webhook)
                self.next_webhook += 1
                self.subscriptions[hook_id] = WebhookInfo(hook_id, topic, "active", delivery_url)
                ids.append(int(hook_id))
            return ids

    def delete_webhooks(self, webhook_ids: Iterable[int]) -> list[int]:
        with self._mutex:
            for hook_id in webhook_ids:
                self.subscriptions.pop(str(hook_id), None)
            return []

    def webhooks_intact(self, webhook_ids: Iterable[int], delivery_url: str) -> bool:
        with self._mutex:
            hooks = [self.subscriptions.get(str(i)) for i in webhook_ids]
            return all(
                h is not None and h.status == "active" and h.delivery_url == delivery_url
                for h in hooks
            )

    # -- cancelling a backorder line -------------------------------------------------------
    def original_line_ids(self, order_id: str) -> Mapping[str, str]:
        with self._mutex:
            order = self.orders[order_id]
            return {line.line_id: line.line_id.removeprefix("b") for line in order.lines
                    if order.links.is_backorder_order and line.line_id.startswith("b")}  # fmt: skip

    def remove_line(self, order_id: str, line_id: str) -> str | None:
        with self._mutex:
            self._step("remove_line")
            order = self.orders[order_id]
            kept = tuple(line for line in order.lines if line.line_id != line_id)
            if len(kept) != len(order.lines):
                taken = self.reduced[order_id].pop(line_id, 0)
                for line in order.lines:
                    if line.line_id == line_id and self.pool(line.ref) in self.stock:
                        self.stock[self.pool(line.ref)] += taken
                self.orders[order_id] = dataclasses.replace(order, lines=kept)
                self._touch(order_id)
            total = sum(
                (line.unit_price * line.quantity for line in self.orders[order_id].lines),
                Decimal("0.00"),
            )
            return str(total)

    def reduce_line(
        self, order_id: str, line_id: str, quantity: int, subtotal: Decimal, total: Decimal
    ) -> str | None:
        with self._mutex:
            self._step("reduce_line")
            order = self.orders[order_id]
            lines = []
            for line in order.lines:
                if line.line_id == line_id and line.quantity != quantity:
                    # Like WooCommerce (wc_maybe_adjust_line_item_product_stock): the stock moves
                    # by the difference between the new quantity and what the line took.
                    taken = self.reduced[order_id].get(line_id, 0)
                    if taken and self.pool(line.ref) in self.stock:
                        self.stock[self.pool(line.ref)] += taken - quantity
                        self.reduced[order_id][line_id] = quantity
                    line = dataclasses.replace(
                        line, quantity=quantity, subtotal=subtotal, total=total
                    )
                lines.append(line)
            if tuple(lines) != order.lines:
                self.orders[order_id] = dataclasses.replace(order, lines=tuple(lines))
                self._touch(order_id)
            return str(sum((line.total for line in self.orders[order_id].lines), Decimal("0.00")))

    def release_order(self, order_id: str, release_as: str, release_key: str) -> str | None:
        url = super().release_order(order_id, release_as, release_key)
        return url and url.replace("http://store.test", self.base_url)

    def cancel_order(self, order_id: str) -> bool:
        with self._mutex:
            self._step("cancel_order")
            if self.wc_status[order_id] == "on-hold":
                self._move(order_id, "cancelled")
            return self.wc_status[order_id] == "cancelled"

    # -- catalogue and admin ---------------------------------------------------------------
    def _item(self, ref: ProductRef) -> CatalogueItem:
        product = self.products[ref]
        quantity = self.stock.get(ref)
        return CatalogueItem(
            id=int(ref.product_id), name=str(product["name"]),
            sku=str(product["name"]).replace(" ", "-").upper(), type="simple",
            manage_stock=quantity is not None, stock_quantity=quantity,
            stock_status="instock" if quantity is None or quantity > 0 else "outofstock",
            backorders=str(product["backorders"]),
        )  # fmt: skip

    def list_products(
        self, *, search: str, stock_status: str, backorders: str, limit: int
    ) -> list[CatalogueItem]:
        with self._mutex:
            items = [self._item(ref) for ref in sorted(self.products, key=lambda r: int(r[0]))]
            return [
                item
                for item in items
                if search.lower() in item.name.lower()
                and stock_status in ("", item.stock_status)
                and backorders in ("", item.backorders)
            ][:limit]

    def list_variations(self, product_id: int, *, limit: int) -> list[CatalogueItem]:
        return []

    def set_backorders(self, ref: ProductRef, value: str) -> None:
        with self._mutex:
            self._step("set_backorders")
            if value not in (ALLOW, DENY):
                raise PermanentError(f"invalid backorders value {value!r}", reason="invalid")
            # Like WooCommerce (WC_Product::validate_props): a product whose stock is not
            # counted takes no backorders, whatever is written.
            if ref not in self.stock:
                value = DENY
            if self.products[ref]["backorders"] != value:
                self.products[ref]["backorders"] = value

    def shelf_products(self, product_ids: Sequence[int]) -> dict[int, ShelfItem | None]:
        with self._mutex:
            shelf: dict[int, ShelfItem | None] = {}
            for product_id in product_ids:
                ref = ProductRef(str(product_id))
                product = self.products.get(ref)
                if product is not None and product.get("published") is False:
                    product = None  # a draft is answered like an unknown id
                shelf[int(product_id)] = None if product is None else ShelfItem(
                    id=int(product_id), figure=StockFigure(ref, self.stock.get(ref)),
                    counted_in_stock=ref not in self.stock,
                    backorders_allowed=product["backorders"] == ALLOW,
                )  # fmt: skip
            return shelf

    def order_admin_url(self, order_id: str) -> str:
        return f"{self.base_url}/admin/orders/{order_id}"

    def stock_elsewhere(self, order_ids: Sequence[str]) -> Mapping[tuple[str, ProductRef], int]:
        wanted = {str(i) for i in order_ids}
        return {key: units for key, units in self.elsewhere.items() if key[0] in wanted}

    def order_summaries(self, order_ids: Iterable[str]) -> dict[str, OrderSummary]:
        with self._mutex:
            found: dict[str, OrderSummary] = {}
            for order_id in order_ids:
                order = self.orders.get(str(order_id))
                if order is None:
                    continue
                original_lines = dict(self.original_line_ids(order.id))
                found[order.id] = OrderSummary(
                    order_id=order.id, number=order.number, status=order.status,
                    # Its WooCommerce-like status, named as that adapter names it.
                    store_status=status_name(
                        self.store_status(order.id),
                        is_backorder_order=order.links.is_backorder_order,
                    ),
                    currency=order.currency,
                    customer=f"{order.billing.first_name} {order.billing.last_name}".strip(),
                    line_names={line.ref: line.name for line in reversed(order.lines)},
                    lines={line.line_id: line.name for line in order.lines},
                    original_lines={original_lines[line.line_id]: line.name
                                    for line in order.lines if line.line_id in original_lines},
                )  # fmt: skip
            return found

    def expand_products(self, product_ids: Sequence[int]) -> list[tuple[int, int | None]]:
        return [(int(product_id), None) for product_id in product_ids]

    def write_backorders(
        self, items: Sequence[tuple[int, int | None]], value: str
    ) -> Iterator[list[BackorderOutcome]]:
        for product_id, variation_id in items:
            ref = ProductRef(str(product_id), None if variation_id is None else str(variation_id))
            try:
                self.set_backorders(ref, value)
            except (PermanentError, KeyError) as error:
                yield [BackorderOutcome(product_id, variation_id, False, type(error).__name__)]
                continue
            got = self.products[ref]["backorders"]
            yield [BackorderOutcome(product_id, variation_id, True, f"backorders={got}")]

    def disable_webhook(self, webhook_id: str) -> None:
        """The store stops delivering a webhook (after failed deliveries, or by the merchant)."""
        with self._mutex:
            hook = self.subscriptions[webhook_id]
            self.subscriptions[webhook_id] = dataclasses.replace(hook, status="disabled")


@dataclass(frozen=True)
class FakeDelivery:
    """A delivery as a route reads it (`plugin.ports.Delivery`)."""

    body: bytes
    headers: Mapping[str, str]

    def header(self, name: str) -> str | None:
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower())


class FakeWebhooks:
    """`plugin.ports.Webhooks` for the fake store's deliveries: hex HMAC-SHA256 of the raw body
    in `<prefix>-Signature`, the topic in `<prefix>-Topic`, the body `FakeStore.delivery_body`."""

    def __init__(self, prefix: str = "X-Fake") -> None:
        self.signature_header = f"{prefix}-Signature"
        self.topic_header = f"{prefix}-Topic"

    def sign(self, secret: str, topic: str, body: bytes) -> FakeDelivery:
        """What the store sends: `body` signed with `secret`."""
        import hashlib
        import hmac

        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return FakeDelivery(body, {self.signature_header: signature, self.topic_header: topic})

    def is_ping(self, delivery: object) -> bool:
        return False

    def verify(self, secret: str, delivery) -> bool:  # type: ignore[no-untyped-def]
        import hashlib
        import hmac

        expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, delivery.header(self.signature_header) or "")

    def topic(self, delivery):  # type: ignore[no-untyped-def]
        from plugin.ports import DeliveryTopic, Rejected, Topic

        name = (delivery.header(self.topic_header) or "").strip()
        if not name:
            raise Rejected(400, f"missing {self.topic_header}")
        topics = {"order.created": Topic.ORDER_CREATED, "order.updated": Topic.ORDER_UPDATED}
        return DeliveryTopic(name, topics.get(name), name == "order.deleted")

    def parse(self, topic: str, delivery):  # type: ignore[no-untyped-def]
        import json

        from plugin.ports import Rejected, ResourceState

        try:
            data = json.loads(delivery.body)
            order_id, modified = str(data["id"]), dt.datetime.fromisoformat(data["modified"])
            lines = tuple(
                make_line(str(line_id), str(ref[0]), int(quantity))
                for line_id, ref, quantity in data["lines"]
            )
            status = str(data["status"])
        except (ValueError, KeyError, TypeError) as error:
            raise Rejected(400, f"bad payload: {type(error).__name__}") from None
        order = dataclasses.replace(
            make_order(order_id, lines),
            lines=tuple(
                dataclasses.replace(line, variant_id=ref[1])
                for line, (_, ref, _) in zip(lines, data["lines"], strict=True)
            ),
        )
        return ResourceState(order_id, modified, fake_fingerprint(order, status))
