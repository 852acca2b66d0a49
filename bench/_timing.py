"""Timing helper shared by benchmarks (the runner skips modules starting with `_`)."""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The value at `fraction` (0..1) of `sorted_values`, nearest rank."""
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def measure(fn: Callable[[], object], runs: int, warmup: int, target_s: float) -> dict[str, Any]:
    """Median and p99 of `fn` in wall-clock and thread CPU time, and their ratio to target."""
    for _ in range(warmup):
        fn()
    wall: list[float] = []
    cpu: list[float] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # measure the code, not a collection that happens to land in one run
    try:
        for _ in range(runs):
            start, cpu_start = time.perf_counter(), time.thread_time()
            fn()
            cpu.append(time.thread_time() - cpu_start)
            wall.append(time.perf_counter() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    wall.sort()
    cpu.sort()
    median, p99 = statistics.median(wall), percentile(wall, 0.99)
    cpu_median, cpu_p99 = statistics.median(cpu), percentile(cpu, 0.99)
    return {
        "runs": runs,
        "median_ms": round(median * 1000, 4),
        "p99_ms": round(p99 * 1000, 4),
        "target_ms": target_s * 1000,
        "median_ratio_to_target": round(median / target_s, 3),
        "p99_ratio_to_target": round(p99 / target_s, 3),
        # CPU time of this thread: the same runs without time spent descheduled, which
        # dominates wall-clock p99 on a busy machine.
        "cpu_median_ms": round(cpu_median * 1000, 4),
        "cpu_p99_ms": round(cpu_p99 * 1000, 4),
        "cpu_p99_ratio_to_target": round(cpu_p99 / target_s, 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def report(title: str, figures: dict[str, Any]) -> None:
    """Print `figures` from `measure` as two readable lines."""
    print(
        f"{title}: median {figures['median_ms']:.3f} ms, p99 {figures['p99_ms']:.3f} ms; "
        f"target {figures['target_ms']:g} ms -> median at "
        f"{figures['median_ratio_to_target']:.2f}x, p99 at {figures['p99_ratio_to_target']:.2f}x"
    )
    print(
        f"  CPU time: median {figures['cpu_median_ms']:.3f} ms, p99 {figures['cpu_p99_ms']:.3f} "
        f"ms ({figures['cpu_p99_ratio_to_target']:.2f}x of target); load average "
        f"{figures['load_average_1m']} on {os.cpu_count()} CPUs"
    )
