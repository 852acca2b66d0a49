"""Time from webhook to split done, p50/p99, with the sandbox at no latency and at 100 ms.

The real stack on loopback (`bench/_stack.py`). One order at a time, each with an in-stock line
and an out-of-stock line that allows backorders, is created through the sandbox's REST API; its
`order.created` webhook reaches the web app (the inbox row's `received_at`) and the worker
splits it (the event's `finished_at`, written once the split is done). The next order is placed
only when the queue is idle again, so each figure is one split's latency without queueing.
The order webhooks the split's own writes bring back stay active: they are counted and
processed between orders, and their REST calls are reported per order. `product.updated` is
paused: each order moves the products' stock, and the allocation job that follows reads every
open backorder order of the product (plugin/usecases/releasing.py), a cost that grows with the open
backorders and is not the split's.

The sandbox's `latency_ms` fault delays every REST request. The store's `api_rate_limit` is
raised to 100/s so the figure is the pipeline's own, not the default 5/s pacing (which alone
spaces a split's calls 200 ms apart). About 3 minutes.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
from typing import Any

from sqlalchemy import select

from bench._stack import Rig, routes, running_stack
from bench._timing import percentile
from plugin.adapters.sql.models import InboxEvent
from tests.e2e.helpers import create_order, wait_for

LATENCIES_MS = (0, 100)
ORDERS_PER_SETTING = 20
QUICK_LATENCIES_MS, QUICK_ORDERS_PER_SETTING = (0,), 1  # `--quick`: does it still run
WARMUP_ORDERS = 1
WORKERS = 2
API_RATE_LIMIT = 100.0


def summarise(seconds: list[float]) -> dict[str, float]:
    """p50, p99 (nearest rank), mean and max of `seconds`, in milliseconds."""
    if not seconds:
        raise ValueError("no samples")
    ordered = sorted(seconds)
    return {
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 1),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _split_one(rig: Rig, towel: int, pan: int) -> tuple[float, float]:
    """Place one order and wait until it is split and everything it caused is processed;
    returns (store to webhook, webhook to split done) in seconds."""
    placed = dt.datetime.now(dt.UTC)
    order_id = create_order(rig.api, [(towel, 1), (pan, 1)])["id"]

    def created_event() -> InboxEvent | None:
        with rig.plugin.db.session() as session:
            event = session.execute(
                select(InboxEvent).where(
                    InboxEvent.store_id == rig.store_id,
                    InboxEvent.topic == "order.created",
                    InboxEvent.resource_id == str(order_id),
                )
            ).scalar_one_or_none()
            if event is None or event.status not in ("done", "ignored", "failed"):
                return None
            session.expunge(event)
            return event

    event = wait_for(created_event, timeout=60, what=f"order {order_id} processed")
    if event.status != "done" or event.finished_at is None:
        raise RuntimeError(f"order {order_id}: event {event.status} ({event.error})")
    records = rig.plugin.ledger.for_order(rig.store_id, str(order_id))
    if [r.state for r in records] != ["done"] or records[0].backorder_order_id is None:
        raise RuntimeError(f"order {order_id} was not split: {records}")
    rig.flush_deliveries()
    wait_for(rig.idle, timeout=60, what="queue idle", describe=rig.busy)
    received, finished = _aware(event.received_at), _aware(event.finished_at)
    return (received - placed).total_seconds(), (finished - received).total_seconds()


def _setting(rig: Rig, latency_ms: int, orders: int, towel: int, pan: int) -> dict[str, Any]:
    rig.set_faults(latency_ms=latency_ms)
    for _ in range(WARMUP_ORDERS):
        _split_one(rig, towel, pan)
    marks = rig.log_marks()
    events_before = sum(rig.event_statuses().values())
    delivery: list[float] = []
    latency: list[float] = []
    for _ in range(orders):
        to_webhook, to_split = _split_one(rig, towel, pan)
        delivery.append(to_webhook)
        latency.append(to_split)
    rig.require_no_failures()
    calls = rig.calls_since(marks)
    if any(not 200 <= c.status < 300 for c in calls):
        raise RuntimeError(f"unexpected answers: {[c for c in calls if c.status >= 300][:5]}")
    events = sum(rig.event_statuses().values()) - events_before
    return {
        "latency_ms": latency_ms,
        "orders": orders,
        "webhook_to_split_done": summarise(latency),
        "store_to_webhook": summarise(delivery),
        "events_per_order": round(events / orders, 2),
        "calls_per_order": round(len(calls) / orders, 2),
        "calls_by_route": routes(calls),
    }


def main(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark, print the figures and return them."""
    latencies, orders = (
        (QUICK_LATENCIES_MS, QUICK_ORDERS_PER_SETTING)
        if quick
        else (LATENCIES_MS, ORDERS_PER_SETTING)
    )
    load_before = os.getloadavg()[0]
    settings = []
    with running_stack(workers=WORKERS) as rig:
        rig.set_api_rate_limit(API_RATE_LIMIT)
        rig.pause_webhooks("product.updated")
        towel = rig.api.create_product("Bench Towel", price="7.25", stock=100_000)["id"]
        pan = rig.api.create_product("Bench Pan", price="54.00", stock=0, backorders="notify")["id"]
        rig.flush_deliveries()
        wait_for(rig.idle, timeout=60, what="queue idle", describe=rig.busy)
        for latency_ms in latencies:
            figures = _setting(rig, latency_ms, orders, towel, pan)
            settings.append(figures)
            split, store = figures["webhook_to_split_done"], figures["store_to_webhook"]
            print(
                f"sandbox latency {latency_ms} ms, {orders} orders one at a time: "
                f"webhook to split done p50 {split['p50_ms']:.0f} ms, p99 {split['p99_ms']:.0f} "
                f"ms (max {split['max_ms']:.0f}); store to webhook p50 {store['p50_ms']:.0f} ms"
            )
            print(
                f"  per order: {figures['events_per_order']} webhooks received, "
                f"{figures['calls_per_order']} REST calls {figures['calls_by_route']}"
            )
    result = {
        "workers": WORKERS,
        "api_rate_limit_per_s": API_RATE_LIMIT,
        "settings": settings,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }
    print(f"  load average {load_before:.2f} before, {result['load_average_after']} after")
    return result


if __name__ == "__main__":
    main()
