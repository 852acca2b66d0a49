"""The fault settings a fresh sandbox starts with (every fault off), as the tests expect them.

Written out here rather than imported from `sandbox.faults`, so a changed default fails the tests.
"""

from __future__ import annotations

from typing import Any

FAULT_DEFAULTS: dict[str, Any] = {
    "latency_ms": 0,
    "rate_limit_per_sec": 0,
    "throttle_rate": 0.0,
    "throttle_retry_after": 1,
    "error_rate": 0.0,
    "drop_rate": 0.0,
    "duplicate_rate": 0.0,
    "delay_rate": 0.0,
    "delay_max_ms": 0,
    "fail_next": 0,
    "api_fail_next": 0,
    "api_fail_matching": "",
    "delivery_delay_ms": 0,
    "seed": None,
}
