"""Use cases over the ports: handle one order event, reconcile one store.

No Flask and no RQ here: `worker.py` builds the adapters and passes them in; tests pass the
in-memory fakes of `tests/fakes.py`. Transient errors propagate (the job is retried);
permanent errors are recorded where the merchant sees them and then re-raised so the caller
can mark the event failed without retrying it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from plugin.core.model import (
    Order,
    Outcome,
    PaymentAction,
    Plan,
    Policies,
    ProductRef,
    Reason,
    Status,
    Stock,
)
from plugin.core.serialize import plan_from_dict, plan_to_dict
from plugin.core.split import hold_key, plan_split
from plugin.errors import PermanentError, TransientError
from plugin.ports import (
    AuditLog,
    Inbox,
    Platform,
    PolicyStore,
    SplitLedger,
    SplitRecord,
    SplitState,
)
from plugin.usecases.releasing import ReleaseLedger, held_by_unpaid_releases

log = logging.getLogger(__name__)

# Reconciliation re-reads this much before its checkpoint: the platform's clock and ours
# differ a little, and an order saved during the previous run must not fall between runs.
RECONCILE_OVERLAP = dt.timedelta(seconds=120)
# A store reconciled for the first time looks back this far.
RECONCILE_FIRST_LOOKBACK = dt.timedelta(hours=24)
RECONCILE_TOPIC = "order.updated"

_TERMINAL = (SplitState.DONE, SplitState.FAILED)


class Alerts(Protocol):
    """Where the merchant is told about something needing attention (StoreRepository)."""

    def add_alert(
        self, store_id: int, kind: str, message: str, *, order_id: str | None = None
    ) -> object: ...


@dataclass(frozen=True)
class WebhookInfo:
    id: str
    topic: str
    status: str  # WooCommerce: active | paused | disabled
    delivery_url: str


class WebhookAdmin(Protocol):
    """The store's webhook subscriptions (ours only)."""

    def list_webhooks(self) -> list[WebhookInfo]: ...

    def activate_webhook(self, webhook_id: str) -> None: ...


class Checkpoints(Protocol):
    def get_checkpoint(self, store_id: int) -> dt.datetime | None: ...

    def set_checkpoint(self, store_id: int, at: dt.datetime) -> None: ...


@dataclass(frozen=True)
class EventResult:
    """What handling an order event did. `status` is 'split', 'hold', 'no_change' or
    'ignored' (our own write, or a split already finished)."""

    status: str
    order_id: str
    split_key: str | None = None
    backorder_order_id: str | None = None
    detail: str = ""


class SplitNotifier(Protocol):
    """Who tells people about a split (plugin/usecases/notifying.py `Notifications`); optional."""

    def order_split(self, store_id: int, order: Order, plan: Plan, policies: Policies) -> object:
        """The customer: what ships now, what is on backorder."""
        ...

    def order_not_backordered(
        self, store_id: int, order: Order, problems: tuple[Reason, ...]
    ) -> object:
        """The merchant: lines that could not be backordered (oversold, cap)."""
        ...


# Holds the allocation locks of these products (plugin/usecases/releasing.py) while the block runs.
StockLock = Callable[[Sequence[ProductRef]], AbstractContextManager[object]]


class _NoAlerts:
    def add_alert(
        self, store_id: int, kind: str, message: str, *, order_id: str | None = None
    ) -> object:
        log.warning("alert store=%s order=%s kind=%s (no alert sink)", store_id, order_id, kind)
        return None


def handle_order_event(
    store_id: int,
    order_id: str,
    *,
    platform: Platform,
    ledger: SplitLedger,
    releases: ReleaseLedger,
    policies: PolicyStore,
    audit: AuditLog,
    alerts: Alerts | None = None,
    notifier: SplitNotifier | None = None,
    stock_lock: StockLock | None = None,
) -> EventResult:
    """Re-fetch the order, decide, and carry the decision out exactly once.

    `releases` tells which units are promised to released orders awaiting payment, and
    `stock_lock` holds the allocation locks of the order's products while the free units are
    read (`_free_stock`).
    """
    alert_sink: Alerts = alerts if alerts is not None else _NoAlerts()
    try:
        return _handle(
            store_id, order_id, platform, ledger, releases, policies, audit, alert_sink,
            notifier, stock_lock,
        )  # fmt: skip
    except TransientError as exc:
        audit.record(
            store_id, order_id, "retry", f"Temporary problem, will retry: {exc}", reason=exc.reason
        )
        raise
    except PermanentError as exc:
        _record_failure(store_id, order_id, exc, ledger, audit, alert_sink)
        raise


def _handle(
    store_id: int,
    order_id: str,
    platform: Platform,
    ledger: SplitLedger,
    releases: ReleaseLedger,
    policy_store: PolicyStore,
    audit: AuditLog,
    alerts: Alerts,
    notifier: SplitNotifier | None,
    stock_lock: StockLock | None,
) -> EventResult:
    # The webhook is only a notification; the platform's current order is the truth.
    order = platform.get_order(order_id)
    if order.links.is_backorder_order:
        log.info("order event ignored: own backorder order store=%s order=%s", store_id, order_id)
        return EventResult("ignored", order_id, detail="backorder order created by us")
    records = ledger.for_order(store_id, order_id)
    if any(r.backorder_order_id == order_id for r in records):
        return EventResult("ignored", order_id, detail="backorder order created by us")
    hold = next((r for r in records if r.split_key == hold_key(order_id)), None)
    if hold is not None and hold.state not in _TERMINAL:
        audit.record(store_id, order_id, "info", f"Resuming hold {hold.split_key} at {hold.state}.")
        return _carry_out_hold(store_id, order, hold, platform, ledger, audit)
    if hold is not None:
        # It waits whole for stock: allocation serves it in its place, like a backorder order
        # (plugin/usecases/releasing.py), and splits it only with the stock it hands it. (A failed
        # hold was recorded for the merchant: not retried.)
        detail = "waits for stock" if hold.state == SplitState.DONE else hold.state
        return EventResult("ignored", order_id, split_key=hold.split_key, detail=detail)
    unfinished = [
        r for r in records if r.original_order_id == order_id and r.state not in _TERMINAL
    ]
    policies = policy_store.policies_for(store_id, order)
    if unfinished:
        # Finish what was started from its stored plan: stock may have changed since, and a
        # new plan could disagree with what already reached the platform.
        record = unfinished[0]
        audit.record(
            store_id, order_id, "info", f"Resuming split {record.split_key} at {record.state}."
        )
        return _carry_out_split(
            store_id, order, record, platform, ledger, policies, audit, notifier
        )
    finished = [r for r in records if r.original_order_id == order_id]
    if finished:
        states = ",".join(sorted({r.state for r in finished}))
        log.info("order event ignored: split %s store=%s order=%s", states, store_id, order_id)
        return EventResult("ignored", order_id, split_key=finished[0].split_key, detail=states)

    stock, held = _free_stock(store_id, order, platform, releases, stock_lock)
    plan = plan_split(order, stock, policies, held)
    names = {line.line_id: line.name for line in order.lines}  # the order page shows them
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
            {"line_id": lp.line_id, "product": names.get(lp.line_id, ""), "ordered": lp.ordered,
             "keep": lp.keep, "backorder": lp.backorder, "oversold": lp.oversold}
            for lp in plan.lines
        ],
        held=[
            {"product_id": ref.product_id, "variant_id": ref.variant_id, "units": units}
            for ref, units in sorted(held.items(), key=lambda item: _ref_key(item[0]))
        ],
    )  # fmt: skip
    for reason in plan.alerts:
        alerts.add_alert(store_id, reason.code, reason.message, order_id=order_id)
    if notifier is not None and plan.alerts:
        notifier.order_not_backordered(store_id, order, plan.alerts)

    if plan.outcome is Outcome.SPLIT:
        assert plan.split_key is not None  # a SPLIT plan always carries its key
        record = ledger.start(store_id, order_id, plan.split_key, plan_to_dict(plan))
        if record.state in _TERMINAL:
            return EventResult("ignored", order_id, split_key=record.split_key, detail=record.state)
        return _carry_out_split(
            store_id, order, record, platform, ledger, policies, audit, notifier
        )
    if plan.outcome is Outcome.HOLD and plan.awaits_stock:
        record = ledger.start(store_id, order_id, hold_key(order_id), plan_to_dict(plan))
        return _carry_out_hold(store_id, order, record, platform, ledger, audit)
    if plan.outcome is Outcome.HOLD:
        return _hold(store_id, order, plan, platform, audit)
    return EventResult("no_change", order_id, detail=plan.reasons[-1].code if plan.reasons else "")


def _free_stock(
    store_id: int,
    order: Order,
    platform: Platform,
    releases: ReleaseLedger,
    stock_lock: StockLock | None,
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
    """
    refs = sorted({line.ref for line in order.lines}, key=_ref_key)
    # The figures the order's products may draw on: its own, or for a variation its parent's
    # (the stock read below says which; held units are keyed by figure, `Stock.pool_ref`).
    pools = {*refs, *(ProductRef(ref.product_id) for ref in refs if ref.variant_id)}
    guard = stock_lock(refs) if stock_lock is not None else contextlib.nullcontext()
    with guard:
        held = held_by_unpaid_releases(
            store_id, platform, releases, settle=True, pools=pools, excluding=order.id
        )
        stock = platform.get_stock(order)
    drawn = {item.pool_ref for item in stock.values()}
    return stock, {pool: units for pool, units in held.items() if pool in drawn}


def _ref_key(ref: ProductRef) -> tuple[str, str]:
    return (ref.product_id, ref.variant_id or "")


def _carry_out_split(
    store_id: int,
    order: Order,
    record: SplitRecord,
    platform: Platform,
    ledger: SplitLedger,
    policies: Policies,
    audit: AuditLog,
    notifier: SplitNotifier | None = None,
) -> EventResult:
    """Move the split forward from its recorded state to DONE; every step is safe to repeat."""
    key = record.split_key
    plan = plan_from_dict(record.plan)
    state = record.state
    backorder_id = record.backorder_order_id

    if state in (SplitState.PLANNED, SplitState.BACKORDER_CREATED):
        if backorder_id is None and record.create_attempted:
            # An earlier attempt may have created the order and died before recording it;
            # the split key written on the order finds it (connector: backorders_split_key).
            backorder_id = platform.find_backorder_order(order.id, key)
            if backorder_id is not None:
                audit.record(
                    store_id, order.id, "info",
                    f"Found backorder order {backorder_id} from an earlier attempt.",
                    split_key=key,
                )  # fmt: skip
        if backorder_id is None:
            # Committed before the call: if we die during it, the retry looks first.
            ledger.mark_create_attempted(store_id, key)
        audit.record(
            store_id, order.id, "call", "Writing the split to the store.",
            split_key=key, existing_backorder_order=backorder_id,
        )  # fmt: skip
        written_id = platform.write_split(
            order, plan, backorder_order_id=backorder_id, summary=backorder_summary(plan, order)
        )
        if state == SplitState.PLANNED:
            ledger.advance(
                store_id, key, SplitState.BACKORDER_CREATED, backorder_order_id=written_id
            )
        ledger.advance(store_id, key, SplitState.ORIGINAL_UPDATED, backorder_order_id=written_id)
        backorder_id = written_id
        state = SplitState.ORIGINAL_UPDATED

    assert backorder_id is not None  # recorded with BACKORDER_CREATED
    if state == SplitState.ORIGINAL_UPDATED:
        # The one note of a split: the backorder order carries its summary from its creation.
        platform.add_note(order.id, split_note(plan, backorder_id))
        if policies.settings.customer_note_on_split:  # off by default: one more call
            platform.add_note(order.id, customer_split_note(plan), customer=True)
        ledger.advance(store_id, key, SplitState.NOTED)
        state = SplitState.NOTED

    if state == SplitState.NOTED:
        if notifier is not None:
            # Before DONE, so a crash here tells the customer on the retry; the message key
            # (the split key) keeps it to one e-mail.
            notifier.order_split(store_id, order, plan, policies)
        ledger.advance(store_id, key, SplitState.DONE)
        audit.record(
            store_id, order.id, "info",
            f"Split done: backorder order {plan.backorder_number} (id {backorder_id}).",
            split_key=key, backorder_order_id=backorder_id,
        )  # fmt: skip
    return EventResult("split", order.id, split_key=key, backorder_order_id=backorder_id)


def _carry_out_hold(
    store_id: int,
    order: Order,
    record: SplitRecord,
    platform: Platform,
    ledger: SplitLedger,
    audit: AuditLog,
) -> EventResult:
    """Put an order that waits whole for stock On Hold and record it, exactly once: planned →
    original_updated (status set) → noted → done, under key `hold:<order id>`. Allocation
    then serves it like a backorder order (README "When stock arrives")."""
    key = record.split_key
    plan = plan_from_dict(record.plan)
    state = record.state
    if state in (SplitState.PLANNED, SplitState.BACKORDER_CREATED):
        if order.status is not Status.ON_HOLD:
            # WooCommerce takes the order's units from stock on the way to on-hold
            # (wc_maybe_reduce_stock_levels), so they count as waiting, like a backorder order's.
            platform.set_status(order.id, Status.ON_HOLD.value)
        ledger.advance(store_id, key, SplitState.ORIGINAL_UPDATED)
        state = SplitState.ORIGINAL_UPDATED
    if state == SplitState.ORIGINAL_UPDATED:
        platform.add_note(order.id, hold_note(plan))
        ledger.advance(store_id, key, SplitState.NOTED)
        state = SplitState.NOTED
    if state == SplitState.NOTED:
        ledger.advance(store_id, key, SplitState.DONE)
        audit.record(
            store_id, order.id, "info",
            "Order put On Hold: it waits whole for stock and is released when stock arrives.",
            outcome=plan.outcome.value, split_key=key,
        )  # fmt: skip
    return EventResult("hold", order.id, split_key=key)


def _hold(
    store_id: int, order: Order, plan: Plan, platform: Platform, audit: AuditLog
) -> EventResult:
    """Put an order On Hold for the merchant's review (an oversold line, "hold" action)."""
    if order.status is Status.ON_HOLD:
        # Already waiting (possibly our own status change coming back as a webhook): a note
        # now would repeat itself on every later event.
        return EventResult("hold", order.id, detail="already on hold")
    platform.set_status(order.id, Status.ON_HOLD.value)
    platform.add_note(order.id, hold_note(plan))
    audit.record(store_id, order.id, "info", "Order put On Hold.", outcome=plan.outcome.value)
    return EventResult("hold", order.id)


def _record_failure(
    store_id: int,
    order_id: str,
    exc: PermanentError,
    ledger: SplitLedger,
    audit: AuditLog,
    alerts: Alerts,
) -> None:
    message = f"Could not process order {order_id}: {exc} ({exc.reason}). Not retried."
    audit.record(store_id, order_id, "error", message, reason=exc.reason)
    for record in ledger.for_order(store_id, order_id):
        if record.original_order_id == order_id and record.state not in _TERMINAL:
            # The connector names a backorder order it created before failing: keep it.
            created = getattr(exc, "backorder_order_id", None)
            ledger.advance(
                store_id,
                record.split_key,
                SplitState.FAILED,
                backorder_order_id=str(created) if created else None,
                error=message,
            )
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
        f"Part of your order is on backorder: {moved} item(s) will follow in order "
        f"{plan.backorder_number} as soon as they are in stock. Everything else ships now."
    )


def hold_note(plan: Plan) -> str:
    """Private note explaining why the order was put On Hold."""
    return "Backorders put this order On Hold:\n" + "\n".join(r.message for r in plan.reasons)


# --- reconciliation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconcileResult:
    seen: int
    added: int  # new inbox events (the rest were known already)
    enqueued: int
    reactivated_webhooks: tuple[str, ...]
    checkpoint: dt.datetime


def reconcile_store(
    store_id: int,
    *,
    platform: Platform,
    webhooks: WebhookAdmin,
    inbox: Inbox,
    checkpoints: Checkpoints,
    enqueue: Callable[[int], object],
    now: dt.datetime,
    alerts: Alerts | None = None,
) -> ReconcileResult:
    """Feed orders changed since the checkpoint through the inbox; revive disabled webhooks."""
    alert_sink: Alerts = alerts if alerts is not None else _NoAlerts()
    # WooCommerce never retries a failed delivery and disables a webhook after repeated
    # failures (reference/woocommerce/README.md), so polling is what catches what was missed.
    reactivated = _reactivate_webhooks(store_id, webhooks, alert_sink)
    checkpoint = checkpoints.get_checkpoint(store_id)
    since = checkpoint if checkpoint is not None else now - RECONCILE_FIRST_LOOKBACK
    since -= RECONCILE_OVERLAP
    seen = added = enqueued = 0
    for change in platform.orders_modified_since(since):
        seen += 1
        event_id = inbox.add(
            store_id,
            RECONCILE_TOPIC,
            change.order_id,
            woo_gmt(change.modified_gmt),
            "reconcile",
            fingerprint=change.fingerprint,
        )
        if event_id is None:
            continue  # this state is known (the webhook came, or an earlier run saw it)
        added += 1
        enqueue(event_id)
        enqueued += 1
    # Only after every change is in the inbox: a crash above repeats the run, not skips it.
    checkpoints.set_checkpoint(store_id, now)
    log.info(
        "reconciled store=%s seen=%s added=%s reactivated=%s",
        store_id,
        seen,
        added,
        len(reactivated),
    )
    return ReconcileResult(seen, added, enqueued, reactivated, now)


def _reactivate_webhooks(store_id: int, webhooks: WebhookAdmin, alerts: Alerts) -> tuple[str, ...]:
    revived: list[str] = []
    for hook in webhooks.list_webhooks():
        if hook.status != "disabled":
            continue
        webhooks.activate_webhook(hook.id)
        revived.append(hook.id)
        alerts.add_alert(
            store_id,
            "webhook_disabled",
            f"The store had disabled webhook {hook.id} ({hook.topic}) after failed deliveries; "
            "it was re-activated and missed orders are picked up by reconciliation.",
        )
    return tuple(revived)


def woo_gmt(at: dt.datetime) -> str:
    """A UTC time as WooCommerce writes `date_modified_gmt` (no offset), for dedupe keys."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
