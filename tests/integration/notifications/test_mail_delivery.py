"""A real split's e-mail travels outbox -> RQ mail job -> SMTP server on loopback."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

import worker
from plugin.adapters.queue.inprocess import InProcessWorker
from plugin.adapters.queue.jobs import enqueue_mail, event_queue, mail_job_id
from plugin.adapters.queue.mail_sweep import requeue_unsent_mail
from plugin.adapters.sql.outbox import OutboxRepository, save_email_template, store_mail
from plugin.core.model import BackorderMode, Policies
from plugin.ports import Message, TemplateText
from plugin.usecases.splitting import handle_order_event
from tests.fakes import (
    FakeAlerts,
    FakeAudit,
    FakeLedger,
    FakePlatform,
    FakePolicies,
    FakeReleaseLedger,
    make_line,
    make_order,
)
from tests.integration.notifications.conftest import (
    Setup,
    SmtpServer,
    configure,
    make_setup,
)


@pytest.fixture
def smtp_setup(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    migrated_database_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    smtp_server: SmtpServer,
) -> Iterator[Setup]:
    url = configure(
        monkeypatch, tmp_path, redis_url, migrated_database_url, SMTP_URL=smtp_server.url
    )
    setup = make_setup(url, redis_client)
    yield setup
    setup.db.dispose()
    if worker._runtime is not None:
        worker._runtime.db.dispose()


def run_jobs(connection: redis.Redis) -> None:
    """Run every queued job in this process, as a worker would."""
    InProcessWorker(
        [event_queue(connection)], connection=connection, serializer=JSONSerializer
    ).work(burst=True)


def split_order(setup: Setup) -> FakePlatform:
    platform = FakePlatform()
    platform.add_order(
        make_order(
            "1042",
            [make_line("1", "p1", 5, name="Blue mug"), make_line("2", "p2", 2, name="Red mug")],
        )
    )
    platform.set_stock("p1", 3, backorders=BackorderMode.YES)
    platform.set_stock("p2", 10)
    result = handle_order_event(
        setup.store.id,
        "1042",
        platform=platform,
        ledger=FakeLedger(),
        releases=FakeReleaseLedger(),
        policies=FakePolicies(Policies()),
        audit=FakeAudit(),
        alerts=FakeAlerts(),
        notifier=worker.notifications(worker.runtime()),
    )
    assert result.status == "split"
    return platform


def test_the_split_email_reaches_the_smtp_server(
    smtp_setup: Setup, smtp_server: SmtpServer
) -> None:
    split_order(smtp_setup)
    [queued] = OutboxRepository(smtp_setup.db).list(smtp_setup.store.id)
    assert (queued.status, queued.kind, queued.attempts) == ("queued", "order_split", 0)
    assert smtp_server.handler.received == []  # nothing is sent before the job runs

    run_jobs(smtp_setup.redis)

    [received] = smtp_server.handler.received
    assert received.mail_from == "shop@mugs.test"
    assert received.rcpt_tos == ["ann@example.com"]
    assert received.message["To"] == "ann@example.com"
    assert received.message["From"] == "Mug Shop <shop@mugs.test>"
    assert received.message["Subject"] == "Your order 1042: part of it is on backorder"
    # SMTP carries lines ending in CRLF (RFC 5321).
    text = received.message.get_payload(decode=True).decode().replace("\r\n", "\n")
    # It ends with the link to the customer's page (issue 15), whose token is time-stamped.
    text, link = text.split("\nFollow your order, and cancel or change what waits, on your "
                            "order page:\n")  # fmt: skip
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/stores/\d+/my-order/[\w.-]+\n", link)
    assert text == (
        "Hello Ann Lee,\n"
        "\n"
        "part of your order 1042 at Mug Shop is on backorder.\n"
        "\n"
        "Ships now:\n"
        "- 3 x Blue mug\n"
        "- 2 x Red mug\n"
        "\n"
        "On backorder in order 1042-001:\n"
        "- 2 x Blue mug\n"
        "\n"
        "You are charged for the backordered items only when they ship.\n"
    )
    [sent] = OutboxRepository(smtp_setup.db).list(smtp_setup.store.id)
    assert (sent.id, sent.status, sent.attempts, sent.error) == (queued.id, "sent", 1, None)


def test_the_same_split_seen_again_mails_once(smtp_setup: Setup, smtp_server: SmtpServer) -> None:
    rt = worker.runtime()
    notifier = worker.notifications(rt)
    message = Message(smtp_setup.store.id, "split:1042:1", "order_split", "ann@example.com",
                      "S", "B\n")  # fmt: skip
    notifier.post(message)
    run_jobs(smtp_setup.redis)
    notifier.post(message)  # a retried split job posts the same key again
    run_jobs(smtp_setup.redis)

    assert len(smtp_server.handler.received) == 1
    assert [m.status for m in OutboxRepository(smtp_setup.db).list(smtp_setup.store.id)] == ["sent"]


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_deferred_message_is_retried_and_sent_exactly_once(
    smtp_setup: Setup, smtp_server: SmtpServer
) -> None:
    smtp_server.handler.defer = 1  # the first DATA gets 451
    outbox = OutboxRepository(smtp_setup.db)
    message_id, new = outbox.add(
        Message(smtp_setup.store.id, "k1", "stock_arrived", "owner@mugs.test", "Stock", "Body\n")
    )
    assert new
    enqueue_mail(smtp_setup.redis, message_id, retry_intervals=[1, 1])

    run_jobs(smtp_setup.redis)

    assert smtp_server.handler.received == []
    record = outbox.get(message_id)
    assert record is not None
    assert (record.status, record.attempts, record.error) == (
        "queued",
        1,
        "smtp_deferred: SMTP 451",
    )
    job = Job.fetch(mail_job_id(message_id), connection=smtp_setup.redis, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.SCHEDULED

    scheduler = RQScheduler(
        [event_queue(smtp_setup.redis)], connection=smtp_setup.redis, serializer=JSONSerializer
    )
    registry = event_queue(smtp_setup.redis).scheduled_job_registry

    def moved() -> bool:
        scheduler.enqueue_scheduled_jobs()
        return len(registry) == 0

    scheduler.acquire_locks()
    try:
        wait_until(moved, 10, "the retry to become due")
    finally:
        scheduler.release_locks()
    run_jobs(smtp_setup.redis)

    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ["owner@mugs.test"]
    assert received.message["Subject"] == "Stock"
    record = outbox.get(message_id)
    assert record is not None
    assert (record.status, record.attempts) == ("sent", 2)
    # The job run once more (a duplicate delivery of the job) sends nothing.
    assert worker.send_mail(message_id) == "sent"
    assert len(smtp_server.handler.received) == 1
    assert smtp_server.handler.deferred == 1


def test_a_refused_message_is_failed_and_not_retried(
    smtp_setup: Setup, smtp_server: SmtpServer
) -> None:
    smtp_server.handler.refuse = True  # DATA answered 554
    outbox = OutboxRepository(smtp_setup.db)
    message_id, _ = outbox.add(
        Message(smtp_setup.store.id, "k2", "stock_arrived", "owner@mugs.test", "S", "B\n")
    )
    enqueue_mail(smtp_setup.redis, message_id, retry_intervals=[1, 1])

    run_jobs(smtp_setup.redis)

    record = outbox.get(message_id)
    assert record is not None
    assert (record.status, record.attempts, record.error) == ("failed", 1, "smtp_refused: SMTP 554")
    assert len(event_queue(smtp_setup.redis).scheduled_job_registry) == 0  # no retry
    assert smtp_server.handler.received == []


def test_a_message_whose_retries_are_used_up_is_failed_and_never_swept_again(
    smtp_setup: Setup, smtp_server: SmtpServer
) -> None:
    smtp_server.handler.defer = 5  # every DATA gets 451
    outbox = OutboxRepository(smtp_setup.db)
    message_id, _ = outbox.add(
        Message(smtp_setup.store.id, "k3", "stock_arrived", "owner@mugs.test", "S", "B\n")
    )
    enqueue_mail(smtp_setup.redis, message_id, retry_intervals=[])  # no retry left

    run_jobs(smtp_setup.redis)

    record = outbox.get(message_id)
    assert record is not None
    assert (record.status, record.attempts, record.error) == (
        "failed",
        1,
        "gave up after retries: smtp_deferred: SMTP 451",
    )
    job = Job.fetch(mail_job_id(message_id), connection=smtp_setup.redis, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.FAILED
    job.delete()  # its failure_ttl passed (or Redis lost it)
    assert requeue_unsent_mail(smtp_setup.db, smtp_setup.redis, 0) == 0
    assert event_queue(smtp_setup.redis).job_ids == []
    assert smtp_server.handler.received == []


def test_stored_wording_and_alert_address_survive_each_others_saves(smtp_setup: Setup) -> None:
    from plugin.core.model import StoreSettings

    db = smtp_setup.db
    save_email_template(
        db, smtp_setup.store.id, "order_split", TemplateText("S {{ order_number }}", "B")
    )
    smtp_setup.stores.update_settings(
        smtp_setup.store.id, StoreSettings(numbering_pattern="{number}/{seq}")
    )

    mail = store_mail(db, smtp_setup.store.id)
    assert mail.alert_email == "owner@mugs.test"
    assert mail.templates == {"order_split": TemplateText("S {{ order_number }}", "B")}
    store = smtp_setup.stores.get(smtp_setup.store.id)
    assert store is not None
    assert store.settings.numbering_pattern == "{number}/{seq}"


def test_a_stored_template_over_budget_stops_in_the_worker_and_alerts_the_merchant_once(
    smtp_setup: Setup, smtp_server: SmtpServer
) -> None:
    """Issue 13, 3: wording saved before the budget existed (nested loops) must not hold the
    worker: the customer gets the default wording, the merchant one open alert."""
    reported = (
        "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
        "{{ a }}{% endfor %}{% endfor %}{% endfor %}"
    )
    save_email_template(
        smtp_setup.db, smtp_setup.store.id, "order_split", TemplateText("Hi", reported)
    )
    started = time.monotonic()
    split_order(smtp_setup)
    assert time.monotonic() - started < 10.0
    [queued] = OutboxRepository(smtp_setup.db).list(smtp_setup.store.id)
    assert queued.subject == "Your order 1042: part of it is on backorder"
    assert queued.body.startswith("Hello Ann Lee,\n\npart of your order 1042 at Mug Shop")
    [alert] = smtp_setup.stores.list_alerts(smtp_setup.store.id)
    assert alert.kind == "email_template:order_split"
    assert alert.message == (
        'Your wording of "Customer: order split" could not be used, so the default wording was '
        "sent. This template does too much to render: a range of more than 1,000 numbers "
        "(e-mail templates have a budget)."
    )
    # The next message with the same wording adds no second alert while the first is open.
    notifier = worker.notifications(worker.runtime())
    assert notifier.alert is not None
    notifier.alert(smtp_setup.store.id, alert.kind, alert.message)
    assert [a.id for a in smtp_setup.stores.list_alerts(smtp_setup.store.id)] == [alert.id]


def test_an_account_email_belongs_to_no_store_and_is_sent_by_the_mail_job(
    smtp_setup: Setup, smtp_server: SmtpServer
) -> None:
    """Sign-up's confirmation link travels the same way as a store's messages."""
    from plugin.adapters.mail.account_mail import VERIFY_EMAIL, send_account_mail

    outbox = OutboxRepository(smtp_setup.db)
    link = "https://backorders.example/verify/abc"
    message_id = send_account_mail(
        outbox, smtp_setup.redis, VERIFY_EMAIL, "new@example.com", {"link": link}
    )
    assert message_id is not None
    run_jobs(smtp_setup.redis)
    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ["new@example.com"]
    assert received.message["Subject"] == "Confirm your e-mail address for Backorders"
    assert link in received.message.get_payload(decode=True).decode()
    record = outbox.get(message_id)
    assert record is not None
    assert (record.store_id, record.status, record.attempts) == (None, "sent", 1)
    assert outbox.list(smtp_setup.store.id) == []  # not on any store's outbox page
