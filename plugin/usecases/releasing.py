"""Use case: stock arrived for a product; release its open backorder orders by priority.

No Flask and no RQ here: the worker's job passes the adapters and a lock in.

Stock accounting (README "Stock accounting"): the platform answers how many units are free for
the open backorder orders of a product, per stock figure (`Platform.free_units`: the figure,
plus what those orders already took from it, less the units promised to orders released unpaid
that await payment, `held_by_unpaid_releases`); several products may draw on one figure
(variations whose parent keeps the stock). A paid order is released as paid and ships; an
unpaid one is released for payment, and its units stay promised until the customer pays or the
order is cancelled. Splitting a new order counts the promised units out too
(`plugin/usecases/splitting.py`), with the same rule (`core.model.free_units`), under this
module's product locks. How a platform counts them is its own (WooCommerce:
plugin/platforms/woocommerce/stock.py).

Exactly once: one release per backorder order, keyed `release:<order id>` in the release
ledger, moved forward planned → status_set → done; the caller holds a per-store+product lock
around read-plan-write so two jobs never hand out the same unit. A job also hands out the
other products of the orders it reads, without their locks; that is safe because it counts as
free only the stock figure plus the units *its* orders took: a unit that another open order
holds is never free to it, so a second product's job, counting every holder, can only hand out
what the first could not.

Originals held whole (the customer's order waiting for stock itself: whole-order delivery with
a short line, or nothing in stock; recorded under `core.split.hold_key`) wait in the same
queue, in their priority and age place, and are released and split exactly like backorder
orders: the units they wait for were taken from stock when they were put on hold.

Partial release: when the stock covers only part of a backorder order and its delivery condition
allows that (never for whole-order delivery), the order is first split again
(`plugin/usecases/resplitting.py`: what waits moves to a new backorder order, `1042-002`, recorded
in the split ledger under `resplit:<order id>`), then released with what stayed on it. Both happen
under the order's own lock; a run first finishes any re-split an earlier run left unfinished, and
the release that follows it, before it reads the figures.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from plugin.core.model import (
    DeliveryCondition,
    Order,
    PaymentAction,
    PaymentState,
    ProductRef,
    Status,
    free_units,
)
from plugin.core.release import OpenBackorder, OpenLine, OrderRelease, plan_release
from plugin.core.serialize import plan_from_dict, ref_to_dict
from plugin.core.split import resplit_key
from plugin.core.wording import all_units
from plugin.errors import NotFound, PermanentError, TransientError
from plugin.ports import (
    RELEASE_FINISHED,
    AuditLog,
    HeldStockPlatform,
    HeldUnits,
    PolicyStore,
    Promise,
    PromiseState,
    ReleaseAs,
    ReleaseLedger,
    ReleasePlatform,
    ReleaseRecord,
    ReleaseState,
    SplitLedger,
    SplitRecord,
    SplitState,
    release_pool,
)
from plugin.steps import Step, carry_out, record_failure
from plugin.usecases.resplitting import carry_out_resplit, start_resplit

log = logging.getLogger(__name__)

OnReleased = Callable[[int, str, "str | None"], object]
OnStockArrived = Callable[[int, str, int], object]


@dataclass(frozen=True)
class AllocationResult:
    """What one allocation run did for a product."""

    product_id: str
    available: Mapping[ProductRef, int]
    released: tuple[str, ...] = ()  # backorder order ids released by this run, in rank order
    waiting: tuple[str, ...] = ()  # open backorder orders that still wait
    resumed: tuple[str, ...] = ()  # releases of an earlier, interrupted run finished now
    split_again: tuple[tuple[str, str], ...] = ()  # (order released in part, new order) pairs
    ranking: tuple[OrderRelease, ...] = field(default=())


def release_key(order_id: str) -> str:
    """The deterministic key of the (single) release of a backorder order."""
    return f"release:{order_id}"


def _matches(ref: ProductRef, product_id: str) -> bool:
    return ref.product_id == product_id or ref.variant_id == product_id


def allocate_product(
    store_id: int,
    product_id: str,
    *,
    platform: ReleasePlatform,
    releases: ReleaseLedger,
    splits: SplitLedger,
    policies: PolicyStore,
    audit: AuditLog,
    lock: Callable[[], AbstractContextManager[object]] | None = None,
    order_lock: Callable[[str], AbstractContextManager[object]] | None = None,
    priority_bumps: Mapping[str, int] | None = None,
    on_released: OnReleased | None = None,
    on_stock_arrived: OnStockArrived | None = None,
) -> AllocationResult:
    """Release the open backorder orders of `product_id` that arrived stock now covers,
    splitting again those it covers in part (see the module docstring)."""
    guard = lock() if lock is not None else contextlib.nullcontext()
    with guard:
        resplitter = _Resplitter(
            store_id, platform, releases, splits, policies, audit, order_lock, on_released
        )
        return _allocate(
            store_id,
            product_id,
            platform,
            releases,
            policies,
            audit,
            priority_bumps or {},
            on_released,
            on_stock_arrived,
            resplitter,
        )


def _allocate(
    store_id: int,
    product_id: str,
    platform: ReleasePlatform,
    releases: ReleaseLedger,
    policy_store: PolicyStore,
    audit: AuditLog,
    bumps: Mapping[str, int],
    on_released: OnReleased | None,
    on_stock_arrived: OnStockArrived | None,
    resplitter: _Resplitter,
) -> AllocationResult:
    resumed: list[str] = []
    pools = resplitter.pools  # ref -> the stock figure it draws on, learnt while reading
    for order_id in releases.backorder_orders_for(store_id, ProductRef(product_id)):
        if resplitter.finish_unfinished(order_id):
            resumed.append(order_id)
            continue
        for record in releases.for_order(store_id, order_id):
            # An earlier run decided and died before finishing: finish that decision first,
            # before the figures are read, so its units are not handed out again.
            unfinished = record.state in (ReleaseState.PLANNED, ReleaseState.STATUS_SET)
            if unfinished and _carry_out(store_id, record, platform, releases, audit, on_released):
                resumed.append(order_id)
    open_orders = _open_orders(store_id, product_id, platform, releases)
    available = _available(store_id, open_orders, platform, releases, settle=True, pools=pools)
    arrived = sum(units for ref, units in available.items() if _matches(ref, product_id))
    if not open_orders:
        return AllocationResult(product_id, available, resumed=tuple(resumed))
    if arrived > 0 and on_stock_arrived is not None:
        on_stock_arrived(store_id, product_id, arrived)

    queue = [
        _open_backorder(store_id, order, policy_store, bumps, platform, pools)
        for order in open_orders
    ]
    result = plan_release(available, queue)
    by_id = {order.id: order for order in open_orders}
    released: list[str] = []
    waiting: list[str] = []
    for decision in result.orders:
        order = by_id[decision.order_id]
        audit.record(
            store_id, order.id, "decision", decision.reason.message,
            reason=decision.reason.code, rank=decision.rank, product_id=product_id,
            lines=[{"line_id": line.line_id, "requested": line.requested,
                    "allocated": line.allocated} for line in decision.lines],
        )  # fmt: skip
        if decision.allocated and not decision.complete:
            # Only delivery conditions that allow it give a partial allocation (core/release.py).
            released_now = resplitter.split_and_release(order, decision)
            (released if released_now else waiting).append(order.id)
            continue
        if decision.allocated == 0:
            waiting.append(order.id)
            continue
        target = ReleaseAs.PAID if order.payment_state is PaymentState.PAID else ReleaseAs.UNPAID
        lines = release_lines(
            [(line.line_id, line.ref, line.allocated) for line in decision.lines], pools.get
        )
        record = releases.start(store_id, release_key(order.id), order.id, target, lines)
        if record.state in RELEASE_FINISHED:
            continue
        if _carry_out(store_id, record, platform, releases, audit, on_released):
            released.append(order.id)
    log.info(
        "allocated store=%s product=%s released=%s waiting=%s",
        store_id, product_id, len(released), len(waiting),
    )  # fmt: skip
    return AllocationResult(
        product_id, available, tuple(released), tuple(waiting), tuple(resumed),
        tuple(resplitter.split_again), result.orders,
    )  # fmt: skip


def _open_orders(
    store_id: int, product_id: str, platform: ReleasePlatform, releases: ReleaseLedger
) -> list[Order]:
    """Orders waiting for `product_id`, never released, still held: backorder orders split by
    us, and originals held whole (`core.split.hold_key`) still On Hold."""
    unreleased = [
        order_id
        for order_id in releases.backorder_orders_for(store_id, ProductRef(product_id))
        if not releases.for_order(store_id, order_id)  # released (or being released) already
    ]
    # One read for all of them (per 100), not one per order: every stock change of a product
    # runs this, and a product can have many open backorders.
    return [o for o in platform.get_orders(unreleased) if _still_waits(o)]


def _still_waits(order: Order) -> bool:
    """A backorder order still on-hold, or a held original still On Hold (a merchant who
    cancels it or sends it on themselves takes it out of the queue)."""
    if order.links.is_backorder_order:
        return order.status is Status.NEW_BACKORDER
    return order.status is Status.ON_HOLD


@dataclass(frozen=True)
class Preview:
    """What `units` more units of a product would release, without releasing anything."""

    product_id: str
    units: int
    available_now: Mapping[ProductRef, int]
    ranking: tuple[OrderRelease, ...]
    orders: Mapping[str, OpenBackorder]  # by order id: priority, age, delivery condition


def preview_allocation(
    store_id: int,
    product_id: str,
    units: int,
    *,
    platform: ReleasePlatform,
    releases: ReleaseLedger,
    policies: PolicyStore,
    priority_bumps: Mapping[str, int] | None = None,
) -> Preview:
    """The release ranking if `units` of `product_id` arrived now (reads only)."""
    open_orders = _open_orders(store_id, product_id, platform, releases)
    pools: dict[ProductRef, ProductRef] = {}
    available = _available(store_id, open_orders, platform, releases, settle=False, pools=pools)
    hypothetical = {
        ref: count + (units if _matches(ref, product_id) else 0) for ref, count in available.items()
    }
    queue = [
        _open_backorder(store_id, o, policies, priority_bumps or {}, platform, pools)
        for o in open_orders
    ]
    result = plan_release(hypothetical, queue)
    return Preview(product_id, units, available, result.orders, {b.order_id: b for b in queue})


def _open_backorder(
    store_id: int,
    order: Order,
    policy_store: PolicyStore,
    bumps: Mapping[str, int],
    platform: ReleasePlatform,
    pools: Mapping[ProductRef, ProductRef],
) -> OpenBackorder:
    policies = policy_store.policies_for(store_id, order)
    customer = policies.customer
    delivery: DeliveryCondition = (
        order.delivery_override
        or (customer.delivery_condition if customer is not None else None)
        or policies.settings.default_delivery
    )
    if not order.links.releases_in_part:
        delivery = DeliveryCondition.WHOLE_ORDER  # no partial release to give it
    priority = (customer.priority if customer is not None else 0) + bumps.get(order.id, 0)
    return OpenBackorder(
        order_id=order.id,
        priority=priority,
        created_at=platform.waiting_since(order.id) or order.created_at,
        delivery=delivery,
        lines=tuple(
            OpenLine(line.line_id, line.ref, line.quantity, pools.get(line.ref))
            for line in order.lines
        ),
        number=order.number,
    )


def _available(
    store_id: int,
    open_orders: Iterable[Order],
    platform: ReleasePlatform,
    releases: ReleaseLedger,
    *,
    settle: bool,
    pools: dict[ProductRef, ProductRef],
) -> dict[ProductRef, int]:
    """Units free for release per stock figure of the open orders: the platform's answer
    (`Platform.free_units`, README "Stock accounting"); fills `pools` with the figure each of
    their products draws on."""
    records = _promised(store_id, releases)
    answer = platform.free_units(list(open_orders), [_promise(r) for r in records])
    pools.update(answer.pools)
    if settle:
        _settle(store_id, records, answer.promises, releases)
    return dict(answer.free)


def release_lines(
    lines: Iterable[tuple[str, ProductRef, int]],
    pool_of: Callable[[ProductRef], ProductRef | None],
) -> list[dict[str, Any]]:
    """A release record's lines from (line id, product, units): each names the stock figure
    it draws on (`pool`) when that is not its own, so held units are counted per figure."""
    result: list[dict[str, Any]] = []
    for line_id, ref, units in lines:
        entry: dict[str, Any] = {
            "line_id": line_id, "product_id": ref.product_id, "variant_id": ref.variant_id,
            "units": units,
        }  # fmt: skip
        pool = pool_of(ref)
        if pool is not None and pool != ref:
            entry["pool"] = ref_to_dict(pool)
        result.append(entry)
    return result


def held_by_unpaid_releases(
    store_id: int,
    platform: HeldStockPlatform,
    releases: ReleaseLedger,
    *,
    settle: bool,
    pools: Collection[ProductRef] | None = None,
    excluding: str | None = None,
) -> dict[ProductRef, int]:
    """Units per stock figure released to unpaid orders still awaiting payment: the store
    counts them in its figure, but they are promised (module docstring). Allocation and
    splitting both count them out of the free units (`free_units`); the platform says which
    promises still hold (`Platform.held_units`).

    `pools` limits the count to releases drawing on those figures (a split needs only its
    order's), `excluding` leaves out an order's own release (never held against itself). The
    platform reads the orders once for all of them, and not at all when no release is open.
    With `settle`, a finished release that holds nothing any more (paid, cancelled, deleted) is
    marked settled (or gone) and never read again.
    """
    wanted = set(pools) if pools is not None else None
    records = [
        record
        for record in _promised(store_id, releases)
        if record.order_id != excluding
        and (wanted is None or any(release_pool(line) in wanted for line in record.lines))
    ]
    if not records:
        return {}
    answer = platform.held_units([_promise(record) for record in records])
    if settle:
        _settle(store_id, records, answer, releases)
    return dict(answer.held)


def free_in_stock(
    store_id: int,
    refs: Iterable[ProductRef],
    *,
    platform: ReleasePlatform,
    releases: ReleaseLedger,
) -> tuple[dict[ProductRef, int], dict[ProductRef, ProductRef]]:
    """Units free now of products no order waits for (kept in stock at a reorder point), per
    stock figure, as allocation counts them with no waiting order (README "Stock
    accounting"): the figure less the units promised to released orders awaiting payment;
    and the figure each product draws on. A product whose stock the store does not count is
    left out: nothing can be said of it. One read per product, and one for the promises."""
    figures = {ref: platform.stock_figure(ref) for ref in refs}
    counted = {ref: f for ref, f in figures.items() if f.quantity is not None}
    if not counted:
        return {}, {}
    held = platform.held_units([_promise(r) for r in _promised(store_id, releases)]).held
    free = {
        f.pool: free_units(f.quantity, 0, held.get(f.pool, 0))
        for f in counted.values()
        if f.quantity is not None
    }
    return free, {ref: f.pool for ref, f in counted.items()}


def _promised(store_id: int, releases: ReleaseLedger) -> list[ReleaseRecord]:
    """Releases to unpaid orders that may still hold units (not settled, not gone)."""
    return [
        record
        for record in releases.released_to_pay(store_id)
        if record.state not in (ReleaseState.SETTLED, ReleaseState.GONE)
    ]


def _promise(record: ReleaseRecord) -> Promise:
    return Promise(record.order_id, record.lines)


def _settle(
    store_id: int, records: Iterable[ReleaseRecord], answer: HeldUnits, releases: ReleaseLedger
) -> None:
    """A finished release whose order is gone, or holds nothing any more (paid: stock taken
    again; cancelled: the units are free), is over: it is never read again."""
    for record in records:
        if record.state != ReleaseState.DONE:
            continue
        state = answer.states.get(record.order_id)
        if state is PromiseState.GONE:
            releases.advance(store_id, record.release_key, ReleaseState.GONE)
        elif state is PromiseState.SETTLED:
            releases.advance(store_id, record.release_key, ReleaseState.SETTLED)


@dataclass
class _Resplitter:
    """Splits partly released backorder orders again and releases them (module docstring)."""

    store_id: int
    platform: ReleasePlatform
    releases: ReleaseLedger
    splits: SplitLedger
    policy_store: PolicyStore
    audit: AuditLog
    order_lock: Callable[[str], AbstractContextManager[object]] | None
    on_released: OnReleased | None
    split_again: list[tuple[str, str]] = field(default_factory=list)
    pools: dict[ProductRef, ProductRef] = field(default_factory=dict)  # ref -> its figure

    def pool_of(self, ref: ProductRef) -> ProductRef:
        """The stock figure `ref` draws on: as read this run, else read now (a resumed run)."""
        if ref not in self.pools:
            self.pools[ref] = self.platform.stock_figure(ref).pool
        return self.pools[ref]

    def finish_unfinished(self, order_id: str) -> bool:
        """Finish a re-split of `order_id` that an earlier run left unfinished, and release
        it; True when there was one."""
        record = self.splits.get(self.store_id, resplit_key(order_id))
        if record is None or record.state == SplitState.FAILED:
            return False
        if self._release_finished(order_id):
            return False
        return self._locked(order_id, None, None)

    def split_and_release(self, order: Order, decision: OrderRelease) -> bool:
        """Split `order` again so that what `decision` allocates ships now, then release it;
        True when it was released now."""
        released = {line.line_id: line.allocated for line in decision.lines}
        return self._locked(order.id, order, released)

    def _release_finished(self, order_id: str) -> bool:
        return any(
            r.state in RELEASE_FINISHED for r in self.releases.for_order(self.store_id, order_id)
        )

    def _locked(
        self, order_id: str, order: Order | None, released: Mapping[str, int] | None
    ) -> bool:
        with contextlib.ExitStack() as stack:
            if self.order_lock is not None:
                try:
                    stack.enter_context(self.order_lock(order_id))
                except TransientError as exc:
                    if exc.reason != "busy":
                        raise
                    # Another job is changing the order (splitting it, cancelling a line):
                    # it waits for this run; the next allocation run sees what came of it.
                    self.audit.record(
                        self.store_id, order_id, "info",
                        "Partial release waits: the order is being changed by another job.",
                    )  # fmt: skip
                    return False
            # Read again under the lock: another job may have finished it meanwhile.
            record = self.splits.get(self.store_id, resplit_key(order_id))
            if self._release_finished(order_id) or (
                record is not None and record.state == SplitState.FAILED
            ):
                return False
            if order is None:
                order = self.platform.get_order(order_id)
            settings = self.policy_store.policies_for(self.store_id, order).settings
            fresh: Order | None = None
            try:
                if record is None:
                    if released is None:
                        return False
                    fresh = order  # read under the product lock; only a re-split changes it
                    record = start_resplit(
                        self.store_id, order, released,
                        platform=self.platform, splits=self.splits, settings=settings,
                    )  # fmt: skip
                new_id = record.backorder_order_id
                if record.state != SplitState.DONE:
                    new_id = carry_out_resplit(
                        self.store_id, record, platform=self.platform, splits=self.splits,
                        audit=self.audit, customer_note=settings.customer_note_on_split,
                        backorder=fresh,
                    )  # fmt: skip
            except PermanentError as exc:
                self._fail(order_id, record, exc)
                raise
            assert new_id is not None  # a re-split past BACKORDER_CREATED names its order
            self.split_again.append((order_id, new_id))
            return self._release(order_id, record)

    def _release(self, order_id: str, record: SplitRecord) -> bool:
        plan = plan_from_dict(record.plan)
        target = (
            ReleaseAs.PAID if plan.payment is PaymentAction.PAID_FROM_ORIGINAL else ReleaseAs.UNPAID
        )
        lines = release_lines(
            [(lp.line_id, lp.ref, lp.keep) for lp in plan.lines if lp.keep > 0], self.pool_of
        )
        release = self.releases.start(self.store_id, release_key(order_id), order_id, target, lines)
        if release.state in (ReleaseState.PLANNED, ReleaseState.STATUS_SET):
            return _carry_out(
                self.store_id, release, self.platform, self.releases, self.audit,
                self.on_released,
            )  # fmt: skip
        return release.state != ReleaseState.GONE

    def _fail(self, order_id: str, record: SplitRecord | None, exc: PermanentError) -> None:
        message = f"Could not split backorder order {order_id} again: {exc} ({exc.reason})."
        record_failure(
            self.store_id, order_id, exc, message, ledger=self.splits, audit=self.audit,
            keys=[record.split_key] if record is not None else [],
        )  # fmt: skip


def _carry_out(
    store_id: int,
    record: ReleaseRecord,
    platform: ReleasePlatform,
    releases: ReleaseLedger,
    audit: AuditLog,
    on_released: OnReleased | None,
) -> bool:
    """Move a release from its recorded state to DONE; every step is safe to repeat. False
    when the order no longer exists in the store (the release is GONE, see `_gone`)."""
    try:
        _carry_out_steps(store_id, record, platform, releases, audit, on_released)
    except NotFound as exc:
        _gone(store_id, record, releases, audit, exc)
        return False
    return True


def _gone(
    store_id: int,
    record: ReleaseRecord,
    releases: ReleaseLedger,
    audit: AuditLog,
    exc: NotFound,
) -> None:
    """The order was deleted in the store while it was being released. Whether the store said
    so with a 404 or (an update, WC_REST_CRUD_Controller::update_item) a 400, the client calls
    it NotFound: the release ends here, and the other orders of the product are still served
    (left PLANNED, it would fail every later allocation of the product)."""
    releases.advance(store_id, record.release_key, ReleaseState.GONE)
    audit.record(
        store_id, record.order_id, "error",
        f"Not released: the order no longer exists in the store ({exc.reason}).",
        release_key=record.release_key, reason=exc.reason,
    )  # fmt: skip
    log.warning("release gone store=%s order=%s reason=%s", store_id, record.order_id, exc.reason)


def _carry_out_steps(
    store_id: int,
    record: ReleaseRecord,
    platform: ReleasePlatform,
    releases: ReleaseLedger,
    audit: AuditLog,
    on_released: OnReleased | None,
) -> None:
    """planned → status set (the order moves on, paid or unpaid) → done (its note, the audit
    entry and the `on_released` hook, at least once)."""
    key = record.release_key
    payment_url = record.payment_url

    def set_status() -> dict[str, Any]:
        nonlocal payment_url
        payment_url = platform.release_order(record.order_id, record.target_status, key)
        return {"payment_url": payment_url}

    def note() -> None:
        platform.add_note(record.order_id, release_note(record, payment_url))
        audit.record(
            store_id, record.order_id, "info",
            f"Released: Backorder Approved; {goes_on(record.target_status)}.",
            release_key=key, payment_url=payment_url,
        )  # fmt: skip
        if on_released is not None:
            # At least once: a crash before DONE calls the hook again on resume.
            on_released(store_id, record.order_id, payment_url)

    carry_out(
        record.state,
        [
            Step((ReleaseState.PLANNED,), ReleaseState.STATUS_SET, set_status),
            Step((ReleaseState.STATUS_SET,), ReleaseState.DONE, note),
        ],
        lambda state, **values: releases.advance(store_id, key, state, **values),
    )


def goes_on(target_status: str) -> str:
    """How a released order goes on, in no platform's words (`ReleaseAs` keeps WooCommerce's
    status names only as the stored values; each adapter maps them onto its own statuses)."""
    if target_status == ReleaseAs.UNPAID:
        return "the customer pays before it ships"
    return "it is paid and ships now"


def release_note(record: ReleaseRecord, payment_url: str | None) -> str:
    """Private note on a released backorder order."""
    units = sum(int(line["units"]) for line in record.lines)
    text = (
        f"Backorders released this order (key {record.release_key}): "
        f"{all_units(units, ('is', 'are'))} in stock (Backorder Approved); "
        f"{goes_on(record.target_status)}."
    )
    if payment_url:
        text += f" The customer pays on release: {payment_url}"
    return text
