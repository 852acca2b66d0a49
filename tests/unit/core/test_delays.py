"""Delay notices with consent: scenarios on a controllable clock, exact notices and cancels."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from plugin.core.delays import (
    Action,
    Answer,
    CancelReason,
    CancelWaitingLines,
    Choice,
    Decision,
    DelayFacts,
    DelayRule,
    DelaySettings,
    NoticeKind,
    RefundDue,
    SendNotice,
    SentNotice,
    TellMerchant,
    applicable_date,
    backorders_to_notify,
    decide,
    expected_date_of,
)

WAIT, CANCEL = Choice.WAIT, Choice.CANCEL
FTC = DelaySettings(rule=DelayRule.FTC_30_DAY, answer_days=14)
NOTIFY = DelaySettings(rule=DelayRule.NOTIFY_ONLY, answer_days=14)
OFF = DelaySettings(rule=DelayRule.OFF, answer_days=14)
REFUND = RefundDue("1042-001", "USD", Decimal("40.00"))
PROMISED = dt.date(2026, 12, 1)  # 30 days after the order; T + 30 = 2026-12-31


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A moment in 2026 (November, December) or 2027 (January, February), UTC."""
    year = 2026 if month >= 11 else 2027
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def day(month: int, date: int) -> dt.date:
    return at(month, date).date()


def facts(expected: dt.date | None, **changes: object) -> DelayFacts:
    base = DelayFacts(
        order_id="77",
        number="1042-001",
        ordered_at=at(11, 2, 10),
        promised_date=PROMISED,
        expected_date=expected,
        refund=REFUND,
    )
    return replace(base, **changes)


def describe(action: Action) -> str:
    if isinstance(action, SendNotice):
        revised = action.revised_date.isoformat() if action.revised_date else "unknown"
        consent = "silence" if action.silence_counts_as_consent else "express"
        late = " late" if action.late else ""
        return (
            f"notice {action.number} {action.kind.value} {revised} {consent} "
            f"until {action.deadline:%m-%d %H:%M}{late}"
        )
    if isinstance(action, CancelWaitingLines):
        by = action.refund_by.isoformat() if action.refund_by else "-"
        refund = action.refund
        return (
            f"cancel {action.cancel_reason.value} vested {action.vested_at:%m-%d %H:%M} "
            f"refund {refund.amount} {refund.currency} on {refund.order_number} by {by}"
        )
    return f"merchant {action.reason.code}"


class Clock:
    """A fake use case: decides at given moments, carries out each action once by its key."""

    def __init__(self, settings: DelaySettings, start: DelayFacts) -> None:
        self.settings = settings
        self.facts = start
        self.done: set[str] = set()
        self.log: list[str] = []
        self.decisions: list[tuple[dt.datetime, Decision]] = []

    def set_date(self, now: dt.datetime, date: dt.date | None) -> Decision:
        self.facts = replace(self.facts, expected_date=date)
        return self.run(now)

    def answer(self, now: dt.datetime, number: int, choice: Choice) -> Decision:
        self.facts = replace(self.facts, answers=(*self.facts.answers, Answer(number, choice, now)))
        return self.run(now)

    def run(self, now: dt.datetime) -> Decision:
        decision = decide(self.facts, self.settings, now)
        self.decisions.append((now, decision))
        for action in decision.actions:
            assert action.key not in self.done, f"{action.key} carried out twice"
            self.done.add(action.key)
            self.log.append(f"{now:%m-%d %H:%M} {describe(action)}")
            self.facts = record(self.facts, action, now)
        return decision


def record(current: DelayFacts, action: Action, now: dt.datetime) -> DelayFacts:
    """What the use case stores after carrying out `action` at `now`."""
    if isinstance(action, SendNotice):
        sent = SentNotice(
            action.number,
            now,
            action.revised_date,
            action.deadline,
            action.silence_counts_as_consent,
        )
        return replace(current, notices=(*current.notices, sent))
    if isinstance(action, CancelWaitingLines):
        return replace(current, cancelled_at=now)
    return current


# A scenario: settings, the expected date at the start, then steps on the clock. Every step
# is followed by a decision, as the use case decides on each answer, date change and wake-up:
# ("run", when), ("date", when, new expected date), ("answer", when, notice number, choice).
Step = tuple[object, ...]
SCENARIOS: list[tuple[str, DelaySettings, dt.date | None, list[Step], list[str]]] = [
    (
        "no delay: nothing",
        FTC,
        day(11, 20),
        [("run", at(11, 2, 10)), ("run", at(11, 19, 23, 59))],
        [],
    ),
    (
        "first delay of exactly 30 days, silence: consent is deemed, nothing is cancelled",
        FTC,
        day(11, 20),
        [("date", at(11, 10, 9), day(12, 31)), ("run", at(12, 1)), ("run", at(12, 30, 23))],
        ["11-10 09:00 notice 1 first 2026-12-31 silence until 01-01 00:00"],
    ),
    (
        "first delay of 31 days, silence: cancelled at the deadline",
        FTC,
        day(11, 20),
        [
            ("date", at(11, 10, 9), day(1, 1)),
            ("run", at(11, 24, 8, 59)),
            ("run", at(11, 24, 9)),
            ("run", at(11, 25)),
        ],
        [
            "11-10 09:00 notice 1 first 2027-01-01 express until 11-24 09:00",
            "11-24 09:00 cancel no_consent vested 11-24 09:00 refund 40.00 USD on 1042-001 "
            "by 2026-12-03",
            "11-24 09:00 merchant delay_refund_due",
        ],
    ),
    (
        "unknown date, silence: cancelled at the deadline",
        FTC,
        None,
        [("run", at(11, 2, 10)), ("run", at(11, 16, 9, 59)), ("run", at(11, 16, 10))],
        [
            "11-02 10:00 notice 1 first unknown express until 11-16 10:00",
            "11-16 10:00 cancel no_consent vested 11-16 10:00 refund 40.00 USD on 1042-001 "
            "by 2026-11-25",
            "11-16 10:00 merchant delay_refund_due",
        ],
    ),
    (
        "customer answers wait: kept; when the date comes, a renewed notice",
        FTC,
        day(11, 20),
        [
            ("date", at(11, 10, 9), day(1, 1)),
            ("answer", at(11, 20, 12), 1, WAIT),
            ("run", at(11, 24, 9)),
            ("run", at(12, 31, 23)),
            ("run", at(1, 1)),
            ("answer", at(1, 1, 8), 2, WAIT),
            ("run", at(1, 2)),
            ("date", at(1, 20), day(2, 10)),
        ],
        [
            "11-10 09:00 notice 1 first 2027-01-01 express until 11-24 09:00",
            ("01-01 00:00 notice 2 renewed unknown express until 01-02 00:00"),
        ],
    ),
    (
        "customer answers cancel: the waiting lines are cancelled at once",
        FTC,
        day(11, 20),
        [("date", at(11, 10, 9), day(12, 20)), ("answer", at(11, 15, 18), 1, CANCEL)],
        [
            "11-10 09:00 notice 1 first 2026-12-20 silence until 12-21 00:00",
            "11-15 18:00 cancel customer_cancelled vested 11-15 18:00 refund 40.00 USD on "
            "1042-001 by 2026-11-24",
            "11-15 18:00 merchant delay_refund_due",
        ],
    ),
    (
        "second delay with express consent: kept",
        FTC,
        day(11, 20),
        [
            ("date", at(11, 10, 9), day(12, 20)),
            ("date", at(12, 10, 9), day(12, 28)),
            ("answer", at(12, 15), 2, WAIT),
            ("run", at(12, 21)),
        ],
        [
            "11-10 09:00 notice 1 first 2026-12-20 silence until 12-21 00:00",
            "12-10 09:00 notice 2 renewed 2026-12-28 express until 12-21 00:00",
        ],
    ),
    (
        "second delay, silence: cancelled when the first revised date passes",
        FTC,
        day(11, 20),
        [
            ("date", at(11, 10, 9), day(12, 20)),
            ("date", at(12, 10, 9), day(12, 28)),
            ("run", at(12, 20, 23, 59)),
            ("run", at(12, 21)),
        ],
        [
            "11-10 09:00 notice 1 first 2026-12-20 silence until 12-21 00:00",
            "12-10 09:00 notice 2 renewed 2026-12-28 express until 12-21 00:00",
            "12-21 00:00 cancel no_consent vested 12-21 00:00 refund 40.00 USD on 1042-001 "
            "by 2026-12-30",
            "12-21 00:00 merchant delay_refund_due",
        ],
    ),
    (
        "the date the customer was given comes without the stock: renewed notice that day",
        FTC,
        day(11, 20),
        [
            ("date", at(11, 10, 9), day(12, 31)),
            ("run", at(12, 31)),
            ("run", at(1, 1)),
        ],
        [
            "11-10 09:00 notice 1 first 2026-12-31 silence until 01-01 00:00",
            "12-31 00:00 notice 2 renewed unknown express until 01-01 00:00",
            "01-01 00:00 cancel no_consent vested 01-01 00:00 refund 40.00 USD on 1042-001 "
            "by 2027-01-12",
            "01-01 00:00 merchant delay_refund_due",
        ],
    ),
    (
        "date moves earlier: no notice",
        FTC,
        day(11, 20),
        [
            ("date", at(11, 5), day(11, 15)),
            ("date", at(11, 10, 9), day(12, 20)),
            ("date", at(12, 1), day(12, 10)),
            ("run", at(12, 9, 23)),
        ],
        ["11-10 09:00 notice 1 first 2026-12-20 silence until 12-21 00:00"],
    ),
    (
        "notify only: notices, no automatic cancellation; a cancel answer is honoured",
        NOTIFY,
        day(11, 20),
        [
            ("date", at(11, 10, 9), day(1, 15)),
            ("run", at(11, 24, 9)),
            ("run", at(1, 15)),
            ("run", at(2, 1)),
            ("answer", at(2, 2), 2, CANCEL),
        ],
        [
            "11-10 09:00 notice 1 first 2027-01-15 silence until 11-24 09:00",
            "01-15 00:00 notice 2 renewed unknown silence until 01-29 00:00",
            "02-02 00:00 cancel customer_cancelled vested 02-02 00:00 refund 40.00 USD on "
            "1042-001 by -",
            "02-02 00:00 merchant delay_refund_due",
        ],
    ),
    (
        "off: nothing, whatever the dates",
        OFF,
        None,
        [("run", at(11, 2, 10)), ("date", at(11, 10), day(2, 20)), ("run", at(2, 25))],
        [],
    ),
    (
        "an answer to wait after the deadline is no consent",
        FTC,
        day(11, 20),
        [
            ("date", at(11, 10, 9), day(1, 1)),
            ("answer", at(11, 25, 8), 1, WAIT),
            ("answer", at(11, 26), 1, CANCEL),
        ],
        [
            "11-10 09:00 notice 1 first 2027-01-01 express until 11-24 09:00",
            "11-25 08:00 cancel no_consent vested 11-24 09:00 refund 40.00 USD on 1042-001 "
            "by 2026-12-03",
            "11-25 08:00 merchant delay_refund_due",
        ],
    ),
    (
        "a first notice after the promised date is late: express consent, merchant told",
        FTC,
        day(11, 20),
        [("date", at(12, 3, 9), day(12, 20)), ("run", at(12, 17, 9))],
        [
            "12-03 09:00 notice 1 first 2026-12-20 express until 12-17 09:00 late",
            "12-03 09:00 merchant delay_notice_late",
            "12-17 09:00 cancel no_consent vested 12-17 09:00 refund 40.00 USD on 1042-001 "
            "by 2026-12-28",
            "12-17 09:00 merchant delay_refund_due",
        ],
    ),
    (
        "a store five hours behind UTC: dates pass at its midnight",
        replace(FTC, timezone=dt.timezone(dt.timedelta(hours=-5))),
        day(11, 20),
        [("date", at(11, 10, 9), day(12, 20)), ("run", at(12, 20, 4, 59)), ("run", at(12, 20, 5))],
        [
            "11-10 09:00 notice 1 first 2026-12-20 silence until 12-21 05:00",
            "12-20 05:00 notice 2 renewed unknown express until 12-21 05:00",
        ],
    ),
]


@pytest.mark.parametrize(
    ("settings", "expected", "steps", "log"),
    [scenario[1:] for scenario in SCENARIOS],
    ids=[scenario[0] for scenario in SCENARIOS],
)
def test_scenario(
    settings: DelaySettings, expected: dt.date | None, steps: list[Step], log: list[str]
) -> None:
    clock = Clock(settings, facts(expected))
    for step in steps:
        match step:
            case ("run", dt.datetime() as now):
                clock.run(now)
            case ("date", dt.datetime() as now, new):
                assert new is None or isinstance(new, dt.date)
                clock.set_date(now, new)
            case ("answer", dt.datetime() as now, int(number), Choice() as choice):
                clock.answer(now, number, choice)
            case _:
                raise AssertionError(f"unknown step {step}")
    assert clock.log == log
    # Deciding again at the last moment, on the facts as recorded, carries out nothing.
    last = clock.decisions[-1][0]
    assert decide(clock.facts, settings, last).actions == ()


def test_the_same_facts_give_the_same_decision_and_keys() -> None:
    start = facts(day(1, 1))
    first = decide(start, FTC, at(11, 10, 9))
    again = decide(start, FTC, at(11, 10, 9))
    assert first == again
    later = decide(start, FTC, at(11, 10, 9, 5))  # a retry before the notice was recorded
    assert [a.key for a in first.actions] == [a.key for a in later.actions] == ["delay-notice:77:1"]


def test_running_twice_at_the_same_moment_carries_out_nothing_twice() -> None:
    clock = Clock(FTC, facts(day(1, 1)))
    assert [a.key for a in clock.run(at(11, 10, 9)).actions] == ["delay-notice:77:1"]
    assert clock.run(at(11, 10, 9)).actions == ()
    cancel = clock.run(at(11, 24, 9))
    assert [a.key for a in cancel.actions] == ["delay-cancel:77", "delay-refund:77"]
    assert clock.run(at(11, 24, 9)).actions == ()
    assert clock.run(at(11, 30)).actions == ()
    assert len(clock.facts.notices) == 1 and clock.facts.cancelled_at == at(11, 24, 9)


def test_notice_carries_what_the_customer_must_be_told() -> None:
    start = facts(None, cause="the supplier's shipment is held at customs")
    decision = decide(start, FTC, at(11, 2, 10))
    assert decision.actions == (
        SendNotice(
            key="delay-notice:77:1",
            order_id="77",
            number=1,
            kind=NoticeKind.FIRST,
            revised_date=None,
            cause="the supplier's shipment is held at customs",
            deadline=at(11, 16, 10),
            silence_counts_as_consent=False,
            late=False,
            refund=REFUND,
            reason=decision.reason,
        ),
    )
    assert decision.reason.code == "delay_notice_first"
    assert decision.reason.message == (
        "Order 1042-001: first delay notice 1 (no date can be given; the customer was given "
        "2026-12-01); answer by 2026-11-16 10:00 UTC: the customer must choose to wait, or "
        "the waiting lines are cancelled."
    )
    assert decision.wake_at == at(11, 16, 10)


def test_the_answer_period_never_runs_past_the_rule() -> None:
    # A first notice for a long delay: express consent within 30 days of the promised date.
    long_period = replace(FTC, answer_days=60)
    decision = decide(facts(day(1, 15)), long_period, at(11, 10, 9))
    (notice,) = decision.actions
    assert isinstance(notice, SendNotice)
    assert notice.deadline == at(1, 1)  # 2026-12-31 passes


def test_a_customer_consenting_to_an_indefinite_delay_gets_no_further_notice() -> None:
    clock = Clock(FTC, facts(None))
    clock.run(at(11, 2, 10))
    clock.answer(at(11, 3), 1, WAIT)
    for when, date in ((at(11, 20), day(12, 5)), (at(12, 6), day(2, 1)), (at(2, 2), None)):
        assert clock.set_date(when, date).actions == ()
    assert clock.decisions[-1][1].reason.code == "delay_indefinite"
    # The right to cancel stays until shipment.
    cancel = clock.answer(at(2, 3), 1, CANCEL)
    assert [type(a) for a in cancel.actions] == [CancelWaitingLines, TellMerchant]


def test_off_still_honours_a_cancel_answer_to_a_notice_already_sent() -> None:
    sent = SentNotice(1, at(11, 10), day(12, 20), at(12, 21), True)
    start = facts(day(12, 20), notices=(sent,), answers=(Answer(1, CANCEL, at(11, 12)),))
    decision = decide(start, OFF, at(11, 12, 1))
    assert [a.key for a in decision.actions] == ["delay-cancel:77", "delay-refund:77"]
    cancel = decision.actions[0]
    assert isinstance(cancel, CancelWaitingLines)
    assert cancel.cancel_reason is CancelReason.CUSTOMER_CANCELLED
    assert cancel.refund_by is None
    # Without the answer, off does nothing.
    assert decide(replace(start, answers=()), OFF, at(12, 25)).actions == ()


def test_cancelled_lines_get_nothing_more() -> None:
    start = facts(None, cancelled_at=at(11, 5), answers=())
    decision = decide(start, FTC, at(12, 20))
    assert decision.actions == () and decision.reason.code == "delay_closed"


def test_the_merchant_is_told_the_refund_and_its_day() -> None:
    clock = Clock(FTC, facts(None))
    clock.run(at(11, 2, 10))
    decision = clock.run(at(11, 16, 10))
    told = decision.actions[1]
    assert isinstance(told, TellMerchant)
    assert told.reason.message == (
        "Order 1042-001: waiting lines cancelled (no_consent); refund 40.00 USD on order "
        "1042-001 by 2026-11-25 (16 CFR 435.1(b))."
    )
    assert decision.reason.message == (
        "Order 1042-001: no consent to delay notice 1 by its deadline 2026-11-16 10:00 UTC."
    )


def test_nothing_charged_means_nothing_to_refund() -> None:
    unpaid = RefundDue("1042-001", "USD", Decimal("0.00"))
    start = facts(None, refund=unpaid, answers=())
    clock = Clock(FTC, start)
    clock.run(at(11, 2, 10))
    decision = clock.answer(at(11, 3), 1, CANCEL)
    told = decision.actions[1]
    assert told.reason.message == (
        "Order 1042-001: waiting lines cancelled (customer_cancelled); nothing was charged "
        "for them, so nothing is to be refunded."
    )


def test_a_late_wait_answer_is_named_in_the_cancellation() -> None:
    clock = Clock(FTC, facts(day(1, 1)))
    clock.run(at(11, 10, 9))
    decision = clock.answer(at(11, 25, 8), 1, WAIT)
    assert decision.reason.message == (
        "Order 1042-001: no consent to delay notice 1 by its deadline 2026-11-24 09:00 UTC; "
        "the customer's answer to wait came after it (2026-11-25 08:00 UTC)."
    )


def test_a_silence_notice_from_notify_only_is_no_consent_to_a_second_delay_under_the_rule() -> None:
    first = SentNotice(1, at(11, 10), day(12, 20), at(12, 21), True)
    second = SentNotice(2, at(12, 20), None, at(1, 3), True)  # sent under notify only
    start = facts(None, notices=(first, second))
    assert decide(start, FTC, at(1, 2, 23)).actions == ()
    decision = decide(start, FTC, at(1, 3))
    assert [a.key for a in decision.actions] == ["delay-cancel:77", "delay-refund:77"]


def test_wake_at_is_the_next_deadline_or_the_day_the_expected_date_comes() -> None:
    assert decide(facts(day(11, 20)), FTC, at(11, 2, 10)).wake_at == at(11, 20)
    assert decide(facts(day(11, 20)), OFF, at(11, 2, 10)).wake_at is None
    clock = Clock(FTC, facts(day(1, 1)))
    assert clock.run(at(11, 10, 9)).wake_at == at(11, 24, 9)
    assert clock.answer(at(11, 11), 1, WAIT).wake_at == at(1, 1)


def test_a_notice_is_due_the_day_the_expected_date_comes_not_before() -> None:
    assert decide(facts(day(12, 1)), FTC, at(11, 30, 23, 59)).actions == ()
    (notice,) = decide(facts(day(12, 1)), FTC, at(12, 1)).actions
    assert isinstance(notice, SendNotice)
    assert (notice.revised_date, notice.late) == (None, False)
    assert notice.deadline == at(12, 15)


def test_applicable_date() -> None:
    ordered = facts(None, promised_date=None, ordered_at=at(11, 2, 23, 30))
    assert applicable_date(ordered, FTC) == day(12, 2)
    assert applicable_date(ordered, replace(FTC, stated_shipping_days=5)) == day(11, 7)
    behind = replace(FTC, stated_shipping_days=5, timezone=dt.timezone(dt.timedelta(hours=2)))
    assert applicable_date(ordered, behind) == day(11, 8)  # already Nov 3 in that store
    assert applicable_date(facts(None), replace(FTC, stated_shipping_days=5)) == PROMISED


def test_expected_date_of_a_backorder() -> None:
    assert expected_date_of([day(12, 1), day(12, 9), day(11, 30)]) == day(12, 9)
    assert expected_date_of([day(12, 1), None]) is None
    assert expected_date_of([]) is None


def test_backorders_to_notify_after_a_date_moved() -> None:
    told = SentNotice(1, at(11, 10), day(12, 20), at(12, 21), True)
    later = facts(day(12, 28), order_id="3", notices=(told,))
    earlier = facts(day(12, 10), order_id="1", notices=(told,))
    same = facts(day(12, 20), order_id="2", notices=(told,))
    unknown = facts(None, order_id="4")
    never = facts(None, order_id="5", cancelled_at=at(11, 30))
    found = backorders_to_notify([later, earlier, same, unknown, never], FTC, at(12, 1))
    assert found == ("3", "4")
    assert backorders_to_notify([later, unknown], OFF, at(12, 1)) == ()


def test_input_order_of_notices_and_answers_does_not_matter() -> None:
    first = SentNotice(1, at(11, 10), day(12, 20), at(12, 21), True)
    second = SentNotice(2, at(12, 10), day(12, 28), at(12, 21), False)
    answers = (Answer(2, WAIT, at(12, 12)), Answer(1, WAIT, at(11, 11)))
    start = facts(day(12, 28), notices=(second, first), answers=answers)
    flipped = replace(start, notices=(first, second), answers=answers[::-1])
    assert decide(start, FTC, at(12, 22)) == decide(flipped, FTC, at(12, 22))


@pytest.mark.parametrize(
    ("changes", "settings", "now", "message"),
    [
        ({}, FTC, dt.datetime(2026, 11, 3), "now must be timezone-aware"),
        ({"ordered_at": dt.datetime(2026, 11, 2)}, FTC, at(11, 3), "ordered_at must be"),
        ({}, replace(FTC, answer_days=0), at(11, 3), "answer_days must be at least 1"),
        ({}, replace(FTC, stated_shipping_days=-1), at(11, 3), "must not be negative: -1"),
        (
            {"refund": RefundDue("1042-001", "USD", Decimal("-1"))},
            FTC,
            at(11, 3),
            "refund due must not be negative",
        ),
        (
            {"notices": (SentNotice(2, at(11, 2), None, at(11, 9), False),)},
            FTC,
            at(11, 3),
            r"notices must be numbered 1\.\.1: \[2\]",
        ),
        (
            {"notices": (SentNotice(1, at(11, 4), None, at(11, 9), False),)},
            FTC,
            at(11, 3),
            "notice 1 is sent after now",
        ),
        (
            {"notices": (SentNotice(1, at(11, 2), None, at(11, 1), False),)},
            FTC,
            at(11, 3),
            "notice 1 has its deadline before it",
        ),
        ({"answers": (Answer(1, WAIT, at(11, 2)),)}, FTC, at(11, 3), "notice 1, not sent"),
        (
            {
                "notices": (SentNotice(1, at(11, 2, 12), None, at(11, 9), False),),
                "answers": (Answer(1, WAIT, at(11, 2, 11)),),
            },
            FTC,
            at(11, 3),
            "must come after the notice and not after now",
        ),
        (
            {
                "notices": (SentNotice(1, at(11, 2, 12), None, at(11, 9), False),),
                "answers": (Answer(1, WAIT, at(11, 4)),),
            },
            FTC,
            at(11, 3),
            "must come after the notice and not after now",
        ),
    ],
)
def test_bad_facts_get_a_clear_error(
    changes: dict[str, object], settings: DelaySettings, now: dt.datetime, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        decide(facts(None, **changes), settings, now)
