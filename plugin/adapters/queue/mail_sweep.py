"""Putting outbox messages back on the RQ queue when their mail job never reached Redis (it was
away at the moment of the enqueue) or Redis lost it (a crash, a restart without persistence): the
outbox's counterpart of the inbox's `requeue_vanished` (plugin/adapters/queue/relay.py)."""

from __future__ import annotations

import logging

import redis

from plugin.adapters.queue.jobs import SEND_MAIL, mail_run
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.outbox import OutboxRepository

logger = logging.getLogger(__name__)

# Messages one pass looks at, oldest first: a pass stays one short query and two round trips
# however many messages an outage left behind; the next pass (or the worker's start) takes more.
SWEEP_LIMIT = 500


def requeue_unsent_mail(
    db: Database, connection: redis.Redis, older_than_s: float, *, limit: int = SWEEP_LIMIT
) -> int:
    """Enqueue again the mail job of each message 'queued' for at least `older_than_s` whose
    job does not exist in Redis (`JobKind.enqueue_missing`); returns how many were queued.

    A message sent, captured or failed is never looked at; and a duplicate job of one that was
    sent in between sends nothing (`deliver` reads its status first)."""
    ids = OutboxRepository(db).queued_ids(older_than_s=older_than_s, limit=limit)
    queued = SEND_MAIL.enqueue_missing(connection, [mail_run(message_id) for message_id in ids])
    if queued:
        logger.warning("event=unsent_mail_requeued count=%d", queued)
    return queued
