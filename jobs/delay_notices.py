"""Jobs of delay notices (issue 15): the scheduler's periodic `check_delays_all` queues one
`check_store_delays` per store whose rule is on; that job looks at every backorder order still
waiting for stock and carries out what `plugin/usecases/delay_notices.py` decides, once.

`check_store` does the work with the adapters and the moment passed in (the RQ job passes the
worker's and the clock's), so tests drive it with a controllable clock.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import redis

from plugin.adapters.mail import wording
from plugin.adapters.queue.jobs import CHECK_STORE_DELAYS, enqueue_mail
from plugin.adapters.queue.scheduler import schedule_periodic
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.outbox import OutboxRepository
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.purchasing import SqlPurchasing
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.self_service import (
    SqlCustomerLinks,
    SqlDelayRecords,
    SqlSelfServiceSettings,
)
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import OpenAlerts
from plugin.core.delays import Decision, DelayRule, DelaySettings, SendNotice
from plugin.core.model import Order, PaymentAction, PaymentState, ProductRef, Status
from plugin.ports import Alerts, CancellationRecord, Message, SelfServiceSettings, SplitRecord
from plugin.usecases import delay_notices, self_service
from plugin.usecases.notifying import PageLink, customer_email

log = logging.getLogger(__name__)


def delay_settings(settings: SelfServiceSettings) -> DelaySettings:
    """The core's settings from the store's."""
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(settings.timezone)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        zone = dt.UTC
    return DelaySettings(
        rule=DelayRule(settings.delay_rule),
        stated_shipping_days=settings.stated_shipping_days,
        answer_days=settings.answer_days,
        timezone=zone,
    )


@dataclass
class DelayContext:
    """The adapters one store's check uses."""

    db: Database
    redis: redis.Redis | None
    store_id: int
    store_name: str
    platform: Any  # plugin.ports.Platform (+ DeliveryPlatform)
    alerts: Alerts
    page_link: PageLink
    cancel_line: Callable[[Mapping[str, Any], str], CancellationRecord | None]


def check_store(context: DelayContext, now: dt.datetime) -> list[Decision]:
    """Check every backorder order of the store still waiting for stock, and every original
    held whole for it, at `now`."""
    db, store_id = context.db, context.store_id
    settings = SqlSelfServiceSettings(db).get(store_id)
    rules = delay_settings(settings)
    releases = SqlReleaseLedger(db)
    waiting_ids: list[str] = []
    for product_id in releases.waiting_products(store_id):
        for order_id in releases.backorder_orders_for(store_id, ProductRef(product_id)):
            if order_id not in waiting_ids:
                waiting_ids.append(order_id)
    splits = SqlSplitLedger(db)
    # A backorder order, by the split that made it; an original held whole (put On Hold
    # instead of split: "wait and ship everything together"), by its hold record.
    made: dict[str, SplitRecord] = {}
    held: set[str] = set()
    for order_id in waiting_ids:
        found_splits = splits.for_order(store_id, order_id)
        if split := self_service.made_by(order_id, found_splits):
            made[order_id] = split
        elif hold := self_service.held_by(order_id, found_splits):
            made[order_id] = hold
            held.add(order_id)
    if not made:
        return []
    orders = {o.id: o for o in context.platform.get_orders(list(made))}
    records = SqlDelayRecords(db)
    policies = SqlPolicyStore(db)
    removed = SqlCancellationLedger(db).removed_lines(store_id)
    links = SqlCustomerLinks(db)
    # The same expected date as the customer's page: the purchase order covering the line,
    # else the product's date (plugin/usecases/self_service.py `expected_date`).
    po_dates = self_service.purchase_order_dates(
        SqlPurchasing(db).covering_orders(store_id, list(made))
    )
    decisions = []
    for order_id, split in made.items():
        order = orders.get(order_id)
        whole = order_id in held
        if order is None or order.status is not (Status.ON_HOLD if whole else Status.NEW_BACKORDER):
            continue
        lineage = [split] if whole else splits.lineage(store_id, order_id) or [split]
        original_id = lineage[0].original_order_id
        link = links.get(store_id, original_id)  # made with the split e-mail's number
        if whole:
            original_number = order.number
        else:
            original_number = link.order_number if link is not None else original_id
        found = policies.policies_for(store_id, order)
        # An order held whole waits for its short lines only: its lines in stock have no date.
        waits_for = _held_lines(split, removed) if whole else None
        dates = tuple(
            self_service.expected_date(line.ref, found, po_dates.get(order_id))
            for line in order.lines
            if waits_for is None or line.line_id in waits_for
        )
        watch = records.watch(
            store_id, order_id, original_order_id=original_id,
            ordered_at=context.platform.waiting_since(order_id) or order.created_at,
            promised_date=_promised(dates),
        )  # fmt: skip
        backorder = delay_notices.WaitingBackorder(
            order_id=order_id,
            number=order.number,
            original_order_id=original_id,
            original_number=original_number,
            currency=order.currency,
            paid=order.payment_state is PaymentState.PAID
            if whole
            else split.plan.get("payment") == PaymentAction.PAID_FROM_ORIGINAL.value,
            # An order held whole is cancelled whole: what was paid for it (shipping too).
            waiting_value=order.total
            if whole
            else sum((line.total + line.tax for line in order.lines), Decimal(0)),
            line_dates=dates,
            cancel_lines=tuple(self_service.cancel_lines(split, order_id, removed, held=whole)),
        )
        decisions.append(
            delay_notices.check_backorder(
                store_id,
                backorder,
                watch,
                settings=rules,
                now=now,
                records=records,
                notify=functools.partial(_notify, context, settings, order=order),
                cancel_line=context.cancel_line,
                alerts=context.alerts,
                audit=SqlAuditLog(db),
            )  # fmt: skip
        )
    return decisions


def _promised(dates: tuple[dt.date | None, ...]) -> dt.date | None:
    """The date shown when the backorder was first followed: its lines' latest, if known."""
    from plugin.core.delays import expected_date_of

    return expected_date_of(dates) if dates else None


def _held_lines(hold: Any, removed: set[tuple[str, str]]) -> set[str]:
    """Line ids of an order held whole that wait for stock (`waiting` units) and were not
    cancelled."""
    order_id = str(hold.original_order_id)
    return {
        str(line.get("line_id"))
        for line in hold.plan.get("lines", [])
        if int(line.get("waiting") or 0) > 0 and (order_id, str(line.get("line_id"))) not in removed
    }


def _notify(
    context: DelayContext,
    settings: SelfServiceSettings,
    action: SendNotice,
    backorder: delay_notices.WaitingBackorder,
    *,
    order: Order,
) -> int:
    """Put the notice in the outbox under the action's key (once) and queue it."""
    email = customer_email(order)
    url = context.page_link(
        context.store_id, backorder.original_order_id, backorder.original_number, email
    )
    style = settings.date_style
    refund = action.refund
    subject, body = wording.render(
        wording.read("customer_email", "delay_notice"),
        {
            "store_name": context.store_name,
            "order_number": backorder.number,
            "original_number": backorder.original_number,
            "revised_date": self_service.format_date(action.revised_date, style)
            if action.revised_date
            else "",
            "cause": action.cause,
            "deadline": self_service.format_date(
                action.deadline.astimezone(delay_settings(settings).timezone).date(), style
            ),
            "silence_counts_as_consent": action.silence_counts_as_consent,
            "refund": self_service.format_money(
                refund.amount, refund.currency, decimal_comma=settings.decimal_comma
            )
            if refund.amount
            else "",
            "page_url": url,
        },
    )
    message_id, _new = OutboxRepository(context.db).add(
        Message(context.store_id, action.key, "delay_notice", email, subject, body)
    )
    if context.redis is not None:
        try:
            enqueue_mail(context.redis, message_id)
        except redis.RedisError as exc:  # the outbox keeps it; the mail sweep sends it
            log.warning("delay notice id=%s not queued: %s", message_id, type(exc).__name__)
    return message_id


# --- RQ jobs ---------------------------------------------------------------------------------


def enqueue_store_check(connection: redis.Redis, store_id: int, suffix: str = "") -> bool:
    """Queue `check_store_delays(store_id)`; False when that job is queued already."""
    job = CHECK_STORE_DELAYS.enqueue(
        connection,
        store_id,
        job_id=f"delays-{store_id}{suffix}",
        description=f"delay notices of store {store_id}",
    )
    return job is not None


def check_soon(db: Database, connection: redis.Redis, store_id: int, why: str) -> bool:
    """A date a customer was given may have moved (a product's date saved, a purchase order
    sent, dated again or cancelled): when the store sends delay notices, look at its waiting
    backorders now rather than at the next tick. `why` names the change in the job id
    (characters other than letters, digits, `_` and `-` become `_`), so the same change queues
    one check. False when the rule is off, the check is queued already or Redis is away (the
    periodic check looks later)."""
    if SqlSelfServiceSettings(db).get(store_id).delay_rule == DelayRule.OFF.value:
        return False
    try:
        return enqueue_store_check(connection, store_id, "-" + re.sub(r"[^A-Za-z0-9_-]", "_", why))
    except redis.RedisError as error:
        log.warning(
            "event=delay_check_not_queued store_id=%s error=%s", store_id, type(error).__name__
        )
        return False


def check_delays_all() -> int:
    """Periodic: queue a delay check for each connected store whose rule is not off."""
    import worker

    rt = worker.runtime()
    schedule_periodic(rt.redis, "check_delays_all", rt.config.worker)
    settings = SqlSelfServiceSettings(rt.db)
    queued = 0
    for store in rt.stores.list(status="connected"):
        if settings.get(store.id).delay_rule != DelayRule.OFF.value:
            queued += enqueue_store_check(rt.redis, store.id)
    return queued


def check_store_delays(store_id: int) -> int:
    """Check one store's waiting backorders now; returns how many were looked at."""
    import worker
    from jobs.self_service import cancel_line_for, page_links

    rt = worker.runtime()
    store = rt.stores.get(store_id)
    if store is None or not store.is_connected:
        return 0
    platform, _limiter = worker.connect_store(rt, store)
    context = DelayContext(
        db=rt.db,
        redis=rt.redis,
        store_id=store_id,
        store_name=store.name,
        platform=platform,
        alerts=OpenAlerts(rt.stores),
        page_link=page_links(rt.db, rt.config.secret_key, rt.config.public_url),
        cancel_line=cancel_line_for(rt, store_id, platform, None),
    )
    return len(check_store(context, dt.datetime.now(dt.UTC)))
