"""How long `plan_release` takes to allocate a delivery across 500 open backorders."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bench._timing import measure, report
from plugin.core.model import DeliveryCondition, ProductRef
from plugin.core.release import OpenBackorder, OpenLine, plan_release

TARGET_SECONDS = 0.010
BACKORDERS = 500
PRODUCTS = 50
RUNS = 300
WARMUP = 30
QUICK_RUNS, QUICK_WARMUP = 20, 2  # `python -m bench --quick`: does it still run


def sample_queue() -> tuple[dict[ProductRef, int], list[OpenBackorder]]:
    """500 open backorders of 1-4 lines over 50 products, all three delivery conditions."""
    conditions = list(DeliveryCondition)
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    queue = [
        OpenBackorder(
            order_id=str(10_000 + i),
            priority=i % 4,
            created_at=start + dt.timedelta(minutes=37 * i),
            delivery=conditions[i % 3],
            lines=tuple(
                OpenLine(f"{i}-{j}", ProductRef(f"p{(i * 7 + j * 13) % PRODUCTS}"), 1 + (i + j) % 5)
                for j in range(1 + i % 4)
            ),
        )
        for i in range(BACKORDERS)
    ]
    # A delivery that covers roughly half of what is waiting.
    available = {ProductRef(f"p{k}"): 10 + (k * 11) % 30 for k in range(PRODUCTS)}
    return available, queue


def main(quick: bool = False) -> dict[str, Any]:
    """Time `plan_release` on the sample queue; print and return median, p99 and the ratio."""
    runs, warmup = (QUICK_RUNS, QUICK_WARMUP) if quick else (RUNS, WARMUP)
    available, queue = sample_queue()
    result = plan_release(available, queue)
    served = sum(1 for order in result.orders if order.allocated)
    units = sum(order.allocated for order in result.orders)
    timing = measure(lambda: plan_release(available, queue), runs, warmup, TARGET_SECONDS)
    report(
        f"plan_release, {BACKORDERS} open backorders ({served} served, {units} units), {runs} runs",
        timing,
    )
    return {"backorders": BACKORDERS, "served": served, "units": units, **timing}


if __name__ == "__main__":
    main()
