"""A delay under the FTC 30-day rule end to end with a controllable clock (issue 15): a real
split in the sandbox store, real storage and Redis, the store's delay check run at chosen
moments. First notice (silence is consent), silence, a second delay needing consent, no answer,
automatic cancellation through the ordinary cancellation path; the store's orders, the e-mails
and the audit trail are checked at each step, and every step run twice changes nothing more."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from sqlalchemy import select

from jobs.delay_notices import DelayContext, check_store
from jobs.self_service import cancel_line_for, page_links
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.models import OutboxMessage
from plugin.adapters.sql.outbox import OutboxRepository
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.self_service import SqlDelayRecords, SqlSelfServiceSettings
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import OpenAlerts
from plugin.config import Config
from plugin.core.model import ProductPolicy, ProductRef
from plugin.platforms.registry import Registry
from plugin.platforms.woocommerce.adapter import WooCommercePlatform
from plugin.ports import SelfServiceSettings
from tests.integration.cancelling.test_cancel_line import split_world, stock
from tests.integration.worker.conftest import Instance, Sandbox

DAY = dt.timedelta(days=1)


def _runtime(instance: Instance) -> Any:
    import worker

    config = Config.from_env(instance.env)
    return worker.Runtime(
        config=config, db=instance.db, redis=instance.redis, stores=instance.stores,
        inbox_events=InboxRepository(instance.db), inbox=InboxRepository(instance.db),
        ledger=SqlSplitLedger(instance.db), policies=SqlPolicyStore(instance.db),
        audit=SqlAuditLog(instance.db), outbox=OutboxRepository(instance.db),
        registry=Registry(instance.redis, instance.stores, public_url=config.public_url,
                          allow_private_addresses=True),
        pid=os.getpid(),
    )  # fmt: skip


def _context(instance: Instance, sandbox: Sandbox) -> DelayContext:
    """What the worker's delay job builds (jobs/delay_notices.check_store_delays)."""

    rt = _runtime(instance)
    platform = WooCommercePlatform(sandbox.client())
    store = instance.stores.get(instance.store_id)
    assert store is not None
    return DelayContext(
        db=instance.db, redis=instance.redis, store_id=instance.store_id, store_name=store.name,
        platform=platform, alerts=OpenAlerts(instance.stores),
        page_link=page_links(instance.db, rt.config.secret_key, rt.config.public_url),
        cancel_line=cancel_line_for(rt, instance.store_id, platform, None),
    )  # fmt: skip


def _notices(instance: Instance) -> list[OutboxMessage]:
    with instance.db.session() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "delay_notice")
            .order_by(OutboxMessage.id)
        ).all()
        session.expunge_all()
        return list(rows)


def test_first_notice_silence_second_delay_and_cancellation_without_consent(
    instance: Instance, sandbox: Sandbox
) -> None:
    store_id = instance.store_id
    SqlSelfServiceSettings(instance.db).save(
        store_id,
        SelfServiceSettings(delay_rule="ftc_30_day", stated_shipping_days=10, answer_days=7),
    )
    instance.start_worker("w-delay")
    world = split_world(instance, sandbox, paid=True)  # 2 widgets + 1 pen wait, 23.00 paid
    instance.stop_all()  # from here the test's clock drives the checks, not the scheduler
    backorder_id, original_id = str(world["backorder"]), str(world["original"])
    policies = SqlPolicyStore(instance.db)

    def expect(date: dt.date) -> None:
        for product in ("widget", "pen"):
            ref = ProductRef(str(world[product]))
            policies.set_product_policy(store_id, ProductPolicy(ref, expected_date=date))

    context = _context(instance, sandbox)
    records = SqlDelayRecords(instance.db)
    audit = SqlAuditLog(instance.db)
    client = sandbox.client()

    def run(at: dt.datetime) -> None:
        check_store(context, at)
        check_store(context, at)  # every step twice: nothing is done twice

    t0 = dt.datetime.now(dt.UTC)
    promised = t0.date() + 5 * DAY
    expect(promised)

    # Day 0: followed with the date shown (promised), on time: nothing sent.
    run(t0)
    watch = records.get(store_id, backorder_id)
    assert watch is not None and watch.promised_date == promised and watch.notices == ()
    assert _notices(instance) == []

    # Day 3: the merchant learns the stock comes 20 days late and moves the date: a first
    # notice before the promised date, where silence counts as consent (at most 30 days on).
    first_date = promised + 20 * DAY
    expect(first_date)
    run(t0 + 3 * DAY)
    [first] = _notices(instance)
    assert first.recipient == "shopper@example.com"
    assert first_date.isoformat() in first.body
    assert "we take it that you agree to wait" in first.body
    assert "/my-order/" in first.body and "refund of 23.00 USD" in first.body
    watch = records.get(store_id, backorder_id)
    assert watch is not None and [n["number"] for n in watch.notices] == [1]
    assert watch.notices[0]["silence_counts_as_consent"] is True
    trail = [e.message for e in audit.for_order(store_id, backorder_id)]
    assert sum("Delay notice 1 (first) sent to the customer" in m for m in trail) == 1
    assert client.get_order(world["backorder"])["status"] == "on-hold"

    # Day 15: silence, which counts as consent to the first delay: nothing happens.
    run(t0 + 15 * DAY)
    assert len(_notices(instance)) == 1
    assert client.get_order(world["backorder"])["status"] == "on-hold"

    # Day 24: a second delay (50 days on): a renewed notice; silence is no consent now.
    expect(promised + 50 * DAY)
    run(t0 + 24 * DAY)
    first_again, second = _notices(instance)
    assert first_again.id == first.id
    assert "Please answer by" in second.body and "we cancel the waiting items" in second.body
    watch = records.get(store_id, backorder_id)
    assert watch is not None and [n["number"] for n in watch.notices] == [1, 2]
    deadline = dt.datetime.fromisoformat(watch.notices[1]["deadline"])
    assert deadline <= t0 + 25 * DAY + DAY  # never past the date the customer agreed to
    assert client.get_order(world["backorder"])["status"] == "on-hold"

    # After the deadline without an answer: the waiting lines are cancelled through the
    # ordinary path, and the merchant is told the refund due.
    run(deadline + dt.timedelta(minutes=1))
    after = client.get_order(world["backorder"])
    assert after["status"] == "cancelled"
    assert stock(sandbox, world["widget"]) == 0 and stock(sandbox, world["pen"]) == 0
    watch = records.get(store_id, backorder_id)
    assert watch is not None and watch.cancelled_at is not None
    alerts = [a for a in instance.stores.list_alerts(store_id) if a.kind == "delay_notice"]
    number = client.get_order(world["original"])["number"]
    assert len(alerts) == 1 and f"refund 23.00 USD on order {number} by " in alerts[0].message
    trail = [e.message for e in audit.for_order(store_id, original_id)]
    # Named by its backorder number (`<original>-001`), not WooCommerce's own.
    label = next(m["value"] for m in after["meta_data"] if m["key"] == "backorders_number")
    assert label == f"{number}-001"
    cancelled = [m for m in trail if m.startswith(f"Waiting lines of order {label}")]
    assert len(cancelled) == 1
    assert f"A refund of 23.00 USD is due on order #{number} by " in cancelled[0]
    notes = [n["note"] for n in client.get(f"/orders/{world['original']}/notes")]
    assert sum("no consent to the delay" in n for n in notes) == 2  # one per cancelled line
    kinds = [a["kind"] for a in records.actions(store_id, backorder_id)]
    assert kinds == ["notice", "notice", "cancel", "tell_merchant"]
    assert len(_notices(instance)) == 2

    # Later runs: the backorder is no longer waiting; nothing more is sent or cancelled.
    run(deadline + 3 * DAY)
    assert len(_notices(instance)) == 2
    assert [a["kind"] for a in records.actions(store_id, backorder_id)] == kinds


def test_notify_only_never_cancels_by_itself_but_honours_a_cancel_answer(
    instance: Instance, sandbox: Sandbox
) -> None:
    from plugin.core.delays import Answer, Choice
    from plugin.usecases.delay_notices import answer_to_dict

    store_id = instance.store_id
    SqlSelfServiceSettings(instance.db).save(
        store_id, SelfServiceSettings(delay_rule="notify_only", answer_days=3)
    )
    instance.start_worker("w-delay-2")
    world = split_world(instance, sandbox, paid=False)
    instance.stop_all()
    backorder_id = str(world["backorder"])
    context = _context(instance, sandbox)
    records = SqlDelayRecords(instance.db)
    t0 = dt.datetime.now(dt.UTC)
    check_store(context, t0)  # no date known: a notice saying so, at once
    check_store(context, t0 + 40 * DAY)  # unanswered: never a cancellation, no second notice
    check_store(context, t0 + 80 * DAY)
    [notice] = _notices(instance)
    assert "We cannot give a new date yet" in notice.body
    assert sandbox.client().get_order(world["backorder"])["status"] == "on-hold"

    # The customer answers "cancel" on their page: the next check cancels, once.
    assert records.add_answer(store_id, backorder_id,
                              answer_to_dict(Answer(1, Choice.CANCEL, t0 + 81 * DAY)))  # fmt: skip
    check_store(context, t0 + 81 * DAY)
    check_store(context, t0 + 81 * DAY)
    assert sandbox.client().get_order(world["backorder"])["status"] == "cancelled"
    [cancel] = [a for a in records.actions(store_id, backorder_id) if a["kind"] == "cancel"]
    assert cancel["data"]["reason"] == "customer_cancelled" and cancel["data"]["refund"] == "0"
    trail = [e.message for e in SqlAuditLog(instance.db).for_order(store_id, backorder_id)]
    assert sum("Nothing was charged for these lines: no refund is due." in m for m in trail) == 1
