"""split_throughput's bound and its reading of the calls."""

from __future__ import annotations

import datetime as dt

import pytest

from bench._stack import Call
from bench.split_throughput import bound_seconds, count_calls

AT = dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.UTC)


def _call(status: int) -> Call:
    return Call(at=AT, method="GET", path="/orders/1", status=status, ms=5)


def test_bound_is_splits_times_calls_over_rate() -> None:
    assert bound_seconds(50, 7, 10) == 35.0
    assert bound_seconds(50, 4, 10) == 20.0
    assert bound_seconds(3, 6.5, 2) == 9.75


def test_bound_refuses_a_rate_of_zero() -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        bound_seconds(50, 7, 0)


def test_count_calls_separates_answered_and_rate_limited() -> None:
    calls = [_call(200), _call(201), _call(429), _call(200)]
    assert count_calls(calls) == {"answered": 3, "rate_limited": 1}


@pytest.mark.parametrize("status", [404, 500, 503])
def test_any_other_answer_voids_the_run(status: int) -> None:
    with pytest.raises(RuntimeError, match="unexpected answers from the store"):
        count_calls([_call(200), _call(status)])
