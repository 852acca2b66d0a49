"""Delay notices follow an order held whole (a "wait and ship everything together" order put On
Hold instead of split, `hold:<id>`) like a backorder order: a real hold in the sandbox store by
a real worker, real storage (SQLite and PostgreSQL) and Redis, the notice e-mailed through a
real SMTP server on loopback, and under the FTC 30-day rule, no consent by the deadline cancels
its lines through the ordinary cancellation path, once, whatever is run twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rq.job import Job
from rq.serializers import JSONSerializer

from jobs.delay_notices import check_store
from plugin.adapters.mail.smtp import deliver
from plugin.adapters.queue.jobs import mail_job_id
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.outbox import OutboxRepository
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.self_service import SqlDelayRecords, SqlSelfServiceSettings
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.core.model import CustomerPolicy, DeliveryCondition, ProductPolicy, ProductRef
from plugin.ports import SelfServiceSettings
from tests.integration.cancelling.test_cancel_line import stock
from tests.integration.notifications.conftest import SmtpServer
from tests.integration.self_service.test_delay_scenario import DAY, _context, _notices
from tests.integration.worker.conftest import Instance, Sandbox, wait_until


def held_world(instance: Instance, sandbox: Sandbox) -> dict[str, Any]:
    """A paid order of 2 widgets (none in stock) and 1 gadget (50 in stock) of a customer who
    wants everything together: a real worker puts it On Hold whole (no backorder order)."""
    client = sandbox.client()
    widget = client.post(
        "/products",
        {"name": "Widget", "regular_price": "10.00", "manage_stock": True,
         "stock_quantity": 0, "backorders": "yes"},
    )  # fmt: skip
    gadget = client.post(
        "/products",
        {"name": "Gadget", "regular_price": "4.00", "manage_stock": True, "stock_quantity": 50},
    )
    customer = client.post("/customers", {"email": "whole@example.com"})
    SqlPolicyStore(instance.db).set_customer_policy(
        instance.store_id,
        CustomerPolicy(str(customer["id"]), delivery_condition=DeliveryCondition.WHOLE_ORDER),
    )
    order = client.post(
        "/orders",
        {"customer_id": customer["id"], "status": "processing", "set_paid": True,
         "payment_method": "stripe", "billing": {"email": "whole@example.com"},
         "line_items": [{"product_id": widget["id"], "quantity": 2},
                        {"product_id": gadget["id"], "quantity": 1}]},
    )  # fmt: skip
    event = instance.add_event(str(order["id"]), order["date_modified_gmt"])
    wait_until(lambda: instance.event(event).status == "done", 60, "the hold")
    [hold] = SqlSplitLedger(instance.db).for_order(instance.store_id, str(order["id"]))
    assert (hold.split_key, hold.state) == (f"hold:{order['id']}", "done")
    assert client.get_order(order["id"])["status"] == "on-hold"
    assert list(client.list_orders(parent=[order["id"]])) == []
    assert stock(sandbox, widget["id"]) == -2 and stock(sandbox, gadget["id"]) == 49
    return {"order": order["id"], "widget": widget["id"], "gadget": gadget["id"]}


def send_queued_mail(instance: Instance, smtp: SmtpServer) -> list[str]:
    """Each delay notice's queued mail job, run as the worker runs it (`worker.send_mail`):
    through the real SMTP server. Returns the outbox ids sent."""
    sent = []
    for message in _notices(instance):
        job = Job.fetch(
            mail_job_id(message.id), connection=instance.redis, serializer=JSONSerializer
        )
        assert (job.func_name, list(job.args)) == ("worker.send_mail", [message.id])
        if message.sent_at is None:
            deliver(
                OutboxRepository(instance.db), message.id, smtp_url=smtp.url,
                development=False, sender="Shop <shop@example.com>",
            )  # fmt: skip
            sent.append(str(message.id))
    return sent


def test_an_order_held_whole_gets_the_delay_notice_and_is_cancelled_once_without_consent(
    instance: Instance, sandbox: Sandbox, smtp_server: SmtpServer
) -> None:
    store_id = instance.store_id
    SqlSelfServiceSettings(instance.db).save(
        store_id,
        SelfServiceSettings(delay_rule="ftc_30_day", stated_shipping_days=10, answer_days=7),
    )
    instance.start_worker("w-delay-held")
    world = held_world(instance, sandbox)
    instance.stop_all()  # from here the test's clock drives the checks
    order_id = str(world["order"])
    client = sandbox.client()
    number = client.get_order(world["order"])["number"]
    widget = ProductRef(str(world["widget"]))
    policies = SqlPolicyStore(instance.db)
    context = _context(instance, sandbox)
    records = SqlDelayRecords(instance.db)
    audit = SqlAuditLog(instance.db)

    def run(at: dt.datetime) -> None:
        check_store(context, at)
        check_store(context, at)  # every step twice: nothing is done twice

    t0 = dt.datetime.now(dt.UTC)
    promised = t0.date() + 5 * DAY
    policies.set_product_policy(store_id, ProductPolicy(widget, expected_date=promised))

    # Day 0: followed with the date shown, on time: nothing sent.
    run(t0)
    watch = records.get(store_id, order_id)
    assert watch is not None and watch.promised_date == promised and watch.notices == ()
    assert watch.original_order_id == order_id
    assert _notices(instance) == []

    # Day 3: the date moves 50 days later: a first notice that needs the customer's consent.
    moved = promised + 50 * DAY
    policies.set_product_policy(store_id, ProductPolicy(widget, expected_date=moved))
    run(t0 + 3 * DAY)
    [notice] = _notices(instance)
    assert notice.recipient == "whole@example.com"
    assert send_queued_mail(instance, smtp_server) == [str(notice.id)]
    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ["whole@example.com"]
    body = received.message.get_payload(decode=True).decode()
    assert moved.isoformat() in body and "Please answer by" in body
    assert f"/stores/{store_id}/my-order/" in body
    assert "refund of 24.00 USD" in body  # the whole order: 2 x 10.00 + 4.00
    watch = records.get(store_id, order_id)
    assert watch is not None and [n["number"] for n in watch.notices] == [1]
    assert watch.notices[0]["silence_counts_as_consent"] is False
    deadline = dt.datetime.fromisoformat(watch.notices[0]["deadline"])
    assert deadline == dt.datetime.fromisoformat(watch.notices[0]["sent_at"]) + 7 * DAY
    assert watch.wake_at == deadline  # the scheduler's next look is the deadline
    trail = [e.message for e in audit.for_order(store_id, order_id)]
    assert sum("Delay notice 1 (first) sent to the customer" in m for m in trail) == 1
    assert client.get_order(world["order"])["status"] == "on-hold"

    # Before the deadline, silence: nothing more.
    run(deadline - dt.timedelta(minutes=1))
    assert len(_notices(instance)) == 1 and send_queued_mail(instance, smtp_server) == []
    assert client.get_order(world["order"])["status"] == "on-hold"

    # After it: every line of the order held whole is cancelled through the ordinary path
    # (the last one cancels the order), once; its stock comes back; the merchant is told.
    run(deadline + dt.timedelta(minutes=1))
    after = client.get_order(world["order"])
    assert after["status"] == "cancelled"
    assert stock(sandbox, world["widget"]) == 0 and stock(sandbox, world["gadget"]) == 50
    watch = records.get(store_id, order_id)
    assert watch is not None and watch.cancelled_at is not None
    alerts = [a for a in instance.stores.list_alerts(store_id) if a.kind == "delay_notice"]
    assert len(alerts) == 1 and f"refund 24.00 USD on order {number} by " in alerts[0].message
    trail = [e.message for e in audit.for_order(store_id, order_id)]
    cancelled = [m for m in trail if m.startswith(f"Waiting lines of order {number} cancelled")]
    assert len(cancelled) == 1
    assert f"A refund of 24.00 USD is due on order #{number} by " in cancelled[0]
    notes = [n["note"] for n in client.get(f"/orders/{world['order']}/notes")]
    assert sum("no consent to the delay" in n for n in notes) == 2  # one per line, not two
    assert [a["kind"] for a in records.actions(store_id, order_id)] == [
        "notice", "cancel", "tell_merchant",
    ]  # fmt: skip

    # Later runs: no longer waiting; nothing more is sent or cancelled.
    run(deadline + 3 * DAY)
    assert len(_notices(instance)) == 1 and len(smtp_server.handler.received) == 1
    assert len(records.actions(store_id, order_id)) == 3
    notes = [n["note"] for n in client.get(f"/orders/{world['order']}/notes")]
    assert sum("no consent to the delay" in n for n in notes) == 2
