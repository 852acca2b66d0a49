"""Use case: delay notices with consent for one waiting backorder order (issue 15).

The decisions are the pure core's (`plugin/core/delays.py`: the FTC 30-day rule, notify only,
off); this carries them out once each:

- a notice goes out through `notify` under the action's key (the outbox keeps one message per
  key), is recorded as sent (once per number) and written to the audit trail once;
- a cancellation runs each waiting line through the merchant's cancellation path (`cancel_line`:
  one record per line, so a second run cancels nothing twice), marks the backorder cancelled,
  and tells the merchant the refund due (amount, order, by when) once;
- every action's key is claimed after its effect (`DelayRecords.claim`): a run that stops
  between the two repeats an idempotent effect and then records it.

Imports only the core and the ports; the scheduler's job (`jobs/delay_notices.py`) passes the
adapters and the moment in, so a test drives it with any clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from plugin.core.delays import (
    Answer,
    CancelReason,
    CancelWaitingLines,
    Choice,
    Decision,
    DelayFacts,
    DelaySettings,
    RefundDue,
    SendNotice,
    SentNotice,
    TellMerchant,
    decide,
    expected_date_of,
)
from plugin.ports import Alerts, AuditLog, CancellationRecord, DelayRecords, DelayWatchRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WaitingBackorder:
    """A backorder order (or an original held whole: then `order_id == original_order_id`)
    still waiting for stock, as the store and our ledgers have it now."""

    order_id: str
    number: str
    original_order_id: str
    original_number: str
    currency: str
    paid: bool  # paid from the original: cancelling makes a refund due there
    waiting_value: Decimal  # what its waiting lines are worth (taxes included)
    line_dates: tuple[dt.date | None, ...]  # expected date of each waiting line
    cancel_lines: tuple[Mapping[str, Any], ...]  # what the cancellation path needs per line


def notice_to_dict(notice: SentNotice) -> dict[str, Any]:
    return {
        "number": notice.number,
        "sent_at": notice.sent_at.isoformat(),
        "revised_date": notice.revised_date.isoformat() if notice.revised_date else None,
        "deadline": notice.deadline.isoformat(),
        "silence_counts_as_consent": notice.silence_counts_as_consent,
    }


def notice_from_dict(data: Mapping[str, Any]) -> SentNotice:
    revised = data.get("revised_date")
    return SentNotice(
        number=int(data["number"]),
        sent_at=dt.datetime.fromisoformat(str(data["sent_at"])),
        revised_date=dt.date.fromisoformat(str(revised)) if revised else None,
        deadline=dt.datetime.fromisoformat(str(data["deadline"])),
        silence_counts_as_consent=bool(data["silence_counts_as_consent"]),
    )


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    return {
        "notice_number": answer.notice_number,
        "choice": answer.choice.value,
        "at": answer.at.isoformat(),
    }


def answer_from_dict(data: Mapping[str, Any]) -> Answer:
    return Answer(
        int(data["notice_number"]),
        Choice(str(data["choice"])),
        dt.datetime.fromisoformat(str(data["at"])),
    )


def open_notice(watch: DelayWatchRecord | None, now: dt.datetime) -> SentNotice | None:
    """The last notice when the customer may still answer it (not answered, before its
    deadline, the lines not cancelled): the page then shows the two buttons."""
    if watch is None or watch.cancelled_at is not None or not watch.notices:
        return None
    last = notice_from_dict(watch.notices[-1])
    answered = any(int(a["notice_number"]) == last.number for a in watch.answers)
    return None if answered or now >= last.deadline else last


def facts_of(backorder: WaitingBackorder, watch: DelayWatchRecord) -> DelayFacts:
    return DelayFacts(
        order_id=backorder.order_id,
        number=backorder.number,
        ordered_at=watch.ordered_at,
        promised_date=watch.promised_date,
        expected_date=expected_date_of(backorder.line_dates),
        refund=RefundDue(
            backorder.original_number,
            backorder.currency,
            backorder.waiting_value if backorder.paid else Decimal(0),
        ),
        notices=tuple(notice_from_dict(n) for n in watch.notices),
        answers=tuple(answer_from_dict(a) for a in watch.answers),
        cancelled_at=watch.cancelled_at,
    )


def check_backorder(
    store_id: int,
    backorder: WaitingBackorder,
    watch: DelayWatchRecord,
    *,
    settings: DelaySettings,
    now: dt.datetime,
    records: DelayRecords,
    notify: Callable[[SendNotice, WaitingBackorder], object],
    cancel_line: Callable[[Mapping[str, Any], str], CancellationRecord | None],
    alerts: Alerts,
    audit: AuditLog,
) -> Decision:
    """Decide for one waiting backorder at `now` and carry each action out once."""
    decision = decide(facts_of(backorder, watch), settings, now)
    for action in decision.actions:
        if isinstance(action, SendNotice):
            _send(store_id, backorder, action, now, records, notify, audit)
        elif isinstance(action, CancelWaitingLines):
            _cancel(store_id, backorder, action, now, records, cancel_line, audit)
        elif isinstance(action, TellMerchant):
            _tell(store_id, backorder, action, records, alerts, audit)
    records.set_wake(store_id, backorder.order_id, decision.wake_at)
    return decision


def _tell(
    store_id: int,
    backorder: WaitingBackorder,
    action: TellMerchant,
    records: DelayRecords,
    alerts: Alerts,
    audit: AuditLog,
) -> None:
    message = action.reason.message
    # The alert first: the merchant's alerts keep one open alert per order and message, so a
    # run repeated before the claim adds none.
    alerts.add_alert(store_id, "delay_notice", message, order_id=backorder.order_id)
    if records.claim(store_id, action.key, backorder.order_id, "tell_merchant",
                     {"message": message}):  # fmt: skip
        for order_id in _orders(backorder):
            audit.record(store_id, order_id, "info", message, delay_action=action.key)


def _orders(backorder: WaitingBackorder) -> Sequence[str]:
    """The orders whose audit trail records an action: the waiting order and its original,
    once when they are one order (an original held whole waits itself)."""
    return tuple(dict.fromkeys((backorder.order_id, backorder.original_order_id)))


def _send(
    store_id: int,
    backorder: WaitingBackorder,
    action: SendNotice,
    now: dt.datetime,
    records: DelayRecords,
    notify: Callable[[SendNotice, WaitingBackorder], object],
    audit: AuditLog,
) -> None:
    notify(action, backorder)
    sent = SentNotice(
        action.number, now, action.revised_date, action.deadline, action.silence_counts_as_consent
    )
    records.add_notice(store_id, backorder.order_id, notice_to_dict(sent))
    data = {**notice_to_dict(sent), "kind": action.kind.value, "late": action.late}
    if records.claim(store_id, action.key, backorder.order_id, "notice", data):
        revised = action.revised_date.isoformat() if action.revised_date else "unknown"
        message = (
            f"Delay notice {action.number} ({action.kind.value}) sent to the customer on "
            f"{now.isoformat(timespec='seconds')}: revised date {revised}, answer by "
            f"{action.deadline.isoformat(timespec='seconds')}; silence "
            f"{'counts' if action.silence_counts_as_consent else 'does not count'} as consent"
            f"{'; sent late' if action.late else ''}. {action.reason.message}"
        )
        for order_id in _orders(backorder):
            audit.record(store_id, order_id, "decision", message, delay_action=action.key)
    log.info("delay notice store=%s order=%s number=%s", store_id, backorder.order_id,
             action.number)  # fmt: skip


def _cancel(
    store_id: int,
    backorder: WaitingBackorder,
    action: CancelWaitingLines,
    now: dt.datetime,
    records: DelayRecords,
    cancel_line: Callable[[Mapping[str, Any], str], CancellationRecord | None],
    audit: AuditLog,
) -> None:
    if action.cancel_reason is CancelReason.CUSTOMER_CANCELLED:
        who = "the customer (answer to a delay notice)"
    else:
        who = "Backorders (no consent to the delay: the FTC 30-day rule)"
    results = [cancel_line(line, who) for line in backorder.cancel_lines]
    records.mark_cancelled(store_id, backorder.order_id, now)
    refund = action.refund
    due = (
        f"A refund of {refund.amount:.2f} {refund.currency} is due on order "
        f"#{refund.order_number}"
        + (f" by {action.refund_by.isoformat()}" if action.refund_by else "")
        + " (Backorders moves no money)."
        if refund.amount
        else "Nothing was charged for these lines: no refund is due."
    )
    data = {
        "reason": action.cancel_reason.value,
        "vested_at": action.vested_at.isoformat(),
        "refund": str(refund.amount),
        "currency": refund.currency,
        "refund_order": refund.order_number,
        "refund_by": action.refund_by.isoformat() if action.refund_by else None,
        "lines": [r.cancel_key if r else None for r in results],
    }
    if records.claim(store_id, action.key, backorder.order_id, "cancel", data):
        message = (
            f"Waiting lines of order {backorder.number} cancelled on "
            f"{now.isoformat(timespec='seconds')} at the request of {who}. "
            f"{action.reason.message} {due}"
        )
        for order_id in _orders(backorder):
            audit.record(store_id, order_id, "decision", message, delay_action=action.key)
    log.info("delay cancel store=%s order=%s reason=%s", store_id, backorder.order_id,
             action.cancel_reason.value)  # fmt: skip
