"""Split throughput under a store rate limit: time to split N queued orders against the bound
N x calls-per-split / R (target: within 10 % of it, with no job failed).

The real stack on loopback (`bench/_stack.py`): sandbox store, web on gunicorn, RQ workers,
embedded Redis, SQLite. With the workers held back, N orders that each need splitting (an
in-stock line and an out-of-stock line that allows backorders) are placed in the sandbox; their
`order.created` webhooks are received and queue N jobs. Then every webhook is paused (the
splits' own writes would otherwise bring back order webhooks whose jobs re-read the order and
share the rate limit; `split_latency` measures those), the store is limited to R requests/s on
both sides (the sandbox's `rate_limit_per_sec` fault answers 429 beyond it; the store's
`api_rate_limit` setting paces the workers) and the workers start.

Calls per split are counted, not assumed: every REST request the workers made, read from their
`woocommerce call` log lines. The time runs from the start of the first request to the moment
the last split was recorded done. About 2 minutes with N = 50 and R = 10.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from sqlalchemy import func, select

from bench._stack import Call, Rig, routes, running_stack
from plugin.adapters.sql.models import Split
from tests.e2e.helpers import create_order, wait_for

ORDERS = 50
QUICK_ORDERS = 3  # `python -m bench --quick`: does it still run
RATE_PER_SECOND = 10
WORKERS = 2
TARGET_RATIO = 1.10


def bound_seconds(splits: int, calls_per_split: float, rate_per_second: float) -> float:
    """The least time `splits` splits of `calls_per_split` requests take at `rate_per_second`."""
    if rate_per_second <= 0:
        raise ValueError("rate must be positive")
    return splits * calls_per_split / rate_per_second


def count_calls(calls: list[Call]) -> dict[str, int]:
    """Answered (2xx) and rate-limited (429) calls; any other answer voids the run."""
    others = [c for c in calls if not 200 <= c.status < 300 and c.status != 429]
    if others:
        raise RuntimeError(f"unexpected answers from the store: {others[:5]}")
    limited = sum(1 for c in calls if c.status == 429)
    return {"answered": len(calls) - limited, "rate_limited": limited}


def _queue_orders(rig: Rig, orders: int) -> None:
    """N orders needing a split, each queued as one `order.created` event, workers held."""
    # Products and order updates would add events of their own.
    rig.pause_webhooks(*{h["topic"] for h in rig.api.webhooks()} - {"order.created"})
    towel = rig.api.create_product("Bench Towel", price="7.25", stock=100_000)
    pan = rig.api.create_product("Bench Pan", price="54.00", stock=0, backorders="notify")
    for _ in range(orders):
        create_order(rig.api, [(towel["id"], 1), (pan["id"], 1)])
    rig.flush_deliveries()
    rig.pause_webhooks()
    # No worker runs yet, so no relay either: every event waits in the inbox.
    events = rig.event_statuses()
    if events != {"pending": orders}:
        raise RuntimeError(f"expected {orders} recorded events, found {events}")


def _last_split_done(rig: Rig) -> dt.datetime:
    with rig.plugin.db.session() as session:
        done = session.execute(
            select(func.max(Split.updated_at)).where(
                Split.store_id == rig.store_id, Split.state == "done"
            )
        ).scalar_one()
    assert done is not None
    return done if done.tzinfo else done.replace(tzinfo=dt.UTC)


def main(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark, print the figures and return them."""
    orders = QUICK_ORDERS if quick else ORDERS
    load_before = os.getloadavg()[0]
    with running_stack(workers=WORKERS, hold_workers=True) as rig:
        _queue_orders(rig, orders)
        rig.set_api_rate_limit(RATE_PER_SECOND)
        rig.set_faults(rate_limit_per_sec=RATE_PER_SECOND)
        rig.start_workers()
        # Generous: ten times the bound at seven calls a split, plus start-up.
        deadline = 30 + 10 * bound_seconds(orders, 7, RATE_PER_SECOND)
        wait_for(
            lambda: rig.split_states().get("done", 0) >= orders or rig.failures()["failed_jobs"],
            timeout=deadline,
            what="every order split",
        )
        wait_for(rig.idle, timeout=60, what="queue idle", describe=rig.busy)
        failures = rig.require_no_failures()
        states = rig.split_states()
        if states != {"done": orders}:
            raise RuntimeError(f"expected {orders} splits done, found {states}")
        calls = rig.calls_since({})
        finished = _last_split_done(rig)
    counted = count_calls(calls)
    calls_per_split = counted["answered"] / orders
    elapsed = (finished - calls[0].started).total_seconds()
    bound = bound_seconds(orders, calls_per_split, RATE_PER_SECOND)
    ratio = elapsed / bound
    result = {
        "orders": orders,
        "rate_limit_per_s": RATE_PER_SECOND,
        "workers": WORKERS,
        "seconds": round(elapsed, 2),
        "calls": counted["answered"],
        "calls_per_split": round(calls_per_split, 2),
        "rate_limited_429": counted["rate_limited"],
        "calls_by_route": routes([c for c in calls if c.status != 429]),
        "bound_seconds": round(bound, 2),
        "ratio_to_bound": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "within_target": ratio <= TARGET_RATIO,
        "splits_per_s": round(orders / elapsed, 2),
        **failures,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }
    print(
        f"{orders} queued splits at {RATE_PER_SECOND} requests/s with {WORKERS} workers: "
        f"{elapsed:.1f} s; {counted['answered']} calls ({calls_per_split:.2f} a split), "
        f"{counted['rate_limited']} answered 429"
    )
    print(
        f"  bound {orders} x {calls_per_split:.2f} / {RATE_PER_SECOND} = {bound:.1f} s -> "
        f"{ratio:.2f}x the bound (target <= {TARGET_RATIO:.2f}x: "
        f"{'met' if ratio <= TARGET_RATIO else 'missed'}); failed jobs 0"
    )
    print(f"  calls by route: {result['calls_by_route']}")
    print(f"  load average {load_before:.2f} before, {result['load_average_after']} after")
    return result


if __name__ == "__main__":
    main()
