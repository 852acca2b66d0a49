"""split_latency's summary of the samples."""

from __future__ import annotations

import pytest

from bench.split_latency import summarise


def test_summary_is_nearest_rank_percentiles_in_milliseconds() -> None:
    samples = [i / 100 for i in range(100, 0, -1)]  # 1.00 s down to 0.01 s, unordered
    assert summarise(samples) == {
        "p50_ms": 510.0,  # nearest rank: index round(0.5 * 99) = 50 of 0.01..1.00
        "p99_ms": 990.0,
        "mean_ms": 505.0,
        "max_ms": 1000.0,
    }


def test_p99_of_twenty_samples_is_the_slowest() -> None:
    samples = [0.2] * 19 + [1.5]
    figures = summarise(samples)
    assert figures["p50_ms"] == 200.0
    assert figures["p99_ms"] == figures["max_ms"] == 1500.0


def test_no_samples_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        summarise([])
