"""E-mails whose mail job never reached Redis (it was away at that moment) or that Redis lost (it
crashed or restarted empty): the outbox still has them 'queued', and the worker queues them
again, once (issue 17)."""

from __future__ import annotations

import dataclasses

import pytest
import redis
from rq.job import Job
from rq.serializers import JSONSerializer

import worker
from plugin.adapters.queue.jobs import event_queue, mail_job_id
from plugin.adapters.queue.mail_sweep import requeue_unsent_mail
from plugin.adapters.redis.connection import connect_redis
from plugin.adapters.sql.outbox import OutboxRepository
from plugin.ports import Message
from tests.integration.notifications.conftest import SmtpServer
from tests.integration.worker.conftest import Instance, wait_until


def message(instance: Instance, key: str) -> Message:
    return Message(instance.store_id, key, "stock_arrived", "owner@mugs.test", f"Stock {key}",
                   "Ten mugs arrived.\n")  # fmt: skip


def post_while_redis_is_away(instance: Instance, key: str) -> int:
    """`post` as the worker does, its Redis a socket nobody listens on: the worker's own client
    and retries (`worker._build_runtime`), not redis-py's defaults (10 retries, about 3 s)."""
    rt = worker.runtime()
    away = connect_redis(
        rt.config.replace(redis_url=f"unix://{instance.home / 'no-redis.sock'}"), retries=3
    )
    notifier = worker.notifications(dataclasses.replace(rt, redis=away))
    message_id = notifier.post(message(instance, key))
    away.close()
    return message_id


def lose_job(client: redis.Redis, message_id: int) -> None:
    """What a Redis that lost its data leaves: no job hash, no queue entry."""
    event_queue(client).remove(mail_job_id(message_id))
    client.delete(Job.key_for(mail_job_id(message_id)))


def statuses(instance: Instance, *message_ids: int) -> list[str]:
    outbox = OutboxRepository(instance.db)
    return [record.status for record in map(outbox.get, message_ids) if record is not None]


def test_a_message_posted_while_redis_is_away_is_queued_by_the_periodic_requeue_once(
    in_process: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = in_process
    outbox = OutboxRepository(instance.db)
    unqueued = post_while_redis_is_away(instance, "away")
    assert statuses(instance, unqueued) == ["queued"]
    assert not Job.exists(mail_job_id(unqueued), connection=instance.redis)
    kept = worker.notifications(worker.runtime()).post(message(instance, "kept"))
    lost = worker.notifications(worker.runtime()).post(message(instance, "lost"))
    lose_job(instance.redis, lost)
    sent, _ = outbox.add(message(instance, "sent"))
    failed, _ = outbox.add(message(instance, "failed"))
    assert outbox.finish(sent, "sent")
    assert outbox.finish(failed, "failed", "smtp_refused: SMTP 554")
    assert event_queue(instance.redis).job_ids == [mail_job_id(kept)]

    # Younger than the requeue's 30 seconds: maybe in flight, left alone.
    assert worker.requeue_pending() == 0
    assert event_queue(instance.redis).job_ids == [mail_job_id(kept)]

    monkeypatch.setattr(worker, "PENDING_OLDER_THAN", 0)
    assert worker.requeue_pending() == 2
    assert event_queue(instance.redis).job_ids == [
        mail_job_id(kept),
        mail_job_id(unqueued),
        mail_job_id(lost),
    ]
    assert worker.requeue_pending() == 0  # their jobs exist now
    assert event_queue(instance.redis).job_ids == [
        mail_job_id(kept),
        mail_job_id(unqueued),
        mail_job_id(lost),
    ]
    job = Job.fetch(mail_job_id(unqueued), connection=instance.redis, serializer=JSONSerializer)
    assert (job.func_name, job.args) == ("worker.send_mail", [unqueued])  # JSON: a list
    # Nothing was settled by the requeue; the sent and the failed message have no job.
    assert statuses(instance, unqueued, kept, lost, sent, failed) == [
        "queued", "queued", "queued", "sent", "failed"
    ]  # fmt: skip
    assert not Job.exists(mail_job_id(sent), connection=instance.redis)
    assert not Job.exists(mail_job_id(failed), connection=instance.redis)


def test_a_pass_takes_the_oldest_messages_up_to_its_limit(in_process: Instance) -> None:
    instance = in_process
    first, second, third = (post_while_redis_is_away(instance, key) for key in "abc")

    assert requeue_unsent_mail(instance.db, instance.redis, 0, limit=2) == 2
    assert event_queue(instance.redis).job_ids == [mail_job_id(first), mail_job_id(second)]
    # Once those are sent the next pass reaches the third.
    outbox = OutboxRepository(instance.db)
    assert outbox.finish(first, "sent") and outbox.finish(second, "sent")
    assert requeue_unsent_mail(instance.db, instance.redis, 0, limit=2) == 1
    assert event_queue(instance.redis).job_ids == [
        mail_job_id(first),
        mail_job_id(second),
        mail_job_id(third),
    ]


@pytest.mark.database("sqlite")  # worker processes and Redis under test, not storage
def test_a_worker_delivers_over_smtp_a_message_posted_while_redis_was_away(
    in_process: Instance, smtp_server: SmtpServer
) -> None:
    instance = in_process
    message_id = post_while_redis_is_away(instance, "away")
    assert event_queue(instance.redis).job_ids == []

    # The periodic requeue is far away: the worker's start finds the message.
    instance.start_worker(
        "w-mail",
        SMTP_URL=smtp_server.url,
        DEVELOPMENT="0",
        MAIL_FROM="Mug Shop <shop@mugs.test>",
        BACKORDERS_REQUEUE_INTERVAL="3600",
    )

    wait_until(lambda: statuses(instance, message_id) == ["sent"], 30, "the message to be sent")
    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ["owner@mugs.test"]
    assert received.message["Subject"] == "Stock away"
    # A second worker starting (or the periodic requeue) sends nothing again.
    instance.start_worker("w-mail-2", SMTP_URL=smtp_server.url, DEVELOPMENT="0")
    assert worker.requeue_pending() == 0
    assert len(smtp_server.handler.received) == 1
    record = OutboxRepository(instance.db).get(message_id)
    assert record is not None
    assert (record.status, record.attempts, record.error) == ("sent", 1, None)
