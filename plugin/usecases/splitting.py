"""Use cases over the ports: handle one order event, reconcile one store.

No Flask and no RQ here: `worker.py` builds the adapters and passes them in; tests pass the
in-memory fakes of `tests/fakes.py`. Transient errors propagate (the job is retried);
permanent errors are recorded where the merchant sees them and then re-raised so the caller
can mark the event failed without retrying it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

from plugin.core.model import (
    Order,
    Outcome,
    PaymentAction,
    PaymentState,
    Plan,
    Policies,
    ProductRef,
    Stock,
)
from plugin.core.serialize import plan_from_dict, plan_to_dict
from plugin.core.split import hold_key, plan_split
from plugin.core.wording import counted
from plugin.errors import PermanentError, TransientError
from plugin.ports import (
    SPLIT_FINISHED,
    Alerts,
    AuditLog,
    PolicyStore,
    ProductReading,
    ReleaseLedger,
    SplitLedger,
    SplitNotifier,
    SplitPlatform,
    SplitRecord,
    SplitState,
    StockLock,
    Together,
)
from plugin.steps import SplitWrite, Step, carry_out, record_failure
from plugin.usecases.holding import carry_out_hold, hold_for_review
from plugin.usecases.releasing import held_by_unpaid_releases
from plugin.usecases.setting_aside import manual_backorder_note, manual_record, set_aside_stock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventResult:
    """What handling an order event did. `status` is 'split', 'hold', 'no_change' or
    'ignored' (our own write, or a split already finished)."""

    status: str
    order_id: str
    split_key: str | None = None
    backorder_order_id: str | None = None
    detail: str = ""


class NoAlerts:
    """Alerts that are only logged (a caller without an alert sink)."""

    def add_alert(
        self, store_id: int, kind: str, message: str, *, order_id: str | None = None
    ) -> object:
        log.warning("alert store=%s order=%s kind=%s (no alert sink)", store_id, order_id, kind)
        return None


def handle_order_event(
    store_id: int,
    order_id: str,
    *,
    platform: SplitPlatform,
    ledger: SplitLedger,
    releases: ReleaseLedger,
    policies: PolicyStore,
    audit: AuditLog,
    alerts: Alerts | None = None,
    notifier: SplitNotifier | None = None,
    stock_lock: StockLock | None = None,
    named_products: Collection[ProductRef] = (),
    together: Together | None = None,
) -> EventResult:
    """Re-fetch the order, decide, and carry the decision out exactly once.

    `releases` tells which units are promised to released orders awaiting payment, and
    `stock_lock` holds the allocation locks of the order's products while the free units are
    read (`_free_stock`). `named_products` are the products the event's delivery named: for an
    order not handled yet their stock is read at the same time as the order (`_read_order`),
    and afterwards only what the fresh order adds. With `together`, a split's ledger records
    and the audit entries that go with them are written in one transaction each.
    """
    alert_sink: Alerts = alerts if alerts is not None else NoAlerts()
    with failures_recorded(store_id, order_id, ledger, audit, alert_sink):
        return _handle(
            store_id, order_id, platform, ledger, releases, policies, audit, alert_sink,
            notifier, stock_lock, frozenset(named_products), together,
        )  # fmt: skip


@contextlib.contextmanager
def failures_recorded(
    store_id: int, order_id: str, ledger: SplitLedger, audit: AuditLog, alerts: Alerts
) -> Iterator[None]:
    """Around a split: a transient error is audited ("will retry") and raised, so the job
    retries; a permanent one is recorded for the merchant (`record_split_failure`) and raised."""
    try:
        yield
    except TransientError as exc:
        audit.record(
            store_id, order_id, "retry", f"Temporary problem, will retry: {exc}", reason=exc.reason
        )
        raise
    except PermanentError as exc:
        record_split_failure(store_id, order_id, exc, ledger, audit, alerts)
        raise


def _handle(
    store_id: int,
    order_id: str,
    platform: SplitPlatform,
    ledger: SplitLedger,
    releases: ReleaseLedger,
    policy_store: PolicyStore,
    audit: AuditLog,
    alerts: Alerts,
    notifier: SplitNotifier | None,
    stock_lock: StockLock | None,
    named: frozenset[ProductRef],
    together: Together | None,
) -> EventResult:
    # Read once: the caller holds the order's lock, so no other job records a split of it
    # meanwhile (worker.process_event).
    records = ledger.for_order(store_id, order_id)
    settled = _settled(order_id, records)
    if settled is not None:
        # Nothing the order holds now could change this (our own writes coming back, a
        # retried delivery, any later change of a finished split's order): no read.
        log.info("order event ignored unread: %s store=%s order=%s", settled.detail, store_id,
                 order_id)  # fmt: skip
        return settled
    # The webhook is only a notification; the platform's current order is the truth.
    order, early = _read_order(store_id, order_id, named, records, platform, releases, stock_lock)
    if order.links.is_backorder_order:
        log.info("order event ignored: own backorder order store=%s order=%s", store_id, order_id)
        return EventResult("ignored", order_id, detail="backorder order created by us")
    if any(r.backorder_order_id == order_id for r in records):
        return EventResult("ignored", order_id, detail="backorder order created by us")
    hold = next((r for r in records if r.split_key == hold_key(order_id)), None)
    if hold is not None and hold.state not in SPLIT_FINISHED:
        audit.record(store_id, order_id, "info", f"Resuming hold {hold.split_key} at {hold.state}.")
        carry_out_hold(store_id, order, hold, platform, ledger, audit)
        return EventResult("hold", order_id, split_key=hold.split_key)
    if hold is not None:
        # It waits whole for stock: allocation serves it in its place, like a backorder order
        # (plugin/usecases/releasing.py), and splits it only with the stock it hands it. (A failed
        # hold was recorded for the merchant: not retried.)
        detail = "waits for stock" if hold.state == SplitState.DONE else hold.state
        return EventResult("ignored", order_id, split_key=hold.split_key, detail=detail)
    unfinished = [
        r for r in records if r.original_order_id == order_id and r.state not in SPLIT_FINISHED
    ]
    policies = policy_store.policies_for(store_id, order)
    if unfinished:
        # Finish what was started from its stored plan: stock may have changed since, and a
        # new plan could disagree with what already reached the platform.
        record = unfinished[0]
        audit.record(
            store_id, order_id, "info", f"Resuming split {record.split_key} at {record.state}."
        )
        return carry_out_split(
            store_id, order, record, platform, ledger, policies, audit, notifier, alerts,
            together,
        )  # fmt: skip
    finished = [r for r in records if r.original_order_id == order_id]
    if finished:
        states = ",".join(sorted({r.state for r in finished}))
        log.info("order event ignored: split %s store=%s order=%s", states, store_id, order_id)
        return EventResult("ignored", order_id, split_key=finished[0].split_key, detail=states)

    stock, held = _free_stock(store_id, order, platform, releases, stock_lock, early)
    plan = plan_split(order, stock, policies, held)
    # The order page and the audit trail name the lines by them.
    names = {line.line_id: (line.name, line.sku) for line in order.lines}
    # The merchant's alerts first: the decision is then written with the split's record.
    for reason in plan.alerts:
        alerts.add_alert(store_id, reason.code, reason.message, order_id=order_id)
    if notifier is not None and plan.alerts:
        notifier.order_not_backordered(store_id, order, plan.alerts)
    # A split's (or a hold's) record is written with its decision, in one transaction.
    with together() if together is not None else contextlib.nullcontext():
        audit.record(
            store_id,
            order_id,
            "decision",
            _decision_summary(plan),
            outcome=plan.outcome.value,
            split_key=plan.split_key,
            reasons=[
                {"code": r.code, "message": r.message, "line_id": r.line_id} for r in plan.reasons
            ],
            lines=[
                {"line_id": lp.line_id, "product": names.get(lp.line_id, ("", ""))[0],
                 "sku": names.get(lp.line_id, ("", ""))[1],
                 "ordered": lp.ordered, "keep": lp.keep, "backorder": lp.backorder,
                 "oversold": lp.oversold}
                for lp in plan.lines
            ],
            held=[
                {"product_id": ref.product_id, "variant_id": ref.variant_id, "units": units}
                for ref, units in sorted(held.items(), key=lambda item: _ref_key(item[0]))
            ],
        )  # fmt: skip
        started: SplitRecord | None = None
        if plan.outcome is Outcome.SPLIT:
            assert plan.split_key is not None  # a SPLIT plan always carries its key
            started = ledger.start(
                store_id, order_id, plan.split_key, plan_to_dict(plan),
                # Issue 16: an authorisation lapses (Shopify: about 7 days); recorded now, the
                # merchant is warned before it does (plugin/usecases/authorisations.py).
                payment_expires_at=(
                    order.payment_expires_at
                    if order.payment_state is PaymentState.AUTHORISED else None
                ),
            )  # fmt: skip
        elif plan.outcome is Outcome.HOLD and plan.awaits_stock:
            started = ledger.start(store_id, order_id, hold_key(order_id), plan_to_dict(plan))

    if plan.outcome is Outcome.SPLIT:
        assert started is not None
        if started.state in SPLIT_FINISHED:
            return EventResult(
                "ignored", order_id, split_key=started.split_key, detail=started.state
            )
        return carry_out_split(
            store_id, order, started, platform, ledger, policies, audit, notifier, alerts,
            together,
        )  # fmt: skip
    if started is not None:  # a hold that waits for stock
        carry_out_hold(store_id, order, started, platform, ledger, audit)
        return EventResult("hold", order_id, split_key=started.split_key)
    if plan.outcome is Outcome.HOLD:
        return EventResult(
            "hold", order_id, detail=hold_for_review(store_id, order, plan, platform, audit)
        )
    return EventResult("no_change", order_id, detail=plan.reasons[-1].code if plan.reasons else "")


def _settled(order_id: str, records: Sequence[SplitRecord]) -> EventResult | None:
    """What an event of the order comes to when what we recorded decides it alone: every split
    and hold recorded for it (as original or as backorder order) finished, DONE or FAILED. Such
    an event is ignored whatever the order holds now, as `_handle` does after its read, with the
    same result; None when nothing is recorded or something is left to do (then the order is
    read: a resumed split starts from it, a new one plans from it)."""
    if not records or any(r.state not in SPLIT_FINISHED for r in records):
        return None
    if any(r.backorder_order_id == order_id for r in records):
        return EventResult("ignored", order_id, detail="backorder order created by us")
    hold = next((r for r in records if r.split_key == hold_key(order_id)), None)
    if hold is not None:
        detail = "waits for stock" if hold.state == SplitState.DONE else hold.state
        return EventResult("ignored", order_id, split_key=hold.split_key, detail=detail)
    finished = [r for r in records if r.original_order_id == order_id]
    if not finished:
        return None
    states = ",".join(sorted({r.state for r in finished}))
    return EventResult("ignored", order_id, split_key=finished[0].split_key, detail=states)


@dataclass(frozen=True)
class _EarlyStock:
    """Stock read with the order, before it was known (`_read_order`): the store's records of
    the products the delivery named, and the units held on the figures they may draw on."""

    reading: ProductReading
    held: Mapping[ProductRef, int]


def _read_order(
    store_id: int,
    order_id: str,
    named: frozenset[ProductRef],
    records: Sequence[SplitRecord],
    platform: SplitPlatform,
    releases: ReleaseLedger,
    stock_lock: StockLock | None,
) -> tuple[Order, _EarlyStock | None]:
    """The order as the store has it now and, for an order we have not handled yet whose
    delivery named its products, their stock read in the same round trip.

    A split is three round trips at best (read, batch write, note); reading the order and then
    its stock made it four. The named products are read as `_free_stock` reads them (under
    their allocation locks, the held units first, then the figures), at the same time as the
    order. An order with a split or a hold recorded (`records`) reads no stock here: its
    events (our own writes coming back, a resumed split) need none, or read it later as before.
    """
    if not named or records:
        return platform.get_order(order_id), None
    refs = sorted(named, key=_ref_key)
    with _locked(stock_lock, refs):
        held = held_by_unpaid_releases(
            store_id, platform, releases, settle=True, pools=_figures(refs), excluding=order_id
        )
        order, reading = platform.read_order_and_products(order_id, refs)
    return order, _EarlyStock(reading, held)


def _free_stock(
    store_id: int,
    order: Order,
    platform: SplitPlatform,
    releases: ReleaseLedger,
    stock_lock: StockLock | None,
    early: _EarlyStock | None = None,
) -> tuple[Mapping[ProductRef, Stock], dict[ProductRef, int]]:
    """The stock seen from `order` and the units of its stock figures promised to released
    orders awaiting payment: the same free units allocation counts (README "Stock accounting").

    Read under the allocation locks of the order's products (the per-store+product lock an
    allocation job holds while it reads, decides and writes), the holds first, then the figure:

    - The lock: releasing an unpaid order to `pending` makes the store give its units back to
      the figure, and the job counts them as held. Under the lock our two reads see a release
      wholly or not at all, so the split counts exactly what allocation counted. A release
      between the reads would show its units in the figure and not yet as held; the sums would
      still hold (the order took its own units from the figure before either job read it), but
      the new order would be served before older backorder orders.
    - Holds first: nothing locks out a customer paying a held order. Paying between the reads
      makes those units count twice (held, and taken again), so they go on backorder until the
      next allocation; read the other way round, both customers would get them.
    - Not while the plan is written: the order's units are already taken from the figure, so
      no allocation counts them as free.

    With `early` (read with the order, the same way), only the products the fresh order adds
    to those the delivery named are read now, with every product sharing their product id:
    variations of one parent may draw on one figure, which is then read once, with its holds.
    """
    refs = sorted({line.ref for line in order.lines}, key=_ref_key)
    read: ProductReading | None = None
    held: dict[ProductRef, int] = {}
    again = refs
    if early is not None:
        added = {ref.product_id for ref in refs if ref not in early.reading.refs}
        again = [ref for ref in refs if ref.product_id in added]
        read = early.reading.without(again)
        rereads = _figures(again)
        held = {pool: units for pool, units in early.held.items() if pool not in rereads}
    if again:
        with _locked(stock_lock, again):
            held.update(
                held_by_unpaid_releases(
                    store_id, platform, releases, settle=True, pools=_figures(again),
                    excluding=order.id,
                )
            )  # fmt: skip
            stock = platform.get_stock(order, read)
    else:
        stock = platform.get_stock(order, read)  # all read with the order: no request
    drawn = {item.pool_ref for item in stock.values()}
    return stock, {pool: units for pool, units in held.items() if pool in drawn}


def _figures(refs: Sequence[ProductRef]) -> set[ProductRef]:
    """The figures these products may draw on: their own, or for a variation its parent's
    (the stock read says which; held units are keyed by figure, `Stock.pool_ref`)."""
    return {*refs, *(ProductRef(ref.product_id) for ref in refs if ref.variant_id)}


def _locked(
    stock_lock: StockLock | None, refs: Sequence[ProductRef]
) -> contextlib.AbstractContextManager[object]:
    return stock_lock(refs) if stock_lock is not None else contextlib.nullcontext()


def _ref_key(ref: ProductRef) -> tuple[str, str]:
    return (ref.product_id, ref.variant_id or "")


def carry_out_split(
    store_id: int,
    order: Order,
    record: SplitRecord,
    platform: SplitPlatform,
    ledger: SplitLedger,
    policies: Policies,
    audit: AuditLog,
    notifier: SplitNotifier | None = None,
    alerts: Alerts | None = None,
    together: Together | None = None,
) -> EventResult:
    """Move the split forward from its recorded state to DONE (plugin/steps.py): planned →
    backorder created → original updated (one batch) → noted → done; every step is safe to
    repeat. A split the merchant made by hand (`manual_splitting.py`) also sets its units aside
    from the stock figures before the notes, and notes the backorder order too. With
    `together`, a record and its audit entries are one transaction."""
    key = record.split_key
    plan = plan_from_dict(record.plan)
    manual = manual_record(record.plan)
    write = SplitWrite(
        record, ledger=ledger, audit=audit, order_id=order.id, what="split",
        # The split key written on the order finds it (the platform adapter's meta).
        find=lambda: platform.find_backorder_order(order.id, key),
        write=lambda existing: platform.write_split(
            order, plan, backorder_order_id=existing, summary=backorder_summary(plan, order)
        ),
        together=together,
    )  # fmt: skip

    def note() -> None:
        # The one note of a split: the backorder order carries its summary from its creation.
        backorder_id = write.backorder_order_id
        assert backorder_id is not None  # recorded with BACKORDER_CREATED
        if manual is not None:
            # Before the notes, which say what it did; repeating it writes nothing again.
            sink = alerts if alerts is not None else NoAlerts()
            set_aside = set_aside_stock(store_id, order.id, manual, platform, audit, sink)
            platform.add_note(order.id, "\n".join([split_note(plan, backorder_id), *set_aside]))
            platform.add_note(
                backorder_id,
                "\n".join([manual_backorder_note(plan, order.number, manual), *set_aside]),
            )
        else:
            platform.add_note(order.id, split_note(plan, backorder_id))
        if policies.settings.customer_note_on_split:  # off by default: one more call
            platform.add_note(order.id, customer_split_note(plan), customer=True)

    def notify() -> None:
        if notifier is not None:
            # Before DONE, so a crash here tells the customer on the retry; the message key
            # (the split key) keeps it to one e-mail.
            notifier.order_split(store_id, order, plan, policies)

    def done() -> None:
        audit.record(
            store_id, order.id, "info",
            f"Split done: backorder order {plan.backorder_number} (id {write.backorder_order_id}).",
            split_key=key, backorder_order_id=write.backorder_order_id,
        )  # fmt: skip

    carry_out(
        record.state,
        [
            *write.steps(),
            Step((SplitState.ORIGINAL_UPDATED,), SplitState.NOTED, note),
            Step((SplitState.NOTED,), SplitState.DONE, notify, then=done),
        ],
        lambda state, **values: ledger.advance(store_id, key, state, **values),
        together,
    )
    return EventResult(
        "split", order.id, split_key=key, backorder_order_id=write.backorder_order_id
    )


def record_split_failure(
    store_id: int,
    order_id: str,
    exc: PermanentError,
    ledger: SplitLedger,
    audit: AuditLog,
    alerts: Alerts,
) -> None:
    message = f"Could not process order {order_id}: {exc} ({exc.reason}). Not retried."
    unfinished = [
        record.split_key
        for record in ledger.for_order(store_id, order_id)
        if record.original_order_id == order_id and record.state not in SPLIT_FINISHED
    ]
    record_failure(store_id, order_id, exc, message, ledger=ledger, audit=audit, keys=unfinished)
    alerts.add_alert(store_id, exc.reason, message, order_id=order_id)
    log.warning(
        "order failed permanently store=%s order=%s reason=%s", store_id, order_id, exc.reason
    )


# --- notes ------------------------------------------------------------------------------------


def _decision_summary(plan: Plan) -> str:
    if plan.outcome is Outcome.SPLIT:
        moved = sum(lp.backorder for lp in plan.lines)
        return f"Split: {moved} units to backorder order {plan.backorder_number}."
    if plan.outcome is Outcome.HOLD:
        return "Hold: the order waits; nothing is moved."
    return "No change: " + (plan.reasons[-1].message if plan.reasons else "nothing to do.")


def split_note(plan: Plan, backorder_order_id: str) -> str:
    """Private note on the original: what moved where, and why."""
    lines = [
        f"Backorders split this order (key {plan.split_key}): backorder order "
        f"{plan.backorder_number} (id {backorder_order_id}) now holds:"
    ]
    for lp in plan.lines:
        if lp.backorder:
            lines.append(
                f"- {lp.backorder} of {lp.ordered} units of line {lp.line_id}: {lp.reason.message}"
            )
    for reason in plan.reasons:
        if reason.line_id is None:
            lines.append(reason.message)
    return "\n".join(lines)


def backorder_summary(plan: Plan, original: Order) -> str:
    """What the backorder order records for the merchant: its reference, its original, what it
    holds and how it is paid."""
    # On a resumed split the original is re-read, and a wholly moved line is gone from it.
    names = {line.line_id: line.name for line in original.lines}
    held = ", ".join(
        f"{lp.backorder} x {names.get(lp.line_id, f'line {lp.line_id}')}"
        for lp in plan.lines
        if lp.backorder
    )
    paid = (
        "Paid from the original order's payment: no second charge."
        if plan.payment is PaymentAction.PAID_FROM_ORIGINAL
        else f"Not paid yet: {plan.moved_amount} {original.currency} is due when it ships."
    )
    return (
        f"Backorder {plan.backorder_number} of order {original.number} (id {original.id}), "
        f"split key {plan.split_key}. Holds {held} until stock arrives. {paid}"
    )


def customer_split_note(plan: Plan) -> str:
    """Note to the customer: what ships now and what follows as a backorder."""
    moved = sum(lp.backorder for lp in plan.lines)
    return (
        f"Part of your order is on backorder: {counted(moved, 'item')} will follow in order "
        f"{plan.backorder_number} as soon as they are in stock. Everything else ships now."
    )
