"""Webhooks as a real store sends them: queued in Action Scheduler and sent by WP-Cron, a while
after the order changed (the sandbox's `delivery_delay_ms`). The plugin splits the order once,
when the late webhooks come or earlier through reconciliation, and the late ones change nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import run
from tests.e2e.helpers import (
    SPLIT_DEADLINE,
    Api,
    Jobs,
    PluginDb,
    create_order,
    meta,
    settle,
    towel_and_pan,
    wait_for,
)

pytestmark = pytest.mark.e2e

LATE_MS = 4000  # how long each delivery waits in the sandbox's queue
NEVER_MS = 600_000  # longer than the test: only a run of the queue (flush) sends them


def _split_done(api: Api, order_id: int) -> list[dict[str, Any]] | None:
    children = api.children(order_id)
    if children and meta(api.order(order_id), "backorders_split_key"):
        return children
    return None


def test_late_webhooks_give_one_split(
    stack: run.Stack, api: Api, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    kept, short = towel_and_pan(api)
    run.set_sandbox_faults(stack.sandbox_url, {"delivery_delay_ms": LATE_MS})
    placed = dt.datetime.now(dt.UTC)
    order_id = int(create_order(api, [(kept["id"], 1), (short["id"], 2)])["id"])

    children = wait_for(
        lambda: _split_done(api, order_id),
        timeout=LATE_MS / 1000 + SPLIT_DEADLINE,
        what="split after the late webhooks",
    )
    events = settle(stack.sandbox_url, plugin_db, jobs, stack.store_id, order_id)

    assert len(children) == 1
    # A REST-created order sends order.created and then order.updated, both late.
    webhooks = [e for e in events if e.source == "webhook"]
    assert {"order.created", "order.updated"} <= {e.topic for e in webhooks}
    assert min(e.received_at for e in webhooks) - placed >= dt.timedelta(milliseconds=LATE_MS)
    assert {e.status for e in events} <= {"done", "ignored"}
    assert len(api.children(order_id)) == 1
    assert jobs.failed_ids() == []


def test_reconciliation_splits_before_the_webhooks_come_and_they_change_nothing(
    stack: run.Stack, api: Api, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    kept, short = towel_and_pan(api)
    run.set_sandbox_faults(stack.sandbox_url, {"delivery_delay_ms": NEVER_MS})
    order_id = int(create_order(api, [(kept["id"], 1), (short["id"], 2)])["id"])

    jobs.enqueue("worker.reconcile_store", stack.store_id)
    children = wait_for(lambda: _split_done(api, order_id), what="split by reconciliation")
    before = {e.id for e in plugin_db.events_for(stack.store_id, order_id)}
    assert {e.source for e in plugin_db.events_for(stack.store_id, order_id)} == {"reconcile"}
    # WP-Cron runs: the queued webhooks (the order's own, and those of the split's writes) go.
    events = settle(stack.sandbox_url, plugin_db, jobs, stack.store_id, order_id)

    late = [e for e in events if e.source == "webhook"]
    assert not [e for e in late if e.id in before]
    # The late order.created and order.updated both carry the order's state at delivery
    # (after the split): one state, one inbox event, whichever topic came first.
    assert late and {e.topic for e in late} <= {"order.created", "order.updated"}
    assert {e.status for e in late} == {"ignored"}
    assert [c["id"] for c in api.children(order_id)] == [children[0]["id"]]
    assert jobs.failed_ids() == []
