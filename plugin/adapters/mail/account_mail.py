"""E-mails of merchant accounts rather than of a store: the link that confirms a new account's
address, and the notice to an address that already has an account. Wording in
`templates/account_email/`. They go through the outbox (no store) and the worker's mail job
like every message (plugin/adapters/mail/smtp.py), and at most a few an hour reach one address."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from typing import Any

import redis

from plugin.adapters.mail import wording
from plugin.adapters.mail.smtp import redact
from plugin.adapters.queue.jobs import enqueue_mail
from plugin.adapters.sql.outbox import OutboxRepository
from plugin.core.accounts import normalize_email
from plugin.ports import Message

log = logging.getLogger(__name__)

VERIFY_EMAIL = "verify_email"
ALREADY_REGISTERED = "already_registered"
MAX_MAILS_PER_ADDRESS = 5  # within the window: enough to retry, too few to flood an inbox
WINDOW_S = 3600


def _allowed(connection: redis.Redis, recipient: str) -> bool:
    digest = hashlib.sha256(normalize_email(recipient).encode()).hexdigest()
    key = f"backorders:account-mail:{digest}"
    pipe = connection.pipeline()
    pipe.set(key, 0, ex=WINDOW_S, nx=True)  # the window starts with the first message
    pipe.incr(key)
    _, count = pipe.execute()
    return int(count) <= MAX_MAILS_PER_ADDRESS


def send_account_mail(
    outbox: OutboxRepository,
    connection: redis.Redis,
    kind: str,
    recipient: str,
    context: Mapping[str, Any],
) -> int | None:
    """Put one account e-mail in the outbox and queue its mail job; its outbox id, or None
    when the address had its share of messages this hour (nothing is stored then)."""
    try:
        if not _allowed(connection, recipient):
            log.warning("account mail not sent: too many kind=%s to=%s", kind, redact(recipient))
            return None
    except redis.RedisError as exc:
        log.warning("account mail not sent: queue down kind=%s error=%s", kind, type(exc).__name__)
        return None
    subject, body = wording.render(wording.read("account_email", kind), context)
    key = f"account:{kind}:{secrets.token_hex(8)}"
    message_id, _new = outbox.add(Message(None, key, kind, recipient, subject, body))
    try:
        enqueue_mail(connection, message_id)
    except redis.RedisError as exc:  # the merchant can ask for the message again
        log.warning("account mail id=%s not queued: %s", message_id, type(exc).__name__)
    log.info("account mail queued id=%s kind=%s to=%s", message_id, kind, redact(recipient))
    return message_id
