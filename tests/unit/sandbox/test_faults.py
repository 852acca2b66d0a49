"""Fault injection decisions: defaults off, latency, rate limit, server errors, delivery faults."""

from __future__ import annotations

import dataclasses
import json

import pytest

from sandbox.faults import DeliveryPlan, Faults
from tests.unit.sandbox.fault_defaults import FAULT_DEFAULTS


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_everything_is_off_by_default() -> None:
    clock = FakeClock()
    faults = Faults(None, clock=clock, sleep=clock.sleep)

    assert faults.snapshot() == FAULT_DEFAULTS
    assert [faults.before_api_request("ck_a") for _ in range(50)] == [None] * 50
    assert clock.slept == []
    assert {faults.plan_delivery() for _ in range(50)} == {DeliveryPlan()}


def test_latency_sleeps_before_every_request() -> None:
    clock = FakeClock()
    faults = Faults({"latency_ms": 250}, clock=clock, sleep=clock.sleep)

    assert faults.before_api_request("ck_a") is None
    assert faults.before_api_request("ck_b") is None
    assert clock.slept == [0.25, 0.25]


def test_rate_limit_is_per_consumer_key_with_retry_after() -> None:
    clock = FakeClock()
    faults = Faults({"rate_limit_per_sec": 3}, clock=clock, sleep=clock.sleep)

    first = [faults.before_api_request("ck_a") for _ in range(3)]
    clock.now += 0.4
    refused = faults.before_api_request("ck_a")
    other_key = faults.before_api_request("ck_b")

    assert first == [None, None, None]
    assert other_key is None
    assert refused is not None
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert json.loads(refused.get_data()) == {
        "code": "woocommerce_rest_too_many_requests",
        "message": "Too many requests. Please wait and try again.",
        "data": {"status": 429},
    }
    # Refused requests do not use up the window: once the first three are a second old,
    # three more are accepted and the fourth is refused again.
    clock.now += 0.6
    again = [faults.before_api_request("ck_a") for _ in range(4)]
    assert again[:3] == [None, None, None]
    assert again[3] is not None and again[3].status_code == 429


def test_error_rate_is_repeatable_with_a_seed() -> None:
    def statuses(seed: int) -> list[int | None]:
        faults = Faults({"error_rate": 0.3, "seed": seed})
        out = []
        for _ in range(1000):
            response = faults.before_api_request("ck")
            out.append(None if response is None else response.status_code)
        return out

    first, second, other = statuses(7), statuses(7), statuses(8)

    assert first == second
    assert first != other
    errors = [s for s in first if s is not None]
    assert set(errors) == {500, 502, 503}
    # Pinned for seed 7 (Python's Mersenne Twister is stable across versions for str seeds):
    # 301 of 1000, close to the configured 30 %.
    assert len(errors) == 301


def test_error_rate_one_fails_every_request_and_zero_none() -> None:
    always = Faults({"error_rate": 1.0, "seed": 1})
    never = Faults({"error_rate": 0.0, "seed": 1})

    codes = [always.before_api_request("ck").status_code for _ in range(30)]  # type: ignore[union-attr]
    assert set(codes) <= {500, 502, 503} and len(codes) == 30
    assert [never.before_api_request("ck") for _ in range(30)] == [None] * 30


def test_throttle_rate_answers_429_with_retry_after_and_keeps_error_draws() -> None:
    def statuses(config: dict[str, object]) -> list[int | None]:
        faults = Faults(config)
        out = []
        for _ in range(1000):
            response = faults.before_api_request("ck")
            out.append(None if response is None else response.status_code)
        return out

    mixed = statuses({"throttle_rate": 0.02, "error_rate": 0.03, "seed": 7})
    assert mixed == statuses({"throttle_rate": 0.02, "error_rate": 0.03, "seed": 7})
    assert {s for s in mixed if s is not None} == {429, 500, 502, 503}
    # About 2 % 429s and 3 % of the rest 5xx (pinned for seed 7).
    assert (mixed.count(429), len([s for s in mixed if s and s >= 500])) == (18, 27)
    # Off, it draws nothing: seed 7 gives the 301 errors pinned in the error-rate test.
    off = statuses({"throttle_rate": 0.0, "error_rate": 0.3, "seed": 7})
    assert len([s for s in off if s is not None]) == 301

    refused = Faults({"throttle_rate": 1.0, "throttle_retry_after": 3}).before_api_request("ck")
    assert refused is not None and refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"
    assert json.loads(refused.get_data())["code"] == "woocommerce_rest_too_many_requests"


def test_server_error_bodies() -> None:
    faults = Faults({"error_rate": 1.0, "seed": 3})
    seen = {}
    for _ in range(60):
        response = faults.before_api_request("ck")
        assert response is not None
        seen[response.status_code] = response
    assert json.loads(seen[500].get_data())["code"] == "internal_server_error"
    assert seen[500].mimetype == "application/json"
    assert seen[502].mimetype == "text/html" and b"Bad Gateway" in seen[502].get_data()
    assert seen[503].mimetype == "text/html" and b"Service Unavailable" in seen[503].get_data()


def test_fail_next_counts_down_then_stops() -> None:
    faults = Faults({"fail_next": 2})

    plans = [faults.plan_delivery() for _ in range(3)]

    assert plans == [DeliveryPlan(fail=True), DeliveryPlan(fail=True), DeliveryPlan()]
    assert plans[0].label == "fail_next"
    assert faults.snapshot()["fail_next"] == 0


def test_api_fail_next_answers_503_that_many_times_then_stops() -> None:
    faults = Faults({"api_fail_next": 2})

    answers = [faults.before_api_request("ck_a") for _ in range(3)]

    assert [a.status_code if a is not None else None for a in answers] == [503, 503, None]
    assert faults.snapshot()["api_fail_next"] == 0
    assert faults.plan_delivery() == DeliveryPlan()  # deliveries are not touched


def test_api_fail_matching_answers_503_to_the_requests_naming_it_while_it_is_set() -> None:
    faults = Faults({"api_fail_matching": "metafieldsSet"})

    named = faults.fails_body('{"query": "mutation { metafieldsSet(metafields: []) { } }"}')
    other = faults.fails_body('{"query": "mutation { tagsAdd(id: 1, tags: []) { } }"}')
    assert (named.status_code if named is not None else None, other) == (503, None)
    assert faults.fails_body("metafieldsSet") is not None  # again: until it is cleared
    faults.update({"api_fail_matching": ""})
    assert faults.fails_body("metafieldsSet") is None
    with pytest.raises(ValueError, match="must be a string"):
        faults.update({"api_fail_matching": 1})


def test_the_delivery_queue_delay_is_in_every_plan_and_changes_no_decision() -> None:
    config = {"seed": 9, "drop_rate": 0.3, "duplicate_rate": 0.3}
    plain = Faults(config)
    queued = Faults({**config, "delivery_delay_ms": 60_000})

    plans = [plain.plan_delivery() for _ in range(50)]
    queued_plans = [queued.plan_delivery() for _ in range(50)]

    assert [p for p in queued_plans if not p.drop] == [
        dataclasses.replace(p, queue_ms=60_000) for p in plans if not p.drop
    ]
    assert [p.drop for p in queued_plans] == [p.drop for p in plans]
    assert all(p.label in (None, "duplicate", "drop") for p in queued_plans)
    assert queued.update({"delivery_delay_ms": 0})["delivery_delay_ms"] == 0
    assert queued.plan_delivery().queue_ms == 0


def test_delivery_faults_are_repeatable_with_a_seed() -> None:
    config = {
        "seed": "abc",
        "drop_rate": 0.2,
        "duplicate_rate": 0.2,
        "delay_rate": 0.5,
        "delay_max_ms": 400,
    }
    first = [Faults(config).plan_delivery()]
    one, two = Faults(config), Faults(config)
    run_one = [one.plan_delivery() for _ in range(200)]
    run_two = [two.plan_delivery() for _ in range(200)]

    assert run_one == run_two
    assert run_one[0] == first[0]
    assert any(p.drop for p in run_one)
    assert any(p.copies == 2 for p in run_one)
    assert all(0 <= p.delay_ms <= 400 for p in run_one)
    assert any(p.delay_ms > 0 for p in run_one)
    assert not any(p.drop and (p.copies > 1 or p.delay_ms) for p in run_one)


def test_api_traffic_does_not_shift_delivery_decisions() -> None:
    config = {"seed": 5, "drop_rate": 0.5, "error_rate": 0.5}
    quiet, busy = Faults(config), Faults(config)
    for _ in range(100):
        busy.before_api_request("ck")

    assert [quiet.plan_delivery() for _ in range(50)] == [busy.plan_delivery() for _ in range(50)]


def test_update_changes_only_given_keys_and_reseeds() -> None:
    faults = Faults({"drop_rate": 0.5, "seed": 1})
    before = [faults.plan_delivery() for _ in range(20)]

    snapshot = faults.update({"seed": 1, "delay_max_ms": 10})
    after = [faults.plan_delivery() for _ in range(20)]

    assert snapshot == {**FAULT_DEFAULTS, "drop_rate": 0.5, "seed": 1, "delay_max_ms": 10}
    assert before == after


@pytest.mark.parametrize(
    ("partial", "message"),
    [
        ({"nonsense": 1}, "unknown fault 'nonsense'"),
        ({"drop_rate": 1.5}, "drop_rate must be between 0 and 1"),
        ({"error_rate": "0.1"}, "error_rate must be a number"),
        ({"latency_ms": -1}, "latency_ms must be a whole number >= 0"),
        ({"fail_next": 1.5}, "fail_next must be a whole number >= 0"),
        ({"fail_next": True}, "fail_next must be a number"),
        ({"delivery_delay_ms": -5}, "delivery_delay_ms must be a whole number >= 0"),
        ({"delivery_delay_ms": "60s"}, "delivery_delay_ms must be a number"),
        ({"seed": 1.5}, "seed must be an integer, a string or null"),
        ({"latency_ms": 5, "drop_rate": 2}, "drop_rate must be between 0 and 1"),
    ],
)
def test_invalid_update_is_refused_and_changes_nothing(
    partial: dict[str, object], message: str
) -> None:
    faults = Faults({"latency_ms": 1})

    with pytest.raises(ValueError, match=message):
        faults.update(partial)
    assert faults.snapshot() == {**FAULT_DEFAULTS, "latency_ms": 1}
