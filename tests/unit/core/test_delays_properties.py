"""Properties of `decide` over generated timelines of date changes, answers and runs.

Played on a fake use case (`Clock`) that carries out each action once by its key, every
decision: is a pure function of the facts; never cancels where the customer consented to the
current delay; under the 30-day rule, treats silence as consent only to a first delay of at
most 30 days; and once a notice's deadline passed, the customer consented, a later notice
came before it, or the waiting lines were cancelled. Only the scheduler's wake-ups change a
decision without new facts.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from plugin.core.delays import (
    Answer,
    CancelReason,
    CancelWaitingLines,
    Choice,
    Decision,
    DelayFacts,
    DelayRule,
    DelaySettings,
    RefundDue,
    SendNotice,
    SentNotice,
    applicable_date,
    decide,
)
from tests.examples import properties
from tests.unit.core.test_delays import Clock

EXAMPLES = properties(1000)
ORDERED = dt.datetime(2026, 11, 2, 10, 30, tzinfo=dt.UTC)
ZONES = (
    dt.UTC,
    dt.timezone(dt.timedelta(hours=-5)),
    dt.timezone(dt.timedelta(hours=9, minutes=30)),
    dt.timezone(dt.timedelta(hours=14)),
)
_DAYS = st.integers(-5, 150).map(lambda d: ORDERED.date() + dt.timedelta(days=d))
_DATE = st.one_of(st.none(), _DAYS, _DAYS, _DAYS)  # a date unknown now and then
_EVENT = st.one_of(
    st.tuples(st.just("run")),
    st.tuples(st.just("date"), _DATE),
    st.tuples(st.just("shift"), st.integers(-10, 40)),  # the date moves by so many days
    # an answer to the last notice close to its deadline, before, at or after it
    st.tuples(st.just("near_deadline"), st.sampled_from(list(Choice)), st.integers(-90, 90)),
    st.tuples(
        st.just("answer"),
        st.sampled_from([Choice.WAIT, Choice.WAIT, Choice.CANCEL]),
        st.integers(0, 2),
    ),
)
_GAP = st.one_of(
    st.integers(0, 24 * 25).map(lambda h: dt.timedelta(hours=h)),
    st.integers(0, 24 * 5).map(lambda h: dt.timedelta(hours=h)),
    st.integers(0, 90).map(lambda m: dt.timedelta(minutes=m)),
)


@st.composite
def setups(draw: st.DrawFn) -> tuple[DelaySettings, DelayFacts]:
    store = DelaySettings(
        rule=draw(st.sampled_from(list(DelayRule))),
        stated_shipping_days=draw(st.none() | st.integers(0, 45)),
        answer_days=draw(st.integers(1, 40)),
        timezone=draw(st.sampled_from(ZONES)),
    )
    promised = draw(st.none() | st.integers(0, 60))
    start = DelayFacts(
        order_id="9",
        number="2001-001",
        ordered_at=ORDERED,
        promised_date=None if promised is None else ORDERED.date() + dt.timedelta(days=promised),
        expected_date=draw(_DATE),
        refund=RefundDue("2001-001", "EUR", Decimal("19.99")),
    )
    return store, start


_MINUTES = st.integers(0, 40 * 24 * 60).map(lambda m: dt.timedelta(minutes=m))


@st.composite
def histories(draw: st.DrawFn) -> tuple[DelaySettings, DelayFacts, dt.datetime]:
    """Any valid facts, not only those the core itself would lead to, and a moment near the
    promised date, where the rule's limits lie."""
    store, start = draw(setups())
    promised = applicable_date(start, store)
    dates = st.none() | st.integers(-10, 70).map(lambda d: promised + dt.timedelta(days=d))
    notices: list[SentNotice] = []
    sent = ORDERED
    for number in range(1, draw(st.integers(0, 3)) + 1):
        sent += draw(_MINUTES)
        deadline = sent + draw(_MINUTES)
        notices.append(SentNotice(number, sent, draw(dates), deadline, draw(st.booleans())))
    midnight = dt.datetime.combine(promised, dt.time(), tzinfo=store.timezone)
    offset = st.integers(-40 * 24 * 60, 40 * 24 * 60).map(lambda m: dt.timedelta(minutes=m))
    now = max(sent + draw(_MINUTES), midnight + draw(offset))
    near = st.integers(-3, 40).map(lambda d: now.date() + dt.timedelta(days=d))
    start = replace(start, expected_date=draw(dates | near))
    answers: list[Answer] = []
    edges = st.sampled_from([dt.timedelta(0), dt.timedelta(minutes=1), -dt.timedelta(minutes=1)])
    for _ in range(draw(st.integers(0, 3)) if notices else 0):
        notice = draw(st.sampled_from(notices))
        at = draw(
            st.one_of(
                edges.map(lambda d, n=notice: n.deadline + d),
                _MINUTES.map(lambda d, n=notice: n.sent_at + d),
            )
        )
        if notice.sent_at <= at <= now:
            answers.append(Answer(notice.number, draw(st.sampled_from(list(Choice))), at))
    return store, replace(start, notices=tuple(notices), answers=tuple(answers)), now


Timeline = list[tuple[dt.timedelta, tuple[object, ...]]]
_TIMELINE = st.lists(st.tuples(_GAP, _EVENT), min_size=4, max_size=20)


def _consented(notice: SentNotice, answers: tuple[Answer, ...]) -> bool:
    """Consent as the customer gave it: by silence where the notice said so, or a wait in time."""
    return notice.silence_counts_as_consent or any(
        a.notice_number == notice.number and a.choice is Choice.WAIT and a.at <= notice.deadline
        for a in answers
    )


def _check_decision(
    store: DelaySettings,
    before: DelayFacts,
    now: dt.datetime,
    decision: Decision,
    rng: random.Random,
) -> None:
    """Every property that holds of one decision."""
    # A pure function of the facts: again, and with notices and answers in another order.
    assert decide(before, store, now) == decision
    notices, answers = list(before.notices), list(before.answers)
    rng.shuffle(notices)
    rng.shuffle(answers)
    assert decide(replace(before, notices=tuple(notices), answers=tuple(answers)), store, now) == (
        decision
    )
    cancels = [a for a in decision.actions if isinstance(a, CancelWaitingLines)]
    sent = [a for a in decision.actions if isinstance(a, SendNotice)]
    asked_to_cancel = any(a.choice is Choice.CANCEL for a in before.answers)
    # Never cancel where the customer gave express consent to the current delay.
    if before.notices and not asked_to_cancel:
        current = max(before.notices, key=lambda n: n.number)
        if any(
            a.notice_number == current.number
            and a.choice is Choice.WAIT
            and a.at <= current.deadline
            for a in before.answers
        ):
            assert cancels == []
    # Only the 30-day rule cancels without being asked; off sends nothing.
    if store.rule is not DelayRule.FTC_30_DAY and not asked_to_cancel:
        assert cancels == []
    if store.rule is DelayRule.OFF:
        assert sent == []
    # Under the rule, silence is consent only to a first delay of at most 30 days, on time:
    # neither in the notices it sends, nor in those already sent, whatever they said.
    if store.rule is DelayRule.FTC_30_DAY:
        promised = applicable_date(before, store)
        if before.notices and before.cancelled_at is None and not asked_to_cancel:
            current = max(before.notices, key=lambda n: n.number)
            silence_may_count = (
                current.number == 1
                and current.revised_date is not None
                and current.revised_date <= promised + dt.timedelta(days=30)
                and current.sent_at.astimezone(store.timezone).date() <= promised
            )
            waited = any(
                a.notice_number == current.number
                and a.choice is Choice.WAIT
                and a.at <= current.deadline
                for a in before.answers
            )
            if current.deadline <= now and not waited and not silence_may_count:
                assert [type(c) for c in cancels] == [CancelWaitingLines]
        for notice in sent:
            if notice.silence_counts_as_consent:
                assert notice.number == 1
                assert notice.revised_date is not None
                assert notice.revised_date <= promised + dt.timedelta(days=30)
                assert not notice.late
    for notice in sent:
        assert notice.deadline > now
    if decision.wake_at is not None:
        assert decision.wake_at > now


def _play(
    store: DelaySettings,
    start: DelayFacts,
    timeline: Timeline,
    rng: random.Random,
    follow_wake_ups: bool = True,
) -> tuple[Clock, dt.datetime]:
    """Play `timeline`, then follow the decisions' wake-ups to the end; check each decision."""
    clock = Clock(store, start)
    now = ORDERED

    def step(event: tuple[object, ...]) -> None:
        nonlocal now
        before = clock.facts
        match event:
            case ("date", new):
                assert new is None or isinstance(new, dt.date)
                clock.facts = replace(clock.facts, expected_date=new)
                before = clock.facts
            case ("shift", int(days)):
                moved = (clock.facts.expected_date or now.date()) + dt.timedelta(days=days)
                clock.facts = replace(clock.facts, expected_date=moved)
                before = clock.facts
            case ("near_deadline", Choice() as choice, int(minutes)) if clock.facts.notices:
                last = max(clock.facts.notices, key=lambda n: n.number)
                now = max(now, last.deadline + dt.timedelta(minutes=minutes))
                answer = Answer(last.number, choice, now)
                clock.facts = replace(clock.facts, answers=(*clock.facts.answers, answer))
                before = clock.facts
            case ("answer", Choice() as choice, int(back)) if clock.facts.notices:
                number = max(1, len(clock.facts.notices) - back)
                answer = Answer(number, choice, now)
                clock.facts = replace(clock.facts, answers=(*clock.facts.answers, answer))
                before = clock.facts
        decision = clock.run(now)
        _check_decision(store, before, now, decision, rng)
        # Deciding again at once, on the facts as recorded, carries out nothing more.
        assert decide(clock.facts, store, now).actions == ()

    step(("run",))
    for gap, event in timeline:
        now += gap
        step(event)
    wake_ups = 0
    while follow_wake_ups and (wake := clock.decisions[-1][1].wake_at) is not None:
        wake_ups += 1
        assert wake_ups <= 50, "the wake-ups never end"
        now = wake
        step(("run",))
    return clock, now


@EXAMPLES
@given(setups(), _TIMELINE, st.randoms(use_true_random=False))
def test_consent_silence_deadlines_and_purity_hold_on_any_timeline(
    setup: tuple[DelaySettings, DelayFacts], timeline: Timeline, rng: random.Random
) -> None:
    store, start = setup
    clock, now = _play(store, start, timeline, rng)
    # With no wake-up left nothing changes without new facts, however long the wait.
    assert decide(clock.facts, store, now + dt.timedelta(days=400)).actions == ()
    if store.rule is not DelayRule.FTC_30_DAY:
        _check_cancellations(store, clock)
        return
    # Every notice, once its deadline passed, was consented to, was followed by a later
    # notice before that deadline, or the waiting lines were cancelled.
    facts = clock.facts
    notices = sorted(facts.notices, key=lambda n: n.number)
    for notice, following in zip(notices, [*notices[1:], None], strict=True):
        if _consented(notice, facts.answers):
            continue
        if following is not None and following.sent_at <= notice.deadline:
            continue
        assert facts.cancelled_at is not None
        assert facts.cancelled_at >= notice.deadline or any(
            a.choice is Choice.CANCEL for a in facts.answers
        )
    if notices and facts.cancelled_at is None:
        assert _consented(notices[-1], facts.answers)
    _check_cancellations(store, clock)


def _check_cancellations(store: DelaySettings, clock: Clock) -> None:
    """A cancellation vests at the customer's cancel answer, or at an unconsented deadline."""
    for now, decision in clock.decisions:
        for action in decision.actions:
            if not isinstance(action, CancelWaitingLines):
                continue
            if action.cancel_reason is CancelReason.CUSTOMER_CANCELLED:
                assert any(
                    a.choice is Choice.CANCEL and a.at == action.vested_at
                    for a in clock.facts.answers
                )
                continue
            assert store.rule is DelayRule.FTC_30_DAY
            last = max(clock.facts.notices, key=lambda n: n.number)
            assert action.vested_at == last.deadline <= now
            assert not _consented(last, clock.facts.answers)
            assert action.refund_by is not None
            assert action.refund_by > action.vested_at.astimezone(store.timezone).date()


@EXAMPLES
@given(setups(), _TIMELINE, st.randoms(use_true_random=False), st.floats(0, 1))
def test_nothing_changes_before_the_wake_up(
    setup: tuple[DelaySettings, DelayFacts],
    timeline: Timeline,
    rng: random.Random,
    fraction: float,
) -> None:
    store, start = setup
    clock, now = _play(store, start, timeline, rng, follow_wake_ups=False)
    now += dt.timedelta(seconds=1)
    decision = clock.run(now)
    assert decision.actions == ()
    if decision.wake_at is not None:
        moment = now + (decision.wake_at - now) * fraction
        if moment < decision.wake_at:
            assert decide(clock.facts, store, moment) == decision


@EXAMPLES
@given(histories(), st.randoms(use_true_random=False))
def test_any_history_keeps_consent_and_silence_rules(
    history: tuple[DelaySettings, DelayFacts, dt.datetime], rng: random.Random
) -> None:
    store, facts, now = history
    _check_decision(store, facts, now, decide(facts, store, now), rng)
