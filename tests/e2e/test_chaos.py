"""A reduced chaos run per platform in the normal suite, then every invariant of
`tests/e2e/chaos.py` and the platform's piece holds:

- WooCommerce: 50 orders through the sandbox REST API while deliveries come 10 s late, are
  duplicated and dropped and 5 % of REST calls fail;
- Shopify: 25 orders through the Shopify sandbox's storefront while 5 % of Admin API calls are
  THROTTLED or 5xx, deliveries are duplicated, dropped, held back and (in bursts) fail and are
  retried by Shopify, and stock arrives at the Warehouse;

and in both one worker is killed with SIGKILL and Redis is killed and restarted.
`make chaos` runs the full ones (1,000 orders, three kill rounds of two of four workers).

Each starts its own stack (it kills processes the session's `stack` fixture needs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.shopify import schema
from tests.e2e.chaos import Settings, execute

pytestmark = pytest.mark.e2e

# Seconds after the last order to be consistent. The tail is the event jobs' retry schedule
# (jobs.PROCESS_EVENT retries: 10, 30, 90 s ...): with 5 % of calls failing, a job or two
# of the run meets three failures in a row. Measured on the shared 2-core machine under load:
# WooCommerce 54, 119 and 152 s; Shopify (25 orders) 130.5 s (2026-12-04).
DEADLINE = 300.0
RUNS = {
    # platform: (orders, seed, what the orders must come to)
    "woocommerce": (50, 11, {"split", "hold", "unchanged"}),
    "shopify": (25, 11, {"split, part held", "held whole", "nothing held"}),
}


@pytest.mark.parametrize("platform", sorted(RUNS))
def test_a_reduced_chaos_run_keeps_every_invariant(platform: str, tmp_path: Path) -> None:
    if platform == "shopify" and not schema.schema_path().is_file():
        pytest.skip(f"Shopify Admin schema not found at {schema.schema_path()}")
    orders, seed, outcomes = RUNS[platform]
    lines: list[str] = []
    settings = Settings(
        orders=orders,
        seed=seed,
        platform=platform,
        kill_rounds=1,
        kill_per_round=1,
        redis_restarts=1,
        reconcile_interval=30,  # dropped deliveries are found within half a minute
        delivery_delay_ms=10_000,  # WooCommerce: webhooks come late, as from WP-Cron
        deadline=DEADLINE,
        log=lines.append,
    )

    report = execute(settings, tmp_path)

    print(report.summary())
    assert report.violations == []
    assert report.orders == orders
    assert set(report.outcomes) - {"split, released"} == outcomes  # released: by timing
    assert sorted(d.split(" at ")[0] for d in report.disruptions if "SIGKILL" in d) == [
        "SIGKILL 1 worker",
        "SIGKILL Redis and restart it",
    ]
