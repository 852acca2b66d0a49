"""Delay notices with consent (issue 15): what to do next for one waiting backorder, pure.

The rule this follows is the US FTC Mail, Internet, or Telephone Order Merchandise Rule,
16 CFR 435 (https://www.ecfr.gov/current/title-16/chapter-I/subchapter-D/part-435), and the
FTC's "Business Guide to the FTC's Mail, Internet, or Telephone Order Merchandise Rule"
(https://www.ftc.gov/business-guidance/resources/business-guide-ftcs-mail-internet-or-telephone-order-merchandise-rule).
The facts relied on, section by section:

- 435.2(a)(1): the seller must ship within the time it clearly stated, or within 30 days after
  receiving a properly completed order when it stated none (the "applicable time"). A time
  stated when the order is taken supersedes one in advertising (Business Guide, Q&A), so a
  date shown on the order (`DelayFacts.promised_date`) wins over the store's stated time.
  The 50 days for a seller that itself takes a credit application are not modelled: such a
  store sets its stated shipping time.
- 435.2(b)(1): when the seller learns it cannot ship in time it must offer, without being
  asked, the option to consent to the delay or to cancel for a prompt refund, within a
  reasonable time and no later than the applicable time. The notice gives a definite revised
  shipping date, or says that none can be given, with the reason for the delay.
- 435.2(b)(1)(ii): a first notice with a definite revised date at most 30 days after the
  applicable time may say that silence is consent; the customer may cancel until that date.
- 435.2(b)(1)(iii): a revised date more than 30 days later, or none, needs the customer's
  express consent within 30 days after the applicable time, or the order is cancelled
  automatically; consent to an indefinite delay keeps a right to cancel until shipment, and
  no further notice is needed (Business Guide, "What Later Notices Must Say").
- 435.2(b)(2): a seller that cannot ship by the revised date it gave must, before that date
  expires, send a renewed notice; silence is then a refusal of the further delay.
- 435.2(b)(3): the customer gets a free way to answer (the two buttons on their page).
- 435.2(c): the seller must deem the order cancelled and refund it when the customer cancels
  before shipment (c)(1), when no express consent to a long or unknown first delay arrives in
  time (c)(2), when no consent to a renewed delay arrives by the old revised date (c)(3), and
  when it offered no timely option and did not ship in time (c)(5).
- 435.1(b)(1): a "prompt refund" is sent within 7 working days of the day the right to it
  vests (one billing cycle where the seller itself extended the credit, which Backorders does
  not see); 435.1(d): the refund is the amount paid for the unshipped merchandise.

How Backorders applies it (`decide`), per store `DelayRule`:

- `OFF`: no notice and no automatic cancellation. `NOTIFY_ONLY`: the same notices, never an
  automatic cancellation (silence keeps the order waiting, and its notices say so:
  `silence_counts_as_consent`). `FTC_30_DAY`: the rule above.
- Dates are the store's calendar days (`DelaySettings.timezone`); a date passes when the next
  day begins. An expected date that has come without the stock counts as unknown: on that
  day, the last one before the customer's date passes, a renewed notice is still on time,
  though the customer then has only that day to answer: the earlier a merchant moves a date,
  the longer the customer has.
- A notice is due as soon as the backorder's expected date is unknown or later than the date
  the customer was last given (the original promised date, then each notice's revised date).
  A date moving earlier, or a date becoming known after an unknown one, needs none.
- Under `FTC_30_DAY` silence is consent only for the first notice, with a definite revised
  date at most 30 days after the original promised date, sent before that date passed. Every
  other notice needs a "wait" answer by its deadline: the answer period from sending
  (`DelaySettings.answer_days`), but never later than the rule allows (30 days after the
  promised date for a first notice, else the last date the customer consented to). A notice
  sent after the date it should have come before is "late": it needs express consent, its
  deadline is the answer period (capped only by a limit of the rule still ahead), and the
  merchant is told. A notice recorded as silence-is-consent (say under notify only) counts
  as consent under the rule only where the rule allows it. A notice with no date carries the
  delay's cause (`DelayFacts.cause`), as the rule asks.
- A "cancel" answer is honoured in every mode while the lines wait (435.2(c)(1); an indefinite
  delay keeps that right until shipment). A "wait" answer after the deadline is no consent.
- A cancellation names the refund due (`RefundDue`: amount, currency, order) and, under
  `FTC_30_DAY`, the day it must be sent by: 7 weekdays after it vested (the customer's answer
  or the deadline). Public holidays are unknown here, so that day is never too late.

Intended use (a later use case, not this module): it stores per store the `DelaySettings`;
per backorder each notice sent (`SentNotice`), each answer from the customer's page
(`Answer`), when the waiting lines were cancelled, and the key of every action carried out
(unique). It builds `DelayFacts` with the backorder's current expected date
(`expected_date_of` its waiting lines' dates) and the refund due (what was paid for the
waiting lines; Backorders moves no money), and calls `decide` when the scheduler reaches a
decision's `wake_at`, when an answer arrives and when a product or purchase-order date moves
(`backorders_to_notify`). It carries out each action once by its key (a notice through the
outbox, a cancellation through the ordinary cancel path, a message to the merchant), records
the notice exactly as sent, and writes each action's reason with its date to the audit trail:
the record a merchant shows a regulator. Running a decision twice sends nothing twice: the
same facts give the same keys, and recorded facts give no action again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from plugin.core.model import Reason

RULE_DAYS = 30  # 435.2(a)(1)(ii) and (b)(1)(ii)/(iii): 30 days
REFUND_WORKING_DAYS = 7  # 435.1(b)(1): a prompt refund is sent within 7 working days


class DelayRule(StrEnum):
    """Which rule a store applies to delayed backorders."""

    OFF = "off"
    NOTIFY_ONLY = "notify_only"
    FTC_30_DAY = "ftc_30_day"


class NoticeKind(StrEnum):
    FIRST = "first"  # 435.2(b)(1)
    RENEWED = "renewed"  # 435.2(b)(2): any later delay


class Choice(StrEnum):
    """A customer's answer on their page."""

    WAIT = "wait"
    CANCEL = "cancel"


class CancelReason(StrEnum):
    CUSTOMER_CANCELLED = "customer_cancelled"
    NO_CONSENT = "no_consent"  # the deadline passed without express consent


@dataclass(frozen=True)
class DelaySettings:
    """A store's delay-notice settings."""

    rule: DelayRule = DelayRule.OFF
    stated_shipping_days: int | None = None  # shipping time stated to customers; None = none
    answer_days: int = 14  # how long a customer has to answer a notice
    timezone: dt.tzinfo = dt.UTC  # the store's calendar


@dataclass(frozen=True)
class RefundDue:
    """What a cancellation must refund, on which order (Backorders moves no money)."""

    order_number: str
    currency: str
    amount: Decimal  # paid for the waiting lines; 0 when nothing was charged


@dataclass(frozen=True)
class SentNotice:
    """A delay notice as it was sent, numbered 1, 2, ... per backorder."""

    number: int
    sent_at: dt.datetime
    revised_date: dt.date | None  # None = the notice said no date could be given
    deadline: dt.datetime
    silence_counts_as_consent: bool


@dataclass(frozen=True)
class Answer:
    """A customer's answer to one notice, with when it was received."""

    notice_number: int
    choice: Choice
    at: dt.datetime


@dataclass(frozen=True)
class DelayFacts:
    """Everything `decide` needs about one backorder order still waiting for stock."""

    order_id: str
    number: str  # the order number the customer and merchant see
    ordered_at: dt.datetime  # receipt of the customer's order
    promised_date: dt.date | None  # shipping date shown when the order was taken, if any
    expected_date: dt.date | None  # current expected date of the waiting lines; None = unknown
    refund: RefundDue
    notices: tuple[SentNotice, ...] = ()
    answers: tuple[Answer, ...] = ()
    cancelled_at: dt.datetime | None = None  # the waiting lines were cancelled
    cause: str = "the stock it waits for has not arrived"  # the delay's reason, for notices


@dataclass(frozen=True)
class SendNotice:
    """Send delay notice `number` to the customer, with the two buttons on their page."""

    key: str
    order_id: str
    number: int
    kind: NoticeKind
    revised_date: dt.date | None  # None = say that no date can be given, and `cause`
    cause: str
    deadline: dt.datetime
    silence_counts_as_consent: bool
    late: bool  # sent after the date it should have come before
    refund: RefundDue  # what cancelling refunds
    reason: Reason


@dataclass(frozen=True)
class CancelWaitingLines:
    """Cancel the backorder's waiting lines; the merchant refunds `refund`."""

    key: str
    order_id: str
    cancel_reason: CancelReason
    vested_at: dt.datetime  # when the customer's right to the refund vested
    refund: RefundDue
    refund_by: dt.date | None  # under FTC_30_DAY: the day the refund must be sent by
    reason: Reason


@dataclass(frozen=True)
class TellMerchant:
    """A message for the merchant: a refund to make, or a notice that went late."""

    key: str
    order_id: str
    reason: Reason


Action = SendNotice | CancelWaitingLines | TellMerchant


@dataclass(frozen=True)
class Decision:
    """What to do now for one backorder (no action = nothing), and when to look again."""

    order_id: str
    actions: tuple[Action, ...]
    reason: Reason
    wake_at: dt.datetime | None  # next moment the decision changes without new facts


def applicable_date(facts: DelayFacts, settings: DelaySettings) -> dt.date:
    """The date the customer was promised: the one shown on the order, else the stated time."""
    if facts.promised_date is not None:
        return facts.promised_date
    days = RULE_DAYS if settings.stated_shipping_days is None else settings.stated_shipping_days
    return facts.ordered_at.astimezone(settings.timezone).date() + dt.timedelta(days=days)


def expected_date_of(line_dates: Iterable[dt.date | None]) -> dt.date | None:
    """A backorder's expected date: the latest of its waiting lines', None if any is unknown."""
    latest: dt.date | None = None
    for date in line_dates:
        if date is None:
            return None
        if latest is None or date > latest:
            latest = date
    return latest


def backorders_to_notify(
    backorders: Iterable[DelayFacts], settings: DelaySettings, now: dt.datetime
) -> tuple[str, ...]:
    """Order ids, sorted, of `backorders` that need a new notice now (after a date moved)."""
    return tuple(
        sorted(
            facts.order_id
            for facts in backorders
            if any(isinstance(a, SendNotice) for a in decide(facts, settings, now).actions)
        )
    )


def decide(facts: DelayFacts, settings: DelaySettings, now: dt.datetime) -> Decision:
    """The next actions for one waiting backorder at `now`; see the module docstring."""
    _check(facts, settings, now)
    name = facts.number or facts.order_id
    if facts.cancelled_at is not None:
        return _nothing(facts, "delay_closed", f"Order {name}: its waiting lines are cancelled.")
    notices = sorted(facts.notices, key=lambda n: n.number)
    answers = sorted(facts.answers, key=lambda a: (a.at, a.notice_number, a.choice.value))
    ftc = settings.rule is DelayRule.FTC_30_DAY
    cancelled = next((a for a in answers if a.choice is Choice.CANCEL), None)
    if cancelled is not None:
        why = (
            f"Order {name}: the customer chose to cancel the waiting lines "
            f"(answer to notice {cancelled.notice_number}, {_when(cancelled.at)})."
        )
        return _cancel(facts, settings, CancelReason.CUSTOMER_CANCELLED, cancelled.at, why)
    if settings.rule is DelayRule.OFF:
        return _nothing(facts, "delay_rule_off", f"Order {name}: delay notices are off.")

    tz = settings.timezone
    today = now.astimezone(tz).date()
    promised = applicable_date(facts, settings)
    expected = facts.expected_date
    known = expected if expected is not None and expected > today else None
    last = notices[-1] if notices else None
    pending = ftc and last is not None and not _consented(last, answers, promised, tz)
    if last is not None and pending and now >= last.deadline:
        return _cancel(
            facts,
            settings,
            CancelReason.NO_CONSENT,
            last.deadline,
            _no_consent_message(name, last, answers),
        )

    told = promised if last is None else last.revised_date
    wakes = [last.deadline] if last is not None and pending else []
    if known is not None:
        wakes.append(_start_of(known, tz))  # the day it comes, it counts as unknown
    wake_at = min(wakes) if wakes else None
    if told is None:
        return _nothing(
            facts,
            "delay_indefinite",
            f"Order {name}: the customer was told no date could be given; no further notice "
            "is needed.",
            wake_at,
        )
    if known is not None and known <= told:
        return _nothing(
            facts,
            "delay_on_time",
            f"Order {name}: expected {known.isoformat()}, on or before the date the customer "
            f"was given ({told.isoformat()}).",
            wake_at,
        )
    return _notice(facts, settings, now, (notices, answers), promised, told, known)


def _notice(
    facts: DelayFacts,
    settings: DelaySettings,
    now: dt.datetime,
    history: tuple[list[SentNotice], list[Answer]],
    promised: dt.date,
    told: dt.date,
    known: dt.date | None,
) -> Decision:
    """Send the next notice: `told` is the date the customer was last given."""
    notices, answers = history
    tz = settings.timezone
    name = facts.number or facts.order_id
    number = len(notices) + 1
    kind = NoticeKind.FIRST if number == 1 else NoticeKind.RENEWED
    late = now >= _passes(told, tz)
    answer_end = now + dt.timedelta(days=settings.answer_days)
    ftc = settings.rule is DelayRule.FTC_30_DAY
    if not ftc:
        silence, deadline = True, answer_end  # notify only: nothing happens at the deadline
    elif number == 1 and not late and known is not None and _short(known, promised):
        silence, deadline = True, _passes(known, tz)  # 435.2(b)(1)(ii): cancel until then
    else:
        silence = False
        limit_date = _consent_limit(notices, answers, promised, tz)
        limit = None if limit_date is None else _passes(limit_date, tz)
        deadline = min(answer_end, limit) if limit is not None and limit > now else answer_end
    revised = "no date can be given" if known is None else f"revised date {known.isoformat()}"
    if not ftc:
        answer = "notify only: the lines keep waiting unless the customer cancels"
    elif silence:
        answer = "silence counts as consent; the customer may cancel until then"
    else:
        answer = "the customer must choose to wait, or the waiting lines are cancelled"
    reason = Reason(
        f"delay_notice_{kind.value}",
        f"Order {name}: {kind.value} delay notice {number} ({revised}; the customer was given "
        f"{told.isoformat()}); answer by {_when(deadline)}: {answer}.",
    )
    actions: list[Action] = [
        SendNotice(
            key=f"delay-notice:{facts.order_id}:{number}",
            order_id=facts.order_id,
            number=number,
            kind=kind,
            revised_date=known,
            cause=facts.cause,
            deadline=deadline,
            silence_counts_as_consent=silence,
            late=late,
            refund=facts.refund,
            reason=reason,
        )
    ]
    if late and ftc:
        actions.append(
            TellMerchant(
                key=f"delay-late:{facts.order_id}:{number}",
                order_id=facts.order_id,
                reason=Reason(
                    "delay_notice_late",
                    f"Order {name}: delay notice {number} went out after "
                    f"{told.isoformat()}, the date it should have come before (16 CFR "
                    "435.2(b)); the customer's silence cannot count as consent.",
                ),
            )
        )
    wakes = [deadline] if ftc and not silence else []
    if known is not None:
        wakes.append(_start_of(known, tz))
    return Decision(facts.order_id, tuple(actions), reason, min(wakes) if wakes else None)


def _short(revised: dt.date, promised: dt.date) -> bool:
    """True when `revised` is at most 30 days after the promised date (435.2(b)(1)(ii))."""
    return revised <= promised + dt.timedelta(days=RULE_DAYS)


def _consented(
    notice: SentNotice, answers: Iterable[Answer], promised: dt.date, tz: dt.tzinfo
) -> bool:
    """True when the customer consented to `notice` under the rule: by silence, or in time.

    A notice counts as consented by silence only where the rule allows it: the first, with a
    definite date at most 30 days after the promised one, sent before that date passed (a
    notice sent under notify-only, then judged under the rule, gets no more).
    """
    if (
        notice.silence_counts_as_consent
        and notice.number == 1
        and notice.revised_date is not None
        and _short(notice.revised_date, promised)
        and notice.sent_at < _passes(promised, tz)
    ):
        return True
    return any(
        a.notice_number == notice.number and a.choice is Choice.WAIT and a.at <= notice.deadline
        for a in answers
    )


def _consent_limit(
    notices: list[SentNotice], answers: list[Answer], promised: dt.date, tz: dt.tzinfo
) -> dt.date | None:
    """The latest date express consent may come by: the last date consented to, else the
    first option's limit, 30 days after the promised date (435.2(b)(1)(iii), (b)(2))."""
    consented = [n for n in notices if _consented(n, answers, promised, tz)]
    if not consented:
        return promised + dt.timedelta(days=RULE_DAYS)
    return consented[-1].revised_date


def _no_consent_message(name: str, notice: SentNotice, answers: list[Answer]) -> str:
    late = [
        a
        for a in answers
        if a.notice_number == notice.number and a.choice is Choice.WAIT and a.at > notice.deadline
    ]
    after = f"; the customer's answer to wait came after it ({_when(late[0].at)})" if late else ""
    return (
        f"Order {name}: no consent to delay notice {notice.number} by its deadline "
        f"{_when(notice.deadline)}{after}."
    )


def _cancel(
    facts: DelayFacts,
    settings: DelaySettings,
    why: CancelReason,
    vested_at: dt.datetime,
    message: str,
) -> Decision:
    name = facts.number or facts.order_id
    refund = facts.refund
    refund_by = (
        _add_working_days(vested_at.astimezone(settings.timezone).date(), REFUND_WORKING_DAYS)
        if settings.rule is DelayRule.FTC_30_DAY
        else None
    )
    by = "" if refund_by is None else f" by {refund_by.isoformat()} (16 CFR 435.1(b))"
    if refund.amount:
        due = f"refund {refund.amount} {refund.currency} on order {refund.order_number}{by}"
    else:
        due = "nothing was charged for them, so nothing is to be refunded"
    reason = Reason(f"delay_cancel_{why.value}", message)
    told = Reason(
        "delay_refund_due", f"Order {name}: waiting lines cancelled ({why.value}); {due}."
    )
    return Decision(
        facts.order_id,
        (
            CancelWaitingLines(
                key=f"delay-cancel:{facts.order_id}",
                order_id=facts.order_id,
                cancel_reason=why,
                vested_at=vested_at,
                refund=refund,
                refund_by=refund_by,
                reason=reason,
            ),
            TellMerchant(
                key=f"delay-refund:{facts.order_id}", order_id=facts.order_id, reason=told
            ),
        ),
        reason,
        None,
    )


def _nothing(
    facts: DelayFacts, code: str, message: str, wake_at: dt.datetime | None = None
) -> Decision:
    return Decision(facts.order_id, (), Reason(code, message), wake_at)


def _start_of(date: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The moment `date` begins in `tz`, in UTC."""
    return dt.datetime(date.year, date.month, date.day, tzinfo=tz).astimezone(dt.UTC)


def _passes(date: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The moment `date` has passed in `tz`: the next day begins."""
    return _start_of(date + dt.timedelta(days=1), tz)


def _add_working_days(date: dt.date, days: int) -> dt.date:
    """`days` weekdays after `date` (Monday to Friday; holidays are not known here)."""
    while days:
        date += dt.timedelta(days=1)
        if date.weekday() < 5:
            days -= 1
    return date


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _check(facts: DelayFacts, settings: DelaySettings, now: dt.datetime) -> None:
    """Raise ValueError, naming the order, on facts that cannot be right."""
    name = facts.order_id

    def aware(moment: dt.datetime, what: str) -> None:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"order {name}: {what} must be timezone-aware")

    aware(now, "now")
    aware(facts.ordered_at, "ordered_at")
    if settings.answer_days < 1:
        raise ValueError(f"answer_days must be at least 1, not {settings.answer_days}")
    if settings.stated_shipping_days is not None and settings.stated_shipping_days < 0:
        raise ValueError(
            f"stated_shipping_days must not be negative: {settings.stated_shipping_days}"
        )
    if facts.refund.amount < 0:
        raise ValueError(f"order {name}: the refund due must not be negative")
    numbers = sorted(n.number for n in facts.notices)
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"order {name}: notices must be numbered 1..{len(numbers)}: {numbers}")
    sent: dict[int, dt.datetime] = {}
    for notice in facts.notices:
        aware(notice.sent_at, f"notice {notice.number} sent_at")
        aware(notice.deadline, f"notice {notice.number} deadline")
        if notice.sent_at > now:
            raise ValueError(f"order {name}: notice {notice.number} is sent after now")
        if notice.deadline < notice.sent_at:
            raise ValueError(f"order {name}: notice {notice.number} has its deadline before it")
        sent[notice.number] = notice.sent_at
    for answer in facts.answers:
        aware(answer.at, "an answer's time")
        if answer.notice_number not in sent:
            raise ValueError(f"order {name}: an answer to notice {answer.notice_number}, not sent")
        if not sent[answer.notice_number] <= answer.at <= now:
            raise ValueError(
                f"order {name}: the answer to notice {answer.notice_number} must come after "
                "the notice and not after now"
            )
    if facts.cancelled_at is not None:
        aware(facts.cancelled_at, "cancelled_at")
