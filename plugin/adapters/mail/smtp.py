"""Delivering outbox messages: SMTP (`SMTP_URL`), or the development outbox; and the mail job's
queueing. Runs in the worker only, never in a web request."""

from __future__ import annotations

import email.utils
import hashlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from plugin.adapters.sql.outbox import (
    CAPTURED,
    FAILED,
    QUEUED,
    SENT,
    OutboxRecord,
    OutboxRepository,
)
from plugin.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 20


def redact(address: str) -> str:
    """`a***@example.com`: enough to tell messages apart in a log, not the address."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: bool  # smtps:// : TLS from the first byte
    username: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Parse `smtp://user:pass@host:port` or `smtps://...`."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://host:port or smtps://host:port")
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            tls=tls,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )


def build_email(record: OutboxRecord, sender: str) -> EmailMessage:
    """The MIME message of an outbox record; its Message-ID is fixed by the record's key."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = record.recipient
    message["Subject"] = record.subject
    message["Date"] = email.utils.format_datetime(record.created_at)
    digest = hashlib.sha256(f"{record.store_id}:{record.key}".encode()).hexdigest()[:32]
    # The same id on every attempt lets a receiving server drop a duplicate.
    message["Message-ID"] = f"<{digest}@backorders.invalid>"
    message.set_content(record.body)
    for filename, content_type, text in record.attachments:
        maintype, _, subtype = content_type.partition("/")
        if maintype == "text":
            message.add_attachment(text, subtype=subtype or "plain", filename=filename)
        else:
            message.add_attachment(
                text.encode(), maintype=maintype, subtype=subtype, filename=filename
            )
    return message


def send_smtp(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send one message; TransientError for what a retry may cure, PermanentError otherwise."""
    try:
        client: smtplib.SMTP
        if settings.tls:
            context = ssl.create_default_context()
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=SMTP_TIMEOUT, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT)
        with client:
            if settings.username:
                client.login(settings.username, settings.password)
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(400 <= code < 500 for code in codes):
            raise TransientError("recipient deferred", reason="smtp_deferred") from exc
        raise PermanentError("recipient refused", reason="smtp_refused") from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentError("SMTP login refused", reason="smtp_auth") from exc
    except smtplib.SMTPResponseException as exc:
        # RFC 5321 4.2.1: 4yz replies are transient, 5yz permanent.
        if 400 <= exc.smtp_code < 500:
            raise TransientError(f"SMTP {exc.smtp_code}", reason="smtp_deferred") from exc
        raise PermanentError(f"SMTP {exc.smtp_code}", reason="smtp_refused") from exc
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
        raise TransientError(f"SMTP unreachable: {type(exc).__name__}", reason="smtp_down") from exc
    except smtplib.SMTPException as exc:
        raise PermanentError(f"SMTP: {type(exc).__name__}", reason="smtp_error") from exc


def deliver(
    outbox: OutboxRepository,
    message_id: int,
    *,
    smtp_url: str,
    development: bool,
    sender: str,
) -> str:
    """Send (or capture) one outbox message unless it was settled already; returns its status.

    Raises TransientError for a retry (the message stays queued)."""
    record = outbox.get(message_id)
    if record is None:
        return "missing"
    if record.status != QUEUED:
        return record.status  # sent or captured already: a retry never sends twice
    if not smtp_url:
        if development:
            outbox.finish(message_id, CAPTURED)
            log.info("mail captured id=%s kind=%s to=%s", message_id, record.kind,
                     redact(record.recipient))  # fmt: skip
            return CAPTURED
        outbox.finish(message_id, FAILED, "SMTP_URL is not set")
        log.warning("mail not sent: SMTP_URL is not set id=%s", message_id)
        return FAILED
    try:
        send_smtp(SmtpSettings.from_url(smtp_url), build_email(record, sender))
    except TransientError as exc:
        outbox.count_attempt(message_id, f"{exc.reason}: {exc}")
        log.info("mail deferred id=%s reason=%s", message_id, exc.reason)
        raise
    except PermanentError as exc:
        outbox.count_attempt(message_id)
        outbox.finish(message_id, FAILED, f"{exc.reason}: {exc}")
        log.warning("mail failed id=%s reason=%s (not retried)", message_id, exc.reason)
        return FAILED
    outbox.count_attempt(message_id)
    outbox.finish(message_id, SENT)
    log.info("mail sent id=%s kind=%s to=%s", message_id, record.kind, redact(record.recipient))
    return SENT
